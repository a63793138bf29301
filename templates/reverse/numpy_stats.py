"""Reverse-mode rules of NumPy's statistics: quantiles, weighted averages, covariances and
correlations.

A quantile is a weighted sum of at most two sorted entries (which two, and their weights,
depend on q and the method only), so its adjoint sends each quantile's cotangent back to the
entries it was interpolated from; median and percentile are quantiles. The helpers are in
``s2s/runtime/stats_helpers.py``.

    m = np.median(x)      ->    dx = quantile_adjoint(dm, x, 0.5, None, "linear", False)
"""
import numpy as np

from s2s.runtime.stats_helpers import (average_adjoint, corrcoef_adjoint, cov_adjoint,
                                       cov_weights_error, quantile_adjoint, quantile_q_error)
from s2s.rules import adjoint


# parameters after NumPy's out (which s2s does not support) are keyword-only here

@adjoint(np.quantile)
def quantile(a, q, axis=None, *, overwrite_input=False, method="linear", keepdims=False,
             weights=None):
    da = quantile_adjoint(dresult, a, q, axis, method, keepdims)
    dq = quantile_q_error(q)


@adjoint(np.percentile)
def percentile(a, q, axis=None, *, overwrite_input=False, method="linear", keepdims=False,
               weights=None):
    da = quantile_adjoint(dresult, a, np.asarray(q) / 100.0, axis, method, keepdims)
    dq = quantile_q_error(q)


@adjoint(np.median)
def median(a, axis=None, *, overwrite_input=False, keepdims=False):
    da = quantile_adjoint(dresult, a, 0.5, axis, "linear", keepdims)


@adjoint(np.average)
def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    # with returned=True, dresult is the pair (d average, d sum of weights)
    da = average_adjoint(dresult, a, axis, weights, returned, keepdims, 0)
    dweights = average_adjoint(dresult, a, axis, weights, returned, keepdims, 1)


@adjoint(np.cov)
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    dm = cov_adjoint(dresult, m, y, rowvar, bias, ddof, fweights, aweights, 0)
    dy = cov_adjoint(dresult, m, y, rowvar, bias, ddof, fweights, aweights, 1)
    daweights = cov_weights_error(aweights)


@adjoint(np.corrcoef)
def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    dx = corrcoef_adjoint(dresult, x, y, rowvar, result, 0)
    dy = corrcoef_adjoint(dresult, x, y, rowvar, result, 1)
