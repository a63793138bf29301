"""Semantics of the public reverse-mode API: s2s.grad, s2s.value_and_grad, s2s.adjoint.

Positions, aux outputs, seeding, pytrees, which arguments can be differentiated, direct
primitives, user rules, and the errors for what is not supported. Gradients are compared
with finite differences (tests/finite_diff.py) or closed forms, never with s2s itself.
"""
import inspect
import math
import os
import re

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad

rng = np.random.default_rng(5)
X = rng.standard_normal((3, 4))
W = rng.standard_normal((4, 2))
Y = rng.standard_normal((3, 4))
V = rng.standard_normal(4)


def poly(x):
    return 3 * x ** 2 + 4 * x


def two_inputs(x, y):
    return np.sum(np.sin(x) * y + y * y)


def loss_with_aux(w, x):
    logits = x @ w
    loss = np.mean(logits ** 2)
    return loss, logits, "tag"


def loss_with_one_aux(w, x):
    logits = x @ w
    return np.sum(np.tanh(logits)), logits


def loss_without_aux(w, x):
    return np.sum(x @ w)


def loss_with_empty_aux(w, x):
    return (np.sum(x @ w),)


def elementwise_square(x):
    return x * x


def matrix_output(x):
    return X @ x


def tree_loss(params, x):
    return np.sum(np.tanh(x @ params["w"] + params["b"]))


def tuple_loss(params, x):
    w, b = params
    return np.sum((x @ w + b) ** 2)


def list_loss(params, x):
    return np.sum(np.sin(x @ params[0]) * params[1])


def nested_loss(params):
    w, b = params["layer"]
    return np.sum(w * w) * params["scale"] + np.sum(b)


def ignores_tag(x, tag):
    return x * x


# --- positions ------------------------------------------------------------------------------

@pytest.mark.quick
def test_tutorial_example():
    # d/dx (3x^2 + 4x) = 6x + 4, which is 16 at x = 2
    assert s2s.grad(poly)(2.0) == pytest.approx(16.0)
    assert s2s.grad(poly, grad_position=0)(np.float64(2.0)) == pytest.approx(16.0)


@pytest.mark.quick
def test_clear_cache_keeps_the_rules():
    """Each transform after s2s.clear_cache() still finds the rules' source (np.tanh's and
    math.sin's are generated from one declaration)."""
    def f(x):
        return np.sum(np.tanh(x) * math.sin(0.5) + x ** 2)
    x = rng.standard_normal(5)
    for _ in range(2):
        s2s.clear_cache()
        assert_close(s2s.grad(f)(x), numerical_grad(f, (x,)))


def test_int_position_gives_one_gradient():
    assert_close(s2s.grad(two_inputs)(X, Y), np.cos(X) * Y)
    assert_close(s2s.grad(two_inputs, grad_position=1)(X, Y), np.sin(X) + 2 * Y)


@pytest.mark.quick
def test_tuple_position_gives_tuple_in_that_order():
    dx, dy = np.cos(X) * Y, np.sin(X) + 2 * Y
    assert_close(s2s.grad(two_inputs, grad_position=(0, 1))(X, Y), (dx, dy))
    assert_close(s2s.grad(two_inputs, grad_position=(1, 0))(X, Y), (dy, dx))


@pytest.mark.quick
def test_one_tuple_position_gives_one_tuple():
    grads = s2s.grad(two_inputs, grad_position=(0,))(X, Y)
    assert isinstance(grads, tuple) and len(grads) == 1
    assert_close(grads, (np.cos(X) * Y,))


def test_position_none_without_weights_is_an_error():
    with pytest.raises(Exception, match="grad_position"):
        s2s.grad(two_inputs, grad_position=None)(X, X)


@pytest.mark.quick
def test_decorator_forms():
    @s2s.grad
    def d_poly(x):
        return 3 * x ** 2 + 4 * x

    @s2s.grad(grad_position=1)
    def d_second(x, y):
        return x * y ** 3

    assert d_poly(2.0) == pytest.approx(16.0)
    assert d_second(2.0, 3.0) == pytest.approx(54.0)   # 3 x y^2


# --- aux outputs and value_and_grad ---------------------------------------------------------

@pytest.mark.quick
def test_has_aux_differentiates_only_the_first_output():
    grads, aux = s2s.grad(loss_with_aux, has_aux=True)(W, X)
    assert_close(grads, numerical_grad(lambda w, x: loss_with_aux(w, x)[0], (W, X), 0))
    assert isinstance(aux, tuple) and len(aux) == 2
    assert_close(aux[0], X @ W, rtol=0, atol=0)
    assert aux[1] == "tag"


