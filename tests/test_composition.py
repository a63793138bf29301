"""Transforms of functions that call transforms, in every order and mode, against finite
differences of closed-form first derivatives (never s2s against itself).

Each case is a function ``f(x, w)`` with its Jacobian products written by hand
(``jvp_closed``, ``vjp_closed``). A second derivative is checked as a directional
derivative: ``<out_direction, d/dt inner(args + t * direction)>``, the inner derivative
taken by central differences of the closed form.
"""
import numpy as np
import pytest

import s2s

STEP = 1e-6


# -- cases: f(x, w) -> array, with their Jacobian products by hand -----------------------------
def sin_times(x, w):
    return np.sin(x) * w


def sin_times_jvp(x, w, tx, tw):
    return np.cos(x) * w * tx + np.sin(x) * tw


def sin_times_vjp(x, w, u):
    return np.cos(x) * w * u, np.sin(x) * u


def squash(v):
    return np.exp(-v * v)


def calls_a_function(x, w):
    return squash(x) * w + x ** 3


def calls_a_function_jvp(x, w, tx, tw):
    return (-2 * x * np.exp(-x * x) * w + 3 * x ** 2) * tx + np.exp(-x * x) * tw


def calls_a_function_vjp(x, w, u):
    return (-2 * x * np.exp(-x * x) * w + 3 * x ** 2) * u, np.exp(-x * x) * u


def loops(x, w):
    y = x
    for _ in range(3):
        y = np.tanh(y) * w
    return y


def loops_jvp(x, w, tx, tw):
    y, ty = x, tx
    for _ in range(3):
        t = np.tanh(y)
        y, ty = t * w, (1 - t * t) * ty * w + t * tw
    return ty


def loops_vjp(x, w, u):
    ys = [x]
    for _ in range(3):
        ys.append(np.tanh(ys[-1]) * w)
    gx, gw = u, 0.0 * w
    for y in reversed(ys[:-1]):
        t = np.tanh(y)
        gw = gw + gx * t
        gx = gx * (1 - t * t) * w
    return gx, gw


CASES = {
    "elementwise": (sin_times, sin_times_jvp, sin_times_vjp),
    "user call": (calls_a_function, calls_a_function_jvp, calls_a_function_vjp),
    "loop": (loops, loops_jvp, loops_vjp),
}
# reverse mode over generated code that saves loop values on stacks (lst.pop()): not yet
STACKS = pytest.mark.xfail(strict=True, reason="forward mode over a pullback that pops the "
                                                "stacks of the enclosing function")
ALL_CASES = list(CASES)
NO_LOOP = ["elementwise", "user call", pytest.param("loop", marks=STACKS)]


# -- the functions that call s2s ---------------------------------------------------------------
def jvp_caller(f):
    def jvp_of_f(x, w, tx, tw):
        out, tangent = s2s.jvp(f, (x, w), (tx, tw))
        return out * 0.5 + tangent
    return jvp_of_f


def vjp_caller(f):
    def vjp_of_f(x, w, u):
        out, pullback = s2s.vjp(f, x, w)
        gx, gw = pullback(u)
        return gx * 2.0 + gw + out * 0.5
    return vjp_of_f


def jvp_closed_caller(f, jvp_closed):
    def reference(x, w, tx, tw):
        return f(x, w) * 0.5 + jvp_closed(x, w, tx, tw)
    return reference


def vjp_closed_caller(f, vjp_closed):
    def reference(x, w, u):
        gx, gw = vjp_closed(x, w, u)
        return gx * 2.0 + gw + f(x, w) * 0.5
    return reference


def rng_arrays(seed, count, n=3):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.0, 1.0, n) for _ in range(count)]


def directional(fn, args, directions):
    """d/dt fn(args + t * directions) at 0, by central differences."""
    plus = fn(*[a + STEP / 2 * d for a, d in zip(args, directions)])
    minus = fn(*[a - STEP / 2 * d for a, d in zip(args, directions)])
    return (plus - minus) / STEP


