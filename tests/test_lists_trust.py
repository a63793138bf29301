"""Lists, tuples and array constructors with differentiated items (issue 12, "Trust").

Each pattern here once gave a wrong gradient with no error. Every row is checked in both
modes against central finite differences in float64: reverse (``s2s.grad``) and forward
(``s2s.jvp``, one basis tangent per input entry). A pattern s2s refuses must raise an
``S2SError`` that names this file and the user's line.
"""
from __future__ import annotations

import inspect

import numpy as np
from numpy import r_
import pytest

import s2s
from finite_diff import assert_close, numerical_grad

X, Y = 0.7, 1.3
V3 = np.array([0.3, 0.5, 0.9])
V4 = np.array([0.3, 0.5, 0.9, 1.1])


# --- the patterns ---------------------------------------------------------------------------

def concat_then_index(x, y):
    l = [x, y] + [x * y]
    return l[2] + l[0]


def repeat_then_sum(x):
    return sum([x] * 3)


def repeat_on_the_left(x, y):
    l = 2 * [x, y * x]
    return l[0] * l[3] + l[1]


def tuple_concat(x, y):
    t = (x, y) + (x * y,)
    return t[2] + t[0]


def list_plus_equals(x, y):
    l = [x]
    l += [x * y]
    return l[0] * l[1]


def list_extend(x, y):
    l = [x]
    l.extend([x * y, y])
    return l[0] * l[1] + l[2]


def list_concat_chain(x, y):
    a = [x, x * y]
    b = a + a
    b = b + [y]
    return b[0] * b[3] + b[4] * b[1]


def max_of_literal(x):
    return max([x * 2.0, x ** 2, 1.0])


def min_of_literal(x, y):
    return min([x * y, y, 3.0]) + max(x, y * 0.5)


def dot_of_lists(x):
    return np.dot([x, 1.0], [2.0, x])


def array_of_nested_lists(x):
    a = np.array([[x, x * 1.0, x + 2.5], [x ** 2, x, x / 2.0]])
    return np.sum(a * np.arange(6.0).reshape(2, 3))


def concatenate_of_nested_lists(x):
    return np.sum(np.concatenate([[x], [x ** 2]]) * np.array([1.0, 3.0]))


def asarray_of_nested_tuples(x, y):
    return np.sum(np.asarray(((x, y), (x * y, 2.0))) * np.array([[1.0, 2.0], [3.0, 4.0]]))


def stack_of_nested_lists(x):
    return np.sum(np.stack([[x, 1.0], [2.0, x * x]]) * np.arange(4.0).reshape(2, 2))


def max_with_ties(x):
    # tied maxima share the cotangent evenly (README)
    return np.sum(np.max(np.array([[x, x], [x, 0.5]]), axis=1))


def repeated_fancy_update(x):
    # NumPy's y[idx] += v is buffered: of the writes to a repeated index only the last counts
    y = np.zeros(4)
    y[[0, 0, 2]] += x[:3]
    return np.sum(y * np.arange(1.0, 5.0))


def repeated_fancy_store(x):
    y = x * 1.0
    y[np.array([1, 3, 1])] = x[:3] * x[1:]
    return np.sum(y * np.arange(1.0, 5.0))


def add_at_update(x):
    y = np.zeros(4)
    np.add.at(y, np.array([0, 0, 2]), x)
    return np.sum(y * np.arange(1.0, 5.0))


def slice_copy_update(x):
    y = x * 2.0
    z = y[1:] * 1.0
    z += 1.0
    return np.sum(y * y) + np.sum(z * z)


def block_of_numbers(x):
    return np.sum(np.block([[x, 1.0], [2.0, x * x]]) * np.arange(4.0).reshape(2, 2))


def block_of_vectors(x):
    return np.sum(np.block([x, x * 2.0, 1.0]) * np.arange(7.0))


def block_matrix(x):
    a = np.outer(x, x)
    m = np.block([[a, x[:, None]], [x[None, :] ** 2, np.ones((1, 1))]])
    return np.sum(m * np.arange(16.0).reshape(4, 4))


# (function, arguments, positions)
WORKING = [
    (concat_then_index, (X, Y), (0, 1)),
    (repeat_then_sum, (X,), 0),
    (repeat_on_the_left, (X, Y), (0, 1)),
    (tuple_concat, (X, Y), (0, 1)),
    (list_plus_equals, (X, Y), (0, 1)),
    (list_extend, (X, Y), (0, 1)),
    (list_concat_chain, (X, Y), (0, 1)),
    (max_of_literal, (X,), 0),
    (min_of_literal, (X, Y), (0, 1)),
    (dot_of_lists, (X,), 0),
    (array_of_nested_lists, (X,), 0),
    (concatenate_of_nested_lists, (X,), 0),
    (asarray_of_nested_tuples, (X, Y), (0, 1)),
    (stack_of_nested_lists, (X,), 0),
    (max_with_ties, (X,), 0),
    (block_of_numbers, (X,), 0),
    (block_of_vectors, (V3,), 0),
    (block_matrix, (V3,), 0),
    (repeated_fancy_update, (V4,), 0),
    (repeated_fancy_store, (V4,), 0),
    (slice_copy_update, (V3,), 0),
    (add_at_update, (V3,), 0),
]


def _ids(rows):
    return [row[0].__name__ for row in rows]


