"""Gradients of gradients by reverse over reverse, checked against closed forms."""
import numpy as np
import pytest

import s2s


def sin_x2(x):
    return np.sin(x) * x ** 2


def quartic(x):
    return np.sum(x ** 4)


def g(x):
    return np.sin(x) * x


DG = s2s.grad(g)


def calls_a_gradient(x):
    return DG(x) * x


def makes_a_gradient_inside(x):
    h = s2s.grad(g)
    return h(x) ** 2


@pytest.mark.quick
@pytest.mark.parametrize("x", [0.3, 0.7, -1.2])
def test_first_second_and_third_derivatives(x):
    d1 = s2s.grad(sin_x2)
    d2 = s2s.grad(d1)
    d3 = s2s.grad(d2)
    assert np.isclose(d1(x), np.cos(x) * x ** 2 + 2 * x * np.sin(x))
    assert np.isclose(d2(x), -np.sin(x) * x ** 2 + 4 * x * np.cos(x) + 2 * np.sin(x))
    assert np.isclose(d3(x), -np.cos(x) * x ** 2 - 6 * x * np.sin(x) + 6 * np.cos(x))


def test_gradient_of_a_gradient_of_an_array_function():
    x = np.array([1.0, -2.0, 0.5])
    # d/dx of d/dx sum(x^4) seeded with ones: the Hessian's row sums, 12 x^2
    assert np.allclose(s2s.grad(s2s.grad(quartic))(x), 12 * x ** 2)


@pytest.mark.parametrize("x", [0.8, -0.4])
def test_gradient_of_a_function_that_calls_a_gradient(x):
    dg = np.cos(x) * x + np.sin(x)
    d2g = -np.sin(x) * x + 2 * np.cos(x)
    assert np.isclose(s2s.grad(calls_a_gradient)(x), d2g * x + dg)
    assert np.isclose(s2s.grad(makes_a_gradient_inside)(x), 2 * dg * d2g)


def weighted_square(x):
    return x * x


def two_outputs(x):
    return np.sin(x), x * 3.0


def test_sens_param_takes_the_output_cotangent():
    x = np.array([0.5, -1.0, 2.0])
    sens = np.array([1.0, 2.0, -3.0])
    expected = sens * 2 * x                                     # J^T sens, closed form
    assert np.allclose(s2s.grad(weighted_square, sens_param=True)(x, sens), expected)
    assert np.allclose(s2s.grad(weighted_square, sens_param=True)(x, sens=sens), expected)
    value, grads = s2s.value_and_grad(weighted_square, sens_param=True)(x, sens)
    assert np.allclose(value, x * x) and np.allclose(grads, expected)
    # a tuple output takes a tuple of sensitivities
    s1, s2 = np.array([1.0, 0.0, 2.0]), np.array([0.5, 1.0, 1.0])
    got = s2s.grad(two_outputs, sens_param=True)(x, (s1, s2))
    assert np.allclose(got, s1 * np.cos(x) + s2 * 3.0)
