"""The transforms built on forward and reverse mode: jvp, vjp, jacfwd, jacrev, hessian, hvp.

Argument handling (single values, tuples, pytrees, aux outputs, integer inputs), result
layout (``out.shape + in.shape`` blocks, tuples for tuple positions, pytrees), and values
checked against central finite differences or closed forms (quadratic forms, Rosenbrock,
softmax, logistic regression, a third derivative).
"""
import copy
import inspect

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, flatten
from s2s.api.transforms import hessian, hvp, jacfwd, jacrev, jvp, vjp

rng = np.random.default_rng(11)
STEP = 1e-6
A = rng.standard_normal((4, 4))


def numerical_jacobian(fn, args, position=0):
    """Central differences: an array of shape ``out.shape + args[position].shape``."""
    x = np.asarray(args[position], np.float64)
    columns = []
    for index in np.ndindex(x.shape):
        sides = []
        for sign in (1.0, -1.0):
            shifted = x.copy()
            shifted[index] += sign * STEP
            call = list(copy.deepcopy(args))
            call[position] = shifted if isinstance(args[position], np.ndarray) else float(shifted)
            sides.append(np.asarray(fn(*call), np.float64))
        columns.append((sides[0] - sides[1]) / (2 * STEP))
    out_shape = columns[0].shape
    return np.moveaxis(np.array(columns), 0, -1).reshape(out_shape + x.shape)


# -- functions with closed-form derivatives -----------------------------------------------------
def quadratic_form(x):
    return x @ A @ x


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_gradient(x):
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def rosenbrock_hessian(x):
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        h[i + 1, i + 1] += 200.0
        h[i, i + 1] = h[i + 1, i] = -400.0 * x[i]
    return h


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def sum_of_fourth_powers(x):
    return np.sum(x ** 4)


def logistic_loss(w, X, y):
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def sin_times_square(x):
    return np.sin(x) * x ** 2


def mixed(x, y):
    return np.sin(x) * y[0] + A @ x * np.cos(y)[:3].sum()


def two_outputs(x):
    return np.tanh(x), np.sum(x * x)


def with_aux(x):
    return np.sin(x) * 2.0, x.shape, "tag"


def tree_model(params, x):
    return np.tanh(x @ params["w"] + params["b"])


def product(x, y):
    return np.sum(x * x * y)


def scaled(x, n):
    return x * n


# -- jvp ----------------------------------------------------------------------------------------
@pytest.mark.quick
def test_jvp_single_value_and_tuple_inputs():
    x, v = rng.standard_normal(4), rng.standard_normal(4)
    out, tangent = jvp(np.sin, x, v)                 # a primitive with a tangent rule
    np.testing.assert_allclose(out, np.sin(x))
    np.testing.assert_allclose(tangent, np.cos(x) * v)
    y, w = rng.standard_normal(4), rng.standard_normal(4)
    out, tangent = jvp(mixed, (x, y), (v, w))
    expected = numerical_jacobian(mixed, (x, y), 0) @ v + numerical_jacobian(mixed, (x, y), 1) @ w
    np.testing.assert_allclose(out, mixed(x, y))
    np.testing.assert_allclose(tangent, expected, rtol=1e-6, atol=1e-8)


def test_jvp_tuple_output_and_aux():
    x, v = rng.standard_normal(3), rng.standard_normal(3)
    out, tangent = jvp(two_outputs, x, v)
    assert isinstance(tangent, tuple) and len(tangent) == 2
    np.testing.assert_allclose(tangent[0], (1.0 - np.tanh(x) ** 2) * v)
    np.testing.assert_allclose(tangent[1], 2.0 * x @ v)
    out, tangent, aux = jvp(with_aux, x, v, has_aux=True)
    np.testing.assert_allclose(out, np.sin(x) * 2.0)
    np.testing.assert_allclose(tangent, 2.0 * np.cos(x) * v)
    assert aux == ((3,), "tag")


def test_jvp_pytree_inputs():
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    dparams = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    x = rng.standard_normal((4, 3))
    out, tangent = jvp(tree_model, (params, x), (dparams, np.zeros((4, 3))))
    pre = x @ params["w"] + params["b"]
    expected = (1.0 - np.tanh(pre) ** 2) * (x @ dparams["w"] + dparams["b"])
    np.testing.assert_allclose(tangent, expected)
    assert tangent.shape == out.shape == (4, 2)


