"""Forward mode: the generated jvp functions, and control flow.

Every tangent is checked against central finite differences along the same direction,
``(f(x + h v) - f(x - h v)) / 2h`` in float64, or against a closed form. The math of each
rule template, in both modes, is checked in tests/rules/.

1. ``s2s.jvp`` on every straight-line case of tests/test_grad_core.py.
2. Control flow written for forward mode: branches on values, loops, break/continue,
   early returns, helpers, in-place item updates, lists, recursion.
3. The generated source: what ``inspect.getsource`` shows, symbolic zeros, errors.
4. Forward and reverse mode agree on the straight-line table.
5. ``s2s.jvp`` on every row of the reverse-mode control-flow table (tests/test_grad_flow.py),
   and forward against reverse mode on a sample of its rows.
"""
import copy
import inspect
import re

import numpy as np
import pytest

import s2s
from s2s.compiler import pipeline
from s2s.api.transforms import jvp, vjp

import test_grad_core as core
from finite_diff import assert_close, flatten

rng = np.random.default_rng(20240607)
STEP = 1e-6


def r(*shape):
    return rng.uniform(-2.0, 2.0, shape)


def pos(*shape):
    return rng.uniform(0.5, 2.0, shape)


# =============================================================================================
# 1. jvp on the straight-line cases of the reverse-mode table
# =============================================================================================

def _tree_random(tree):
    leaves, rebuild = flatten(tree)
    out = []
    for leaf in leaves:
        if isinstance(leaf, np.ndarray):
            out.append(rng.standard_normal(leaf.shape).astype(leaf.dtype))
        elif isinstance(leaf, np.floating):
            out.append(leaf.dtype.type(rng.standard_normal()))
        else:
            out.append(float(rng.standard_normal()))
    return rebuild(out)


def _tree_zeros(tree):
    leaves, rebuild = flatten(tree)
    return rebuild([np.zeros_like(l) if isinstance(l, np.ndarray) else 0.0 for l in leaves])


def _tree_shift(tree, tangent, h):
    leaves, rebuild = flatten(tree)
    tangents, _ = flatten(tangent)
    return rebuild([np.asarray(l, np.float64) + h * np.asarray(t, np.float64)
                    if isinstance(l, np.ndarray) else float(l) + h * float(t)
                    for l, t in zip(leaves, tangents)])


def directional_fd(fn, args, tangents, positions):
    """Central difference of ``fn`` along ``tangents`` at ``positions``, per output leaf."""
    def at(h):
        shifted = [(_tree_shift(a, t, h) if i in positions else copy.deepcopy(a))
                   for i, (a, t) in enumerate(zip(args, tangents))]
        return fn(*shifted)
    plus, minus = at(STEP), at(-STEP)
    plus_leaves, rebuild = flatten(plus)
    minus_leaves, _ = flatten(minus)
    return rebuild([(np.asarray(p, np.float64) - np.asarray(m, np.float64)) / (2 * STEP)
                    for p, m in zip(plus_leaves, minus_leaves)])


def _float_positions(args, position):
    """The table's int inputs become floats: jvp treats an integer input as a constant."""
    positions = position if isinstance(position, tuple) else (position,)
    args = tuple(float(a) if i in positions and type(a) is int else a
                 for i, a in enumerate(args))
    return args, positions


CORE_QUICK = {"softmax_cross_entropy-0"}


@pytest.mark.parametrize("fn, args, position", [
    pytest.param(*row, id=case_id, marks=[pytest.mark.quick] if case_id in CORE_QUICK else [])
    for row, case_id in zip(core.CASES, core._ids(core.CASES))])
def test_jvp_matches_directional_finite_differences(fn, args, position):
    args, positions = _float_positions(args, position)
    tangents = tuple(_tree_random(a) if i in positions else _tree_zeros(a)
                     for i, a in enumerate(args))
    expected = directional_fd(fn, args, tangents, positions)
    out, tangent = jvp(fn, copy.deepcopy(args), tangents)
    rtol, atol = core._tolerance(args, position)
    scale = max([1.0] + [float(np.max(np.abs(e), initial=0.0)) for e in flatten(expected)[0]])
    assert_close(tangent, expected, rtol, atol * scale, path="tangent")


