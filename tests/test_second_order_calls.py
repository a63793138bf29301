"""Second derivatives through code that calls s2s: the shapes of calls that the first-order
code takes (closures, partial applications, wrappers), each against a closed form."""
import numpy as np
import pytest

import s2s


def with_second_argument(f, y):
    def partial(x):
        return f(x, y)
    return partial


@pytest.mark.parametrize("inner", ["jvp", "vjp"])
@pytest.mark.parametrize("outer", ["jvp", "vjp"])
def test_a_closure_over_a_mask_called_through_a_partial_made_elsewhere(inner, outer):
    # the generated code of `picks` reads `mask` of this test, that of `partial` reads f and
    # y of with_second_argument: they are not local functions of one enclosing function
    mask = np.array([True, False, True])

    def picks(x, y):
        return np.where(mask, x * x, y)
    partial = with_second_argument(picks, np.array([5.0, 6.0, 7.0]))

    def derivative(x, t):
        if inner == "jvp":
            return s2s.jvp(partial, (x,), (t,))[1]
        out, pullback = s2s.vjp(partial, x)
        return pullback(t)[0]
    x, t = np.array([0.3, -0.5, 0.8]), np.array([1.0, 2.0, -1.0])
    a, b = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -0.5])
    # derivative = 2 x t where the mask holds (the jvp and the vjp agree: the map is diagonal)
    np.testing.assert_allclose(derivative(x, t), np.where(mask, 2 * x * t, 0.0))
    if outer == "jvp":
        got = s2s.jvp(derivative, (x, t), (a, b))[1]
        np.testing.assert_allclose(got, np.where(mask, 2 * a * t + 2 * x * b, 0.0), rtol=1e-12)
    else:
        gx, gt = s2s.vjp(derivative, x, t)[1](a)
        np.testing.assert_allclose(gx, np.where(mask, 2 * a * t, 0.0), rtol=1e-12)
        np.testing.assert_allclose(gt, np.where(mask, 2 * a * x, 0.0), rtol=1e-12)


def second_derivatives(f, x):
    """f''(x) of an elementwise f at each entry of x, in the four compositions of the modes."""
    ones = np.ones_like(x)

    def along(x, t):
        return s2s.jvp(f, (x,), (t,))[1]

    def gradient(x):
        out, pullback = s2s.vjp(f, x)
        return pullback(ones)[0]
    return {"jvp of jvp": s2s.jvp(along, (x, ones), (ones, np.zeros_like(x)))[1],
            "vjp of jvp": s2s.vjp(along, x, ones)[1](ones)[0],
            "jvp of vjp": s2s.jvp(gradient, (x,), (ones,))[1],
            "vjp of vjp": s2s.vjp(gradient, x)[1](ones)[0]}


EXPONENTS = np.array([0.0, 1.0, 2.0, 3.0])


def powers(x):
    return np.power(x, EXPONENTS)


def raised(x):
    return x ** EXPONENTS


@pytest.mark.parametrize("f", [powers, raised])
def test_second_derivative_of_a_power_at_a_zero_base(f):
    # x^0 = 1, x^1, x^2 and x^3 at x = 0: second derivatives 0, 0, 2 and 0 (0 * inf was nan
    # for the exponent 0)
    x = np.zeros(4)
    with np.errstate(divide="raise", invalid="raise"):
        for order, got in second_derivatives(f, x).items():
            np.testing.assert_array_equal(got, [0.0, 0.0, 2.0, 0.0], err_msg=order)


def test_second_derivative_of_a_scalar_power_with_exponent_zero():
    for exponent in (0.0, 0):
        f = (lambda y: lambda x: np.power(x, y))(exponent)
        assert s2s.grad(s2s.grad(f))(0.0) == 0.0
        assert s2s.grad(s2s.grad(f))(1.5) == 0.0


def doubled_sine(a):
    return np.sin(a)


def passes_the_rest_on(*args):
    return doubled_sine(2.0 * args[0], *args[1:])


def uses_the_first(*args):
    return doubled_sine(2.0 * args[0])


