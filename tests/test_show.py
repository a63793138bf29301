"""``s2s.show`` and what a gradient object shows of itself, used as a user would.

``s2s.show(f, *args, **options)`` prints the exact code that ``s2s.grad(f, **options)(*args)``
runs: the code specialized for those shapes, or the pytree version for a dict argument. The
object's repr, and its Markdown in Jupyter, show the code of its latest call, or say it is not
built yet and how to see it.
"""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad


def loss(w, x, y):
    pred = np.tanh(x @ w)
    return np.mean((pred - y) ** 2)


def mlp_loss(params, x):
    hidden = np.tanh(x @ params["w1"])
    return np.sum(hidden @ params["w2"])


RNG = np.random.default_rng(0)
W, X, Y = RNG.normal(size=3), RNG.normal(size=(5, 3)), RNG.normal(size=5)
PARAMS = {"w1": RNG.normal(size=(3, 4)), "w2": RNG.normal(size=4)}


@pytest.mark.parametrize("fn, args, options", [
    (loss, (W, X, Y), {"grad_position": (0, 2)}),
    (loss, (W, X, Y), {"value": True}),
    (mlp_loss, (PARAMS, X), {}),
], ids=["positions", "value", "pytree"])
def test_show_prints_the_code_a_call_with_those_arguments_runs(capsys, fn, args, options):
    s2s.clear_cache()
    s2s.show(fn, *args, **options)
    shown = capsys.readouterr().out
    value = options.pop("value", False)
    gradient = (s2s.value_and_grad if value else s2s.grad)(fn, **options)
    got = gradient(*args)
    assert shown == inspect.getsource(gradient.__wrapped__)
    compile(shown, "shown", "exec")
    assert shown.startswith(f"def grad_{fn.__name__}(")
    position = options.get("grad_position", 0)
    assert_close(got[1] if value else got, numerical_grad(fn, list(args), position))


def test_show_specializes_for_the_shapes_given(capsys):
    s2s.show(loss, W, X, Y)
    specialized = capsys.readouterr().out
    s2s.show(loss, 0.5, 2.0, 1.0)
    scalars = capsys.readouterr().out
    assert "@ x" in specialized and "unbroadcast" not in specialized
    assert specialized != scalars


def test_show_takes_a_gradient_object_with_its_options(capsys):
    gradient = s2s.grad(loss, grad_position=1)
    s2s.show(gradient, W, X, Y)
    assert "return dx" in capsys.readouterr().out
    with pytest.raises(TypeError, match="takes its options from it"):
        s2s.show(gradient, W, X, Y, grad_position=0)


def test_repr_shows_the_latest_code_or_how_to_see_it():
    gradient = s2s.grad(mlp_loss)
    before = repr(gradient)
    assert before.startswith("<s2s.grad of mlp_loss: not built yet")
    assert "s2s.show(mlp_loss, *args)" in before
    assert "not built yet" in gradient._repr_markdown_()
    gradient(PARAMS, X)
    code = inspect.getsource(gradient.__wrapped__)
    assert repr(gradient) == "<s2s.grad of mlp_loss; the code its latest call ran:>\n" + code
    markdown = gradient._repr_markdown_()
    assert markdown.endswith(f"```python\n{code}```\n")
    assert "def grad_mlp_loss(params, x):" in markdown
    assert repr(s2s.value_and_grad(loss)).startswith("<s2s.value_and_grad of loss:")
