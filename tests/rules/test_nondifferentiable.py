"""The audit of the nondifferentiable list (templates/reverse/nondifferentiable.py).

Each row feeds differentiated values to one listed function and makes the output depend on
them only through it: the gradient and the tangent must be exactly zero, and central
differences, taken away from the function's jumps (no input near a whole number, a tie or a
bin edge), agree. Tests of the swallowing rule itself are in tests/test_swallow.py.
"""
import builtins
import math
import operator

import numpy as np

from s2s.runtime.numpy_helpers import other_library, size_of
from tests.rules.audit import audit_zero as zero

X = np.array([0.3, -1.6, 2.4])          # away from whole numbers, no ties, no zeros
Y = np.array([0.8, -1.1, 2.9])          # never equal to X: no comparison at a jump
S = 1.7                                 # a scalar away from whole numbers
GRID = np.array([-1.0, 0.0, 1.0, 2.0])

AUDIT = [
    # shape queries and index-valued functions
    zero(np.shape, "np.shape(x)[0] * 1.0", x=X),
    zero(np.ndim, "np.ndim(x) * 1.0", x=X),
    zero(np.size, "np.size(x) * 1.0", x=X),
    zero(size_of, "size_of(x) * 1.0", x=X, given=dict(size_of=size_of),
         note="np.size without Dask's compute, for the rules of mean, var and std"),
    zero(np.argmax, "np.argmax(x) * 1.0", x=X),
    zero(np.argmin, "np.argmin(x) * 1.0", x=X),
    zero(np.argsort, "np.argsort(x) * 1.0", x=X),
    zero(np.argpartition, "np.argpartition(x, 1) * 1.0", x=X),
    zero(np.result_type, "np.result_type(x, 1.0).itemsize * 1.0", x=X,
         note="a dtype: its item size is an integer"),
    zero(np.nonzero, "np.nonzero(x)[0] * 1.0", x=X),
    zero(np.flatnonzero, "np.flatnonzero(x) * 1.0", x=X),
    zero(np.argwhere, "np.argwhere(x) * 1.0", x=X),
    zero(np.searchsorted, "np.searchsorted(GRID, x) * 1.0", x=X, given=dict(GRID=GRID)),
    zero(np.count_nonzero, "np.count_nonzero(x) * 1.0", x=X),
    zero(np.digitize, "np.digitize(x, GRID) * 1.0", x=X, given=dict(GRID=GRID)),
    zero(np.ndarray.argmax, "x.argmax() * 1.0", x=X),
    zero(np.ndarray.argmin, "x.argmin() * 1.0", x=X),
    zero(np.ndarray.argsort, "x.argsort() * 1.0", x=X),
    zero(np.ndarray.nonzero, "x.nonzero()[0] * 1.0", x=X),
    zero(builtins.len, "len(x) * 1.0", x=X),
    zero(builtins.range, "len(range(len(x))) * 1.0", x=X),
    zero(dict.keys, "d = {'a': x, 'b': 2.0 * x}\nreturn len(d.keys()) * 1.0", x=X),
    # integer and boolean casts, types
    zero(builtins.int, "int(x) * 1.0", x=S),
    zero(builtins.bool, "bool(x) * 1.0", x=S),
    zero(builtins.isinstance, "isinstance(x, float) * 1.0", x=S),
    zero(other_library, "other_library(x) * 1.0", x=X,
         given=dict(other_library=other_library)),
    zero(builtins.type, "kind = type(x)\nreturn (kind is float) * 1.0", x=S),
    zero(np.result_type, "np.zeros(3, np.result_type(x, 1.0)) + 1.0", x=X),
    *[zero(cast, f"np.{cast.__name__}(x) * 1.0", x=S)
      for cast in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                   np.uint64)],
    zero(np.bool_, "np.bool_(x) * 1.0", x=S),
    # rounding, sign and floor division
    *[zero(f, f"np.{f.__name__}(x) * 1.5", x=X)
      for f in (np.floor, np.ceil, np.rint, np.trunc, np.fix, np.sign)],
    zero(np.round, "np.round(x) * 1.5", x=X),
    zero(np.around, "np.around(x, 1) * 1.5", x=np.array([0.33, -1.61, 2.47])),
    zero(np.signbit, "np.signbit(x) * 1.0", x=X),
    zero(np.ndarray.round, "x.round() * 1.5", x=X),
    zero(np.floor_divide, "np.floor_divide(x, y) * 1.0", x=X, y=np.array([0.7, 0.9, 1.1])),
    zero(operator.floordiv, "operator.floordiv(x, y) * 1.0", x=X, y=np.array([0.7, 0.9, 1.1])),
    zero(builtins.round, "round(x) * 1.0", x=S),
    zero(math.floor, "math.floor(x) * 1.0", x=S),
    zero(math.ceil, "math.ceil(x) * 1.0", x=S),
    zero(math.trunc, "math.trunc(x) * 1.0", x=-S),
    # comparisons, logic and tests
    *[zero(f, f"np.{f.__name__}(x, y) * 1.0", x=X, y=Y)
      for f in (np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
                np.logical_and, np.logical_or, np.logical_xor, np.isclose)],
    zero(np.logical_not, "np.logical_not(x) * 1.0", x=X),
    *[zero(f, f"np.{f.__name__}(x) * 1.0", x=X) for f in (np.isnan, np.isinf, np.isfinite)],
    zero(np.allclose, "np.allclose(x, y) * 1.0", x=X, y=Y),
    zero(np.array_equal, "np.array_equal(x, y) * 1.0", x=X, y=Y),
    zero(np.isin, "np.isin(x, GRID) * 1.0", x=X, given=dict(GRID=GRID)),
    zero(np.all, "np.all(x > 0.0) * 1.0", x=X),
    zero(np.any, "np.any(x > 0.0) * 1.0", x=X),
    zero(np.ndarray.all, "x.all() * 1.0", x=X),
    zero(np.ndarray.any, "(x > 2.0).any() * 1.0", x=X),
    # x < y is a comparison the transforms read themselves; the operator module's functions
    # are called
    zero(operator.lt, "operator.lt(x, y) * 1.0", x=X, y=Y),
    zero(operator.le, "operator.le(x, y) * 1.0", x=X, y=Y),
    zero(operator.gt, "operator.gt(x, y) * 1.0", x=X, y=Y),
    zero(operator.ge, "operator.ge(x, y) * 1.0", x=X, y=Y),
    zero(operator.eq, "operator.eq(x, y) * 1.0", x=X, y=Y),
    zero(operator.ne, "operator.ne(x, y) * 1.0", x=X, y=Y),
    zero(operator.not_, "operator.not_(x) * 1.0", x=S),
    zero(operator.truth, "operator.truth(x) * 1.0", x=S),
    zero(builtins.all, "all(x > 0.0) * 1.0", x=X),
    zero(builtins.any, "any(x > 0.0) * 1.0", x=X),
    zero(math.isnan, "math.isnan(x) * 1.0", x=S),
    zero(math.isinf, "math.isinf(x) * 1.0", x=S),
    zero(math.isfinite, "math.isfinite(x) * 1.0", x=S),
    zero(math.isclose, "math.isclose(x, 1.7) * 1.0", x=S),
    # functions of integers
    zero((math.factorial, builtins.int), "math.factorial(int(x)) * 1.0", x=3.4),
    zero(math.gcd, "math.gcd(int(x), 4) * 1.0", x=6.2),
    zero(math.comb, "math.comb(int(x), 2) * 1.0", x=5.5),
    zero(math.perm, "math.perm(int(x), 2) * 1.0", x=5.5),
    zero(math.isqrt, "math.isqrt(int(x)) * 1.0", x=10.5),
    zero((builtins.ord, builtins.chr), "ord(chr(int(x) + 65)) * 1.0", x=S),
    # constructors of constants
    zero(np.zeros, "np.zeros(np.shape(x)) + 1.0", x=X),
    zero(np.ones, "np.ones(len(x)) * 2.0", x=X),
    zero(np.zeros_like, "np.zeros_like(x) + 1.0", x=X),
    zero(np.ones_like, "np.ones_like(x) * 2.0", x=X),
    zero(np.empty, "np.shape(np.empty(np.shape(x)))[0] * 1.0", x=X),
    zero(np.empty_like, "np.shape(np.empty_like(x))[0] * 1.0", x=X),
    zero(np.eye, "np.eye(len(x)) * 2.0", x=X),
    zero(np.identity, "np.identity(len(x)) * 2.0", x=X),
    # output
    zero(builtins.print, "print(x)\nreturn len(x) * 1.0", x=X),
]