@pytest.mark.parametrize("f", [passes_the_rest_on, uses_the_first])
def test_reverse_over_reverse_of_a_function_of_star_args(f):
    # s2s.vjp of a *args function goes through a caller of fixed arity, whose pullback
    # closes over f's pullback (a function), which closes over the inputs; a call
    # f(a, *rest) inside is the run-time dispatch call_vjp with a starred argument.
    # vjp_of(x, v) = 2 cos(2x) v: its cotangents for w are -4 sin(2x) v w and 2 cos(2x) w
    x, v, w = np.array([0.3, -0.7, 1.1]), np.array([1.0, 0.5, -2.0]), np.array([0.2, 1.5, -1.0])

    def vjp_of(x, v):
        out, pullback = s2s.vjp(f, x)
        return pullback(v)[0]
    np.testing.assert_allclose(vjp_of(x, v), 2 * np.cos(2 * x) * v, rtol=1e-12)
    gx, gv = s2s.vjp(vjp_of, x, v)[1](w)
    np.testing.assert_allclose(gx, -4 * np.sin(2 * x) * v * w, rtol=1e-12)
    np.testing.assert_allclose(gv, 2 * np.cos(2 * x) * w, rtol=1e-12)
    if f is uses_the_first:
        tangent = s2s.jvp(vjp_of, (x, v), (w, np.zeros(3)))[1]
        np.testing.assert_allclose(tangent, -4 * np.sin(2 * x) * v * w, rtol=1e-12)


# -- np.einsum's sublist form differentiated twice ------------------------------------------------
def sublist_transpose(a, b):
    return np.einsum(a, [0, 1], [1, 0]) * b


def sublist_product(a, b):
    return np.einsum(a, [0, 1], b, [1, 2])


def sublist_batched(a, b):
    return np.einsum(a, [Ellipsis, 0, 1], b, [Ellipsis, 1, 2])


def sublist_output(a, b):
    return np.einsum(a, [0, 1], b, [0, 2], [1, 2])


def sublist_three(a, b):
    return np.einsum(a, [0, 1], b, [1, 2], a, [2, 3], [0, 3])


SUBLISTS = [(sublist_transpose, (3, 3), (3, 3)), (sublist_product, (2, 3), (3, 4)),
            (sublist_batched, (2, 2, 3), (2, 3, 4)), (sublist_output, (3, 2), (3, 4)),
            (sublist_three, (3, 3), (3, 3))]