def test_has_aux_with_one_aux_and_tuple_positions():
    (dw, dx), aux = s2s.grad(loss_with_one_aux, grad_position=(0, 1), has_aux=True)(W, X)
    primal = (lambda w, x: loss_with_one_aux(w, x)[0])
    assert_close((dw, dx), numerical_grad(primal, (W, X), (0, 1)))
    assert isinstance(aux, tuple) and len(aux) == 1
    assert_close(aux[0], X @ W, rtol=0, atol=0)


@pytest.mark.parametrize("fn", [loss_without_aux, loss_with_empty_aux])
def test_has_aux_needs_a_tuple_of_at_least_two(fn):
    with pytest.raises((s2s.S2SError, TypeError, ValueError), match="(?i)aux"):
        s2s.grad(fn, has_aux=True)(W, X)


@pytest.mark.quick
def test_value_and_grad():
    value, grad = s2s.value_and_grad(poly)(2.0)
    assert value == pytest.approx(20.0)
    assert grad == pytest.approx(16.0)
    value, grads = s2s.value_and_grad(two_inputs, grad_position=(0, 1))(X, Y)
    assert value == pytest.approx(two_inputs(X, Y))
    assert_close(grads, (np.cos(X) * Y, np.sin(X) + 2 * Y))


def test_value_and_grad_with_aux_returns_whole_output_as_value():
    (loss, logits), grad = s2s.value_and_grad(loss_with_one_aux, has_aux=True)(W, X)
    assert loss == pytest.approx(np.sum(np.tanh(X @ W)))
    assert_close(logits, X @ W, rtol=0, atol=0)
    assert_close(grad, X.T @ (1 - np.tanh(X @ W) ** 2))


# --- seeding, argument kinds, pytrees -------------------------------------------------------

@pytest.mark.quick
def test_non_scalar_output_is_seeded_with_ones():
    assert_close(s2s.grad(elementwise_square)(V), 2 * V)
    x = rng.standard_normal((4, 2))
    assert_close(s2s.grad(matrix_output)(x), X.T @ np.ones((3, 2)))


def test_int_input_is_differentiated_as_float():
    grad = s2s.grad(poly)(2)
    assert isinstance(grad, float) and grad == pytest.approx(16.0)
    dx, dy = s2s.grad(two_inputs, grad_position=(0, 1))(1, 2)
    assert isinstance(dx, float) and isinstance(dy, float)
    assert (dx, dy) == (pytest.approx(2 * math.cos(1)), pytest.approx(math.sin(1) + 4))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_scalar_keeps_its_dtype(dtype):
    grad = s2s.grad(poly)(dtype(2.0))
    assert np.asarray(grad).dtype == dtype and np.shape(grad) == ()
    assert float(grad) == pytest.approx(16.0)


@pytest.mark.parametrize("fn, params", [
    (tree_loss, {"w": W, "b": rng.standard_normal(2)}),
    (tuple_loss, (W, rng.standard_normal(2))),
    (list_loss, [W, rng.standard_normal(2)]),
], ids=["dict", "tuple", "list"])
def test_pytree_gradient_has_the_input_structure(fn, params):
    grads = s2s.grad(fn)(params, X)
    assert type(grads) is type(params)
    assert_close(grads, numerical_grad(fn, (params, X), 0))


def test_nested_pytree_with_python_float_leaf():
    w, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    grads = s2s.grad(nested_loss)({"layer": (w, b), "scale": 1.5})
    assert set(grads) == {"layer", "scale"} and isinstance(grads["layer"], tuple)
    assert_close(grads, {"layer": (3.0 * w, np.ones(3)), "scale": float(np.sum(w * w))})


def test_unused_pytree_leaf_gets_zeros_of_its_shape():
    params = {"w": W, "b": rng.standard_normal(2), "unused": np.ones((2, 5), np.float32)}
    grads = s2s.grad(tree_loss)(params, X)
    assert grads["unused"].dtype == np.float32
    assert_close(grads["unused"], np.zeros((2, 5)), rtol=0, atol=0)


@pytest.mark.parametrize("bad", ["label", None, object()], ids=["str", "None", "object"])
def test_differentiating_a_non_number_names_the_parameter(bad):
    with pytest.raises(TypeError, match="tag"):
        s2s.grad(ignores_tag, grad_position=1)(V, bad)


# --- primitives and user rules ---------------------------------------------------------------

@pytest.mark.quick
def test_primitives_can_be_differentiated_directly():
    assert_close(s2s.grad(np.tanh)(X), 1 - np.tanh(X) ** 2)
    assert s2s.grad(math.sin)(0.5) == pytest.approx(math.cos(0.5))
    y, x = V, rng.uniform(0.5, 2.0, 4)
    assert_close(s2s.grad(np.arctan2, grad_position=(0, 1))(y, x),
                 (x / (x * x + y * y), -y / (x * x + y * y)))