# =============================================================================================
# 2. Control flow (the functions live here, so their source is readable)
# =============================================================================================

def branch_on_value(x):
    if np.sum(x) > 0:
        y = np.sin(x)
    else:
        y = x * x
    return y * 2.0


def branch_one_sided(x, c):
    y = c * 1.0
    if c > 0:
        y = y + x
    return y * x


def elif_chain(x, k):
    if k == 0:
        y = x
    elif k == 1:
        y = np.exp(x)
    else:
        y = 3.0
    return y * x


def for_range(x, n):
    acc = 0.0
    for i in range(n):
        acc = acc + np.sin(x * i)
    return acc


def for_over_array(xs):
    total = 0.0
    for v in xs:
        total = total + v * v
    return total


def for_enumerate(xs, w):
    total = 0.0
    for i, v in enumerate(xs):
        total = total + v * w[i]
    return total


def for_zip(a, b):
    total = 0.0
    for u, v in zip(a, b):
        total = total + u * np.cos(v)
    return total


def while_counter(x):
    y = x
    n = 0
    while n < 4:
        y = y * 1.5 + np.sin(y)
        n = n + 1
    return y


def while_on_value(x):
    y = x
    while y < 10.0:
        y = y * 2.0
    return y


def break_and_continue(x, n):
    acc = 0.0
    for i in range(n):
        if i == 1:
            continue
        if i > 4:
            break
        acc = acc + x ** i
    return acc


def early_return(x):
    if x > 1.0:
        return x * x
    y = np.sin(x)
    return y + x


def return_inside_loop(x):
    y = x
    for i in range(10):
        y = y * 1.3
        if y > 5.0:
            return y * y
    return -y


def nested_loops(m):
    total = 0.0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j] > 0:
                total = total + m[i, j] ** 2
            else:
                total = total - m[i, j]
    return total


def user_square(v):
    return v * v


def helper_in_loop(x):
    y = x
    for i in range(3):
        y = user_square(y) * 0.5 + x
    return y


def user_scaled(v, scale=2.0):
    return v * scale


def helper_with_keyword(x, s):
    return user_scaled(x, scale=s) + user_scaled(x)


def user_sum_of_list(items):
    return items[0] * items[1] + items[2]


def helper_with_list_literal(x, y):
    return user_sum_of_list([x, y, 2.0])


def user_varargs(*values):
    return values[0] * 2.0


def helper_with_varargs(x):
    return user_varargs(x)


def list_append(x):
    parts = []
    for i in range(3):
        parts.append(x * (i + 1.0))
    return np.stack(parts)


def item_assign(x):
    y = np.zeros(3)
    y[0] = x[1] * 2.0
    y[2] += x[0] * x[2]
    return y


def item_assign_loop(x):
    y = np.zeros_like(x)
    for i in range(1, x.shape[0]):
        y[i] = y[i - 1] + x[i] * x[i - 1]
    return y


def updates_argument_in_place(x):
    x[0] = 3.0
    return x * x


def conditional_expression(x):
    y = x * 2.0 if x > 0 else -x
    z = y and x
    return y + z


def recursive_power(x, n):
    if n == 0:
        return 1.0
    return x * recursive_power(x, n - 1)


def rebinds_parameter(x):
    x = np.sin(x)
    x = x * x
    return x


def broadcast_constant(x):
    return x + np.ones((3, 4))


def sum_of_broadcast(x):
    # without the shape guard, the tangent of the sum would miss a factor of 3
    return np.sum(x + np.ones((3, 4)))


def loop_carried_matrix(a, v):
    for k in range(3):
        v = np.tanh(a @ v)
    return v


def tuple_output(x, y):
    return x * y, np.sin(x)


def closure_over_parameter(x, w):
    def scale(v):
        return np.sin(v) * w
    return scale(x) + scale(x * x)


def closure_late_rebinding(x):
    def read(v):
        return v * y
    y = x * 2.0
    return read(x)


