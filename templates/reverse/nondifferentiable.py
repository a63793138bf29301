"""NumPy functions and operators whose results carry no gradient.

They are piecewise constant (rounding, comparisons, argmax), give integers or booleans
(shape queries, tests), or build constants from shapes (zeros, arange). Their results are
never active, so no cotangent flows through them.
"""
import operator

import numpy as np

from s2s.rules import nondifferentiable

# shape queries and index-valued functions
nondifferentiable(
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.nonzero, np.flatnonzero,
    np.argwhere, np.searchsorted, np.count_nonzero,
    np.ndarray.argmax, np.ndarray.argmin, np.ndarray.argsort, np.ndarray.nonzero,
)

# rounding and sign: locally constant
nondifferentiable(
    np.floor, np.ceil, np.round, np.around, np.rint, np.trunc, np.fix, np.sign,
    np.ndarray.round,
)

# comparisons, logic and tests
nondifferentiable(
    np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
    np.isnan, np.isinf, np.isfinite, np.isclose, np.allclose, np.array_equal,
    np.all, np.any, np.ndarray.all, np.ndarray.any,
    operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne,
    operator.not_, operator.truth,
)

# constructors of constants: their values do not depend on their inputs' entries
# (np.full, np.full_like and np.linspace do, and have rules in numpy_shape.py)
nondifferentiable(
    np.zeros, np.ones, np.zeros_like, np.ones_like, np.empty, np.empty_like, np.eye,
    np.identity, np.arange,
)
