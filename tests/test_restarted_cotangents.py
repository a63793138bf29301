"""Cotangents restarted at zero where the paths of the adjoint disagree.

A name assigned in one branch (or one iteration) only has a cotangent that is consumed on
that path and still live on the other; the adjoint restarts it at zero where the paths
join. That zero must have the primal's shape: rules and the shape lowering of ``grad``
write ``dv.sum(axis=0)``, ``np.reshape(dv, x.shape)`` or ``dv @ W.T`` for it. Each function
here once crashed (``'float' object has no attribute 'sum'``, ``cannot reshape array of
size 1``); each is checked in grad (shape-specialized), vjp and jacfwd against central
finite differences, with the branches taken and not taken.
"""
import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad


def branches_reassign(x0, x1, x2):
    # found by the fuzzer: v0 is reassigned twice under the same condition
    v0 = np.cos(x2) + x2 * x0 + (x1 + 1.2)
    if x0 > -0.5:
        v0 = np.tanh(np.exp(np.tanh(x1 + x2)))
    if x0 > -0.5:
        v0 = np.tanh(x1)
    return x0 * v0 * np.exp(np.sin(x1))


def reshaped_then_branch(x, c):
    v = np.reshape(x, (3, 1))
    if c > 0:
        v = np.reshape(np.sin(x), (3, 1))
    return np.sum(v * np.arange(1.0, 4.0).reshape(3, 1))


def transposed_then_branch(w, c):
    v = w.T
    if c > 0:
        v = np.sin(w).T
    return np.sum(v * np.arange(1.0, 3.0))


def product_then_branch(w, x, c):
    v = w @ x
    if c > 0:
        v = np.tanh(x[:2])
    return np.sum(v * np.arange(1.0, 3.0))


def broadcast_in_loop(x, y):
    # a number plus an array, reassigned in one iteration of a loop
    v = x + y
    for i in range(3):
        w = np.sum(v) * 0.5 + y
        if i == 1:
            v = np.sin(w)
    return np.sum(v * v)


def scalar_plus_array_in_loop(s, x):
    w = s * 1.0
    for j in range(2):
        w = s + x
    return np.sum(w * x)


def list_then_branch(x, c):
    v = [x, x * 2.0]
    if c > 0:
        v = [np.sin(x), x]
    return np.sum(v[0] * v[1])


X3 = np.array([0.1, 0.2, 0.3])
W23 = np.arange(6.0).reshape(2, 3) / 7.0

# (function, arguments, positions differentiated): the others are flags
CASES = [
    (branches_reassign, (0.3, X3, 0.2), (0, 1, 2)),
    (branches_reassign, (-0.8, X3, 0.2), (0, 1, 2)),
    (reshaped_then_branch, (X3, 1.0), (0,)),
    (reshaped_then_branch, (X3, -1.0), (0,)),
    (transposed_then_branch, (W23, 1.0), (0,)),
    (transposed_then_branch, (W23, -1.0), (0,)),
    (product_then_branch, (W23, X3, 1.0), (0, 1)),
    (product_then_branch, (W23, X3, -1.0), (0, 1)),
    (broadcast_in_loop, (X3, 0.4), (0, 1)),
    (broadcast_in_loop, (X3, np.array([0.1, 0.5, 0.7])), (0, 1)),
    (scalar_plus_array_in_loop, (0.4, X3), (0, 1)),
    (list_then_branch, (X3, 1.0), (0,)),
    (list_then_branch, (X3, -1.0), (0,)),
]
IDS = [f"{fn.__name__}-{i}" for i, (fn, _, _) in enumerate(CASES)]


@pytest.mark.quick
@pytest.mark.parametrize("fn, args, positions", CASES, ids=IDS)
def test_grad(fn, args, positions):
    grads = s2s.grad(fn, grad_position=positions)(*args)
    for position, g in zip(positions, grads):
        assert_close(g, numerical_grad(fn, args, position))


@pytest.mark.parametrize("fn, args, positions", CASES, ids=IDS)
def test_vjp(fn, args, positions):
    out, pullback = s2s.vjp(fn, *args)
    grads = pullback(np.ones_like(out))
    for position in positions:
        assert_close(grads[position], numerical_grad(fn, args, position))


@pytest.mark.parametrize("fn, args, positions", CASES, ids=IDS)
def test_jacfwd(fn, args, positions):
    output_axes = tuple(range(np.ndim(fn(*args))))
    for position in positions:
        jac = np.sum(s2s.jacfwd(fn, position)(*args), axis=output_axes)
        assert_close(jac, np.asarray(numerical_grad(fn, args, position)))
