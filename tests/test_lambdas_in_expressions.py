"""Lambdas written inside larger expressions: a dict or tuple of lambdas, one per line, and
(on Python 3.11 and newer, where the interpreter tells a lambda's column) several lambdas on
one line. Their gradients in both modes, against finite differences. Before, the line of a
lambda inside a dict did not parse alone ("illegal target for annotation") and two lambdas
on one line with the same parameters were refused."""
import sys

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad

X = np.array([0.3, -1.2, 0.7])

LOSSES = {
    "square": (lambda v: np.sum(v * v), 2.0),
    "sine": (lambda v: np.sum(np.sin(v) * v[0]), 0.5),
}
ON_ONE_LINE = [lambda v: np.sum(v ** 3), lambda v: np.sum(np.cos(v) * v)]


def check(fn):
    expected = numerical_grad(fn, [X], 0)
    assert_close(s2s.grad(fn)(X), expected)
    tangent = np.array([0.5, -1.0, 2.0])
    _, derivative = s2s.jvp(fn, (X,), (tangent,))
    assert derivative == pytest.approx(float(expected @ tangent), rel=1e-6)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_a_lambda_inside_a_dict_entry(name):
    check(LOSSES[name][0])


@pytest.mark.skipif(sys.version_info < (3, 11), reason="columns of code: Python 3.11")
@pytest.mark.parametrize("index", [0, 1])
def test_two_lambdas_on_one_line(index):
    check(ON_ONE_LINE[index])
