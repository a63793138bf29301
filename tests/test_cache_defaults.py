"""Defaults given new values after a gradient was made (``f.__defaults__ = ...``, or a
keyword-only default changed in place): the next call of the same ``grad`` object, and of
every other transform, uses the new values, against finite differences. Before, a ``grad``
object kept the code bound to the old defaults: a stale gradient without an error."""
import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad

X = np.array([0.3, -1.2, 0.7])


def scaled(x, s=1.0):
    return np.sum(np.sin(x) * s)


def scaled_kw(x, *, s=1.0):
    return np.sum(np.sin(x) * s)


def scaled_tree(xs, s=1.0):
    return np.sum(xs[0] * xs[1] * s)


@pytest.fixture(autouse=True)
def restore_defaults():
    yield
    scaled.__defaults__ = (1.0,)
    scaled_kw.__kwdefaults__ = {"s": 1.0}
    scaled_tree.__defaults__ = (1.0,)


def change(fn, value, in_place=False):
    if fn is scaled_kw:
        if in_place:
            fn.__kwdefaults__["s"] = value
        else:
            fn.__kwdefaults__ = {"s": value}
    else:
        fn.__defaults__ = (value,)


@pytest.mark.parametrize("fn, in_place", [(scaled, False), (scaled_kw, False),
                                          (scaled_kw, True)],
                         ids=["defaults", "kwdefaults", "kwdefaults-in-place"])
def test_a_grad_object_follows_new_defaults(fn, in_place):
    grad = s2s.grad(fn)
    value_and_grad = s2s.value_and_grad(fn)
    for value in (1.0, 3.0, -2.0):
        change(fn, value, in_place)
        expected = numerical_grad(fn, [X], 0)
        assert_close(grad(X), expected)
        v, g = value_and_grad(X)
        assert v == pytest.approx(fn(X))
        assert_close(g, expected)
        _, pullback = s2s.vjp(fn, X)
        assert_close(pullback(1.0)[0], expected)
        _, derivative = s2s.jvp(fn, (X,), (np.ones(3),))
        assert derivative == pytest.approx(float(np.sum(expected)))


def test_a_pytree_gradient_follows_new_defaults():
    grad = s2s.grad(scaled_tree)
    xs = [X, X + 1.0]
    for value in (1.0, 4.0):
        scaled_tree.__defaults__ = (value,)
        assert_close(grad(xs), numerical_grad(scaled_tree, [xs], 0))
