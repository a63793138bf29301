"""Cotangents that two names share, one of them then updated in place, against finite
differences in every mode.

``total = acc + ones * 1.0`` gives ``acc`` and ``ones * 1.0`` one cotangent array; the
optimizer folded the cotangent of ``ones`` (``g * 1.0``) to that same array, and the item
updates of ``ones``'s cotangent that followed changed ``acc``'s too: a wrong gradient
without an error, first found differentiating a gradient's own code again."""
import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad

X = np.array([0.4, -1.1, 0.7, 0.3])
W = np.array([1.0, 2.0, 3.0, -1.0])


def scaled_by_one(x):
    y = x * 1.0
    total = np.zeros_like(x)
    total[0] += y[3]
    ones = np.ones(4)
    ones[1] += ones[0] * y[2]
    total += ones * 1.0
    return np.sum(total * W)


def copied_then_updated(x):
    a = x * 2.0
    b = a * 1.0
    b[2] = b[2] * x[0]
    c = a + b * 1.0
    c[1] = c[1] * c[3]
    return np.sum(c * W) + a[1] * b[3]


CASES = [scaled_by_one, copied_then_updated]


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_grad(fn):
    assert_close(s2s.grad(fn)(X), numerical_grad(fn, [X], 0))


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_vjp_and_jvp(fn):
    expected = numerical_grad(fn, [X], 0)
    _, pullback = s2s.vjp(fn, X)
    assert_close(pullback(1.5)[0], 1.5 * expected)
    tangent = np.array([0.5, -1.0, 1.5, 0.25])
    _, derivative = s2s.jvp(fn, (X,), (tangent,))
    assert derivative == pytest.approx(float(expected @ tangent), rel=1e-6, abs=1e-8)