CONTROL_FLOW = [
    (branch_on_value, (rng.normal(size=3),)),
    (branch_on_value, (-pos(3),)),
    (branch_one_sided, (rng.normal(size=3), 1.5)),
    (branch_one_sided, (rng.normal(size=3), -1.5)),
    (elif_chain, (0.7, 0)), (elif_chain, (0.7, 1)), (elif_chain, (0.7, 2)),
    (for_range, (rng.normal(size=3), 4)),
    (for_over_array, (rng.normal(size=4),)),
    (for_enumerate, (rng.normal(size=4), rng.normal(size=4))),
    (for_zip, (rng.normal(size=4), rng.normal(size=4))),
    (while_counter, (0.3,)),
    (while_on_value, (0.7,)),
    (break_and_continue, (1.3, 8)),
    (early_return, (1.5,)), (early_return, (0.5,)),
    (return_inside_loop, (1.1,)), (return_inside_loop, (0.01,)),
    (nested_loops, (rng.normal(size=(3, 2)),)),
    (helper_in_loop, (rng.normal(size=3),)),
    (helper_with_keyword, (rng.normal(size=3), 0.7)),
    (helper_with_list_literal, (rng.normal(size=3), rng.normal(size=3))),
    (list_append, (rng.normal(size=3),)),
    (item_assign, (rng.normal(size=3),)),
    (item_assign_loop, (rng.normal(size=4),)),
    (updates_argument_in_place, (rng.normal(size=3),)),
    (conditional_expression, (0.8,)), (conditional_expression, (-0.8,)),
    (recursive_power, (1.3, 4)),
    (rebinds_parameter, (rng.normal(size=3),)),
    (broadcast_constant, (rng.normal(size=4),)),
    (sum_of_broadcast, (rng.normal(size=4),)),
    (loop_carried_matrix, (0.5 * rng.normal(size=(3, 3)), rng.normal(size=3))),
    (tuple_output, (rng.normal(size=3), rng.normal(size=3))),
    (closure_over_parameter, (rng.normal(size=3), 0.7)),
]
CONTROL_QUICK = {"break_and_continue-1"}


def _cf_ids(cases):
    seen = {}
    ids = []
    for fn, _ in cases:
        seen[fn.__name__] = seen.get(fn.__name__, 0) + 1
        ids.append(f"{fn.__name__}-{seen[fn.__name__]}")
    return ids


@pytest.mark.parametrize("fn, args", [
    pytest.param(*row, id=i, marks=[pytest.mark.quick] if i in CONTROL_QUICK else [])
    for row, i in zip(CONTROL_FLOW, _cf_ids(CONTROL_FLOW))])
def test_control_flow_jvp_matches_finite_differences(fn, args):
    positions = tuple(i for i, a in enumerate(args) if type(a) is not int)
    tangents = tuple(_tree_random(a) if i in positions else 0 for i, a in enumerate(args))
    expected = directional_fd(fn, args, tangents, positions)
    original_tangents = copy.deepcopy(tangents)
    out, tangent = jvp(fn, copy.deepcopy(args), tangents)
    assert_close(tangent, expected, 1e-5, 1e-6, path="tangent")
    assert_close(out, fn(*copy.deepcopy(args)), 1e-12, 0, path="value")
    # the caller's tangents are never updated in place
    for t, o in zip(tangents, original_tangents):
        np.testing.assert_array_equal(t, o)


def _source(fn, wrt, select=None):
    return inspect.getsource(pipeline.jvp_of(fn, wrt, select))


def test_control_flow_keeps_its_shape_in_the_generated_code():
    source = _source(break_and_continue, ("x",))
    assert "for i in range(n):" in source and "continue" in source and "break" in source
    # the loop-carried tangent starts as a plain zero and follows its primal
    assert "dacc = 0.0" in source and "dacc = dacc + " in source
    source = _source(for_over_array, ("xs",))
    assert re.search(r"for \(?v, dv\)? in zip\(xs, dxs\):", source)    # 3.9 adds parentheses
    source = _source(early_return, ("x",))
    assert source.count("        return (") == 1
    assert source.endswith("    return (out_2, dout_2)\n")


