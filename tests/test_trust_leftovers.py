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
from s2s.errors import S2SError

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


# --- np.add.at: silently zero in a branch or a loop (both modes), and forward mode lost a
# --- value computed in the call (x * 2.0) or read from the buffer itself ------------------

def add_at_in_a_branch(x):
    y = np.zeros(3)
    if x[0] > 0:
        np.add.at(y, [0, 2, 2], x)
    return np.sum(np.sin(y))


def add_at_in_a_loop(x):
    y = np.zeros(3)
    for i in range(3):
        np.add.at(y, [0, i, i], x * (i + 1.0))
    return np.sum(np.sin(y))


def add_at_of_the_buffer_itself(x):
    y = x * 1.0
    for _ in range(2):
        np.add.at(y, [2, 0, 2], y * 0.5)
    return np.sum(np.sin(y))


def add_at_twice(x):
    y = np.zeros(3)
    np.add.at(y, [0, 2, 2], x)
    np.add.at(y, [1, 1, 0], x * 2.0)
    return np.sum(np.sin(y))


def add_at_after_a_read(x):
    # the adjoint of z = y * y reads y as it was before the update
    y = x * 1.0
    z = y * y
    np.add.at(y, [2, 0, 2], x * 0.5)
    return np.sum(z * y)


def add_at_over_a_loop_variable(x):
    y = np.zeros(3)
    for u in x:
        np.add.at(y, [0, 1, 1], u * x)
    return np.sum(np.sin(y))


def add_at_of_tuple_and_basic_indexes(x):
    y = np.zeros((2, 3))
    np.add.at(y, (np.array([0, 1, 0]), np.array([2, 2, 2])), x)
    np.add.at(y, 1, x[0])
    np.add.at(y, (slice(None), 0), x[:2] * x[2])
    return np.sum(np.sin(y) * np.arange(6.0).reshape(2, 3))


def add_at_into_a_parameter(x):
    np.add.at(x, [0, 0], 1.5)
    return np.sum(x ** 3)


# --- local functions over a list or array the function updates after the def -------------

def closure_over_a_list_appended_to(x):
    # the fuzzer's seed 11: forward mode refused it
    l1 = [x * 2.0] + [x, np.sin(x)]
    g = lambda u: u * l1[0]  # noqa: E731
    v = g(x)
    l1.append(v)
    return v + np.sum(l1[3])


def closure_over_the_last_item_while_appending(x):
    l1 = [x * 1.0]
    g = lambda u: u * l1[-1]  # noqa: E731
    acc = 0.0
    for k in range(3):
        acc = acc + g(x[k])
        l1.append(np.sin(l1[-1]) + x)
    return acc


def closure_over_a_list_item_set_later(x):
    l1 = [x * 1.0, x]

    def g(u):
        return u * l1[0] * l1[-1]
    a = g(1.0)
    l1.extend([x * 3.0, np.cos(x)])
    l1[0] = l1[2] * 0.5
    return np.sum(a + g(2.0))


def closure_over_an_array_item_set_later(x):
    # reverse mode dropped the restore of y[1]: the first call's pullback read the new y
    y = x * 2.0
    g = lambda u: np.sum(u * y)  # noqa: E731
    a = g(x)
    y[1] = x[0] ** 2
    return a + g(x)


def closure_over_an_array_added_at_later(x):
    y = x * 2.0
    g = lambda u: np.sum(u * y)  # noqa: E731
    a = g(x)
    np.add.at(y, [1, 1], x[0])
    return a + g(x)


def closures_sharing_a_dict(x):
    # a fuzzer's seed 146 (300 seeds): g1's cotangent of d0 was an array (IndexError)
    d0 = {"w": 0.5, "b": x}

    def g1(u):
        return d0["w"] * u + d0["b"]

    def g3(u):
        return g1(d0["w"]) * u
    return g3(d0["b"]) + d0["w"]


def closures_sharing_a_tuple_argument(x0):
    # seed 239: the cotangent g3 reported for g1, a zero, was added to a tuple's (TypeError)
    def g1(u):
        return x0[0] * u + x0[1]

    def g3(u):
        return g1(x0[1]) * u
    return g3(x0[0]) + x0[1]


