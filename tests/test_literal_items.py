"""An item read straight from a tuple or list literal, ``(x, 1.0)[0]``, carries its gradient.

The literal stayed in place and the item's cotangent was dropped: the gradient was silently
wrong. Each case is checked in both modes against central differences.
"""
import numpy as np
import pytest

import s2s
from tests.finite_diff import numerical_grad

B = np.array([0.3, 0.5])
C = np.array([0.7, 1.1])


def product_of_item(c):
    return np.sum(np.cos(B * c) * np.sin((c, True)[0]))


def negative_index(c):
    return np.sum(np.cos(c) * [2.0, c][-1])


def item_of_item(c):
    return np.sum(((c, c * c), 3.0)[0][1] * c)


def run_time_index(c, k):
    return np.sum((c * 2.0, np.sin(c), 1.0)[k] * c)


def in_a_loop(c):
    total = 0.0
    for k in range(2):
        total = total + np.sum([c, c ** 2][k])
    return total


@pytest.mark.parametrize("fun", [product_of_item, negative_index, item_of_item, in_a_loop])
def test_literal_item_gradient(fun):
    expected = numerical_grad(fun, (C,))
    np.testing.assert_allclose(s2s.grad(fun)(C), expected, rtol=1e-6, atol=1e-8)
    direction = np.array([0.4, -1.3])
    _, tangent = s2s.jvp(fun, (C,), (direction,))
    np.testing.assert_allclose(tangent, expected @ direction, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("k", [0, 1, 2])
def test_literal_item_at_run_time_index(k):
    expected = numerical_grad(run_time_index, (C, k))
    np.testing.assert_allclose(s2s.grad(run_time_index)(C, k), expected, rtol=1e-6, atol=1e-8)
    _, tangent = s2s.jvp(lambda c: run_time_index(c, k), (C,), (np.ones(2),))
    np.testing.assert_allclose(tangent, expected.sum(), rtol=1e-6, atol=1e-8)


def test_constant_item_reads_as_the_item(capsys):
    s2s.show(product_of_item, C)
    text = capsys.readouterr().out
    assert "np.sin(c)" in text and "(c, True)" not in text