def test_zero_tangent_is_materialized_only_where_control_flow_needs_it():
    source = _source(elif_chain, ("x",))
    # y is only varied on some paths: the constant branch gets a real zero
    assert "dy = 0.0" in source
    source = _source(for_range, ("x",))
    assert "zeros_like" not in source


# =============================================================================================
# 3. The generated source
# =============================================================================================

def sin_times(x, w):
    y = np.sin(x) * w
    return np.sum(y)


def shifted(x, b):
    return np.tanh(x + b)


def calls_function_argument(g, x):
    return g(x)




@pytest.mark.quick
def test_generated_source_is_readable_and_drops_symbolic_zeros():
    source = _source(sin_times, ("x",))
    assert source.startswith("def jvp_sin_times(x, w, dx):")
    assert "dy = dy_sin * w\n" in source          # no `+ y_sin * 0` term for the constant w
    assert "dout = np.sum(dy" in source
    both = _source(sin_times, ("x", "w"))
    assert "dy = dy_sin * w + y_sin * dw" in both
    compiled = pipeline.jvp_of(sin_times, ("x",))
    assert compiled.__s2s_tangents__ == ("dx",)
    x, w = rng.normal(size=3), 1.7
    value, tangent = compiled(x, w, dx=np.ones(3))
    np.testing.assert_allclose(tangent, np.sum(np.cos(x) * w))


def test_a_dropped_zero_term_keeps_the_result_shape():
    # d(x + b) = dx has x's shape (4,); the result has b's shape (3, 4)
    x, b = rng.normal(size=4), rng.normal(size=(3, 4))
    out, tangent = jvp(shifted, (x, b), (np.ones(4), np.zeros((3, 4))))
    assert tangent.shape == (3, 4)
    np.testing.assert_allclose(tangent, 1.0 - np.tanh(x + b) ** 2)
    assert "broadcast_like(dx, " in _source(shifted, ("x",))
    # with equal shapes provable from the code, there is no guard
    assert "broadcast_like" not in _source(rebinds_parameter, ("x",))


def test_jvp_functions_are_cached():
    assert pipeline.jvp_of(sin_times, ("x",)) is pipeline.jvp_of(sin_times, ("x",))
    assert pipeline.jvp_of(sin_times, ("x",)) is not pipeline.jvp_of(sin_times, ("x", "w"))


def test_function_passed_as_argument_is_called_through_its_jvp():
    # known only at run time: call_jvp finds the function (or rule) behind the value
    # (Python 3.9 writes the target as "(out, dout) = ...")
    assert "dout) = call_jvp(g, (x,), (dx,))" in _source(calls_function_argument, ("x",)) \
        or "dout = call_jvp(g, (x,), (dx,))" in _source(calls_function_argument, ("x",))
    out, tangent = jvp(calls_function_argument, (np.sin, 0.5), (None, 2.0))
    assert tangent == pytest.approx(2.0 * np.cos(0.5))
    # a user function with a second parameter left at its constant
    out, tangent = jvp(calls_function_argument, (user_scaled, 0.5), (None, 2.0))
    assert (out, tangent) == (pytest.approx(1.0), pytest.approx(4.0))


class Doubler:
    def __init__(self, factor):
        self.factor = factor

    def __call__(self, v):
        return np.sin(v) * self.factor

    def twice(self, v):
        return self(v) * 2.0


def calls_method_and_object(x):
    d = Doubler(3.0)
    return d.twice(x) + DOUBLER(x)


DOUBLER = Doubler(0.5)


def test_bound_methods_and_callable_objects():
    source = _source(calls_method_and_object, ("x",))
    assert "call_jvp(d.twice, (x,), (dx,))" in source
    assert "call_jvp(DOUBLER, (x,), (dx,))" in source
    x = 0.3
    out, tangent = jvp(calls_method_and_object, x, 1.5)
    assert out == pytest.approx(np.sin(x) * 6.5)
    assert tangent == pytest.approx(1.5 * np.cos(x) * 6.5)


