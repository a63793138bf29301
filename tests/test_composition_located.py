"""Transforms composed by users: each composition works (against finite differences or a
closed form) or is refused with an S2SError at the user's own file and line, naming what to
write instead; never an error inside s2s's files, never a plain NotImplementedError."""
import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad

X = np.array([0.3, -0.5, 0.7])
HERE = __file__


def line_of(fn, text):
    """The line of ``fn``'s source that holds ``text`` (the one an error must name)."""
    import inspect
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


def assert_located(info, fn, text, *words):
    error = info.value
    assert isinstance(error, s2s.S2SError)
    assert error.filename == HERE and error.lineno == line_of(fn, text), str(error)
    for word in words:
        assert word in str(error), str(error)


def numerical_jacobian(f, x):
    """d f(x)[i...] / d x[j], by central differences on each output element."""
    out = np.asarray(f(x))
    columns = [numerical_grad(lambda x, k=k: np.asarray(f(x)).reshape(-1)[k], [x], 0)
               for k in range(out.size)]
    return np.stack(columns).reshape(out.shape + np.shape(x))


# -- value_and_grad inside a differentiated function ---------------------------------------------
def energy(x):
    return np.sum(np.sin(x) * x)


def uses_value_and_grad(x):
    value, gradient = s2s.value_and_grad(energy)(x)
    return value * 0.5 + np.sum(gradient ** 2)


def plain_value_and_grad(x):
    return energy(x) * 0.5 + np.sum((np.sin(x) + x * np.cos(x)) ** 2)


def test_grad_of_a_function_that_calls_value_and_grad():
    assert_close(s2s.grad(uses_value_and_grad)(X), numerical_grad(plain_value_and_grad, [X], 0),
                 rtol=1e-6)


def test_jvp_of_a_function_that_calls_value_and_grad():
    t = np.array([1.0, 0.5, -2.0])
    out, tangent = s2s.jvp(uses_value_and_grad, (X,), (t,))
    assert_close(out, plain_value_and_grad(X), rtol=1e-12)
    assert_close(tangent, np.vdot(numerical_grad(plain_value_and_grad, [X], 0), t), rtol=1e-6)


def uses_grad_with_aux(x):
    gradient, aux = s2s.grad(lambda y: (np.sum(y ** 3), y), has_aux=True)(x)
    return np.sum(gradient)


def test_a_gradient_with_has_aux_inside_is_refused_at_its_line():
    with pytest.raises(s2s.S2SError) as info:
        s2s.grad(uses_grad_with_aux)(X)
    assert_located(info, uses_grad_with_aux, "has_aux=True)(x)", "has_aux=True")


# -- Jacobians of Jacobians ----------------------------------------------------------------------
def stretched(x):
    return np.sin(x) * x[0]


def stretched_jacobian(x):
    jac = np.diag(np.cos(x) * x[0])
    jac[:, 0] += np.sin(x)
    return jac


@pytest.mark.parametrize("outer", ["jacfwd", "jacrev"])
@pytest.mark.parametrize("inner", ["jacfwd", "jacrev"])
def test_the_jacobian_of_a_jacobian_function(outer, inner):
    second = getattr(s2s, outer)(getattr(s2s, inner)(stretched))
    assert_close(second(X), numerical_jacobian(stretched_jacobian, X), rtol=1e-6, atol=1e-8)


def test_jvp_of_a_jacrev_function():
    t = np.array([1.0, 0.5, -2.0])
    _, tangent = s2s.jvp(s2s.jacrev(stretched), (X,), (t,))
    assert_close(tangent, numerical_jacobian(stretched_jacobian, X) @ t, rtol=1e-6, atol=1e-8)


def calls_a_jacobian(x):
    jac = s2s.jacfwd(stretched)(x)
    return np.sum(jac ** 2)


def calls_a_named_jacobian(x):
    jacobian = s2s.jacrev(stretched)
    return np.sum(jacobian(x) ** 2)


@pytest.mark.parametrize("mode", ["grad", "jvp"])
@pytest.mark.parametrize("fn, text", [(calls_a_jacobian, "jac = s2s.jacfwd"),
                                      (calls_a_named_jacobian, "jacobian(x) ** 2")])
def test_a_jacobian_function_called_inside_is_refused_at_the_call(fn, text, mode):
    with pytest.raises(s2s.S2SError) as info:
        if mode == "grad":
            s2s.grad(fn)(X)
        else:
            s2s.jvp(fn, (X,), (X,))
    assert_located(info, fn, text, "Jacobian function", "s2s.jacfwd")


@pytest.mark.parametrize("transform", [
    lambda j: s2s.grad(j), lambda j: s2s.value_and_grad(j),
    lambda j: s2s.vjp(j, X)])
@pytest.mark.parametrize("jacobian", [s2s.jacfwd, s2s.jacrev])
def test_reverse_mode_over_a_jacobian_function_is_refused_at_the_function(transform, jacobian):
    with pytest.raises(s2s.S2SError) as info:
        transform(jacobian(stretched))
    assert_located(info, stretched, "def stretched", "Jacobian function")


