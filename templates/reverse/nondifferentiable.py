"""The one list of functions that may take a differentiated value and give no gradient.

Every function here has a derivative that is zero wherever it has one: it is piecewise
constant (rounding, sign, comparisons, floor division), gives integers, booleans or indices
(casts, shape queries, argmax, tests), or builds a constant from shapes (zeros, eye). Its
result is never active, so no cotangent flows through it.

Nothing else may swallow a differentiated value: a call with no rule that is not listed here
raises ``MissingRuleError`` at the user's line, whatever kind of object the callee is. So a
function whose value depends smoothly on an input must never be listed: not ``np.arange``
(``np.arange(x, 3.0)`` moves with ``x``), not ``str`` or ``repr`` (``float(str(x))`` is ``x``),
not ``np.heaviside`` (its second argument is its value at zero). tests/test_swallow.py checks
members of each group against finite differences. Users extend the list with
``s2s.nondifferentiable(fn)``.
"""
import builtins
import math
import operator

import numpy as np

from s2s.runtime.stats_helpers import cov_weights_error, quantile_q_error
from s2s.rules import nondifferentiable
from s2s.runtime import cleared_item, ones_like, zeros_like
from s2s.runtime.scipy_special_helpers import signed_logsumexp_error
from s2s.runtime.numpy_helpers import (inverse_permutation, normalize_axes, other_library,
                                       size_of)
from s2s.runtime.shape_helpers import (checked_pad_mode, diff_pieces, gradient_spacing_error,
                                       kron_axes, kron_blocks, pad_values_error, padded_shape,
                                       padding_along, rollaxis_destination, select_default_mask,
                                       zeros_unless_absent)

# shape queries and index-valued functions
nondifferentiable(
    np.shape, np.ndim, np.size, size_of, np.argmax, np.argmin, np.argsort, np.argpartition,
    np.nonzero, np.flatnonzero, np.result_type,
    np.argwhere, np.searchsorted, np.count_nonzero, np.digitize,
    np.ndarray.argmax, np.ndarray.argmin, np.ndarray.argsort, np.ndarray.nonzero,
    builtins.len, builtins.range, dict.keys,
)

# integer and boolean casts, types (np.result_type: a dtype)
nondifferentiable(builtins.int, builtins.bool, builtins.isinstance, builtins.type, other_library,
                  np.result_type,
                  np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                  np.uint64, np.bool_)

# rounding, sign and floor division: locally constant
nondifferentiable(
    np.floor, np.ceil, np.round, np.around, np.rint, np.trunc, np.fix, np.sign, np.signbit,
    np.ndarray.round, np.floor_divide, operator.floordiv,
    builtins.round, math.floor, math.ceil, math.trunc,
)

# comparisons, logic and tests
nondifferentiable(
    np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
    np.isnan, np.isinf, np.isfinite, np.isclose, np.allclose, np.array_equal, np.isin,
    np.all, np.any, np.ndarray.all, np.ndarray.any,
    operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne,
    operator.not_, operator.truth, builtins.all, builtins.any,
    math.isnan, math.isinf, math.isfinite, math.isclose,
)

# functions of integers only, whose results are integers or characters
nondifferentiable(
    math.factorial, math.gcd, math.comb, math.perm, math.isqrt, builtins.ord, builtins.chr,
)

# constructors of constants: their values do not depend on their inputs' entries
# (np.full, np.full_like and np.linspace do, and have rules in numpy_shape.py)
nondifferentiable(
    np.zeros, np.ones, np.zeros_like, np.ones_like, np.empty, np.empty_like, np.eye,
    np.identity,
)

# output: print returns None
nondifferentiable(builtins.print)

# the helpers generated code calls for axes, permutations and seeds
nondifferentiable(normalize_axes, inverse_permutation, ones_like, zeros_like, cleared_item,
                  rollaxis_destination, padding_along, diff_pieces, zeros_unless_absent,
                  kron_blocks, kron_axes, padded_shape, select_default_mask, checked_pad_mode)

# the rules of np.pad, np.gradient, np.quantile and np.cov differentiate some arguments only,
# and scipy.special.logsumexp's some argument values: these raise where the others are
# differentiated
nondifferentiable(pad_values_error, gradient_spacing_error, quantile_q_error,
                  cov_weights_error, signed_logsumexp_error)