def uses_try(x):
    try:
        y = np.sin(x)
    except ValueError:
        y = x
    return y


def test_unsupported_construct_points_at_the_user_code():
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        jvp(uses_try, 0.5, 1.0)
    assert "a try statement" in str(info.value)
    assert "test_forward.py" in str(info.value)


def test_local_function_gets_a_tangent_closure():
    source = _source(closure_over_parameter, ("x", "w"))
    assert "def dscale(v, dv):" in source
    assert "dout_2 = dout_2_sin * w + out_2_sin * dw" in source      # reads the outer dw
    assert "def scale(" not in source                                  # only dscale is called
    with pytest.raises(s2s.UnsupportedSyntaxError, match="change after its def"):
        pipeline.jvp_of(closure_late_rebinding, ("x",))


def user_sum_squares(*values):
    total = 0.0
    for v in values:
        total = total + v * v
    return total


def star_args_through(x, y):
    pair = (x, y * y)
    return user_sum_squares(*pair) + user_sum_squares(x, 2.0)


def lambdas_and_defaults(x, w):
    scale = lambda v, c=2.0: v * w * c  # noqa: E731
    return scale(x) + scale(x, 0.25) * 2.0 + user_apply(lambda v: np.sin(v) * w, x)


def user_apply(f, v):
    return f(v)


def test_star_args_lambdas_and_defaults():
    source = _source(star_args_through, ("x", "y"))
    # the tangent of a *args parameter is a tuple of tangents; no starred literal is left
    assert "call_jvp(user_sum_squares, (*pair,), (" in source and "*(" not in source
    x, y = 0.7, -1.1
    out, tangent = jvp(star_args_through, (x, y), (1.0, 0.0))
    assert (out, tangent) == (pytest.approx(2 * x * x + y ** 4 + 4.0), pytest.approx(4 * x))
    out, tangent = jvp(star_args_through, (x, y), (0.0, 1.0))
    assert tangent == pytest.approx(4 * y ** 3)

    source = _source(lambdas_and_defaults, ("x", "w"))
    assert "def dscale(v, c=2.0, *, dv, dc=0.0):" in source     # zero tangent by default
    assert "dscale(x, dv=dx)" in source and "dscale(x, 0.25, dv=dx)" in source
    # the lambda passed on becomes a local def; its tangent closure goes with it
    assert re.search(r"jvp_user_apply\(fn, x, df=dfn, dv=dx\)", source)
    x, w = 0.4, 1.3
    out, tangent = jvp(lambdas_and_defaults, (x, w), (1.0, 0.0))
    assert tangent == pytest.approx(2.5 * w + np.cos(x) * w)
    out, tangent = jvp(lambdas_and_defaults, (x, w), (0.0, 1.0))
    assert tangent == pytest.approx(2.5 * x + np.sin(x))


def test_missing_tangent_rule_is_reported():
    def no_rule(x):
        return np.linalg.tensorinv(x)
    with pytest.raises(s2s.S2SError):
        pipeline.jvp_of(no_rule, ("x",))


# =============================================================================================
# 4. The modes agree: <ct, J v> == <J^T ct, v>
# =============================================================================================

MODES = [core.CASES[i] for i in range(0, len(core.CASES), 9)]


@pytest.mark.parametrize("fn, args, position", MODES,
                         ids=[f"{fn.__name__}-{i}" for i, (fn, _, _) in enumerate(MODES)])
def test_forward_and_reverse_modes_agree(fn, args, position):
    args, positions = _float_positions(args, position)
    tangents = tuple(_tree_random(a) if i in positions else _tree_zeros(a)
                     for i, a in enumerate(args))
    out, tangent = jvp(fn, copy.deepcopy(args), tangents)
    _, pullback = vjp(fn, *copy.deepcopy(args))
    cotangent = _tree_random(out)
    grads = pullback(cotangent)

    def dot(a, b):
        return sum(float(np.sum(np.asarray(x, np.float64) * np.asarray(y, np.float64)))
                   for x, y in zip(flatten(a)[0], flatten(b)[0]))
    left = dot(cotangent, tangent)
    right = sum(dot(grads[p], tangents[p]) for p in positions)
    rtol, _ = core._tolerance(args, position)
    assert left == pytest.approx(right, rel=max(rtol, 1e-9) * 10, abs=1e-8)


