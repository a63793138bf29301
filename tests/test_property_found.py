"""Bugs the user-program fuzzer (test_property_programs.py) found, one plain case each.

Every case is checked in both modes against central finite differences in float64: reverse
(``s2s.grad``) and forward (``s2s.jvp``, one basis tangent per input entry).
"""
from __future__ import annotations

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad
from user_helpers import predict

X = 0.7
V3 = np.array([0.3, -0.5, 0.9])
M23 = np.array([[0.3, -0.5, 0.9], [1.1, 0.2, -0.4]])


def constant_list_joined(x):
    # forward mode dropped the zero tangents of [1.0]: dl[2] read past the end
    l = [1.0] + [2.0, x]
    return l[2] * l[0]


def constant_tuple_joined(x):
    t = (0.5,) + (x, x * x)
    return t[2] + t[0]


def list_plus_equals_on_constants(x):
    l = [1.0, 2.0]
    l += [x]
    return l[2] * l[0]


def list_joined_with_itself(v):
    # the two halves' cotangents were joined (list +) instead of added item by item
    l1 = [0.0] + [0.5, np.dot(v, v)]
    l2 = l1 + l1
    return l2[5] * np.mean(v)


def dict_literal_to_helper(x):
    # the helper's pullback made an array buffer for its dict parameter: an IndexError
    return predict({"w": x, "b": 1.0}, x)


def dict_name_to_helper(x):
    p = {"w": x, "b": x * x}
    return predict(p, 2.0)


def closure_reading_a_dict(x):
    d = {"w": x, "b": 2.0}

    def g(u):
        return u * d["w"]
    return g(3.0)


def closure_passing_a_dict_on(x):
    p = {"w": x, "b": 1.0}
    g = lambda u: predict(p, u)  # noqa: E731
    return g(2.0)


def repeated_store_of_a_dict_item(x):
    return _store_item({"w": x, "b": 2.0})


def _store_item(p):
    # the stored number's cotangent kept the shape of the three slots it filled
    y = np.zeros(3)
    y[[2, 1, 1]] = p["w"]
    return np.sum(y * np.array([1.0, 2.0, 3.0]))


def lambda_parameter_named_like_a_loop_variable(x):
    # forward mode took the lambda's parameter u for a variable rebound after its def
    g = lambda u: u * x  # noqa: E731
    acc = g(2.0)
    for u in [x, 2.0 * x]:
        acc = acc + u
    return acc


def store_of_a_negative_constant(v):
    # forward mode: an internal AttributeError on the zero tangent of -0.3
    y = np.exp(v) * 1.0
    y[[0, 2, 0]] = -0.3
    return np.sum(y * y)


def closure_over_an_unpacked_name(x):
    # the optimizer renamed v2 inside the lambda but not in the names of its cotangent:
    # an internal TypeError ("'lambda_' has no parameter 'v2'")
    v1, v2 = np.sin(x), np.cos(x)
    g = lambda u: u * v2  # noqa: E731
    return g(2.0) + v1


def closure_over_a_comprehension(x):
    l0 = [x * k for k in range(3)]
    g = lambda u: u * l0[1]  # noqa: E731
    return g(2.0)


def append_to_an_unread_list(v):
    # refused as "a call to l0.append whose result is not used"
    l0 = [np.ones(3)] + [v]
    l0.append(v * 2.0)
    return np.sum(v * v)


def sum_after_an_item_update(x):
    # l2[0] += ... made the analysis forget l2 is a list: its cotangents were joined by +=
    l2 = [x] + [x + 0.5, 0.5]
    l2[0] += 1.0
    return sum(l2) * l2[0]


def store_over_a_joined_item(v):
    # the overwritten slot's zero cotangent (a number) reached np.concatenate's adjoint
    l = [np.sin(v)] + [np.concatenate([v[:1], v[1:]]) * 1.5]
    l[-1] = np.cos(v)
    return np.sum(l[0] * l[1])


def constant_stored_in_a_loop(m):
    # found by test_property_flow_programs.py: a loop (or branch) whose only active
    # statement stores into an item was taken for inactive code and left out of the
    # gradient, so the overwritten rows kept their cotangent
    out = m * 1.0
    for k in range(2):
        out[k] = np.ones(3)
    return np.sum(out * out)


def constant_stored_in_a_branch(m):
    out = m * 1.0
    if np.sum(m) > -10.0:
        out[0] = np.ones(3)
    return np.sum(out * out)


def constant_slice_stored_in_a_while_loop(m):
    out = m * 1.0
    k = 0
    while k < 2:
        out[k, 1:] = 2.0
        k += 1
    return np.sum(out * out)


