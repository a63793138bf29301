"""List literals as operands of NumPy functions and array arithmetic (issue 12, "Trust").

A list or tuple literal with differentiated items, given to a NumPy ufunc
(``np.multiply([x, 1.0], y)``) or to an arithmetic operator whose other operand is a NumPy
call (``np.ones(2) + [x, y]``), means an array, as NumPy reads it. Each of these once crashed
inside s2s. Every row is checked in both modes against central finite differences in float64.
"""
from __future__ import annotations

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad
from s2s.errors import S2SError

X = 0.7
V2 = np.array([0.3, 0.9])


def add_list_to_array(x):
    return np.sum(np.array([1.0, 2.0]) + [x, x * x])


def list_on_the_left(x):
    return np.sum([x, np.sin(x)] * np.ones(2))


def matmul_of_lists(x):
    return np.matmul([x, 1.0], [2.0, x])


def multiply_lists(x):
    return np.sum(np.multiply([x, 1.0], [2.0, x]))


def maximum_of_lists(x):
    return np.sum(np.maximum([x, 1.0], [2.0, x]))


def maximum_picks_x(x):
    return np.sum(np.maximum([x, 1.0], [0.1, x * 3.0]))


def tuple_operand(x):
    return np.sum(np.add((x, x * x), V2))


def subtract_from_array(x):
    return np.sum(np.exp(V2) - [x, 2.0 * x])


def global_array_times_list(x):
    return np.sum(V2 * [x, x * x])


def list_minus_global_array(x):
    return np.sum([np.sin(x), x] - V2)


def local_array_plus_list(x):
    a = np.ones(2)
    return np.sum(a + [x, x * x])


def local_array_rebound_to_a_list_keeps_list_meaning(x):
    a = np.ones(2)
    a = [x]
    return sum(a + [x, x * x])


def list_repeat_keeps_list_meaning(x):
    return sum([x] * 3)


def list_concat_keeps_list_meaning(x):
    l = [x, x * x] + [x]
    return l[1] + l[2]


def shape_tuple_keeps_tuple_meaning(v):
    n = 1
    return np.sum(np.reshape(v, np.shape(v) + (n,)) * v[0])


def array_argument(v):
    return np.sum(np.multiply([v[0], v[1] * v[0]], v))


ROWS = [
    (add_list_to_array, (X,), 0),
    (list_on_the_left, (X,), 0),
    (matmul_of_lists, (X,), 0),
    (multiply_lists, (X,), 0),
    (maximum_of_lists, (X,), 0),
    (maximum_picks_x, (X,), 0),
    (tuple_operand, (X,), 0),
    (subtract_from_array, (X,), 0),
    (global_array_times_list, (X,), 0),
    (list_minus_global_array, (X,), 0),
    (local_array_plus_list, (X,), 0),
    (local_array_rebound_to_a_list_keeps_list_meaning, (X,), 0),
    (list_repeat_keeps_list_meaning, (X,), 0),
    (list_concat_keeps_list_meaning, (X,), 0),
    (shape_tuple_keeps_tuple_meaning, (V2,), 0),
    (array_argument, (V2,), 0),
]


def _ids(rows):
    return [row[0].__name__ for row in rows]


def _jvp_gradient(f, args, position):
    """The gradient of sum(f) w.r.t. args[position], one jvp per entry of that input."""
    value = args[position]
    if not isinstance(value, np.ndarray):
        tangents = [0.0] * len(args)
        tangents[position] = 1.0
        return float(np.sum(s2s.jvp(f, tuple(args), tuple(tangents))[1]))
    grad = np.zeros_like(value)
    for k in np.ndindex(value.shape):
        basis = np.zeros_like(value)
        basis[k] = 1.0
        tangents = [np.zeros_like(a) if isinstance(a, np.ndarray) else 0.0 for a in args]
        tangents[position] = basis
        grad[k] = np.sum(s2s.jvp(f, tuple(args), tuple(tangents))[1])
    return grad


