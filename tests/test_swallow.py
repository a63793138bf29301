"""What may swallow a differentiated value: one list, and a located error for the rest.

Only the functions on the list of functions with a zero derivative (``rules.NONDIFFERENTIABLE``,
declared in templates/reverse/nondifferentiable.py) may take a differentiated value and give
no gradient. Any other call that receives one without a rule is an ``S2SError`` at the user's
line, in both modes, whatever kind of object the callee is. The tables below say:

- REFUSED: each pattern raises the right error, located in this file, in grad and in jvp;
- ZERO_DERIVATIVE: every function on the list has a row, and central differences of it are
  exactly zero away from its jumps (or it never takes a real number);
- ALLOWED: calls of listed functions still differentiate, against finite differences.
"""
from __future__ import annotations

import builtins
import functools
import inspect
import math
import operator

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad
from s2s import rules
from s2s.errors import MissingRuleError, S2SError, UnsupportedSyntaxError
from s2s.runtime import numpy_helpers, scipy_special_helpers, shape_helpers, stats_helpers

ARRAY = np.array([0.3, 1.2, 0.7])
SCALAR = 0.7


def scale_in_place(a):
    a *= 2.0


def times_two(u, k=2.0):
    return u * k


PARTIAL_NUMPY = functools.partial(np.multiply, 2.0)
PARTIAL_USER = functools.partial(times_two, k=3.0)
VECTORIZED = np.vectorize(lambda u: u * 2.0)


# --- refused: (function, input, error class, words the message must hold) -----------------------
def eval_of_a_string(x):
    return eval("x * 3.0")


def exec_of_a_string(x):
    exec("y = x")
    return x


def locals_by_name(x):
    return locals()["x"] * 2.0


def vars_by_name(x):
    return vars()["x"] * 2.0


def float_of_str(x):
    return float(str(x))


def float_of_repr(x):
    return float(repr(x))


def hash_of_value(x):
    return x + hash(x) * 0.0


# functions without rules yet (np.diff, np.sort, np.kron and np.fabs were such rows until
# they got rules)
def numpy_convolve(x):
    return np.sum(np.convolve(x, x))


def numpy_interp(x):
    return np.sum(np.interp(x, [0.0, 1.0], [2.0, 3.0]))


def numpy_polyval(x):
    return np.sum(np.polyval(x, 0.5))


def numpy_tensorinv(x):
    return np.sum(np.linalg.tensorinv(np.outer(x, x) + np.eye(3)))


def numpy_unwrap(x):
    return np.sum(np.unwrap(x))


def numpy_nanmax(x):
    return np.nanmax(x)


def numpy_arange_from_value(x):
    return np.sum(np.arange(x[0], 3.0))


def ufunc_accumulate(x):
    return np.sum(np.maximum.accumulate(x))


def ufunc_reduce(x):
    return np.add.reduce(x)


def partial_of_numpy(x):
    return np.sum(PARTIAL_NUMPY(x))


def partial_of_user_function(x):
    return np.sum(PARTIAL_USER(x))


def vectorized(x):
    return np.sum(VECTORIZED(x))


def add_with_out(x):
    np.add(x, 1.0, out=x)
    return np.sum(x)


def sort_in_place(x):
    x.sort()
    return np.sum(x * np.array([1.0, 2.0, 3.0]))


def copyto(x):
    y = np.zeros(3)
    np.copyto(y, x)
    return np.sum(y * x)


def user_update_in_place(x):
    y = x * 1.0
    scale_in_place(y)
    return np.sum(y)


REFUSED = [
    (eval_of_a_string, SCALAR, UnsupportedSyntaxError, ["eval()"]),
    (exec_of_a_string, SCALAR, UnsupportedSyntaxError, ["exec()"]),
    (locals_by_name, SCALAR, UnsupportedSyntaxError, ["locals()"]),
    (vars_by_name, SCALAR, UnsupportedSyntaxError, ["vars()"]),
    (float_of_str, SCALAR, MissingRuleError, ["str"]),
    (float_of_repr, SCALAR, MissingRuleError, ["repr"]),
    (hash_of_value, SCALAR, MissingRuleError, ["hash"]),
    (numpy_convolve, ARRAY, MissingRuleError, ["np.convolve"]),
    (numpy_interp, ARRAY, MissingRuleError, ["np.interp"]),
    (numpy_polyval, ARRAY, MissingRuleError, ["np.polyval"]),
    (numpy_tensorinv, ARRAY, MissingRuleError, ["np.linalg.tensorinv"]),
    (numpy_unwrap, ARRAY, MissingRuleError, ["np.unwrap"]),
    (numpy_nanmax, ARRAY, MissingRuleError, ["np.nanmax"]),
    (numpy_arange_from_value, ARRAY, MissingRuleError, ["np.arange"]),
    (ufunc_accumulate, ARRAY, MissingRuleError, ["np.maximum.accumulate"]),
    (ufunc_reduce, ARRAY, MissingRuleError, ["np.add.reduce"]),
    (partial_of_numpy, ARRAY, MissingRuleError, ["PARTIAL_NUMPY", "functools.partial"]),
    (partial_of_user_function, ARRAY, MissingRuleError, ["PARTIAL_USER", "functools.partial"]),
    (vectorized, ARRAY, MissingRuleError, ["VECTORIZED", "vectorize"]),
    (add_with_out, ARRAY, UnsupportedSyntaxError, ["np.add(..., out=...)"]),
    (sort_in_place, ARRAY, UnsupportedSyntaxError, [".sort()", "'x' in place"]),
    (copyto, ARRAY, UnsupportedSyntaxError, ["np.copyto"]),
    (user_update_in_place, ARRAY, UnsupportedSyntaxError, ["scale_in_place"]),
]


