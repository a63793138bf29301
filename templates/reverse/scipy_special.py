"""Reverse-mode rules of the reductions of ``scipy.special``: loaded once the user's code
imports ``scipy.special`` (its elementwise functions are declared in templates/scipy_special.py).

    s = scipy.special.logsumexp(a, axis=1)   ->   da = expand(ds) * exp(a - expand(s))

``logsumexp`` takes ``return_sign=False`` (SciPy's default); ``return_sign=True`` is refused at
the user's line when the gradient runs.
"""
import numpy as np
import scipy.special

from s2s.runtime.numpy_helpers import expand_reduced, unbroadcast
from s2s.rules import adjoint, numpy_only, static
from s2s.runtime.scipy_special_helpers import signed_logsumexp_error


@adjoint(scipy.special.logsumexp)
def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    if static(return_sign is False and b is None):
        # each entry's share of the sum, e^(a - result): the softmax of a
        share = np.exp(a - expand_reduced(result, a, axis, keepdims))
        da = expand_reduced(dresult, a, axis, keepdims) * share
    elif static(return_sign is False):
        # b may broadcast a up (a of shape (3,), b of (2, 3)): the shares take their joint shape
        joint = a + np.zeros_like(b)
        share = np.exp(joint - expand_reduced(result, joint, axis, keepdims))
        spread = expand_reduced(dresult, joint, axis, keepdims) * share
        da = unbroadcast(spread * b, a)
        db = unbroadcast(spread, b)
    else:
        da = signed_logsumexp_error(a)


@adjoint(scipy.special.softmax)
def softmax(x, axis=None):
    weighted = dresult * result
    dx = weighted - result * np.sum(weighted, axis=axis, keepdims=True)


@adjoint(scipy.special.log_softmax)
def log_softmax(x, axis=None):
    dx = dresult - np.exp(result) * np.sum(dresult, axis=axis, keepdims=True)


# on Dask or CuPy arrays: polygamma (digamma's derivative) passes NumPy's `out`, which Dask
# does not take, and logsumexp and the softmaxes call np.asarray on their input, computing
# the graph: refused at the user's line, naming the array type (templates/reverse/numpy_only.py)
numpy_only(scipy.special.digamma, scipy.special.polygamma, scipy.special.logsumexp,
           scipy.special.softmax, scipy.special.log_softmax)
