"""Generator expressions handed to a builtin that consumes them whole (``sum``, ``min``,
``max``, ``any``, ``all``, ``list``, ``tuple``, ``sorted``) are read as list comprehensions,
in both modes, against finite differences; anywhere else, or where the builtin's name is
rebound, they are refused at the user's line."""
import inspect

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad
from source_modules import import_source
from s2s.errors import S2SError

X = np.array([0.3, -1.2, 0.7, 1.1])


def sum_of_squares(x):
    return sum(v * v for v in x)


def sum_of_stacked(x):
    hs = [x]
    for _ in range(3):
        hs.append(np.tanh(hs[-1] * 1.5 + hs[0]))
    return sum(np.sum(h) for h in hs)


def largest_product(x):
    pairs = [(x[0] * x[1], x[2]), (x[1] + x[3], x[0])]
    return max(a * b for a, b in pairs) - min(a - b for a, b in pairs)


def gated(x):
    y = x * 2.0
    if any(v > 5.0 for v in x):
        y = y * 0.0
    if all(v < 5.0 for v in x):
        y = y + np.sin(x)
    return np.sum(y)


def nested_with_condition(x):
    rows = [x[:2], x[2:]]
    return sum(a * b for row in rows for a, b in zip(row, row[::-1]) if a < 1.0)


def sorted_values(x):
    ordered = sorted(v * 3.0 for v in x)
    return ordered[0] - ordered[-1] * 2.0 + sum(tuple(v for v in ordered))


CASES = [sum_of_squares, sum_of_stacked, largest_product, gated, nested_with_condition,
         sorted_values]


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_grad_of_a_consumed_generator(fn):
    assert_close(s2s.grad(fn)(X), numerical_grad(fn, [X], 0))


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_jvp_of_a_consumed_generator(fn):
    tangent = np.array([0.5, -0.25, 1.0, 2.0])
    value, derivative = s2s.jvp(fn, (X,), (tangent,))
    assert value == pytest.approx(fn(X))
    assert derivative == pytest.approx(float(numerical_grad(fn, [X], 0) @ tangent), rel=1e-6)


REBOUND = """\
import numpy as np

sum = np.sum        # the module rebinds the name: its generator is not read as a list


def rebound_sum(x):
    return sum(v * v for v in x)  # refused


def generator_kept(x):
    squares = (v * v for v in x)  # refused
    return np.sum(list(squares))
"""


@pytest.mark.parametrize("fname", ["rebound_sum", "generator_kept"])
@pytest.mark.parametrize("transform", ["grad", "jvp"])
def test_a_generator_not_consumed_by_a_builtin_is_refused_at_its_line(tmp_path, fname,
                                                                      transform):
    module, path = import_source(REBOUND, tmp_path, "generators")
    fn = getattr(module, fname)
    lines, first = inspect.getsourcelines(fn)
    line = first + next(i for i, text in enumerate(lines) if "# refused" in text)
    with pytest.raises(S2SError) as info:
        if transform == "grad":
            s2s.grad(fn)(X)
        else:
            s2s.jvp(fn, (X,), (X,))
    message = str(info.value)
    assert "generator expression" in message
    assert f"{path}\", line {line}" in message