# -- a transform of a closure over differentiated values ----------------------------------------
def grad_of_a_closure(x):
    def inner(y):
        return np.sum(np.sin(y) * x)
    return s2s.grad(inner)(x)


def named_grad_of_a_closure(x):
    def inner(y):
        return np.sum(np.sin(y) * x)
    h = s2s.grad(inner)
    return h(x)


def grad_as_the_hint_says(x):
    def inner(y, x):
        return np.sum(np.sin(y) * x)
    return s2s.grad(inner)(x, x)


@pytest.mark.parametrize("transform", ["jacfwd", "jacrev"])
@pytest.mark.parametrize("fn, text", [(grad_of_a_closure, "s2s.grad(inner)(x)"),
                                      (named_grad_of_a_closure, "h = s2s.grad(inner)")])
def test_a_transform_of_a_closure_over_differentiated_values_is_refused(fn, text, transform):
    with pytest.raises(s2s.S2SError) as info:
        getattr(s2s, transform)(fn)(X)
    assert_located(info, fn, text, "make them parameters of 'inner'")


@pytest.mark.parametrize("transform", ["jacfwd", "jacrev"])
def test_the_hint_for_a_transform_of_a_closure_works(transform):
    # d/dx of cos(x) * x, elementwise
    expected = np.diag(np.cos(X) - np.sin(X) * X)
    assert_close(getattr(s2s, transform)(grad_as_the_hint_says)(X), expected, rtol=1e-10)


# -- the second derivative of a closure's call ---------------------------------------------------
def calls_a_closure(x):
    a = np.sum(x)

    def inner(y):
        return np.sin(y * a)
    return np.sum(inner(x) ** 2)


def test_the_second_derivative_of_a_closure_call_is_refused_at_the_call():
    with pytest.raises(s2s.S2SError) as info:
        s2s.hessian(calls_a_closure)(X)
    assert_located(info, calls_a_closure, "return np.sum(inner(x) ** 2)", "'inner'",
                   "positional arguments")


def test_grad_of_grad_of_a_closure_call_is_refused_at_the_call():
    def total(x):
        return np.sum(s2s.grad(calls_a_closure)(x))
    with pytest.raises(s2s.S2SError) as info:
        s2s.grad(total)(X)
    assert_located(info, calls_a_closure, "return np.sum(inner(x) ** 2)", "'inner'")


# -- jvp of jvp of a function that takes *args ---------------------------------------------------
def takes_star_args(*args):
    return np.sin(args[0]) * args[1]


def jvp_of_star_args(x, w):
    return s2s.jvp(takes_star_args, (x, w), (x, w))[1]


@pytest.mark.parametrize("mode", ["jvp", "grad"])
def test_jvp_of_a_function_with_star_args_differentiated_again_is_refused(mode):
    # it recursed until Python's limit: the jvp code of *args calls call_jvp, whose own
    # derivative is the jvp of that code again
    with pytest.raises(s2s.S2SError) as info:
        if mode == "jvp":
            s2s.jvp(jvp_of_star_args, (X, X), (X, X))
        else:
            s2s.grad(lambda x, w: np.sum(jvp_of_star_args(x, w)))(X, X)
    assert_located(info, jvp_of_star_args, "return s2s.jvp(takes_star_args", "*args",
                   "named parameters")


# -- a transform called inside, differentiated three times ---------------------------------------
def calls_grad_of_a_product(x):
    def product(y):
        return y[0] * y[1]
    return np.sum(np.sin(np.array(s2s.grad(product)((x, x)))))


def test_second_derivative_of_a_function_that_calls_grad():
    # calls_grad_of_a_product(x) = 2 sin(x): second derivative -2 sin(x)
    first = s2s.grad(calls_grad_of_a_product)
    assert_close(s2s.grad(first)(10.0), -2 * np.sin(10.0), rtol=1e-10)
    assert_close(s2s.jvp(first, (10.0,), (1.0,))[1], -2 * np.sin(10.0), rtol=1e-10)


def calls_grad_of_a_quotient(x):
    def quotient(y):
        return y[0] / y[1]
    return np.sum(np.cos(np.array(s2s.grad(quotient)((x, 2.0)))))


@pytest.mark.parametrize("third", [
    lambda f, x: s2s.grad(s2s.grad(f))(x),
    lambda f, x: s2s.jvp(s2s.grad(f), (x,), (1.0,))])
def test_a_third_derivative_through_a_transform_called_inside_is_refused_at_its_line(third):
    # it read s2s's own code (composition.py, grad.py) as the user's, and failed there
    with pytest.raises(s2s.S2SError) as info:
        third(s2s.grad(calls_grad_of_a_quotient), 10.0)
    assert_located(info, calls_grad_of_a_quotient, "s2s.grad(quotient)", "second order")


def test_reverse_over_reverse_over_a_transform_called_inside_is_refused():
    # at the user's line when it runs first; after other transforms of the same function
    # ran, its line map stops at s2s's rewritten d_d_ code (left open): what is checked here
    # is that it is an S2SError saying what to do, not a failure inside s2s's own files
    with pytest.raises(s2s.S2SError, match="second order at most"):
        s2s.vjp(s2s.grad(s2s.grad(calls_grad_of_a_quotient)), 10.0)[1](1.0)
