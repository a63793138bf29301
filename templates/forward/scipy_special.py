"""Forward-mode rules of the reductions of ``scipy.special``: loaded once the user's code
imports ``scipy.special``. Parameters mirror the reverse rules in
``templates/reverse/scipy_special.py``.

    s = scipy.special.logsumexp(a, axis=1)   ->   ds = sum(da * exp(a - expand(s)), axis=1)
"""
import numpy as np
import scipy.special

from s2s.runtime.numpy_helpers import expand_reduced
from s2s.rules import static, tangent
from s2s.runtime.scipy_special_helpers import signed_logsumexp_error


@tangent(scipy.special.logsumexp)
def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    if static(return_sign is False and b is None):
        share = np.exp(a - expand_reduced(result, a, axis, keepdims))
        dresult = np.sum(da * share, axis=axis, keepdims=keepdims)
    elif static(return_sign is False):
        # b may broadcast a up: the shares take their joint shape
        joint = a + np.zeros_like(b)
        share = np.exp(joint - expand_reduced(result, joint, axis, keepdims))
        dresult = np.sum((da * b + db) * share, axis=axis, keepdims=keepdims)
    else:
        dresult = signed_logsumexp_error(da)


@tangent(scipy.special.softmax)
def softmax(x, axis=None):
    dresult = result * (dx - np.sum(dx * result, axis=axis, keepdims=True))


@tangent(scipy.special.log_softmax)
def log_softmax(x, axis=None):
    dresult = dx - np.sum(np.exp(result) * dx, axis=axis, keepdims=True)