def test_jvp_integer_input_is_a_constant():
    x = rng.standard_normal(3)
    out, tangent = jvp(scaled, (x, 3), (np.ones(3), 0))
    np.testing.assert_allclose(tangent, 3.0 * np.ones(3))


def test_jvp_keeps_dtype_and_shape():
    x = rng.standard_normal((2, 3)).astype(np.float32)
    out, tangent = jvp(np.tanh, x, np.ones((2, 3), np.float32))
    assert tangent.dtype == np.float32 and tangent.shape == (2, 3)


def test_jvp_rejects_mismatched_tangents():
    with pytest.raises(ValueError, match="shape"):
        jvp(np.sin, np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="tangent"):
        jvp(product, (np.ones(3), np.ones(3)), (np.ones(3),))


def test_jvp_of_grad_is_a_hessian_vector_product():
    x, v = rng.standard_normal(4), rng.standard_normal(4)
    grads, tangent = jvp(s2s.grad(quadratic_form), x, v)
    np.testing.assert_allclose(grads, (A + A.T) @ x)
    np.testing.assert_allclose(tangent, (A + A.T) @ v)


# -- vjp ----------------------------------------------------------------------------------------
def test_vjp_returns_gradients_of_all_inputs():
    x, y = rng.standard_normal(4), rng.standard_normal(4)
    out, vjp_fn = vjp(mixed, x, y)
    np.testing.assert_allclose(out, mixed(x, y))
    ct = rng.standard_normal(out.shape)
    gx, gy = vjp_fn(ct)
    np.testing.assert_allclose(gx, ct @ numerical_jacobian(mixed, (x, y), 0), rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_allclose(gy, ct @ numerical_jacobian(mixed, (x, y), 1), rtol=1e-6,
                               atol=1e-8)
    # calling it again, with another cotangent, is fine
    again = vjp_fn(2.0 * ct)
    np.testing.assert_allclose(again[0], 2.0 * gx)
    (single,) = vjp(np.tanh, x)[1](ct)
    np.testing.assert_allclose(single, ct * (1.0 - np.tanh(x) ** 2))


def test_vjp_integer_input_is_a_constant():
    x = rng.standard_normal(3)
    out, vjp_fn = vjp(scaled, x, 3)
    gx, gn = vjp_fn(np.ones(3))
    np.testing.assert_allclose(gx, 3.0 * np.ones(3))
    assert gn == 0.0


def test_negative_positions():
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    np.testing.assert_allclose(jacfwd(product, grad_position=-1)(x, y), x * x)
    np.testing.assert_allclose(jacrev(product, grad_position=-1)(x, y), x * x)


def test_vjp_with_aux_and_pytrees():
    x = rng.standard_normal(3)
    out, vjp_fn, aux = vjp(with_aux, x, has_aux=True)
    assert aux == ((3,), "tag")
    (g,) = vjp_fn(np.ones(3))
    np.testing.assert_allclose(g, 2.0 * np.cos(x))
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    xs = rng.standard_normal((4, 3))
    out, vjp_fn = vjp(tree_model, params, xs)
    ct = rng.standard_normal(out.shape)
    gparams, gx = vjp_fn(ct)
    delta = ct * (1.0 - out ** 2)
    np.testing.assert_allclose(gparams["w"], xs.T @ delta)
    np.testing.assert_allclose(gparams["b"], delta.sum(axis=0))
    np.testing.assert_allclose(gx, delta @ params["w"].T)


# -- jacfwd and jacrev ----------------------------------------------------------------------------
@pytest.mark.parametrize("jacobian", [jacfwd, jacrev])
def test_jacobian_matches_finite_differences(jacobian):
    x, y = rng.standard_normal(4), rng.standard_normal(4)
    jx, jy = jacobian(mixed, grad_position=(0, 1))(x, y)
    np.testing.assert_allclose(jx, numerical_jacobian(mixed, (x, y), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(jy, numerical_jacobian(mixed, (x, y), 1), rtol=1e-6, atol=1e-8)
    single = jacobian(mixed, grad_position=1)(x, y)
    assert isinstance(single, np.ndarray) and single.shape == (4, 4)


@pytest.mark.parametrize("jacobian", [jacfwd, jacrev])
def test_jacobian_closed_forms(jacobian):
    x = rng.standard_normal(4)
    np.testing.assert_allclose(jacobian(quadratic_form)(x), (A + A.T) @ x)
    r = rng.uniform(-1.5, 1.5, 5)
    np.testing.assert_allclose(jacobian(rosenbrock)(r), rosenbrock_gradient(r))
    s = softmax(x)
    np.testing.assert_allclose(jacobian(softmax)(x), np.diag(s) - np.outer(s, s), atol=1e-12)


@pytest.mark.parametrize("jacobian", [jacfwd, jacrev])
def test_jacobian_layout_of_matrices_pytrees_and_tuples(jacobian):
    m = rng.standard_normal((2, 3))
    jac = jacobian(np.sin)(m)
    assert jac.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(jac, numerical_jacobian(np.sin, (m,)), atol=1e-8)
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    x = rng.standard_normal((4, 3))
    jac = jacobian(tree_model)(params, x)
    assert set(jac) == {"w", "b"}
    assert jac["w"].shape == (4, 2, 3, 2) and jac["b"].shape == (4, 2, 2)
    np.testing.assert_allclose(
        jac["b"], numerical_jacobian(lambda b: tree_model({"w": params["w"], "b": b}, x),
                                     (params["b"],)), atol=1e-8)
    jt, js = jacobian(two_outputs)(x[0])
    np.testing.assert_allclose(jt, np.diag(1.0 - np.tanh(x[0]) ** 2))
    np.testing.assert_allclose(js, 2.0 * x[0])
    jac, aux = jacobian(with_aux, has_aux=True)(x[0])
    np.testing.assert_allclose(jac, np.diag(2.0 * np.cos(x[0])))
    assert aux == ((3,), "tag")


@pytest.mark.parametrize("jacobian", [jacfwd, jacrev])
def test_jacobian_of_scalar_function_of_scalar(jacobian):
    value = jacobian(sin_times_square)(0.7)
    assert np.ndim(value) == 0
    assert value == pytest.approx(np.cos(0.7) * 0.49 + 1.4 * np.sin(0.7))


# -- hessian and hvp ------------------------------------------------------------------------------
@pytest.mark.quick
def test_hessian_closed_forms():
    x = rng.standard_normal(5)
    np.testing.assert_allclose(hessian(sum_of_fourth_powers)(x), np.diag(12.0 * x ** 2))
    r = rng.uniform(-1.5, 1.5, 5)
    np.testing.assert_allclose(hessian(rosenbrock)(r), rosenbrock_hessian(r), rtol=1e-12)
    np.testing.assert_allclose(hessian(quadratic_form)(x[:4]), A + A.T)


def test_hessian_blocks_for_tuple_positions():
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    (hxx, hxy), (hyx, hyy) = hessian(product, grad_position=(0, 1))(x, y)
    np.testing.assert_allclose(hxx, np.diag(2.0 * y))
    np.testing.assert_allclose(hxy, np.diag(2.0 * x))
    np.testing.assert_allclose(hyx, np.diag(2.0 * x))
    np.testing.assert_allclose(hyy, np.zeros((3, 3)))


def test_hessian_source_is_forward_over_reverse():
    h = hessian(sum_of_fourth_powers)
    view = h.view([np.ones(3)])
    source = inspect.getsource(view.fn)
    assert source.startswith("def jvp_grad_sum_of_fourth_powers(x, ")


def test_hvp_of_logistic_regression_matches_the_closed_form_hessian():
    n, d = 20, 4
    X = rng.standard_normal((n, d))
    y = (rng.uniform(size=n) > 0.5).astype(np.float64)
    w, v = 0.3 * rng.standard_normal(d), rng.standard_normal(d)
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    full = X.T @ (X * (p * (1.0 - p))[:, None]) / n
    np.testing.assert_allclose(hvp(logistic_loss, (w, X, y), (v, np.zeros_like(X),
                                                               np.zeros_like(y)))[0],
                               full @ v, rtol=1e-10)
    # through a call of another user function: forward mode over its generated vjp
    w3, v3 = 0.3 * rng.standard_normal(3), rng.standard_normal(3)
    single = hvp(loss_on_fixed_data, w3, v3)
    np.testing.assert_allclose(single, hessian_on_fixed_data(w3) @ v3, rtol=1e-10)


X_FIXED = rng.standard_normal((10, 3))
Y_FIXED = (rng.uniform(size=10) > 0.5).astype(np.float64)


def loss_on_fixed_data(w):
    return logistic_loss(w, X_FIXED, Y_FIXED)


def hessian_on_fixed_data(w):
    p = 1.0 / (1.0 + np.exp(-(X_FIXED @ w)))
    return X_FIXED.T @ (X_FIXED * (p * (1.0 - p))[:, None]) / len(Y_FIXED)


def test_third_derivative_by_forward_over_forward_over_reverse():
    x = 0.7
    third = jacfwd(hessian(sin_times_square))(x)
    closed = -x ** 2 * np.cos(x) - 6.0 * x * np.sin(x) + 6.0 * np.cos(x)
    assert third == pytest.approx(closed, rel=1e-12)
    xs = rng.standard_normal(3)
    tensor = jacfwd(hessian(sum_sin_times_square))(xs)
    expected = np.zeros((3, 3, 3))
    for i in range(3):
        t = xs[i]
        expected[i, i, i] = -t ** 2 * np.cos(t) - 6.0 * t * np.sin(t) + 6.0 * np.cos(t)
    np.testing.assert_allclose(tensor, expected, atol=1e-12)


def sum_sin_times_square(x):
    return np.sum(np.sin(x) * x ** 2)


def sines_until(x, n):
    acc = 0.0
    for i in range(1, n):
        if i > 3:
            break
        acc = acc + np.sin(x * i)
    return np.sum(acc)


def test_hessian_through_a_loop_with_break():
    # forward mode over the reverse loop (its stacks are lists: append and pop)
    x = rng.standard_normal(3)
    expected = np.diag(-sum(i * i * np.sin(i * x) for i in (1, 2, 3)))
    np.testing.assert_allclose(hessian(sines_until)(x, 10), expected, atol=1e-12)


B = rng.standard_normal((3, 2))


def sum_tanh_shifted(x):
    return np.sum(np.tanh(x + B))


def test_forward_over_forward_through_a_broadcast_guard():
    # d(x + B) = dx is guarded with broadcast_like; differentiating that code again
    x = rng.standard_normal(2)
    t = np.tanh(x + B)
    expected = np.diag(np.sum(-2.0 * t * (1.0 - t * t), axis=0))
    np.testing.assert_allclose(jacfwd(jacfwd(sum_tanh_shifted))(x), expected, atol=1e-12)


# -- reverse over forward: grad of a function that calls s2s.jvp --------------------------------
def tanh_times(x, w):
    return np.tanh(x * w) * x


def directional_product(x, w):
    # the tangent along (1, w) of tanh_times, weighted by its value
    out, tangent = s2s.jvp(tanh_times, (x, w), (np.ones_like(x), w))
    return np.sum(tangent * out)


def derivative_of_sin(x):
    _, tangent = s2s.jvp(np.sin, x, 1.0)
    return tangent * x


def test_grad_through_jvp_matches_finite_differences():
    from finite_diff import numerical_grad
    x, w = rng.standard_normal(3), rng.standard_normal(3)
    actual = s2s.grad(directional_product, grad_position=(0, 1))(x, w)
    assert_close(actual, numerical_grad(directional_product, (x, w), (0, 1)), 1e-6, 1e-8)
    # a primitive's jvp: d/dx (cos(x) x) in closed form
    assert s2s.grad(derivative_of_sin)(0.4) == pytest.approx(np.cos(0.4) - 0.4 * np.sin(0.4))
    # the adjoint calls reverse mode over the generated jvp code, by a helper
    assert "jvp_cotangents(tanh_times, (x, w), " in inspect.getsource(
        s2s.grad(directional_product))
