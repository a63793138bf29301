"""What users pass to s2s besides plain functions: bound methods, functools.wraps decorators,
``*args`` functions, primitives with ``*args`` (max, min, einsum), and the edges of the
transforms (empty inputs, cotangents of the wrong structure, outputs that are not numbers,
``weights=`` from several threads). Each gradient is checked against finite differences."""
import functools
import threading

import sys

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad


class Spring:
    def __init__(self, k):
        self.k = k

    def energy(self, x, scale=2.0):
        return self.k * x * x * scale

    def energy_of(self, x, y):
        return np.sum(self.k * np.sin(x) * y)


def test_a_bound_method_counts_positions_from_its_first_argument():
    spring = Spring(3.0)
    assert s2s.grad(spring.energy)(0.5) == pytest.approx(12.0 * 0.5)
    x, y = np.array([0.3, -0.7]), np.array([1.5, 2.0])
    dx, dy = s2s.grad(spring.energy_of, grad_position=(0, 1))(x, y)
    assert_close(dx, numerical_grad(spring.energy_of, (x, y), 0))
    assert_close(dy, numerical_grad(spring.energy_of, (x, y), 1))
    value, dx = s2s.value_and_grad(spring.energy_of)(x, y)
    assert value == pytest.approx(spring.energy_of(x, y))
    assert_close(dx, numerical_grad(spring.energy_of, (x, y), 0))


def test_a_bound_method_in_every_transform():
    spring = Spring(1.5)
    x, y = np.array([0.3, -0.7]), np.array([1.5, 2.0])
    expected = numerical_grad(spring.energy_of, (x, y), 0)
    assert_close(s2s.jacrev(spring.energy_of)(x, y), expected)
    assert_close(s2s.jacfwd(spring.energy_of)(x, y), expected)
    _, tangent = s2s.jvp(spring.energy_of, (x, y), (np.ones(2), np.zeros(2)))
    assert tangent == pytest.approx(np.sum(expected))
    _, pullback = s2s.vjp(spring.energy_of, x, y)
    assert_close(pullback(1.0)[0], expected)


def times(c):
    def decorate(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            return c * f(*args, **kwargs)
        return wrapper
    return decorate


@times(3.0)
def square(x):
    return x * x


def uses_square(x):
    return square(x) + x


def test_a_functools_wraps_decorator_is_differentiated_as_it_runs():
    assert square(2.0) == 12.0
    assert s2s.grad(square)(2.0) == pytest.approx(12.0)
    assert s2s.grad(uses_square)(2.0) == pytest.approx(13.0)
    assert s2s.jvp(square, (2.0,), (1.0,))[1] == pytest.approx(12.0)
    assert s2s.jvp(uses_square, (2.0,), (1.0,))[1] == pytest.approx(13.0)


def product_of_all(*factors):
    out = 1.0
    for f in factors:
        out = out * f
    return out


def test_a_function_of_star_args():
    args = (2.0, 3.0, 0.5)
    grads = s2s.grad(product_of_all, grad_position=(0, 1, 2))(*args)
    for p, g in enumerate(grads):
        assert g == pytest.approx(numerical_grad(product_of_all, args, p))
    assert s2s.grad(product_of_all, grad_position=1)(2.0, 3.0) == pytest.approx(2.0)


def test_a_lambda_of_star_args_in_vjp_and_jvp():
    # the caller s2s writes for it is named lambda_ (`def lambda(...)` does not parse)
    scaled = lambda *args: np.sin(args[0]) * args[1]      # noqa: E731
    x = np.array([0.5, -1.0])
    value, pullback = s2s.vjp(scaled, x, 3.0)
    assert_close(pullback(np.ones(2))[0], 3.0 * np.cos(x))
    _, tangent = s2s.jvp(scaled, (x, 3.0), (np.ones(2), 0.0))
    assert_close(tangent, 3.0 * np.cos(x))


def test_primitives_that_take_star_args():
    assert s2s.grad(max, grad_position=(0, 1))(2.0, 3.0) == pytest.approx((0.0, 1.0))
    assert s2s.grad(min, grad_position=(0, 1))(2.0, 3.0) == pytest.approx((1.0, 0.0))
    a, b = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.4, 2.0])
    assert_close(s2s.grad(np.einsum, grad_position=1)("i,i->", a, b), b)
    assert_close(s2s.grad(np.einsum, grad_position=2)("i,i->", a, b), a)


