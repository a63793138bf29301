"""Local functions: a right gradient, or a located error, never a silently wrong number.

A local ``def`` or ``lambda`` over the enclosing function's variables is differentiated through
its closure. The shapes s2s would get wrong are refused (s2s/compiler/frontend/nested.py).
The tables below say:

- REFUSED: each pattern raises an ``S2SError`` in the listed modes, at the line marked
  ``# here`` in this file, with a hint of what to do instead;
- WORKS: each pattern, in the listed modes, matches central finite differences in float64.
"""
from __future__ import annotations

import inspect
import sys

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad
from s2s.errors import S2SError

X = 0.7
BOTH = ("grad", "jvp")


def closure_calls_closure(x):
    def a(u):
        return u * x

    def b(u):
        return a(u) + x ** 2
    return b(2.0)


def recursive_local(x):
    def p(n):  # here
        return x if n == 0 else p(n - 1) * x
    return p(3)


def closures_call_closures_sharing_cells(x):
    w = np.sin(x)

    def a(u):
        return u * w

    def b(u):
        return a(u) * x + w

    def c(u):
        return b(u) * w + a(x) * u + x
    return c(1.5) + b(x)


def recursive_local_over_an_array(x):
    def p(n, acc):  # here
        if n == 0:
            return acc
        return p(n - 1, acc * x + np.sum(x))
    return np.sum(p(3, x))


def closure_calls_closure_over_a_value_it_does_not_read(x):
    w = np.sin(x)

    def a(u):
        return u * w

    def c(u):
        return a(u) * x  # here
    return c(1.5)


def lambdas_in_list(x):
    fs = [lambda u: u * x, lambda u: u + x]  # here
    return fs[0](2.0) + fs[1](1.0)


def defs_in_dict(x):
    def a(u):
        return u * x
    table = {"a": a}  # here
    return table["a"](2.0)


def lambdas_in_comprehension(x):
    fs = [lambda u: u * x * k for k in (1.0, 2.0)]  # here
    return fs[0](1.0) + fs[1](1.0)


def closure_appends(x):
    out = []

    def push(v):
        out.append(v * x)  # here
    push(2.0)
    push(3.0)
    return out[0] + out[1]


def closure_sets_item(x):
    d = {}

    def put(k, v):
        d[k] = v * x  # here
    put("a", 2.0)
    return d["a"]


def default_bound(x):
    g = lambda u, s=x: u * s  # here  # noqa: E731
    return g(3.0)


def def_default_bound(x):
    y = x * 2.0

    def g(u, s=y):  # here
        return u * s
    return g(3.0)


def lambda_set_as_item(x):
    d = {}
    d["f"] = lambda u: u * x  # here
    return d["f"](2.0)


def lambda_appended(x):
    fs = []
    fs.append(lambda u: u * x)  # here
    return fs[0](2.0)


def lambda_called_in_place(x):
    return (lambda u: u * x)(2.0)  # here


def closure_returns_closure(x):
    def make():
        def a(u):
            return u * x
        return a  # here
    return make()(2.0)


def closure_over_later_rebinding(x):
    y = x

    def a(u):  # here
        return u * y
    y = x * 2.0
    return a(1.0)


def recursive_over_arguments(x):
    def p(u, n):  # here
        return u if n == 0 else p(u, n - 1) * u
    return p(x, 3)


REFUSED = [
    (recursive_local, ("jvp",)),
    (recursive_local_over_an_array, ("jvp",)),
    (closure_calls_closure_over_a_value_it_does_not_read, ("grad",)),
    (lambdas_in_list, BOTH),
    (defs_in_dict, BOTH),
    (lambdas_in_comprehension, BOTH),
    (closure_appends, BOTH),
    (closure_sets_item, BOTH),
    (default_bound, BOTH),
    (def_default_bound, BOTH),
    (lambda_set_as_item, BOTH),
    (lambda_appended, BOTH),
    (lambda_called_in_place, ("grad",)),
    (closure_returns_closure, BOTH),
    (closure_over_later_rebinding, BOTH),
    (recursive_over_arguments, ("jvp",)),
]
if sys.version_info >= (3, 10):         # a match statement is a syntax error before 3.10
    from nested_match import match_statement
    REFUSED.append((match_statement, BOTH))