def check_jvp(inner, reference, args, seed):
    directions = rng_arrays(seed, len(args))
    out, tangent = s2s.jvp(inner, tuple(args), tuple(directions))
    np.testing.assert_allclose(out, reference(*args), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tangent, directional(reference, args, directions),
                               rtol=1e-6, atol=1e-7)


def check_vjp(inner, reference, args, seed):
    directions = rng_arrays(seed, len(args))
    cotangent = rng_arrays(seed + 1, 1)[0]
    out, pullback = s2s.vjp(inner, *args)
    np.testing.assert_allclose(out, reference(*args), rtol=1e-10, atol=1e-12)
    grads = pullback(cotangent)
    assert len(grads) == len(args)
    got = sum(np.vdot(g, d) for g, d in zip(grads, directions))
    want = np.vdot(cotangent, directional(reference, args, directions))
    assert np.isclose(got, want, rtol=1e-6, atol=1e-7)


POINT = rng_arrays(7, 4)


@pytest.mark.parametrize("case", ALL_CASES)
def test_jvp_of_jvp(case):
    f, jvp_closed, _ = CASES[case]
    check_jvp(jvp_caller(f), jvp_closed_caller(f, jvp_closed), POINT, 11)


@pytest.mark.parametrize("case", ALL_CASES)
def test_vjp_of_jvp(case):
    f, jvp_closed, _ = CASES[case]
    check_vjp(jvp_caller(f), jvp_closed_caller(f, jvp_closed), POINT, 12)


@pytest.mark.parametrize("case", ALL_CASES)
def test_jvp_of_vjp(case):
    f, _, vjp_closed = CASES[case]
    check_jvp(vjp_caller(f), vjp_closed_caller(f, vjp_closed), POINT[:3], 13)


@pytest.mark.parametrize("case", ALL_CASES)
def test_vjp_of_vjp(case):
    f, _, vjp_closed = CASES[case]
    check_vjp(vjp_caller(f), vjp_closed_caller(f, vjp_closed), POINT[:3], 14)