def _grad(fn, x):
    return s2s.grad(fn)(np.copy(x) if isinstance(x, np.ndarray) else x)


def _jvp(fn, x):
    return s2s.jvp(fn, (np.copy(x) if isinstance(x, np.ndarray) else x,),
                   (np.ones_like(x),))


@pytest.mark.parametrize("mode", [_grad, _jvp], ids=["grad", "jvp"])
@pytest.mark.parametrize("fn, x, error, words", REFUSED, ids=[r[0].__name__ for r in REFUSED])
def test_refused_at_the_users_line(fn, x, error, words, mode):
    with pytest.raises(S2SError) as info:
        mode(fn, x)
    err = info.value
    assert type(err) is error, str(err)
    lines, first = inspect.getsourcelines(fn)
    assert err.filename == __file__
    assert first < err.lineno < first + len(lines), str(err)
    text = str(err)
    assert "^" in text                                  # a caret under the construct
    for word in words:
        assert word in text
    assert "list." not in text                          # not "list.add() on a list"
    if error is MissingRuleError:                       # a template of the rule to write
        assert ("s2s.adjoint" if mode is _grad else "s2s.tangent") in err.hint


def apply(g, x):
    return np.sum(g(x))


def unwrap_passed_in(x):
    return apply(np.unwrap, x)


@pytest.mark.parametrize("mode", [_grad, _jvp], ids=["grad", "jvp"])
def test_a_function_without_rule_known_at_run_time_is_a_missing_rule(mode):
    with pytest.raises(MissingRuleError, match="numpy.unwrap"):
        mode(unwrap_passed_in, ARRAY)


# --- zero derivative: (function, point, probe) for every function on the list ------------------
# A probe is a function of one float array that calls the listed function; central
# differences of it must be exactly zero at the point (chosen away from jumps).
POINT = np.array([0.3, 1.2, -0.7])
NO_FLOAT = "takes no real number"   # its arguments are integers, strings, axes or permutations
RAISES = "raises when called"       # a rule's refusal of an argument it does not differentiate