def run(mode, f, x):
    if mode == "grad":
        return s2s.grad(f)(x)
    return s2s.jvp(f, (x,), (1.0,))[1]


def marked_line(f):
    lines, start = inspect.getsourcelines(f)
    marked = [start + i for i, line in enumerate(lines) if "# here" in line]
    assert len(marked) == 1, f"{f.__name__} needs one '# here' mark"
    return marked[0]


@pytest.mark.parametrize("mode", BOTH)
@pytest.mark.parametrize("f, modes", REFUSED, ids=[f.__name__ for f, _ in REFUSED])
def test_refused_patterns_are_located_errors(f, modes, mode):
    if mode not in modes:
        pytest.skip(f"{f.__name__} is differentiated in {mode} mode (see WORKS)")
    with pytest.raises(S2SError) as info:
        run(mode, f, X)
    message = str(info.value)
    assert inspect.getsourcefile(f) in message, message
    assert f"line {marked_line(f)}" in message, message
    assert "hint:" in message, message


def closure_called(x):
    def h(u):
        return u * x + x ** 2
    return h(2.0) + h(x)


def lambda_called(x):
    g = lambda u: u * np.sin(x)  # noqa: E731
    return g(3.0) * x


def lambda_constant_default(x):
    g = lambda u, c=2.0: u * x * c  # noqa: E731
    return g(3.0)


def def_in_loop(x):
    total = 0.0
    for k in range(3):
        def g(u):
            return u * k * x
        total = total + g(1.0)
    return total


def closure_over_array(x):
    w = np.array([1.0, 2.0, 3.0]) * x

    def energy(v):
        return np.sum(v * w)
    return energy(np.array([0.5, 1.5, 2.5]))


def closure_returned_in_tuple_is_called(x):
    def a(u):
        return u * x
    pair = (1.0, 2.0)
    return a(pair[0]) + a(pair[1])


def closure_passed_to_local_function(x):
    def a(u):
        return u * x

    def b(f, u):
        return f(u) + x ** 2
    return b(a, 2.0)


def closure_calls_closure_over_a_literal(x):
    n = 3

    def a(u):
        return u * n

    def b(u):
        return a(u) + x * u
    return b(x)


def default_bound_to_a_literal(x):
    k = 2.0
    g = lambda u, c=k: u * c  # noqa: E731
    return g(x) * x


WORKS = [
    (recursive_over_arguments, ("grad",)),
    (recursive_local, ("grad",)),
    (closures_call_closures_sharing_cells, BOTH),
    (recursive_local_over_an_array, ("grad",)),
    (closure_calls_closure_over_a_value_it_does_not_read, ("jvp",)),
    (closure_calls_closure_over_a_literal, BOTH),
    (default_bound_to_a_literal, BOTH),
    (closure_calls_closure, BOTH),
    (lambda_called_in_place, ("jvp",)),
    (closure_passed_to_local_function, BOTH),
    (closure_called, BOTH),
    (lambda_called, BOTH),
    (lambda_constant_default, BOTH),
    (def_in_loop, BOTH),
    (closure_over_array, BOTH),
    (closure_returned_in_tuple_is_called, BOTH),
]


@pytest.mark.parametrize("mode", BOTH)
@pytest.mark.parametrize("f, modes", WORKS, ids=[f.__name__ for f, _ in WORKS])
def test_working_patterns_match_finite_differences(f, modes, mode):
    if mode not in modes:
        pytest.skip(f"{f.__name__} is refused in {mode} mode (see REFUSED)")
    expected = numerical_grad(f, (X,), 0)
    assert_close(np.float64(run(mode, f, X)), np.float64(expected))


def test_every_refused_pattern_fails_or_works_in_each_mode():
    """No pattern is left out of both tables in a mode."""
    refused = {(f, m) for f, modes in REFUSED for m in modes}
    works = {(f, m) for f, modes in WORKS for m in modes}
    for f, _ in REFUSED:
        for mode in BOTH:
            assert ((f, mode) in refused) != ((f, mode) in works), (f.__name__, mode)
