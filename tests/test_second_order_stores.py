"""Second derivatives of functions that store items (``out[i] = v``, ``l[k] = v``,
``d[key] = v``), in reverse over reverse, forward over reverse (``hessian``) and
``jacfwd(jacfwd(...))``, against closed forms.

A gradient puts back what a store overwrote (``restore_item``) and zeroes the overwritten
slot's cotangent (``clear_item``); differentiated again, these read as the stores they
make. They were refused ("a call to restore_item whose result is not used")."""
import numpy as np
import pytest

import s2s
from finite_diff import assert_close

X = np.array([0.4, -1.1, 0.7, 0.3])
W = np.array([1.0, 2.0, 3.0, -1.0])


def neighbours(x):
    out = np.zeros(4)
    for i in range(4):
        out[i] = x[(i + 1) % 4] * x[i]
    return np.sum(out ** 2)            # sum_i x_{i+1}^2 x_i^2


def neighbours_hessian(x):
    n = 4
    h = np.zeros((n, n))
    for i in range(n):
        j = (i + 1) % n
        h[i, i] += 2 * x[j] ** 2
        h[j, j] += 2 * x[i] ** 2
        h[i, j] += 4 * x[i] * x[j]
        h[j, i] += 4 * x[i] * x[j]
    return h


def overwritten(x):
    y = x * 1.0
    y[0] = y[1] * y[2]                  # y = [x1 x2, x1, x2, x3]
    y[3] = y[0] ** 2                    # y3 = x1^2 x2^2
    return np.sum(y) + y[3] * x[0]      # x1 x2 + x1 + x2 + x1^2 x2^2 (1 + x0)


def overwritten_hessian(x):
    x0, x1, x2 = x[0], x[1], x[2]
    h = np.zeros((4, 4))
    h[0, 1] = h[1, 0] = 2 * x1 * x2 ** 2
    h[0, 2] = h[2, 0] = 2 * x1 ** 2 * x2
    h[1, 1] = 2 * x2 ** 2 * (1 + x0)
    h[2, 2] = 2 * x1 ** 2 * (1 + x0)
    h[1, 2] = h[2, 1] = 1 + 4 * x1 * x2 * (1 + x0)
    return h


def list_items(x):
    l = [x[0], x[1], x[2]]
    l[1] = l[0] * l[2]                  # [x0, x0 x2, x2]
    l[0] = l[1] * x[3]                  # x0 x2 x3
    return l[0] + l[1] * l[2]           # x0 x2 x3 + x0 x2^2


def list_items_hessian(x):
    x0, x2, x3 = x[0], x[2], x[3]
    h = np.zeros((4, 4))
    h[0, 2] = h[2, 0] = x3 + 2 * x2
    h[0, 3] = h[3, 0] = x2
    h[2, 3] = h[3, 2] = x0
    h[2, 2] = 2 * x0
    return h


CASES = [(neighbours, neighbours_hessian), (overwritten, overwritten_hessian),
         (list_items, list_items_hessian)]


@pytest.mark.parametrize("fn, hessian", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_second_derivatives_of_item_stores(fn, hessian):
    expected = hessian(X)
    first = s2s.grad(fn)

    def weighted(v):
        return np.sum(first(v) * W)

    assert_close(s2s.grad(weighted)(X), expected @ W)
    assert_close(s2s.hessian(fn)(X), expected)
    assert_close(s2s.jacfwd(s2s.jacfwd(fn))(X), expected)