# =============================================================================================
# 5. The reverse-mode control-flow table (tests/test_grad_flow.py), in forward mode
# =============================================================================================

import test_grad_flow as flow  # noqa: E402

#: Rows of flow.CASES forward mode cannot do yet, with the reason. The set may only shrink:
#: a row listed here that starts to pass fails test_known_gaps_are_still_gaps.
KNOWN_GAPS: dict = {}

FLOW_IDS = flow._ids(flow.CASES)
FLOW_ROWS = list(zip(FLOW_IDS, flow.CASES))


def _flow_tangents(args, positions):
    """Random tangents at ``positions``; zeros for the other float inputs (jvp differentiates
    every float input), None for functions and objects."""
    return tuple(_tree_random(a) if i in positions
                 else None if callable(a) else _tree_zeros(a) for i, a in enumerate(args))


def _flow_jvp_error(fn, args, position):
    """Why s2s.jvp of a table row disagrees with finite differences (None if it agrees)."""
    positions = position if isinstance(position, tuple) else (position,)
    tangents = _flow_tangents(args, positions)
    expected = directional_fd(fn, args, tangents, positions)
    kept = copy.deepcopy(tangents)
    try:
        out, tangent = jvp(fn, copy.deepcopy(args), tangents)
        assert_close(tangent, expected, 1e-5, 1e-6, path="tangent")
        assert_close(out, fn(*copy.deepcopy(args)), 1e-12, 0, path="value")
        # the caller's tangents are never updated in place
        for t, k in zip(tangents, kept):
            for leaf, before in zip(flatten(t)[0], flatten(k)[0]):
                np.testing.assert_array_equal(leaf, before)
    except (s2s.S2SError, AssertionError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.mark.parametrize("fn, args, position", [row for i, row in FLOW_ROWS
                                                if i not in KNOWN_GAPS],
                         ids=[i for i, _ in FLOW_ROWS if i not in KNOWN_GAPS])
def test_flow_table_jvp_matches_finite_differences(fn, args, position):
    error = _flow_jvp_error(fn, args, position)
    assert error is None, error


def test_known_gaps_are_still_gaps():
    assert set(KNOWN_GAPS) <= set(FLOW_IDS), set(KNOWN_GAPS) - set(FLOW_IDS)
    rows = dict(FLOW_ROWS)
    closed = [i for i in KNOWN_GAPS if _flow_jvp_error(*rows[i]) is None]
    assert closed == [], f"these rows now pass: remove them from KNOWN_GAPS: {closed}"


#: Every fifth row of the table: forward and reverse mode against each other.
FLOW_MODES = [(i, row) for i, row in FLOW_ROWS[::5] if i not in KNOWN_GAPS]


@pytest.mark.parametrize("fn, args, position", [row for _, row in FLOW_MODES],
                         ids=[i for i, _ in FLOW_MODES])
def test_flow_table_modes_agree(fn, args, position):
    """<ct, J v> (forward mode) equals <J^T ct, v> (reverse mode, s2s.vjp)."""
    positions = position if isinstance(position, tuple) else (position,)
    tangents = _flow_tangents(args, positions)
    out, tangent = jvp(fn, copy.deepcopy(args), tangents)
    cotangent = _tree_random(out)
    _, pullback = vjp(fn, *copy.deepcopy(args))
    grads = pullback(cotangent)

    def dot(a, b):
        return sum(float(np.sum(np.asarray(x, np.float64) * np.asarray(y, np.float64)))
                   for x, y in zip(flatten(a)[0], flatten(b)[0]))
    left = dot(cotangent, tangent)
    right = sum(dot(grads[p], tangents[p]) for p in positions)
    assert left == pytest.approx(right, rel=1e-8, abs=1e-9)