def test_hessian_at_an_empty_array():
    def f(x):
        return np.sum(x ** 2)
    assert s2s.hessian(f)(np.zeros(0)).shape == (0, 0)
    assert s2s.jacfwd(f)(np.zeros(0)).shape == (0,)


def test_a_pullback_checks_its_cotangent():
    def f(x, y):
        return x * y, x + y
    _, pullback = s2s.vjp(f, 1.0, 2.0)
    with pytest.raises(ValueError, match="cotangent with 1 value"):
        pullback((1.0,))
    assert pullback((1.0, 1.0)) == pytest.approx((3.0, 2.0))


def test_an_output_that_is_not_a_number_is_an_error():
    def labelled(x):
        return [x * 2.0, "label"]
    with pytest.raises(TypeError, match="output is a str"):
        s2s.grad(labelled)(1.0)


class Linear:
    def __init__(self, w):
        self.w = w

    def __call__(self, x):
        return np.sum(np.tanh(x @ self.w))


def test_weights_from_several_threads():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((3, 2))
    model = Linear(w)
    df = s2s.grad(model, grad_position=None, weights=[w])
    inputs = [rng.standard_normal((4, 3)) for _ in range(8)]
    results = [None] * len(inputs)

    def work(i):
        for _ in range(20):
            results[i] = df(inputs[i])
    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for x, got in zip(inputs, results):
        expected = numerical_grad(lambda w_: Linear(w_)(x), (w,), 0)
        assert_close(got[0], expected)


def test_a_caller_of_fixed_arity_survives_clear_cache():
    assert s2s.grad(max, grad_position=(0, 1))(2.0, 3.0) == pytest.approx((0.0, 1.0))
    s2s.clear_cache()
    assert s2s.grad(max, grad_position=(0, 1))(3.0, 2.0) == pytest.approx((1.0, 0.0))
    spring = Spring(2.0)
    assert s2s.jacrev(spring.energy)(0.5) == pytest.approx(2.0 * 2 * 0.5 * 2.0)


make_power = lambda y: lambda x: np.power(x, y)  # noqa: E731
make_pair = lambda a: (lambda b: a * b, lambda c, d: a + c * d)  # noqa: E731


@pytest.mark.parametrize("fn, args", [(make_power(2.5), (1.3,)),
                                      (make_pair(3.0)[0], (2.0,)),
                                      (make_pair(3.0)[1], (2.0, 0.5))])
def test_a_lambda_made_by_a_lambda_on_the_same_line(fn, args):
    # the inner lambda is told apart by its parameters
    assert_close(s2s.grad(fn)(*args), numerical_grad(fn, args, 0))
    assert_close(np.float64(s2s.jvp(fn, args, (1.0,) + (0.0,) * (len(args) - 1))[1]),
                 np.float64(numerical_grad(fn, args, 0)))


def test_lambdas_with_the_same_parameters_on_one_line():
    """Told apart by the column of their code where Python tells it (3.11 and newer);
    refused before, never confused."""
    twice, thrice = (lambda x: x * 2.0), (lambda x: x * 3.0)
    if sys.version_info >= (3, 11):
        assert s2s.grad(thrice)(1.0) == 3.0 and s2s.grad(twice)(1.0) == 2.0
    else:
        with pytest.raises(s2s.errors.S2SError):
            s2s.grad(thrice)(1.0)