def _function_from_string(source, name):
    """A function whose source inspect cannot read, like one typed into a REPL."""
    namespace = {"np": np}
    exec(source, namespace)
    return namespace[name]


opaque_softplus = _function_from_string(
    "def opaque_softplus(x):\n    return np.log1p(np.exp(x))\n", "opaque_softplus")
opaque_without_rule = _function_from_string(
    "def opaque_without_rule(x):\n    return x * x\n", "opaque_without_rule")


def opaque_softplus_adjoint(x):
    dx = dresult / (1.0 + np.exp(-x))  # noqa: F821  (dresult is bound by the engine)


def uses_opaque_softplus(x):
    return np.sum(opaque_softplus(x) * x)


def uses_opaque_without_rule(x):
    return opaque_without_rule(x) * 2.0


# s2s cannot read opaque_softplus, so a correct gradient proves the user rule was used.

def test_user_rule_for_a_called_function_without_readable_source():
    s2s.adjoint(opaque_softplus)(opaque_softplus_adjoint)
    assert_close(s2s.grad(uses_opaque_softplus)(V), numerical_grad(uses_opaque_softplus, (V,)))


def test_user_rule_for_a_function_differentiated_directly():
    s2s.adjoint(opaque_softplus)(opaque_softplus_adjoint)
    assert_close(s2s.grad(opaque_softplus)(V), 1 / (1 + np.exp(-V)))


@pytest.mark.parametrize("fn, arg", [
    (opaque_without_rule, V),
    (uses_opaque_without_rule, V),
    (math.frexp, 0.3),               # a builtin that has no rule
], ids=["direct", "called", "builtin"])
def test_unreadable_source_is_an_s2s_error(fn, arg):
    with pytest.raises(s2s.S2SError):
        s2s.grad(fn)(arg)


def uses_tensorinv(x):
    return np.sum(np.linalg.tensorinv(x))


def uses_rfftfreq(x):
    return np.sum(np.fft.rfftfreq(4, x))


@pytest.mark.parametrize("fn, name", [(uses_tensorinv, "tensorinv"), (uses_rfftfreq, "rfftfreq")])
def test_numpy_function_without_rule_is_an_s2s_error(fn, name):
    with pytest.raises(s2s.S2SError) as info:
        s2s.grad(fn)(np.eye(3) + 0.1 * X[:, :3])
    assert name in str(info.value)
    assert "s2s.adjoint" in str(info.value)


def test_generated_source_is_inspectable():
    source = inspect.getsource(s2s.grad(two_inputs))
    assert isinstance(source, str) and "def " in source


# --- constructs that this version rejects ------------------------------------------------------
# Loops and some of the others become supported later; their cases then move elsewhere.

COUNTER = 0


def uses_for(x):
    for _ in range(3):
        x = x * 2.0
    return x


def uses_while(x):
    while np.sum(x) > 10.0:
        x = x / 2.0
    return x


def test_loops_are_supported():
    x = np.array([1.0, 2.0, 3.0])
    assert_close(s2s.grad(uses_for)(x), np.full(3, 8.0))      # d(8x)/dx
    # sum(x) = 6 -> 3: one halving
    assert_close(s2s.grad(uses_while)(x * 2.0), np.full(3, 0.5))


def uses_yield(x):
    yield x * 2.0  # unsupported


def uses_try(x):
    try:  # unsupported
        y = x * 2.0
    except ValueError:
        y = x
    return y


def uses_with(x):
    with np.errstate(all="ignore"):  # unsupported
        y = np.log(x)
    return y


def uses_global(x):
    global COUNTER  # unsupported
    COUNTER = COUNTER + 1
    return x * 2.0


def uses_nested_def(x):
    def inner(y):
        return y * y
    return inner(x)


def test_nested_def_is_supported():
    x = np.array([1.0, -2.0, 0.5])
    assert_close(s2s.grad(uses_nested_def)(x), 2.0 * x)


def uses_nested_class(x):
    class Inner:  # unsupported
        scale = 2.0
    return x * Inner.scale


# (function, words of which one must appear in err.construct)
UNSUPPORTED = [
    (uses_yield, ("yield", "generator")),
    (uses_try, ("try",)),
    (uses_with, ("with",)),
    (uses_global, ("global",)),
    (uses_nested_class, ("class",)),
]