@pytest.mark.parametrize("kind", [tuple, list])
def test_closures_sharing_a_tuple_or_list_argument(kind):
    f = closures_sharing_a_tuple_argument
    x0 = kind((0.3, -0.7))
    expected = numerical_grad(f, (x0,), 0)
    assert_close(s2s.grad(f)(x0), expected, rtol=1e-6, atol=1e-7)
    forward = [s2s.jvp(f, (x0,), (kind(np.eye(2)[i]),))[1] for i in range(2)]
    assert_close(forward, list(expected), rtol=1e-6, atol=1e-7)


def energy_of_a_dict(p):
    return np.sum(p["w"] ** 2 * p["b"])


def gradient_of_a_dict_grown_by_a_store(x):
    # the store's key is not in the dict before it: own() of the gradient's cotangent
    # looked it up there (KeyError)
    p = {"w": x}
    p["b"] = x * 3.0
    g = s2s.grad(energy_of_a_dict)(p)
    return np.sum(g["b"] * g["w"])


# --- integers made from sizes and shapes of differentiated values: no adjoint ----------------

def arange_of_a_size(x):
    out = x * 2.0
    idx = np.arange(out.size)
    return np.sum(out[idx] * idx)


def arange_times_a_value(x):
    out = x * 2.0
    return np.sum(np.arange(out.size) * out)


def arange_of_arithmetic_on_sizes(x):
    out = x * 2.0
    return np.sum(out[1:] * np.arange(out.size - 1)) + np.sum(out * np.arange(-out.size, 0))


def arange_between_sizes(x):
    out = x * 2.0
    return np.sum(np.arange(out.ndim, out.size) * out[1:])


