"""Patterns found after issue 12 by reviews and by fuzzing: each right in both modes or a
located error, never a wrong number or an internal exception.

GRADIENTS: ``s2s.grad`` and ``s2s.jvp`` (one basis tangent per input entry) against central
finite differences in float64. The other tests say what they check.
"""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad

X = 0.7
V3 = np.array([0.3, -0.4, 0.6])
V4 = np.array([0.3, -0.4, 0.6, 0.1])


# --- sort orders -------------------------------------------------------------------------

def sort_order(items, key=None, reverse=False):
    # a branch whose only statement has no derivative: its adjoint block was empty, and
    # the generated code did not compile (IndentationError)
    items = list(items)
    if key is None:
        return sorted(range(len(items)), key=items.__getitem__, reverse=reverse)
    return sorted(range(len(items)), key=lambda i: key(items[i]), reverse=reverse)


def gathered_in_sort_order(x):
    order = sort_order(x)
    return x[order[0]] * x[order[-1]]


# (function, argument, modes)
GRADIENTS = [
    (sort_order, V4, ("grad",)),
    (gathered_in_sort_order, V4, ("grad",)),
]


def _jvp_gradient(f, x):
    """The gradient of sum(f) at x, one jvp per entry of x."""
    if not isinstance(x, np.ndarray):
        return float(np.sum(s2s.jvp(f, (x,), (1.0,))[1]))
    grad = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        basis = np.zeros_like(x)
        basis[k] = 1.0
        grad[k] = np.sum(s2s.jvp(f, (x,), (basis,))[1])
    return grad


def _total(f):
    """sum(f), the function finite differences differentiate."""
    return lambda x: float(np.sum(np.asarray(f(x), dtype=np.float64)))


RUNS = [(f, x, mode) for f, x, modes in GRADIENTS for mode in modes]


@pytest.mark.parametrize("f, x, mode", RUNS, ids=[f"{f.__name__}-{m}" for f, _, m in RUNS])
def test_gradients_match_finite_differences(f, x, mode):
    expected = numerical_grad(_total(f), (x,), 0)
    got = s2s.grad(f)(x) if mode == "grad" else _jvp_gradient(f, x)
    assert_close(got, expected, rtol=1e-6, atol=1e-7)


def test_the_adjoint_of_a_branch_without_derivative_compiles():
    source = inspect.getsource(s2s.grad(sort_order).code_for(V4))
    compile(source, "<generated>", "exec")
