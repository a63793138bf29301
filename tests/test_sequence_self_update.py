"""A list or tuple joined onto itself (``acc = acc + [v]``, ``t = t + (v,)``, ``acc = acc * 2``)
in a loop, against finite differences in every mode.

The adjoint splits the joined list's cotangent at the old list's length. These tests caught
it reading the length of the new, longer list (the name already held it): the split took
everything for the old list, and the first item's cotangent was an IndexError in the
generated code."""
import inspect

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad
from s2s.errors import UnsupportedSyntaxError

X = np.array([0.3, -1.2, 0.7, 1.1, -0.4, 0.9])


def list_joined_in_a_loop(x):
    acc = []
    for i in range(3):
        acc = acc + [x[i] * x[i + 1]]
    acc += [x[5]]
    return sum(acc) * acc[1]


def tuple_joined_in_a_loop(x):
    t = (x[0],)
    for i in range(1, 4):
        t = t + (t[-1] * x[i],)
    return t[0] + t[1] * t[3] + t[2]


def prepended(x):
    acc = [x[0]]
    for v in x[1:4]:
        acc = [v * acc[0]] + acc
    return acc[0] * 2.0 + acc[-1] * acc[1]


def repeated_in_a_loop(x):
    acc = [x[0], x[1]]
    for i in range(2):
        acc = acc * 2
        acc[-1] = acc[-1] * x[i + 2]
    return sum(acc) + acc[3] * acc[5]


CASES = [list_joined_in_a_loop, tuple_joined_in_a_loop, prepended, repeated_in_a_loop]


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_grad(fn):
    assert_close(s2s.grad(fn)(X), numerical_grad(fn, [X], 0))


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_vjp(fn):
    _, pullback = s2s.vjp(fn, X)
    (dx,) = pullback(0.75)
    assert_close(dx, 0.75 * numerical_grad(fn, [X], 0))


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_jvp(fn):
    tangent = np.array([0.5, -1.0, 1.5, 0.25, -0.75, 2.0])
    _, derivative = s2s.jvp(fn, (X,), (tangent,))
    expected = float(numerical_grad(fn, [X], 0) @ tangent)
    assert derivative == pytest.approx(expected, rel=1e-6, abs=1e-8)


def pair(x):
    return [x[0], x[1]]


def made_certain(x):
    acc = list(pair(x))
    for _ in range(2):
        acc = acc + acc
    doubled = 2 * tuple(pair(x))
    return sum(acc) + acc[3] * acc[1] + doubled[2] * doubled[1]


def uncertain_repeat(x):
    acc = pair(x)
    acc = acc * 2  # refused
    return sum(acc) + acc[3] * acc[1]


def uncertain_join(x):
    acc = pair(x)
    if x[0] > 0:
        acc = acc + [x[2]]
    return sum(acc + acc) + acc[-1]  # refused


def test_a_list_made_certain_with_list_joins_its_items():
    assert_close(s2s.grad(made_certain)(X), numerical_grad(made_certain, [X], 0))
    _, pullback = s2s.vjp(made_certain, X)
    assert_close(pullback(2.0)[0], 2.0 * numerical_grad(made_certain, [X], 0))


@pytest.mark.parametrize("fn", [uncertain_repeat, uncertain_join], ids=lambda f: f.__name__)
def test_a_list_s2s_cannot_tell_is_one_is_refused_at_its_line_in_reverse_mode(fn):
    """A helper's result: s2s reads + and * on it as arithmetic, and a check at run time
    refuses a list there, at the user's line (the repetition's adjoint would be wrong)."""
    lines, first = inspect.getsourcelines(fn)
    line = first + next(i for i, text in enumerate(lines) if "# refused" in text)
    with pytest.raises(UnsupportedSyntaxError) as info:
        s2s.grad(fn)(X)
    assert f'File "{__file__}", line {line}' in str(info.value)
    assert "list(...)" in str(info.value)
    # forward mode joins and repeats the tangents as the values: right
    tangent = np.array([0.5, -1.0, 1.5, 0.25, -0.75, 2.0])
    _, derivative = s2s.jvp(fn, (X,), (tangent,))
    assert derivative == pytest.approx(float(numerical_grad(fn, [X], 0) @ tangent), rel=1e-6)


W = np.array([1.0, 2.0, 3.0])


def joined_scaled(x):
    l = [x[0] * 2.0, x[1]]
    m = l + [x[2]]
    return m[0] * m[2] + m[1] ** 2         # 2 x0 x2 + x1^2


def joined_twice(x):
    l = [x[0], x[1]]
    m = l + l
    return m[0] * m[3] + m[2] * x[2]       # x0 x1 + x0 x2


# the gradient of sum(grad(f)(x) * W), in closed form
SECOND = [(joined_scaled, lambda x: np.array([2.0 * W[2], 2.0 * W[1], 2.0 * W[0]])),
          (joined_twice, lambda x: np.array([W[1] + W[2], W[0], W[0]]))]


@pytest.mark.parametrize("fn, expected", SECOND, ids=lambda c: getattr(c, "__name__", ""))
def test_reverse_over_reverse_of_joined_lists(fn, expected):
    """The gradient's own code, differentiated again: its list cotangents (zeros_like(m),
    add_at(dm, k, g)) are lists, whose slices' cotangents add item by item. They were read
    as arrays, so ddm[2:] += [g] appended an item: a wrong second derivative, no error."""
    x = np.array([0.4, -1.1, 0.7])
    first = s2s.grad(fn)

    def weighted(v):
        return np.sum(first(v) * W)

    assert_close(s2s.grad(weighted)(x), expected(x))
    assert_close(s2s.jacrev(first)(x).T @ W, expected(x))
    assert_close(s2s.hessian(fn)(x) @ W, expected(x))