ZERO_DERIVATIVE = {
    np.shape: lambda x: np.shape(x), np.ndim: lambda x: np.ndim(x),
    np.result_type: lambda x: np.zeros(2, np.result_type(x, 1.0)),
    np.size: lambda x: np.size(x), builtins.len: lambda x: len(x),
    np.argmax: np.argmax, np.argmin: np.argmin, np.argsort: np.argsort,
    np.argpartition: lambda x: np.argpartition(x, 1),
    np.result_type: lambda x: np.result_type(x, 1.0).itemsize,
    np.nonzero: lambda x: np.nonzero(x)[0], np.flatnonzero: np.flatnonzero,
    np.argwhere: np.argwhere, np.searchsorted: lambda x: np.searchsorted([0.0, 1.0], x),
    np.count_nonzero: np.count_nonzero, np.digitize: lambda x: np.digitize(x, [0.0, 1.0]),
    np.ndarray.argmax: lambda x: x.argmax(), np.ndarray.argmin: lambda x: x.argmin(),
    np.ndarray.argsort: lambda x: x.argsort(), np.ndarray.nonzero: lambda x: x.nonzero()[0],
    builtins.int: lambda x: int(x[1]), builtins.bool: lambda x: bool(x[1]),
    **{cast: (lambda cast: lambda x: cast(x * 3.0))(cast)
       for cast in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                    np.uint64, np.bool_)},
    np.floor: np.floor, np.ceil: np.ceil, np.round: lambda x: np.round(x, 1),
    np.around: np.around, np.rint: np.rint, np.trunc: np.trunc, np.fix: np.fix,
    np.sign: np.sign, np.signbit: np.signbit, np.ndarray.round: lambda x: x.round(),
    np.floor_divide: lambda x: np.floor_divide(x, 0.8) + np.floor_divide(0.95, x),
    operator.floordiv: lambda x: operator.floordiv(x, 0.8),
    builtins.round: lambda x: [round(x[0]), round(x[1], 1)],
    math.floor: lambda x: math.floor(x[1]), math.ceil: lambda x: math.ceil(x[1]),
    math.trunc: lambda x: math.trunc(x[1]),
    np.equal: lambda x: np.equal(x, 0.3), np.not_equal: lambda x: np.not_equal(x, 0.3),
    np.less: lambda x: np.less(x, 0.5), np.less_equal: lambda x: np.less_equal(x, 0.5),
    np.greater: lambda x: np.greater(x, 0.5),
    np.greater_equal: lambda x: np.greater_equal(x, 0.5),
    np.logical_and: lambda x: np.logical_and(x, x), np.logical_or: lambda x: np.logical_or(x, x),
    np.logical_not: np.logical_not, np.logical_xor: lambda x: np.logical_xor(x, x > 1.0),
    np.isnan: np.isnan, np.isinf: np.isinf, np.isfinite: np.isfinite,
    np.isclose: lambda x: np.isclose(x, 0.3), np.allclose: lambda x: np.allclose(x, 0.3),
    np.array_equal: lambda x: np.array_equal(x, x), np.isin: lambda x: np.isin(x, [0.5]),
    np.all: lambda x: np.all(x > 0.0), np.any: lambda x: np.any(x > 0.0),
    np.ndarray.all: lambda x: x.all(), np.ndarray.any: lambda x: x.any(),
    operator.lt: lambda x: operator.lt(x[0], 0.5), operator.le: lambda x: operator.le(x[0], 0.5),
    operator.gt: lambda x: operator.gt(x[0], 0.5), operator.ge: lambda x: operator.ge(x[0], 0.5),
    operator.eq: lambda x: operator.eq(x[0], 0.5), operator.ne: lambda x: operator.ne(x[0], 0.5),
    operator.not_: lambda x: operator.not_(x[0]), operator.truth: lambda x: operator.truth(x[0]),
    builtins.all: lambda x: all(x), builtins.any: lambda x: any(x),
    math.isnan: lambda x: math.isnan(x[0]), math.isinf: lambda x: math.isinf(x[0]),
    math.isfinite: lambda x: math.isfinite(x[0]),
    math.isclose: lambda x: math.isclose(x[0], 0.5),
    np.zeros_like: np.zeros_like, np.ones_like: np.ones_like,
    np.empty_like: lambda x: np.empty_like(x) * 0.0, np.zeros: lambda x: np.zeros(len(x)),
    np.ones: lambda x: np.ones(x.shape), np.empty: lambda x: np.empty(x.shape) * 0.0,
    np.eye: lambda x: np.eye(len(x)), np.identity: lambda x: np.identity(x.size),
    numpy_helpers.normalize_axes: NO_FLOAT, numpy_helpers.inverse_permutation: NO_FLOAT,
    numpy_helpers.size_of: numpy_helpers.size_of,
    numpy_helpers.other_library: numpy_helpers.other_library,
    shape_helpers.rollaxis_destination: NO_FLOAT, shape_helpers.padding_along: NO_FLOAT,
    shape_helpers.diff_pieces: NO_FLOAT,
    shape_helpers.zeros_unless_absent: lambda x: shape_helpers.zeros_unless_absent(x, x.dtype),
    shape_helpers.kron_blocks: lambda x: shape_helpers.kron_blocks(x, x),
    shape_helpers.kron_axes: lambda x: shape_helpers.kron_axes(x, x, 1),
    shape_helpers.padded_shape: lambda x: shape_helpers.padded_shape(x, 3),
    shape_helpers.select_default_mask: lambda x: shape_helpers.select_default_mask([x > 0.5]),
    shape_helpers.checked_pad_mode: NO_FLOAT,
    shape_helpers.pad_values_error: RAISES, shape_helpers.gradient_spacing_error: RAISES,
    stats_helpers.quantile_q_error: RAISES, stats_helpers.cov_weights_error: RAISES,
    scipy_special_helpers.signed_logsumexp_error: RAISES,
    s2s.runtime.zeros_like: s2s.runtime.zeros_like,
    s2s.runtime.cleared_item: lambda x: s2s.runtime.cleared_item(x, 0),
    s2s.runtime.ones_like: s2s.runtime.ones_like,
    builtins.print: lambda x: print(x) is None,
    builtins.isinstance: lambda x: isinstance(x[0], float), builtins.type: lambda x: type(x[0]),
    builtins.range: NO_FLOAT, builtins.ord: NO_FLOAT, builtins.chr: NO_FLOAT,
    math.factorial: NO_FLOAT, math.gcd: NO_FLOAT, math.comb: NO_FLOAT, math.perm: NO_FLOAT,
    math.isqrt: NO_FLOAT, dict.keys: NO_FLOAT,
}


