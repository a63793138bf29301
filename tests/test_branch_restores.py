"""A branch in a loop whose adjoint only puts values back (its values are overwritten
before anything reads them): the reversed loop must still know which way each iteration
went. The condition was not saved (the first sweep, made without restores, found the
branch's adjoint empty and the condition unread), so the reversed loop took every
iteration the way the last one went: an IndexError from an empty stack, or values put back
into the wrong iterations. Tests against finite differences at many points."""
import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad


def overwritten_branch(x):
    v = -1.2
    for i in range(4):
        if np.sum(v) < 0.8:
            v = np.tanh(np.cos(x / (1.5 + x * x)))
            v = v * 0.5 + np.sin(v)
        v = np.tanh(np.cos(x) / (1.5 + (i / (1.5 + x * x)) ** 2))
    return np.sum(x + (1.5 + v))


def overwritten_in_while(x):
    v = 0.0
    k = 0
    while k < 5:
        if v < 0.2 * k:
            v = np.sin(x[0]) * x[1]
        v = x[1] * k - v * 0.0 + np.cos(x[0] * k)
        k += 1
    return v * x[0]


@pytest.mark.parametrize("fn", [overwritten_branch, overwritten_in_while],
                         ids=lambda f: f.__name__)
def test_branches_whose_adjoint_only_restores(fn):
    rng = np.random.default_rng(1)
    for _ in range(12):
        x = rng.uniform(-2.0, 2.0, 3)
        expected = numerical_grad(fn, [x], 0)
        assert_close(s2s.grad(fn)(x), expected)
        (dx,) = s2s.vjp(fn, x)[1](1.0)
        assert_close(dx, expected)