# (function, argument, modes)
GRADIENTS = [
    (sort_order, V4, ("grad",)),
    (gathered_in_sort_order, V4, ("grad",)),
    (add_at_in_a_branch, V3, ("grad", "jvp")),
    (add_at_in_a_loop, V3, ("grad", "jvp")),
    (add_at_of_the_buffer_itself, V3, ("grad", "jvp")),
    (add_at_twice, V3, ("grad", "jvp")),
    (add_at_after_a_read, V3, ("grad", "jvp")),
    (add_at_over_a_loop_variable, V3, ("grad", "jvp")),
    (add_at_of_tuple_and_basic_indexes, V3, ("grad", "jvp")),
    (add_at_into_a_parameter, V3, ("grad", "jvp")),
    (closure_over_a_list_appended_to, V3, ("grad", "jvp")),
    (closure_over_the_last_item_while_appending, V3, ("grad", "jvp")),
    (closure_over_a_list_item_set_later, V3, ("grad", "jvp")),
    (closure_over_an_array_item_set_later, V3, ("grad", "jvp")),
    # reverse mode refuses it (below): np.add.at rebinds y there
    (closure_over_an_array_added_at_later, V3, ("jvp",)),
    (closures_sharing_a_dict, V3, ("grad", "jvp")),
    (gradient_of_a_dict_grown_by_a_store, V3, ("grad", "jvp")),
    (arange_of_a_size, V4, ("grad", "jvp")),
    (arange_times_a_value, V4, ("grad", "jvp")),
    (arange_of_arithmetic_on_sizes, V4, ("grad", "jvp")),
    (arange_between_sizes, V4, ("grad", "jvp")),
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
    expected = numerical_grad(_total(f), (x.copy(),), 0)
    got = s2s.grad(f)(x.copy()) if mode == "grad" else _jvp_gradient(f, x.copy())
    assert_close(got, expected, rtol=1e-6, atol=1e-7)


def test_add_at_second_order():
    # the generated add_at into a copy is differentiated again, in both modes
    f = add_at_after_a_read
    expected = np.array([numerical_grad(lambda z: s2s.grad(f)(z)[i], (V3,), 0)
                         for i in range(3)])
    assert_close(s2s.hessian(f)(V3), expected, rtol=1e-5, atol=1e-6)
    pullback = s2s.vjp(s2s.grad(f), V3)[1]      # a function made by grad, in reverse mode
    assert_close(np.array([pullback(row)[0] for row in np.eye(3)]), expected.T,
                 rtol=1e-5, atol=1e-6)
    assert_close(s2s.jacrev(s2s.grad(f))(V3), expected, rtol=1e-5, atol=1e-6)


# --- refused in the modes named, at the line marked "# here" ------------------------------

BUFFER = np.zeros(3)


def subtract_at(x):
    y = np.zeros(3)
    np.subtract.at(y, [0, 0, 1], x)  # here
    return np.sum(np.sin(y))


def add_at_into_a_global(x):
    np.add.at(BUFFER, [0, 0, 1], x)  # here
    return np.sum(np.sin(BUFFER)) + np.sum(x)


def add_at_into_an_item(x):
    d = {"y": np.zeros(3)}
    np.add.at(d["y"], [0, 0, 1], x)  # here
    return np.sum(np.sin(d["y"]))


def add_at_in_a_closure(x):
    y = np.zeros(3)

    def put(v):
        np.add.at(y, [0, 0, 1], v)  # here
    put(x)
    return np.sum(np.sin(y))


def add_at_seen_through_another_name(x):
    y = x * 1.0
    w = y
    np.add.at(y, [0, 0], 1.5)  # here
    return np.sum(w * y)


def add_at_after_a_closure_over_it(x):
    y = x * 2.0
    g = lambda u: np.sum(u * y)  # noqa: E731  # here
    a = g(x)
    np.add.at(y, [1, 1], x[0])
    return a + g(x)


BOTH = ("grad", "jvp")
REFUSED = [(subtract_at, "np.subtract.at", BOTH), (add_at_into_a_global, "np.add.at", BOTH),
           (add_at_into_an_item, "np.add.at", BOTH), (add_at_in_a_closure, "updates 'y'", BOTH),
           (add_at_seen_through_another_name, "'w' refers to the same object", BOTH),
           (add_at_after_a_closure_over_it, "change after its definition", ("grad",))]
REFUSED_RUNS = [(f, text, mode) for f, text, modes in REFUSED for mode in modes]


@pytest.mark.parametrize("f, text, mode", REFUSED_RUNS,
                         ids=[f"{f.__name__}-{m}" for f, _, m in REFUSED_RUNS])
def test_refused_at_the_marked_line(f, text, mode):
    lines, start = inspect.getsourcelines(f)
    marked = start + next(i for i, line in enumerate(lines) if "# here" in line)
    with pytest.raises(S2SError) as info:
        if mode == "grad":
            s2s.grad(f)(V3.copy())
        else:
            s2s.jvp(f, (V3.copy(),), (np.ones(3),))
    assert (info.value.filename, info.value.lineno) == (__file__, marked), str(info.value)
    assert text in str(info.value)


def test_an_arange_of_a_size_gets_no_adjoint():
    source = inspect.getsource(s2s.grad(arange_of_a_size).code_for(V4))
    assert source.count("np.arange") == 1 and "didx" not in source, source


def test_the_adjoint_of_a_branch_without_derivative_compiles():
    source = inspect.getsource(s2s.grad(sort_order).code_for(V4))
    compile(source, "<generated>", "exec")


# --- second order of a loop over a list's items ---------------------------------------------

def loop_over_a_list(x):
    # reverse mode's code adds each item's cotangent with add_at_iteration
    xs = [x[0], x[1] * 2.0, x[2]]
    acc = 0.0
    for u in xs:
        acc = acc + np.sin(u) * u
    return acc


@pytest.mark.parametrize("mode", ["hessian", "reverse over reverse"])
def test_second_order_of_a_loop_over_a_list(mode):
    f = loop_over_a_list
    expected = np.array([numerical_grad(lambda z: s2s.grad(f)(z)[i], (V3,), 0)
                         for i in range(3)])
    if mode == "hessian":
        got = s2s.hessian(f)(V3)
    else:
        got = s2s.jacrev(s2s.grad(f))(V3)
    assert_close(got, expected, rtol=1e-5, atol=1e-6)
