"""Gradients specialized on argument shapes stay exact.

``s2s.grad`` generates code for the shapes of a call's array arguments: broadcasts are
undone with ``g.sum(axis=...)`` written out, matrix products' adjoints become ``g @ W.T``
and the like, and indexing helpers become plain indexing. Each case here is checked
against central finite differences, for several shapes of the same function, so that a
specialization for one shape can never serve another.
"""
import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad


def normal(*shape, seed=0):
    return np.random.default_rng(seed + len(shape)).normal(size=shape)


# --- broadcasting undone with sums written out ------------------------------------------
def add_broadcast(x, y):
    return np.sum(np.tanh(x + y) * (x * y))


def leading_and_stretched(x, y):
    # y: (1, n) or (m, 1, n) against x: (k, m, n)
    return np.sum(np.sin(x * y + y))


def scalar_times_array(a, x):
    return np.sum(np.exp(a * x))


BROADCAST_CASES = [
    (add_broadcast, (normal(3, 4), normal(4))),             # leading axis
    (add_broadcast, (normal(4), normal(3, 4))),
    (add_broadcast, (normal(3, 1), normal(1, 4))),          # both stretched, keepdims
    (add_broadcast, (normal(2, 3, 4), normal(3, 1))),       # leading and stretched
    (add_broadcast, (normal(5), normal(5))),
    (leading_and_stretched, (normal(2, 3, 4), normal(1, 4))),
    (leading_and_stretched, (normal(2, 3, 4), normal(2, 1, 4))),
    (leading_and_stretched, (normal(2, 1, 4), normal(3, 1))),
    (scalar_times_array, (0.3, normal(4, 2))),
    (scalar_times_array, (np.float64(0.3), normal(3))),
    (scalar_times_array, (np.array(0.3), normal(3))),       # a 0-d array, not a float
]


@pytest.mark.quick
@pytest.mark.parametrize("fn, args", BROADCAST_CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(BROADCAST_CASES)])
def test_broadcast_gradients(fn, args):
    grads = s2s.grad(fn, grad_position=(0, 1))(*args)
    for position, g in enumerate(grads):
        assert_close(g, numerical_grad(fn, args, position))


# --- matrix products of every rank pairing ---------------------------------------------
def product(a, b):
    return np.sum(np.tanh(a @ b))


def product_call(a, b):
    return np.sum(np.matmul(a, b) ** 2)


def dot_of_vectors(a, b):
    return np.tanh(a @ b)


MATMUL_CASES = [
    (product, (normal(3, 4), normal(4, 2))),
    (product, (normal(3, 4), normal(4))),                   # matrix @ vector
    (product, (normal(4), normal(4, 2))),                   # vector @ matrix
    (product, (normal(2, 3, 4), normal(4, 5))),             # batched: left to run time
    (product_call, (normal(3, 4), normal(4, 2))),
    (product_call, (normal(4), normal(4, 3))),
    (dot_of_vectors, (normal(4), normal(4))),               # a number
]


@pytest.mark.quick
@pytest.mark.parametrize("fn, args", MATMUL_CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(MATMUL_CASES)])
def test_matmul_gradients(fn, args):
    grads = s2s.grad(fn, grad_position=(0, 1))(*args)
    for position, g in enumerate(grads):
        assert_close(g, numerical_grad(fn, args, position))


def test_known_matrix_shapes_write_the_products_out():
    df = s2s.grad(product, grad_position=(0, 1))
    df(normal(3, 4), normal(4, 2))
    source = df.__wrapped__.__s2s_source__
    assert "matmul_adjoint" not in source and ".T" in source, source


# --- items of arrays written by index ----------------------------------------------------
def recurrence(a, u):
    out = np.zeros_like(u)
    out[0] = u[0]
    for i in range(1, len(u)):
        out[i] = out[i - 1] * a + u[i]
    return np.sum(out * out)


def rows(w, x):
    # rows of a matrix are views: their saved values and cotangents must be copies
    out = np.zeros_like(x)
    for i in range(x.shape[0]):
        out[i] = np.tanh(x[i] * w) + out[i - 1] * 0.5
    return np.sum(out ** 2)


def pairs(a, x):
    n, m = x.shape
    out = np.zeros_like(x)
    for i in range(n):
        for j in range(m):
            out[i, j] = x[i, j] * a + out[i - 1, j] * a
    return np.sum(np.sin(out))


ITEM_CASES = [
    (recurrence, (0.9, normal(6))),
    (recurrence, (0.7, normal(9))),
    (rows, (normal(3), normal(4, 3))),
    (rows, (normal(1), normal(2, 1))),
    (pairs, (0.8, normal(3, 2))),
]


@pytest.mark.parametrize("fn, args", ITEM_CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(ITEM_CASES)])
def test_indexed_writes(fn, args):
    before = [np.copy(a) for a in args]
    grads = s2s.grad(fn, grad_position=(0, 1))(*args)
    for position, g in enumerate(grads):
        assert_close(g, numerical_grad(fn, args, position))
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)         # inputs untouched


def test_float_argument_gets_a_float_gradient():
    da, du = s2s.grad(recurrence, grad_position=(0, 1))(0.9, normal(5))
    assert isinstance(da, float) and np.ndim(da) == 0     # float or np.float64
    assert_close(da, numerical_grad(recurrence, (0.9, normal(5)), 0))


# --- one function, many shapes -------------------------------------------------------------
def test_each_shape_gets_its_own_code_and_exact_gradients():
    df = s2s.grad(add_broadcast, grad_position=(0, 1))
    for args in [(normal(3, 4), normal(4)), (normal(4), normal(4)), (normal(2, 4), normal(1)),
                 (normal(3, 4), normal(4)), (2.0, normal(3))]:
        grads = df(*args)
        for position, g in enumerate(grads):
            assert_close(g, numerical_grad(add_broadcast, args, position))