def _declared_here(fn) -> bool:
    """On the built-in list (not registered by a test or by s2s.nn)."""
    module = getattr(fn, "__module__", None)
    return module is None or module in ("builtins", "math", "_operator") \
        or module.split(".")[0] == "numpy" or module.startswith("s2s.runtime")


def test_every_listed_function_has_a_zero_derivative_row():
    rules.load_builtin_rules()
    listed = {fn for fn in rules.NONDIFFERENTIABLE if _declared_here(fn)}
    rows = {rules._key(fn) for fn in ZERO_DERIVATIVE}
    assert not listed - rows, f"no zero-derivative row for {listed - rows}"
    assert not rows - listed, f"rows for functions not on the list: {rows - listed}"


def _as_numbers(value):
    if isinstance(value, (tuple, list)):
        return np.concatenate([np.ravel(_as_numbers(v)) for v in value]) if value \
            else np.zeros(0)
    if isinstance(value, type):
        return np.zeros(0)
    return np.asarray(value, dtype=float)


@pytest.mark.parametrize("fn", [fn for fn, probe in ZERO_DERIVATIVE.items()
                                if probe is not NO_FLOAT and probe is not RAISES],
                         ids=lambda fn: getattr(fn, "__qualname__", str(fn)))
def test_listed_function_has_zero_finite_differences(fn):
    probe = ZERO_DERIVATIVE[fn]
    for i in range(POINT.size):
        step = np.zeros_like(POINT)
        step[i] = 1e-6
        ahead, behind = _as_numbers(probe(POINT + step)), _as_numbers(probe(POINT - step))
        assert np.array_equal(ahead, behind), (fn, i)


@pytest.mark.parametrize("fn", [fn for fn, probe in ZERO_DERIVATIVE.items() if probe is RAISES],
                         ids=lambda fn: fn.__name__)
def test_listed_refusal_raises(fn):
    with pytest.raises(TypeError, match="no rule yet"):
        fn(POINT)


# --- allowed: listed functions still differentiate -----------------------------------------------
def floor_times(x):
    return np.sum(np.floor(x) * x)


def at_argmax(x):
    return x[np.argmax(x)] * 2.0


def times_int(x):
    return x[0] * int(x[1])


def times_len(x):
    return x[0] * len(x) + x[1]


def times_shape(x):
    return x[0] * x.shape[0] + x[2]


def times_round(x):
    return x[0] * round(x[1]) + np.sum(np.sign(x) * x)


def printed(x):
    print(x)
    return np.sum(x * x)


def index_by_cast(x):
    # autograd's test_cast_to_int: an integer cast of a differentiated value picks indices
    return np.sum(x[np.int64(x * 0.0 + 1.0)]) + x[2] * np.int32(np.uint8(x[1] * 3.0))


ALLOWED = [floor_times, at_argmax, times_int, times_len, times_shape, times_round, printed,
           index_by_cast]


@pytest.mark.parametrize("fn", ALLOWED, ids=lambda fn: fn.__name__)
def test_zero_derivative_calls_still_differentiate(fn):
    expected = numerical_grad(fn, (ARRAY,), 0)
    assert_close(s2s.grad(fn)(np.copy(ARRAY)), expected)
    for i in range(ARRAY.size):
        direction = np.zeros_like(ARRAY)
        direction[i] = 1.0
        _, tangent = s2s.jvp(fn, (np.copy(ARRAY),), (direction,))
        assert_close(tangent, expected[i])


@pytest.mark.parametrize("fn", [np.floor, np.ceil, np.sign, np.rint, np.trunc, np.int64],
                         ids=lambda fn: fn.__name__)
def test_zero_derivative_function_differentiated_directly(fn):
    # s2s.grad(np.floor) works as s2s.grad(np.tanh) does: zeros, which central differences
    # away from the jumps agree with
    x = np.array([0.3, -1.2, 2.6])
    expected = numerical_grad(lambda v: np.asarray(fn(v), float), (x,), 0)
    assert_close(s2s.grad(fn)(x), expected)
    value, tangent = s2s.jvp(fn, (x,), (np.ones(3),))
    np.testing.assert_array_equal(value, fn(x))
    assert_close(np.asarray(tangent, float), np.zeros(3))
    [cotangent] = s2s.vjp(fn, x)[1](np.ones(3))
    assert_close(cotangent, expected)