@pytest.mark.parametrize("case", ALL_CASES)
def test_grad_of_a_function_that_calls_vjp(case):
    f, _, vjp_closed = CASES[case]
    inner, reference = vjp_caller(f), vjp_closed_caller(f, vjp_closed)

    def total(x, w, u):
        return np.sum(inner(x, w, u) * x)

    def total_reference(x, w, u):
        return np.sum(reference(x, w, u) * x)
    args = POINT[:3]
    grads = s2s.grad(total, grad_position=(0, 1, 2))(*args)
    for i, direction in enumerate(rng_arrays(15, 3)):
        moved = [direction if j == i else np.zeros(3) for j in range(3)]
        assert np.isclose(np.vdot(grads[i], direction),
                          directional(total_reference, args, moved), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", NO_LOOP)
def test_jvp_of_a_function_that_calls_grad(case):
    f, _, vjp_closed = CASES[case]

    def scalar(x, w):
        return np.sum(f(x, w))

    def calls_grad(x, w):
        return s2s.grad(scalar, grad_position=(0, 1))(x, w)[0] * w

    def reference(x, w):
        return vjp_closed(x, w, np.ones_like(x))[0] * w
    check_jvp(calls_grad, reference, POINT[:2], 16)


def test_hessian_of_a_function_that_calls_grad():
    def energy(x):
        return np.sum(np.sin(x) * x)

    def calls_grad(x):
        return np.sum(s2s.grad(energy)(x) ** 2) / 2

    x = POINT[0]
    # calls_grad = sum(g^2)/2 with g = sin x + x cos x, g' = 2 cos x - x sin x:
    # gradient g g', Hessian diag(g'^2 + g g''), g'' = -3 sin x - x cos x
    g = np.sin(x) + x * np.cos(x)
    dg = 2 * np.cos(x) - x * np.sin(x)
    d2g = -3 * np.sin(x) - x * np.cos(x)
    np.testing.assert_allclose(s2s.hessian(calls_grad)(x), np.diag(dg ** 2 + g * d2g),
                               rtol=1e-9, atol=1e-12)


@pytest.mark.xfail(strict=True, reason="forward over jvp_tangents")
def test_third_order_jvp_of_jvp_of_jvp():
    # f = sin(x) w: the third derivative along (t, 0) three times is -cos(x) w t^3
    def second(x, w, t):
        def first(x, w):
            return s2s.jvp(sin_times, (x, w), (t, np.zeros_like(w)))[1]
        return s2s.jvp(first, (x, w), (t, np.zeros_like(w)))[1]

    x, w, t = POINT[:3]
    _, third = s2s.jvp(second, (x, w, t), (t, np.zeros_like(w), np.zeros_like(t)))
    np.testing.assert_allclose(third, -np.cos(x) * w * t ** 3, rtol=1e-9, atol=1e-12)


def adder(a):
    return lambda y: a * y


def calls_a_made_function(x, y):
    return adder(x)(y)


def calls_a_pullback_item(x, y):
    return s2s.vjp(sin_times, x, y)[1](1.0)[0]


@pytest.mark.parametrize("mode", ["jvp", "vjp"])
@pytest.mark.parametrize("fn", [calls_a_made_function, calls_a_pullback_item])
def test_a_function_made_from_differentiated_values_is_named_first(fn, mode):
    # its gradient would flow through the function made, which has no name to take it
    with pytest.raises(s2s.UnsupportedSyntaxError, match="name the function first") as info:
        if mode == "jvp":
            s2s.jvp(fn, (0.3, 2.0), (1.0, 0.0))
        else:
            s2s.vjp(fn, 0.3, 2.0)[1](1.0)
    assert info.value.lineno == fn.__code__.co_firstlineno + 1


# -- second order of the rules: every composition of modes on one primitive ---------------------
IDX = np.array([0, 2, 2, 5])

def max_axis(x):
    return np.max(np.reshape(x, (2, 3)) ** 2, axis=1)


def min_all(x):
    return np.min(np.sin(x))


def max_method(x):
    return np.reshape(x, (3, 2)).max(axis=0) * x[:2]


def linspace_ends(x):
    return np.linspace(x[0], x[1] ** 2, 4) * x[2]


def fancy_index(x):
    return np.sin(x[IDX]) * x[IDX]


def nested_array(x):
    return np.array([[x[0], x[1] * x[2]], [x[3], np.tanh(x[4])]]) * x[5]


def mean_axis(x):
    return np.mean(np.reshape(x, (2, 3)) ** 3, axis=0)


def einsum_product(x):
    a, b = np.reshape(x, (2, 3)), np.reshape(x[::-1], (3, 2))
    return np.einsum("ij,jk->ik", a, np.sin(b))


def apply(h, x):
    return h(x) * x


def passes_a_function(x):
    # apply's derivative code calls h through the run-time dispatch (call_jvp, call_vjp)
    return apply(np.tanh, x) + apply(squash, x[::-1])


SECOND_ORDER = [max_axis, min_all, max_method, linspace_ends, fancy_index, nested_array,
                mean_axis, einsum_product, passes_a_function]


def second_order_oracle(f, x, c, a, b, step=1e-4):
    """a^T H b for g(x) = sum(c * f(x)), by central differences of central differences."""
    def g(point):
        return np.sum(c * f(point))
    return (g(x + step * a + step * b) - g(x + step * a - step * b)
            - g(x - step * a + step * b) + g(x - step * a - step * b)) / (4 * step * step)


ORDERS = ["jvp of jvp", "vjp of jvp", "jvp of vjp", "vjp of vjp"]


@pytest.mark.parametrize("f, order", [
    pytest.param(f, order, id=f"{f.__name__}-{order}")
    for f in SECOND_ORDER for order in ORDERS])
def test_second_order_of_rules(f, order):
    rng = np.random.default_rng(len(f.__name__))
    x, a, b = (rng.uniform(-1.0, 1.0, 6) for _ in range(3))
    c = rng.uniform(-1.0, 1.0, np.shape(f(x)))

    def along(x, a):                    # <c, J a>: first order by forward mode
        return np.sum(c * s2s.jvp(f, (x,), (a,))[1])

    def gradient(x):                    # J^T c: first order by reverse mode
        out, pullback = s2s.vjp(f, x)
        return pullback(c)[0]

    if order == "jvp of jvp":
        got = s2s.jvp(along, (x, a), (b, np.zeros(6)))[1]
    elif order == "vjp of jvp":
        got = np.vdot(s2s.vjp(along, x, a)[1](1.0)[0], b)
    elif order == "jvp of vjp":
        got = np.vdot(s2s.jvp(gradient, (x,), (b,))[1], a)
    else:
        got = np.vdot(s2s.vjp(gradient, x)[1](a)[0], b)
    assert np.isclose(got, second_order_oracle(f, x, c, a, b), rtol=1e-5, atol=1e-6)


def of_a_list(xs):
    return np.concatenate([xs[0] * xs[1][0], np.sin(xs[1])]) ** 2


@pytest.mark.parametrize("order", ORDERS)
def test_second_order_with_a_list_input(order):
    rng = np.random.default_rng(3)
    x, a, b = (rng.uniform(-1.0, 1.0, 6) for _ in range(3))
    c = rng.uniform(-1.0, 1.0, 6)

    def as_list(flat):
        return [flat[:2], flat[2:]]         # two lengths: the list is no array

    def along(xs, ts):
        return np.sum(c * s2s.jvp(of_a_list, (xs,), (ts,))[1])

    def gradient(xs):
        out, pullback = s2s.vjp(of_a_list, xs)
        return pullback(c)[0]

    xs, as_, bs = as_list(x), as_list(a), as_list(b)
    if order == "jvp of jvp":
        got = s2s.jvp(along, (xs, as_), (bs, as_list(np.zeros(6))))[1]
    elif order == "vjp of jvp":
        got = np.vdot(np.concatenate(s2s.vjp(along, xs, as_)[1](1.0)[0]), b)
    elif order == "jvp of vjp":
        got = np.vdot(np.concatenate(s2s.jvp(gradient, (xs,), (bs,))[1]), a)
    else:
        got = np.vdot(np.concatenate(s2s.vjp(gradient, xs)[1](as_)[0]), b)
    want = second_order_oracle(lambda flat: of_a_list(as_list(flat)), x, c, a, b)
    assert np.isclose(got, want, rtol=1e-5, atol=1e-6)


def keyword_only(x, *, scale=2.0):
    return np.sin(x) * scale


def pulls_back_keyword_only(x, v):
    out, pullback = s2s.vjp(keyword_only, x)
    return pullback(v)[0]


def pulls_back_rows(x, v):
    out, pullback = s2s.vjp(np.vstack, x)       # an array as vstack's sequence of rows
    return pullback(v)[0] * x


@pytest.mark.parametrize("mode", ["jvp", "vjp"])
def test_pullbacks_of_keyword_only_and_row_sequences(mode):
    x, v, a, b = rng_arrays(21, 4, n=6)
    x, v, a, b = (np.reshape(t, (2, 3)) for t in (x, v, a, b))
    # pulls_back_keyword_only = 2 v cos x; pulls_back_rows = v x (vstack is the identity)
    cases = [(pulls_back_keyword_only, 2 * np.cos(x) * b - 2 * v * np.sin(x) * a,
              (-2 * v * np.sin(x) * a, 2 * np.cos(x) * a)),
             (pulls_back_rows, b * x + v * a, (v * a, x * a))]
    for fn, jvp_closed, vjp_closed in cases:
        if mode == "jvp":
            out, tangent = s2s.jvp(fn, (x, v), (a, b))
            np.testing.assert_allclose(tangent, jvp_closed, rtol=1e-12, atol=1e-12)
        else:
            out, pullback = s2s.vjp(fn, x, v)
            grads = pullback(a)
            assert isinstance(grads[0], np.ndarray) and grads[0].shape == x.shape
            np.testing.assert_allclose(grads[0], vjp_closed[0], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(grads[1], vjp_closed[1], rtol=1e-12, atol=1e-12)


def grads_a_local_function(x):
    def product(y):
        return y[0] * y[1]
    return np.sum(np.sin(np.array(s2s.grad(product)((x, x)))))


@pytest.mark.parametrize("mode", ["jvp", "vjp"])
def test_grad_of_a_local_function_that_closes_over_nothing(mode):
    # the gradient of y0 y1 at (x, x) is (x, x): the function is 2 sin x, its derivative 2 cos x
    x = 0.7
    if mode == "jvp":
        got = s2s.jvp(grads_a_local_function, (x,), (1.0,))[1]
    else:
        got = s2s.vjp(grads_a_local_function, x)[1](1.0)[0]
    assert np.isclose(got, 2 * np.cos(x), rtol=1e-12)


def product_of_items(xs):
    return xs[0] * np.sum(xs[1])


def passes_a_list(a, b):
    return np.sum(product_of_items([a, b]) ** 2)


def test_reverse_mode_of_a_call_with_a_list_literal_of_two_shapes():
    a, b = np.array([0.3, -0.8]), np.array([1.1, 0.4, -0.2])
    # passes_a_list = sum(a^2) s^2 with s = sum(b)
    s = np.sum(b)
    da, db = s2s.grad(passes_a_list, grad_position=(0, 1))(a, b)
    np.testing.assert_allclose(da, 2 * a * s ** 2, rtol=1e-12)
    np.testing.assert_allclose(db, np.full(3, 2 * s * np.sum(a ** 2)), rtol=1e-12)


def nested_returns(x):
    doubled = x * 2.0
    return ((doubled, x), (np.sin(x),))


def test_reverse_mode_of_a_nested_tuple_return():
    # generated jvp code returns ((value...), (tangent...)); each inner item is an output
    x = np.array([0.3, -1.1])
    c = ((np.array([1.0, 2.0]), np.array([-0.5, 0.25])), (np.array([3.0, -1.0]),))
    grads = s2s.vjp(nested_returns, x)[1](c)
    np.testing.assert_allclose(grads[0], 2.0 * c[0][0] + c[0][1] + np.cos(x) * c[1][0],
                               rtol=1e-12)


def splits(x):
    return np.split(x, [1, 3])


def test_reverse_mode_of_jvp_with_a_list_result():
    # out, tangent = s2s.jvp(...): the tangent is a list, whose cotangent is added item by
    # item (a list's += would concatenate)
    x, t = np.array([0.3, -1.1, 0.5, 2.0]), np.array([1.0, 0.5, -2.0, 0.25])
    c = [np.array([2.0]), np.array([-1.0, 3.0]), np.array([0.5])]

    def along(x, t):
        tangent = s2s.jvp(splits, (x,), (t,))[1]
        return np.sum(tangent[0] * c[0]) + np.sum(tangent[1] * c[1] * x[1:3]) \
            + np.sum(tangent[2] * c[2])
    # along = <c, t> with the middle block weighted by x[1:3]
    gx, gt = s2s.vjp(along, x, t)[1](1.0)
    np.testing.assert_allclose(gx, [0.0, c[1][0] * t[1], c[1][1] * t[2], 0.0], rtol=1e-12)
    np.testing.assert_allclose(gt, [2.0, -1.0 * x[1], 3.0 * x[2], 0.5], rtol=1e-12)


def weigh_factors(factors):
    w, v = factors
    return np.sum(np.sin(w)) + np.sum(v * v * np.arange(3.0))


def weighs_a_decomposition(a):
    return weigh_factors(np.linalg.eigh(a))


def test_a_decomposition_passed_whole_to_a_function_that_unpacks_it():
    # the callee's cotangent of its parameter is a list (w's, v's), not an array
    from tests.finite_diff import numerical_grad
    a = np.array([[2.0, 0.3, -0.4], [0.1, 1.5, 0.2], [-0.3, 0.4, 1.8]])
    got = s2s.grad(weighs_a_decomposition)(a)
    np.testing.assert_allclose(got, numerical_grad(weighs_a_decomposition, (a,), 0),
                               rtol=1e-6, atol=1e-8)


def applies_a_function_passed_in(x, h=np.tanh):
    return h(x) * x


def test_reverse_over_reverse_of_a_call_known_at_run_time():
    # the gradient code calls h through call_vjp and h's pullback through it again;
    # d/dx (tanh(x) x) = s x + tanh(x) with s = 1 - tanh(x)^2, whose derivative is
    # 2 s (1 - x tanh(x))
    x, a = np.array([0.3, -0.5, 0.8]), np.array([1.0, -2.0, 0.5])

    def gradient(x):
        out, pullback = s2s.vjp(applies_a_function_passed_in, x)
        return pullback(np.ones(3))[0]
    s = 1.0 - np.tanh(x) ** 2
    got = s2s.vjp(gradient, x)[1](a)[0]
    np.testing.assert_allclose(got, a * 2.0 * s * (1.0 - x * np.tanh(x)), rtol=1e-12)


def energy_of_items(xs):
    return np.sum(np.sin(xs[0])) + np.sum(np.cos(xs[1]))


def uses_the_gradient_of_items(xs):
    g = s2s.grad(energy_of_items)(xs)
    return np.sum(g[0]) + np.sum(np.sin(g[0])) + np.sum(np.sin(g[1]))


@pytest.mark.parametrize("kind", [list, tuple, "dict"])
@pytest.mark.parametrize("mode", ["jvp", "vjp"])
def test_grad_of_a_pytree_inside_a_transform(kind, mode):
    # g = (cos x0, -sin x1, 0): the function is sum(cos x0 + sin(cos x0)) + sum(sin(-sin x1))
    rng = np.random.default_rng(5)
    x0, x1, x2 = rng.uniform(-1.0, 1.0, (2, 3)), rng.uniform(-1.0, 1.0, 4), rng.uniform(size=2)
    d0 = -np.sin(x0) * (1.0 + np.cos(np.cos(x0)))
    d1 = -np.cos(x1) * np.cos(-np.sin(x1))
    if kind == "dict":
        xs, want = {0: x0, 1: x1, 2: x2}, {0: d0, 1: d1, 2: 0.0 * x2}
    else:
        xs, want = kind((x0, x1, x2)), kind((d0, d1, 0.0 * x2))
    if mode == "vjp":
        got = s2s.vjp(uses_the_gradient_of_items, xs)[1](1.0)[0]
        for k in (range(3) if kind != "dict" else xs):
            np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-15)
    else:
        ts = {k: np.full(np.shape(v), 0.5) for k, v in xs.items()} if kind == "dict" \
            else kind(np.full(np.shape(v), 0.5) for v in xs)
        got = s2s.jvp(uses_the_gradient_of_items, (xs,), (ts,))[1]
        values = want.values() if kind == "dict" else want
        np.testing.assert_allclose(got, sum(0.5 * np.sum(w) for w in values), rtol=1e-12)


@pytest.mark.skipif(not hasattr(np, "row_stack"), reason="np.row_stack left NumPy")
def test_reverse_over_reverse_of_a_numpy_function_read_from_source():
    # np.row_stack has no rule: s2s reads it; its gradient code, compiled in NumPy's module,
    # is read again by the transform of its pullback
    import warnings
    x0, x1 = np.array([0.3, 0.5]), np.array([1.0, 2.0])
    v = np.array([[1.0, 2.0], [3.0, 4.0]])

    def pulls_back(x0, x1, v):
        out, pullback = s2s.vjp(np.row_stack, (x0, x1))
        g = pullback(v)[0]
        return g[0] * x0 + g[1]          # = v[0] * x0 + v[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        got = s2s.vjp(pulls_back, x0, x1, v)[1](np.array([1.0, -1.0]))
    np.testing.assert_allclose(got[0], [1.0, -2.0])
    np.testing.assert_allclose(got[1], [0.0, 0.0])
    np.testing.assert_allclose(got[2], [[0.3, -0.5], [1.0, -1.0]])