def test_past_the_limit_one_unspecialized_gradient_serves_every_shape():
    df = s2s.grad(scalar_times_array, grad_position=1)
    for n in range(1, 25):
        args = (0.5, normal(n))
        assert_close(df(*args), numerical_grad(scalar_times_array, args, 1))
    generated = {id(code) for code, _ in df._variants.values()}
    assert len(generated) <= 17, len(generated)


def rewritten_items(a, u):
    out = np.zeros_like(u)
    for i in range(len(u)):
        out[i] = u[i] * a
    for i in range(len(u)):
        out[i] = out[i] * out[i] + a      # the same slots again, read before written
    return np.sum(np.sin(out))


def row_views(w, x):
    out = np.ones_like(x)
    for i in range(1, x.shape[0]):
        row = out[i - 1]                  # a view: restores must stay
        out[i] = row * w + x[i]
        out[i - 1] = out[i - 1] * 0.5
    return np.sum(out * out)


def value_and_items(a, u):
    out = np.zeros_like(u)
    for i in range(len(u)):
        out[i] = u[i] * a
    return np.sum(out ** 2), out


@pytest.mark.parametrize("fn, args", [(rewritten_items, (0.6, normal(5))),
                                      (row_views, (normal(3), normal(4, 3)))])
def test_items_written_again_and_read_through_views(fn, args):
    grads = s2s.grad(fn, grad_position=(0, 1))(*args)
    for position, g in enumerate(grads):
        assert_close(g, numerical_grad(fn, args, position))


def test_aux_array_written_by_index_keeps_its_values():
    a, u = 0.5, normal(4)
    (value, out), grads = s2s.value_and_grad(value_and_items, grad_position=(0, 1),
                                             has_aux=True)(a, u)
    np.testing.assert_allclose(out, u * a)
    np.testing.assert_allclose(value, np.sum((u * a) ** 2))
    assert_close(grads[1], numerical_grad(lambda a, u: value_and_items(a, u)[0], (a, u), 1))


# --- cheap primal values recomputed inside the adjoint ---------------------------------------
def tanh_times_square(x):
    return np.sum(np.tanh(x) * x ** 2)


def square_used_twice(x, y):
    s = x ** 2
    return np.sum(np.tanh(x) * s) + np.sum(s * y)


def square_then_written(x):
    x = x.copy()
    s = x ** 2
    x[0] = 10.0                 # x changes after s is computed: s must not be recomputed
    return np.sum(np.tanh(x) * s)


@pytest.mark.parametrize("fn, args", [(tanh_times_square, (normal(7),)),
                                      (square_used_twice, (normal(4), normal(4))),
                                      (square_then_written, (normal(5),))])
def test_recomputed_primal_values(fn, args):
    grads = s2s.grad(fn, grad_position=tuple(range(len(args))))(*args)
    for position, g in enumerate(grads):
        assert_close(g, numerical_grad(fn, args, position))


def test_square_is_not_kept_from_the_primal():
    df = s2s.grad(tanh_times_square)
    df(normal(7))
    source = df.__wrapped__.__s2s_source__
    # x ** 2 is only read by the adjoint: it shares the factor x with 2 * x there
    assert "** 2" not in source and source.count("np.tanh") == 1, source


# --- slots of cotangent buffers that must (or need not) be cleared ---------------------------
def two_passes(a, u):
    out = np.zeros_like(u)
    for i in range(1, len(u)):
        out[i] = out[i - 1] * a + u[i]
    for i in range(len(u)):
        out[i] = out[i] * a + 1.0         # the same slots written again
    return np.sum(out ** 2)


def looks_ahead(a, u):
    out = np.ones_like(u)
    for i in range(len(u) - 1):
        out[i] = out[i + 1] * a + u[i]    # reads a slot a later iteration writes
    return np.sum(out ** 2)


def rewrites_behind(a, u):
    out = np.zeros_like(u)
    out[0] = u[0]
    for i in range(1, len(u)):
        out[i] = out[i - 1] * a + u[i]
        out[i - 1] = out[i - 1] * 0.5     # and writes the slot behind again
    return np.sum(np.sin(out))


@pytest.mark.quick
@pytest.mark.parametrize("fn", [recurrence, two_passes, looks_ahead, rewrites_behind])
def test_cleared_slots(fn):
    args = (0.7, normal(6))
    grads = s2s.grad(fn, grad_position=(0, 1))(*args)
    for position, g in enumerate(grads):
        assert_close(g, numerical_grad(fn, args, position))


# --- found by random programs over mixed shapes ----------------------------------------------
def sum_over_first_axis(a):
    t = np.sum(a, axis=0)             # not a full reduction, though 0 is falsy
    return np.sum((a * t) ** 4) + np.sum(a)


def sum_of_a_number_over_axis_0(a, b):
    return np.sum((b + np.sum(a, axis=0)) ** 2)     # NumPy allows it on a 0-d value


@pytest.mark.parametrize("fn, args", [(sum_over_first_axis, (normal(1, 3),)),
                                      (sum_over_first_axis, (normal(2, 3),)),
                                      (sum_of_a_number_over_axis_0, (0.7, normal(2, 1)))])
def test_reductions_over_one_axis(fn, args):
    grads = s2s.grad(fn, grad_position=tuple(range(len(args))))(*args)
    for position, g in enumerate(grads):
        assert_close(g, numerical_grad(fn, args, position))
