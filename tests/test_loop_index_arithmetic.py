"""Indexes computed from a range loop's counter in more than one step (``x[(j + 1) % n]``,
a periodic stencil, ``m[1 - i, (j + 1) % 3]``), against finite differences in every mode.

The reversed loop recomputes such int arithmetic from its own counter instead of saving it.
These tests caught it recomputing only the last step (``k = j1 % 3``) and reading the first
(``j1 = j + 1``) as the forward loop had left it: every iteration's cotangent went to the
item of the last one, a wrong gradient without an error."""
import warnings

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad
from s2s.errors import JitError

X = np.array([0.3, -1.2, 0.7, 1.1, -0.4, 0.9])


def periodic_neighbour(x):
    t = 0.0
    for j in range(3):
        t = t + x[(j + 1) % 3] * x[j]
    return t


def periodic_stencil(x):
    n = 6
    out = np.zeros(n)
    for i in range(n):
        out[i] = x[(i - 1) % n] - 2.0 * x[i] + x[(i + 1) % n]
    return np.sum(out ** 2 * np.arange(1.0, 7.0))


def matrix_items(x):
    m = x.reshape(2, 3)
    out = np.zeros((2, 3))
    for i in range(2):
        for j in range(3):
            out[i, j] = m[i, j] * m[1 - i, (j + 1) % 3]
    return np.sum(out ** 2)


def three_steps(x):
    t = 0.0
    for i in range(4):
        a = i * 2
        b = a + 1
        c = b % 6
        t = t + np.sin(x[c]) * x[a % 6]
    return t


CASES = [periodic_neighbour, periodic_stencil, matrix_items, three_steps]


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_grad(fn):
    assert_close(s2s.grad(fn)(X), numerical_grad(fn, [X], 0))


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_vjp(fn):
    value, pullback = s2s.vjp(fn, X)
    (dx,) = pullback(-1.5)
    assert_close(dx, -1.5 * numerical_grad(fn, [X], 0))


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_jvp(fn):
    tangent = np.array([0.5, -1.0, 1.5, 0.25, -0.75, 2.0])
    _, derivative = s2s.jvp(fn, (X,), (tangent,))
    expected = float(numerical_grad(fn, [X], 0) @ tangent)
    assert derivative == pytest.approx(expected, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_jit(fn):
    """Compiled by Numba and right, or refused at the user's line (an item read through a
    run-time helper Numba has no version of); never wrong."""
    pytest.importorskip("numba")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")       # Numba's performance hints
            gradient = s2s.grad(fn, jit=True)(X)
    except JitError as error:
        assert f'File "{__file__}", line' in str(error)
        return
    assert_close(gradient, numerical_grad(fn, [X], 0))
