"""Loops nested in loops that walk what the outer loop hands them (the rows of a matrix, the
lists of a list), in both modes, against finite differences.

The reversed loops walk their iterations with an index each. These tests caught an inner
loop's index named like its outer loop's, so that the outer loop added every row's
cotangent to the row of the inner loop's last index: a wrong gradient without an error."""
import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad

X = np.array([0.3, -1.2, 0.7, 1.1, -0.4, 0.9])


def rows_of_a_list(x):
    rows = [x[:2], x[2:4], x[4:]]
    t = 0.0
    for row in rows:
        for a in row:
            t = t + a * a * row[0]
    return t


def rows_of_a_matrix(x):
    m = x.reshape(3, 2)
    t = 0.0
    for row in m:
        for a, b in zip(row, row[::-1]):
            t = t + np.sin(a) * b
    return t


def comprehension_over_rows(x):
    rows = [x[:3], x[3:]]
    return sum([a * b for row in rows for a, b in zip(row, row[::-1]) if a < 1.0])


def enumerated_rows(x):
    m = x.reshape(2, 3)
    total = 0.0
    for i, row in enumerate(m):
        for j, a in enumerate(row):
            total = total + (i + 1.0) * (j - 1.0) * a * a
    return total


def three_deep(x):
    blocks = [[x[:2], x[2:4]], [x[4:]]]
    t = 0.0
    for block in blocks:
        for row in block:
            for a in row:
                t = t + np.tanh(a) * t + a
    return t


def appended_per_row(x):
    rows = [x[:3], x[3:]]
    out = []
    for row in rows:
        acc = 0.0
        for a in row:
            acc = acc * 0.5 + a * a
        out.append(acc)
    return out[0] * out[1]


CASES = [rows_of_a_list, rows_of_a_matrix, comprehension_over_rows, enumerated_rows,
         three_deep, appended_per_row]


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_grad_of_nested_loops(fn):
    assert_close(s2s.grad(fn)(X), numerical_grad(fn, [X], 0))


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_vjp_of_nested_loops(fn):
    value, pullback = s2s.vjp(fn, X)
    assert value == pytest.approx(fn(X))
    (dx,) = pullback(2.5)
    assert_close(dx, 2.5 * numerical_grad(fn, [X], 0))


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_jvp_of_nested_loops(fn):
    tangent = np.linspace(-1.0, 1.5, X.size)
    value, derivative = s2s.jvp(fn, (X,), (tangent,))
    assert value == pytest.approx(fn(X))
    assert derivative == pytest.approx(float(numerical_grad(fn, [X], 0) @ tangent), rel=1e-6)