def constant_stored_into_a_list_in_a_loop(m):
    out = [m[0], m[1]]
    for k in range(2):
        out[k] = np.ones(3)
    return np.sum(out[0] * out[1])


def value_stored_in_a_loop(m):
    # the same bug when the stored value is a name: the gradient was zero (the loop had no
    # adjoint)
    total = np.sum(m * m)
    out = np.zeros(3)
    for k in range(3):
        out[k] = total
    return np.sum(np.sin(out * np.array([1.0, 2.0, 3.0])))


CASES = [
    (constant_list_joined, X),
    (constant_tuple_joined, X),
    (list_plus_equals_on_constants, X),
    (list_joined_with_itself, V3),
    (dict_literal_to_helper, X),
    (dict_name_to_helper, X),
    (closure_reading_a_dict, X),
    (closure_passing_a_dict_on, X),
    (repeated_store_of_a_dict_item, X),
    (lambda_parameter_named_like_a_loop_variable, X),
    (store_of_a_negative_constant, V3),
    (closure_over_an_unpacked_name, X),
    (closure_over_a_comprehension, X),
    (append_to_an_unread_list, V3),
    (sum_after_an_item_update, X),
    (store_over_a_joined_item, V3),
    (constant_stored_in_a_loop, M23),
    (constant_stored_in_a_branch, M23),
    (constant_slice_stored_in_a_while_loop, M23),
    (constant_stored_into_a_list_in_a_loop, M23),
    (value_stored_in_a_loop, M23),
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


@pytest.mark.parametrize("f, x", CASES, ids=[f.__name__ for f, _ in CASES])
def test_reverse_matches_finite_differences(f, x):
    assert_close(s2s.grad(f)(x), numerical_grad(f, (x,), 0), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("f, x", CASES, ids=[f.__name__ for f, _ in CASES])
def test_forward_matches_finite_differences(f, x):
    assert_close(_jvp_gradient(f, x), numerical_grad(f, (x,), 0), rtol=1e-6, atol=1e-7)


# --- second order: s2s.hessian against second differences of f itself ---------------------------

def rows_stored_in_a_loop(v):
    # forward mode over the gradient refused its restore_item(out, k, out_saved.pop()) as
    # "a call made for its effect"; before that, a wrong Hessian (the loop was left out)
    out = np.outer(v, v)
    for k in range(2):
        out[k] = np.sin(v) * v[k]
    return np.sum(out * out)


def items_stored_into_a_list_in_a_loop(v):
    out = [0.0] * 3
    for k in range(3):
        out[k] = k * 0.5 + np.mean(v) ** 2
    return sum(out) * np.sum(v)


def items_stored_at_two_counters(v):
    out = np.zeros((3, 3))
    for k in range(3):
        out[k, (k + 1) % 3] = np.tanh(v[k]) * v[(k + 1) % 3]
    return np.sum(out @ out.T)


SECOND_ORDER_CASES = [rows_stored_in_a_loop, items_stored_into_a_list_in_a_loop,
                      items_stored_at_two_counters]


def _second_differences(f, x, h=1e-4):
    """The Hessian of f at the vector x by second-order central differences of f."""
    size = x.size
    hessian = np.zeros((size, size))
    unit = np.eye(size) * h
    for a in range(size):
        for b in range(size):
            hessian[a, b] = (f(x + unit[a] + unit[b]) - f(x + unit[a] - unit[b])
                             - f(x - unit[a] + unit[b]) + f(x - unit[a] - unit[b])) / (4 * h * h)
    return hessian


@pytest.mark.parametrize("f", SECOND_ORDER_CASES, ids=[f.__name__ for f in SECOND_ORDER_CASES])
def test_hessian_matches_second_differences(f):
    assert_close(s2s.hessian(f)(V3), _second_differences(f, V3), rtol=1e-5, atol=1e-6)


def name_bound_in_one_branch(v, m):
    # reverse over reverse: the adjoint of the branch taken reset the cotangent of the other
    # branch's tanh with zeros_like of a name never bound (UnboundLocalError)
    if np.sum(m) > 0.3:
        b = np.tanh(v) * 2.0
    else:
        b = m[0] + np.tanh(v)
    return np.sum(b * b)


M23_NEGATED = -M23


@pytest.mark.parametrize("m", [M23, M23_NEGATED], ids=["body", "else"])
def test_grad_of_grad_of_a_branch_matches_second_differences(m):
    def f(v):
        return name_bound_in_one_branch(v, m)
    # the gradient of the sum of the gradient: the Hessian's row sums
    expected = _second_differences(f, V3).sum(axis=0)
    assert_close(s2s.grad(s2s.grad(name_bound_in_one_branch))(V3, m), expected,
                 rtol=1e-5, atol=1e-6)
