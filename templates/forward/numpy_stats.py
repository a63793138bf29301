"""Forward-mode rules of NumPy's statistics: quantiles, weighted averages, covariances and
correlations. Parameters mirror the reverse rules in ``templates/reverse/numpy_stats.py``.

A quantile's tangent is the same weighted sum of the sorted entries' tangents:

    m = np.median(x)      ->    dm = quantile_tangent(dx, x, 0.5, None, "linear", False, m)
"""
import numpy as np

from s2s.runtime.stats_helpers import (average_tangent, corrcoef_tangent, cov_tangent,
                                       cov_weights_error, quantile_q_error, quantile_tangent)
from s2s.rules import tangent


@tangent(np.quantile)
def quantile(a, q, axis=None, *, overwrite_input=False, method="linear", keepdims=False,
             weights=None):
    dresult = quantile_tangent(da, a, q, axis, method, keepdims, result) + quantile_q_error(dq)


@tangent(np.percentile)
def percentile(a, q, axis=None, *, overwrite_input=False, method="linear", keepdims=False,
               weights=None):
    dresult = (quantile_tangent(da, a, np.asarray(q) / 100.0, axis, method, keepdims, result)
               + quantile_q_error(dq))


@tangent(np.median)
def median(a, axis=None, *, overwrite_input=False, keepdims=False):
    dresult = quantile_tangent(da, a, 0.5, axis, "linear", keepdims, result)


@tangent(np.average)
def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    dresult = average_tangent(da, dweights, a, axis, weights, returned, keepdims)


@tangent(np.cov)
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    dresult = (cov_tangent(dm, dy, m, y, rowvar, bias, ddof, fweights, aweights)
               + cov_weights_error(daweights))


@tangent(np.corrcoef)
def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    dresult = corrcoef_tangent(dx, dy, x, y, rowvar, result)