@pytest.mark.parametrize("fn, names", UNSUPPORTED, ids=[fn.__name__ for fn, _ in UNSUPPORTED])
def test_unsupported_constructs_are_clear_errors(fn, names):
    lines, first = inspect.getsourcelines(fn)
    offset = next(i for i, line in enumerate(lines) if "# unsupported" in line)
    line = lines[offset]
    code = line.split("#")[0].strip()
    with pytest.raises(s2s.S2SError) as info:
        s2s.grad(fn)(np.ones(3))
    err, message = info.value, str(info.value)

    assert os.path.realpath(err.filename) == os.path.realpath(__file__)
    assert err.lineno == first + offset
    assert err.col_offset == len(line) - len(line.lstrip())
    assert any(name in err.construct.lower() for name in names), err.construct
    assert err.hint and err.hint in message
    assert os.path.basename(__file__) in message
    assert f"line {err.lineno}" in message
    # the source line is shown with a caret under the start of the construct
    shown = message.splitlines()
    carets = [i for i in range(1, len(shown))
              if re.fullmatch(r"\s*\^+\s*", shown[i]) and code in shown[i - 1]]
    assert carets, message
    assert shown[carets[0]].index("^") == shown[carets[0] - 1].index(code), message


def test_errors_share_one_base_class():
    assert issubclass(s2s.S2SError, Exception)


# --- returned gradients are arrays of their own ---------------------------------------------
SCALE = np.array([1.0, 2.0, 3.0])


def linear_in_x(x, y):
    return np.sum(x * y)                  # dx is y's values


def shared_cotangent(x, y):
    return np.sum(np.tanh(x + y))         # dx and dy are the same values


def global_weights(x):
    return np.sum(x * SCALE)              # dx is the global's values


def transposed(x, w):
    return np.sum(x * w.T)                # dx is a view of w's values


@pytest.mark.parametrize("fn, args", [
    (linear_in_x, (np.ones(3), np.arange(3.0))),
    (shared_cotangent, (np.ones(3), np.arange(3.0))),
    (global_weights, (np.ones(3),)),
    (transposed, (np.ones((2, 3)), np.arange(6.0).reshape(3, 2))),
], ids=["input", "shared", "global", "view"])
@pytest.mark.parametrize("api", ["grad", "value_and_grad"])
def test_gradients_never_share_memory_with_inputs_globals_or_each_other(fn, args, api):
    positions = tuple(range(len(args)))
    if api == "grad":
        grads = s2s.grad(fn, grad_position=positions)(*args)
    else:
        grads = s2s.value_and_grad(fn, grad_position=positions)(*args)[1]
    others = list(args) + [SCALE]
    for i, g in enumerate(grads):
        for other in others + [h for j, h in enumerate(grads) if j != i]:
            assert not np.shares_memory(g, other)
        g *= 2.0                          # a caller may scale a gradient in place
    for position, g in enumerate(s2s.grad(fn, grad_position=positions)(*args)):
        assert_close(g, numerical_grad(fn, args, position))


# --- the cache follows what a function's names mean ------------------------------------------
FACTOR = 2.0


def squared(v):
    return v * v


def cubed(v):
    return v * v * v


def uses_globals(x):
    return np.sum(squared(x) * FACTOR)


def test_rebinding_a_global_function_transforms_again(monkeypatch):
    x = np.arange(1.0, 4.0)
    assert_close(s2s.grad(uses_globals)(x), 4.0 * x)
    monkeypatch.setattr(__import__(__name__), "squared", cubed)
    assert_close(s2s.grad(uses_globals)(x), 6.0 * x * x)
    assert_close(s2s.grad(uses_globals)(x), numerical_grad(uses_globals, (x,), 0))


@pytest.mark.parametrize("factor", [3.0, np.array([1.0, 2.0, 3.0]), np.ones((2, 3))])
def test_rebinding_a_global_number_to_an_array_keeps_gradients_exact(monkeypatch, factor):
    x = np.arange(1.0, 4.0)
    df = s2s.grad(uses_globals)
    assert_close(df(x), 4.0 * x)
    monkeypatch.setattr(__import__(__name__), "FACTOR", factor)
    assert_close(s2s.grad(uses_globals)(x), numerical_grad(uses_globals, (x,), 0))


def scaled_by_global(x):
    return np.sum(np.sin(x) * FACTOR)


@pytest.mark.parametrize("factor", [3.0, np.array([1.0, 2.0, 3.0]), np.ones((2, 3))])
def test_a_global_number_that_becomes_an_array(monkeypatch, factor):
    """A new grad(f) sees what f's globals mean now (the transform relied on FACTOR being a
    number); a gradient function already called keeps what they meant, like jax.jit."""
    x = np.arange(1.0, 4.0)
    assert_close(s2s.grad(scaled_by_global)(x), 2.0 * np.cos(x))
    monkeypatch.setattr(__import__(__name__), "FACTOR", factor)
    assert_close(s2s.grad(scaled_by_global)(x), numerical_grad(scaled_by_global, (x,), 0))


def product_of_three(x, y, z):
    return np.sum(x * y * z)


@pytest.mark.parametrize("position", [1, 2, (0, 2)])
def test_a_missing_differentiated_argument_is_named(position):
    with pytest.raises(TypeError, match="without its differentiated argument"):
        s2s.grad(product_of_three, grad_position=position)(np.ones(3))