def _jvp_gradient(f, args, position):
    """The gradient of sum(f) w.r.t. args[position], one jvp per entry of that input."""
    zero = [np.zeros_like(a) if isinstance(a, np.ndarray) else 0.0 for a in args]
    value = args[position]
    if not isinstance(value, np.ndarray):
        tangents = list(zero)
        tangents[position] = 1.0
        return float(np.sum(s2s.jvp(f, tuple(args), tuple(tangents))[1]))
    grad = np.zeros_like(value)
    for k in np.ndindex(value.shape):
        tangents = list(zero)
        basis = np.zeros_like(value)
        basis[k] = 1.0
        tangents[position] = basis
        grad[k] = np.sum(s2s.jvp(f, tuple(args), tuple(tangents))[1])
    return grad


@pytest.mark.parametrize("f, args, positions", WORKING, ids=_ids(WORKING))
def test_reverse_matches_finite_differences(f, args, positions):
    expected = numerical_grad(f, args, positions)
    assert_close(s2s.grad(f, positions)(*args), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("f, args, positions", WORKING, ids=_ids(WORKING))
def test_forward_matches_finite_differences(f, args, positions):
    for p in (positions if isinstance(positions, tuple) else (positions,)):
        expected = numerical_grad(f, args, p)
        assert_close(_jvp_gradient(f, args, p), expected, rtol=1e-6, atol=1e-7)


# --- lists passed as differentiated arguments -----------------------------------------------

def repeat_argument(xs):
    l = xs * 2
    return l[0] * l[3]


def concat_arguments(xs, ys):
    l = xs + ys
    return l[0] * l[3] + l[1]


def concat_tuple_argument(ts):
    t = ts + (ts[0] * 2.0,)
    return t[0] * t[2] + t[1]


LIST_ARGUMENTS = [
    (repeat_argument, ([0.7, 1.3],), 0),
    (concat_arguments, ([0.7, 1.3], [0.2, 0.4]), (0, 1)),
    (concat_tuple_argument, ((0.7, 1.3),), 0),
]


@pytest.mark.parametrize("f, args, positions", LIST_ARGUMENTS, ids=_ids(LIST_ARGUMENTS))
def test_list_arguments_in_both_modes(f, args, positions):
    expected = numerical_grad(f, args, positions)
    assert_close(s2s.grad(f, positions)(*args), expected, rtol=1e-6, atol=1e-7)
    for p in (positions if isinstance(positions, tuple) else (positions,)):
        forward = []
        for i in range(len(args[p])):
            tangents = [type(a)(0.0 for _ in a) for a in args]
            tangents[p] = type(args[p])(1.0 if j == i else 0.0 for j in range(len(args[p])))
            forward.append(float(np.sum(s2s.jvp(f, tuple(args), tuple(tangents))[1])))
        np.testing.assert_allclose(forward, numerical_grad(f, args, p), rtol=1e-6, atol=1e-7)


# --- refused in one mode or both, with the user's file and line -----------------------------

def update_through_slice_view(x):
    y = x * 2.0
    z = y[1:]
    z += 1.0
    return np.sum(y * y)


def update_through_2d_view(x):
    y = np.outer(x, x)
    z = y[:, 0]
    z *= 3.0
    return np.sum(y)


def row_join(x):
    return np.sum(np.r_[x, x ** 2] * np.array([1.0, 3.0]))


def column_join(x):
    return np.sum(np.c_[x, x ** 2] * np.array([1.0, 3.0]))


def imported_join(x):
    # r_ imported by name: a global object's item, as np.r_ is an attribute's
    return np.sum(r_[x, 2.0 * x, 1.0] ** 2)


def matrix_join(x):
    return np.sum(np.r_['r', x, x ** 2])


def join_with_differentiated_range(x):
    return np.sum(np.r_[x, 0.0:x[0]:4j])


# (function, arguments, modes that refuse, the line that is named)
REFUSED = [
    (update_through_slice_view, (V3,), ("reverse", "forward"), "z += 1.0"),
    (update_through_2d_view, (V3,), ("reverse", "forward"), "z *= 3.0"),
    (matrix_join, (X,), ("reverse", "forward"), "np.r_['r'"),
    (join_with_differentiated_range, (X,), ("reverse", "forward"), "np.r_[x, 0.0:x[0]"),
]

# np.r_ and np.c_ joining differentiated items (refused until they had rules): both modes
JOINS = [(row_join, (X,), 0), (column_join, (X,), 0), (imported_join, (X,), 0)]


def _line_of(f, text):
    lines, start = inspect.getsourcelines(f)
    return start + next(i for i, line in enumerate(lines) if text in line)


@pytest.mark.parametrize("f, args, modes, text", REFUSED, ids=_ids(REFUSED))
def test_refused_with_the_users_file_and_line(f, args, modes, text):
    for mode in modes:
        with pytest.raises(s2s.errors.S2SError) as info:
            if mode == "reverse":
                s2s.grad(f)(*args)
            else:
                _jvp_gradient(f, args, 0)
        message = str(info.value)
        assert __file__ in message or "test_lists_trust.py" in message, message
        assert f"line {_line_of(f, text)}" in message or f":{_line_of(f, text)}" in message, \
            message


@pytest.mark.parametrize("f, args, position", JOINS, ids=_ids(JOINS))
def test_index_joins_match_finite_differences(f, args, position):
    expected = numerical_grad(f, args, position)
    assert_close(s2s.grad(f, grad_position=position)(*args), expected, rtol=1e-6, atol=1e-7)
    assert_close(_jvp_gradient(f, args, position), expected, rtol=1e-6, atol=1e-7)