@pytest.mark.parametrize("f, shape_a, shape_b", SUBLISTS, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("inner", ["jvp", "vjp"])
def test_second_derivatives_of_the_einsum_sublist_form(f, shape_a, shape_b, inner):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    t = (rng.standard_normal(shape_a), rng.standard_normal(shape_b))
    v = rng.standard_normal(np.shape(f(a, b)))

    def derivative(a, b, s):
        # the first derivative along (or pulled back to) both arrays, weighted by s
        if inner == "jvp":
            return s * s2s.jvp(f, (a, b), t)[1]
        out, pullback = s2s.vjp(f, a, b)
        da, db = pullback(v)
        return s * (np.sum(da * t[0]) + np.sum(db * t[1]))
    args = (a, b, 1.5)
    w = rng.standard_normal(np.shape(derivative(*args)))
    directions = (rng.standard_normal(shape_a), rng.standard_normal(shape_b), 0.5)
    step = 1e-6
    plus = derivative(*[x + step * d for x, d in zip(args, directions)])
    minus = derivative(*[x - step * d for x, d in zip(args, directions)])
    want = np.sum(w * (plus - minus)) / (2 * step)
    along = np.sum(w * s2s.jvp(derivative, args, directions)[1])
    grads = s2s.vjp(derivative, *args)[1](w)
    pulled = sum(np.sum(g * d) for g, d in zip(grads, directions))
    np.testing.assert_allclose([along, pulled], [want, want], rtol=1e-6, atol=1e-8)


def sine_through_complex(x):
    return np.imag(np.exp(1j * x))


@pytest.mark.parametrize("f, derivative, second", [
    (np.imag, lambda x: 0.0 * x, lambda x: 0.0 * x),
    (sine_through_complex, np.cos, lambda x: -np.sin(x))], ids=["np.imag", "complex inside"])
def test_a_pullback_transformed_again_gives_a_real_input_a_real_cotangent(f, derivative, second):
    # vjp's pullback gives a real input the real part of its cotangent; the plain code that
    # stands for it inside a transform did not (its value was complex)
    x, v, w = np.array([0.3, -0.7, 1.1]), np.array([1.0, 0.5, -2.0]), np.array([0.2, 1.5, -1.0])

    def vjp_of(x, v):
        out, pullback = s2s.vjp(f, x)
        return pullback(v)[0]
    value, pullback = s2s.vjp(vjp_of, x, v)
    assert not np.iscomplexobj(value)
    np.testing.assert_allclose(value, derivative(x) * v, atol=1e-15)
    gx, gv = pullback(w)
    np.testing.assert_allclose(gx, second(x) * v * w, atol=1e-15)
    np.testing.assert_allclose(gv, derivative(x) * w, atol=1e-15)
    value, tangent = s2s.jvp(vjp_of, (x, v), (w, np.zeros(3)))
    np.testing.assert_allclose(value, derivative(x) * v, atol=1e-15)
    np.testing.assert_allclose(tangent, second(x) * v * w, atol=1e-15)


# -- loops over a dict's keys, values and items, differentiated twice -----------------------------
def sorted_items(d):
    total = 0.0
    for i, (k, v) in enumerate(sorted(d.items(), key=lambda kv: kv[0])):
        total = total + np.sum(np.sin(v)) * (i + 1.0)
    return total


def counted_keys(d):
    total = 0.0
    for i, k in enumerate(sorted(d)):
        total = total + np.sum(np.cos(d[k])) * (i + 2.0)
    return total


def values_and_keys(d):
    total = 0.0
    for v in d.values():
        total = total + np.sum(v * v * v)
    for k in d.keys():
        total = total + np.sum(np.sin(d[k]))
    return total


def _shifted(d, t, step):
    return {k: d[k] + step * t[k] for k in d}


@pytest.mark.parametrize("f", [sorted_items, counted_keys, values_and_keys])
@pytest.mark.parametrize("order", ["jvp of jvp", "vjp of jvp", "jvp of vjp", "vjp of vjp"])
def test_second_derivatives_of_loops_over_a_dict(f, order):
    # the first-order code loops over sorted tangents with zip(count(), ...), pushes and
    # pops stacks, takes the cotangents of appended items (take_appended, drop_last) and adds
    # into a loop's items (add_at_iteration); the second order is <a, H b> of f against
    # nested central differences
    rng = np.random.default_rng(11)
    d = {"b": rng.uniform(-1, 1, 3), "a": rng.uniform(-1, 1, (2, 2)), "c": rng.uniform(-1, 1, 2)}
    a, b = ({k: rng.uniform(-1, 1, np.shape(v)) for k, v in d.items()} for _ in range(2))
    step = 1e-4
    want = sum(sa * sb * f(_shifted(_shifted(d, a, sa * step), b, sb * step))
               for sa in (1, -1) for sb in (1, -1)) / (4 * step * step)
    zero = {k: np.zeros_like(v) for k, v in d.items()}

    def along(d, t):
        return s2s.jvp(f, (d,), (t,))[1]

    def gradient(d):
        out, pullback = s2s.vjp(f, d)
        return pullback(1.0)[0]

    def pair(x, y):
        return sum(np.sum(x[k] * y[k]) for k in d)
    if order == "jvp of jvp":
        got = s2s.jvp(along, (d, a), (b, zero))[1]
    elif order == "vjp of jvp":
        got = pair(s2s.vjp(along, d, a)[1](1.0)[0], b)
    elif order == "jvp of vjp":
        got = pair(s2s.jvp(gradient, (d,), (b,))[1], a)
    else:
        got = pair(s2s.vjp(gradient, d)[1](a)[0], b)
    assert abs(got - want) <= 1e-6 * max(1.0, abs(want))


def test_reverse_over_forward_of_a_loop_over_sorted_items_reaches_the_tangents():
    # vjp of <jvp(f), t> in t is the gradient of f: a loop over sorted_tangent's list added
    # each item's cotangent with list +=, which extended it (a silent zero)
    rng = np.random.default_rng(4)
    d = {"y": rng.uniform(-1, 1, 3), "x": rng.uniform(-1, 1, 2)}
    t = {k: rng.uniform(-1, 1, np.shape(v)) for k, v in d.items()}

    def along(d, t):
        return s2s.jvp(sorted_items, (d,), (t,))[1]
    got = s2s.vjp(along, d, t)[1](1.0)[1]
    # sorted by key: x first (weight 1), then y (weight 2)
    np.testing.assert_allclose(got["x"], np.cos(d["x"]), rtol=1e-12)
    np.testing.assert_allclose(got["y"], 2.0 * np.cos(d["y"]), rtol=1e-12)