@pytest.mark.parametrize("f, args, position", ROWS, ids=_ids(ROWS))
def test_reverse_matches_finite_differences(f, args, position):
    got = s2s.grad(f, grad_position=position)(*args)
    assert_close(np.asarray(got, dtype=float), np.asarray(numerical_grad(f, args, position),
                                                          dtype=float))


@pytest.mark.parametrize("f, args, position", ROWS, ids=_ids(ROWS))
def test_forward_matches_finite_differences(f, args, position):
    got = _jvp_gradient(f, args, position)
    assert_close(np.asarray(got, dtype=float), np.asarray(numerical_grad(f, args, position),
                                                          dtype=float))


# --- outputs no gradient can flow from ------------------------------------------------------

def returns_none(x):
    return None


def returns_string(x):
    return "a"


def computes_then_returns_none(x):
    y = x * 2.0
    return None


def returns_an_object(x):
    t = object()
    return t


def returns_a_number(x):
    return 1.0


def _run(mode, f):
    if mode == "grad":
        return s2s.grad(f)(X)
    if mode == "value_and_grad":
        return s2s.value_and_grad(f)(X)[1]
    if mode == "vjp":
        return s2s.vjp(f, X)[1](1.0)[0]
    return s2s.jvp(f, (X,), (1.0,))[1]


MODES = ["grad", "value_and_grad", "vjp", "jvp"]
NON_NUMERIC = [returns_none, returns_string, computes_then_returns_none, returns_an_object]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f", NON_NUMERIC, ids=[f.__name__ for f in NON_NUMERIC])
def test_non_numeric_output_is_refused(f, mode):
    with pytest.raises((TypeError, S2SError), match="output is"):
        _run(mode, f)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f", [returns_none, returns_string], ids=["none", "string"])
def test_constant_non_numeric_output_is_refused_at_its_line(f, mode):
    if mode == "jvp":
        expected = f.__code__.co_firstlineno
    else:
        expected = f.__code__.co_firstlineno + 1
    with pytest.raises(S2SError) as info:
        _run(mode, f)
    assert info.value.filename == __file__ and info.value.lineno == expected


@pytest.mark.parametrize("mode", MODES)
def test_object_output_is_a_located_error(mode):
    with pytest.raises(S2SError, match="output is") as info:
        _run(mode, returns_an_object)
    assert info.value.filename == __file__
    assert info.value.lineno in (returns_an_object.__code__.co_firstlineno,
                                 returns_an_object.__code__.co_firstlineno + 2)


@pytest.mark.parametrize("mode", MODES)
def test_numeric_constant_output_has_zero_gradient(mode):
    assert float(np.sum(_run(mode, returns_a_number))) == 0.0


# --- a list literal beside an array parameter: refused in reverse mode, at its line ---------

def parameter_array_times_list(x, v):
    return np.sum(v * [x, x * x])


def parameter_array_plus_list(x, v):
    return np.sum(v + [x, x * x])


def list_parameter_plus_list(x, xs):
    l = xs + [x, x * x]
    return l[0] * l[2]


def integer_parameter_repeats_list(x, n):
    return sum([x, x * x] * n)


@pytest.mark.parametrize("f", [parameter_array_times_list, parameter_array_plus_list],
                         ids=["times", "plus"])
def test_list_beside_parameter_array_is_refused_at_its_line(f):
    with pytest.raises(S2SError, match="list literal") as info:
        s2s.grad(f)(X, V2)
    assert info.value.filename == __file__
    assert info.value.lineno == f.__code__.co_firstlineno + 1


@pytest.mark.parametrize("f, other", [(list_parameter_plus_list, [0.4, 0.6]),
                                      (integer_parameter_repeats_list, 3)],
                         ids=["list", "int"])
def test_list_beside_list_or_int_parameter_keeps_list_meaning(f, other):
    got = s2s.grad(f)(X, other)
    assert_close(float(got), float(numerical_grad(lambda x: f(x, other), (X,), 0)))
