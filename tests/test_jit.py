"""``jit=True``: gradients compiled by Numba, checked against central finite differences,
and a located ``JitError`` for each construct the Numba dialect refuses.

Each Numba compile costs about a second, so the tests share compiled code: the grad objects
of one function and one set of shapes reuse one compile (the Numba version hangs on the
generated function, which the pipeline's cache shares), and the inputs use few shapes.
"""
import copy
import inspect
import linecache
import sys
import warnings

import numpy as np
import pytest

import cases_jit as c
import s2s
import test_grad_flow as flow_table
from finite_diff import assert_close, numerical_grad
from s2s.errors import JitError

pytest.importorskip("numba")


@pytest.fixture(autouse=True, scope="module")
def _numba_files_in_a_temporary_folder(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("S2S_JIT_CACHE", str(tmp_path_factory.mktemp("s2s_numba")))
        yield


rng = np.random.default_rng(15)
EULER_ARGS = (rng.uniform(1.0, 4.0, 3), rng.uniform(0.1, 0.5, 3), rng.normal(size=3),
              rng.normal(size=3))

WORKLOADS = [
    (c.scalar_loop, (0.5,), 0),
    (c.euler, EULER_ARGS, (0, 1, 2, 3)),
    (c.recurrence, (0.9, rng.normal(size=6)), (0, 1)),
    (c.while_growth, (0.7,), 0),
    (c.rows_then_sum, (rng.normal(size=3), rng.normal(size=(4, 3))), (0, 1)),
    (c.euler_pairs, EULER_ARGS, (0, 1, 2, 3)),
    (c.sine_loop_sum, (rng.normal(size=3),), 0),
    (c.helper_loop, (0.5,), 0),
    (c.helper_loop, (-1.5,), 0),
    (c.calls_helpers, (0.7, rng.normal(size=3), 1.3), (0, 1, 2)),
    (c.calls_helpers, (0.7, rng.normal(size=3), 0.4), (0, 1, 2)),
    (c.layers, ((rng.normal(size=3), rng.normal(size=3)), rng.normal(size=3)), (0, 1)),
    (c.layers, ([rng.normal(size=3), rng.normal(size=3)], rng.normal(size=3)), 0),
    (c.axis_sums, (rng.normal(size=(2, 3)),), 0),
    (c.axis_sums, (rng.normal(size=(2, 3, 4)),), 0),
    (c.elementwise_chain, (rng.normal(size=3), rng.normal(size=3)), (0, 1)),
    (c.mean_loss, (rng.normal(size=3), rng.normal(size=(4, 3)), rng.normal(size=4)), 0),
]


@pytest.mark.parametrize("fn, args, position", WORKLOADS,
                         ids=[f"{fn.__name__}-{i}" for i, (fn, _, _) in enumerate(WORKLOADS)])
def test_compiled_gradient_matches_finite_differences(fn, args, position):
    expected = numerical_grad(fn, args, position)
    actual = s2s.grad(fn, grad_position=position, jit=True)(*args)
    assert_close(actual, expected)


# rows of the flow table (tests/test_grad_flow.py) with loops, run with jit=True: counted
# and while loops, break and continue, nested loops, reversed ranges, item recurrences
FLOW_LOOPS = {"loop_product", "for_range_start_stop_step", "for_reversed_range",
              "loop_carried_pair", "nested_loops", "while_active_condition",
              "while_array_norm", "loop_break_on_active", "loop_continue_on_index",
              "setitem_in_loop_recurrence", "rnn_loop", "for_over_array_rows"}
FLOW_ROWS = [row for row in flow_table.CASES if row[0].__name__ in FLOW_LOOPS]


# rows that call helpers of another module (default arguments from that module, keyword
# calls, helpers that loop, branch, return tuples or call helpers) and loop over tuples
FLOW_CALLS = {"call_branching_helper", "call_default_args", "call_helper_chain",
              "call_helper_twice", "call_helper_with_returns", "call_keyword",
              "call_keyword_out_of_order", "call_looping_helper", "call_module_globals",
              "call_positional", "call_returns_tuple", "call_tuple_indexed",
              "loop_calling_branching_helper", "for_over_tuple_of_active", "tuple_literal"}
FLOW_ROWS += [row for row in flow_table.CASES if row[0].__name__ in FLOW_CALLS]


def test_flow_rows_are_chosen():
    assert {fn.__name__ for fn, _, _ in FLOW_ROWS} == FLOW_LOOPS | FLOW_CALLS


@pytest.mark.parametrize("fn, args, position", FLOW_ROWS, ids=flow_table._ids(FLOW_ROWS))
def test_flow_table_loops_compiled(fn, args, position):
    expected = numerical_grad(fn, args, position)
    actual = s2s.grad(fn, grad_position=position, jit=True)(*copy.deepcopy(args))
    assert_close(actual, expected)


def test_value_and_grad_compiled():
    value, grad = s2s.value_and_grad(c.scalar_loop, jit=True)(0.3)
    assert value == pytest.approx(c.scalar_loop(0.3), rel=1e-12)
    assert grad == pytest.approx(numerical_grad(c.scalar_loop, (0.3,), 0), rel=1e-6)


def test_zipped_reverse_loop_reads_saved_storage():
    df = s2s.grad(c.euler_pairs, jit=True)
    df(*EULER_ARGS)
    source = inspect.getsource(df)
    assert "reversed" not in source and "zip" not in source
    assert "x_stack = saves(x, len(range_2))" in source


def test_module_data_is_read_on_each_call(monkeypatch):
    """DT is passed to the compiled code on each call, not frozen into it."""
    df = s2s.grad(c.euler, grad_position=(0, 1, 2, 3), jit=True)
    df(*EULER_ARGS)
    monkeypatch.setattr(c, "DT", 0.08)
    assert_close(df(*EULER_ARGS), numerical_grad(c.euler, EULER_ARGS, (0, 1, 2, 3)))


def test_helpers_data_is_read_on_each_call(monkeypatch):
    """The data of helpers (this module's DT, jit_helpers' GAIN) are passed down to their
    compiled code on each call."""
    import jit_helpers
    args = (0.7, rng.normal(size=3), 1.3)
    df = s2s.grad(c.calls_helpers, grad_position=(0, 1, 2), jit=True)
    df(*args)
    monkeypatch.setattr(jit_helpers, "GAIN", 0.9)
    monkeypatch.setattr(c, "DT", 0.08)
    assert_close(df(*args), numerical_grad(c.calls_helpers, args, (0, 1, 2)))


def test_list_gradient_is_a_list():
    params = [rng.normal(size=3), rng.normal(size=3)]
    grads = s2s.grad(c.layers, jit=True)(params, rng.normal(size=3))
    assert type(grads) is list and len(grads) == 2


@pytest.mark.parametrize("container", [tuple, list])
def test_vjp_of_a_container_compiled(container):
    params = container([rng.normal(size=3), rng.normal(size=3)])
    x = rng.normal(size=3)
    out, pullback = s2s.vjp(c.layers, params, x, jit=True)
    assert out == pytest.approx(c.layers(params, x), rel=1e-12)
    dparams, dx = pullback(1.0)
    assert type(dparams) is container
    assert_close((dparams, dx), numerical_grad(c.layers, (params, x), (0, 1)))


def test_helpers_forward_mode_compiled():
    args = (0.7, rng.normal(size=3), 1.3)
    tangents = (0.3, rng.normal(size=3), -0.5)
    out, jvp = s2s.jvp(c.calls_helpers, args, tangents, jit=True)
    assert out == pytest.approx(c.calls_helpers(*args), rel=1e-12)
    expected = sum(np.sum(g * t) for g, t in zip(
        numerical_grad(c.calls_helpers, args, (0, 1, 2)), tangents))
    assert jvp == pytest.approx(expected, rel=1e-6)


def _weight_gradient(fn, holder, attr, x):
    """d fn(x) / d holder.attr by central differences, changing the weight in place."""
    weight = getattr(holder, attr)
    kept = weight.copy()

    def loss(values):
        weight[...] = values
        try:
            return fn(x)
        finally:
            weight[...] = kept
    return numerical_grad(loss, (kept.copy(),), 0)


def test_weights_compiled(monkeypatch):
    """weights=: the attributes are passed to the compiled code on every call, and their
    cotangents come back through weights= as without jit."""
    m = c.model
    x = rng.normal(size=3)
    df = s2s.value_and_grad(c.model_loss, grad_position=0, weights=[m.w, m.inner.s],
                            jit=True)
    for b in (0.1, -0.3):          # a number attribute read on each call
        monkeypatch.setattr(m, "b", b)
        value, (dx, (dw, ds)) = df(x)
        assert value == pytest.approx(c.model_loss(x), rel=1e-12)
        assert_close(dx, numerical_grad(c.model_loss, (x,), 0))
        assert_close(dw, _weight_gradient(c.model_loss, m, "w", x))
        assert_close(ds, _weight_gradient(c.model_loss, m.inner, "s", x))
    assert "def grad_model_loss(x, model_w, model_b, model_inner_s):" in inspect.getsource(df)
    only_weights = s2s.grad(c.model_loss, grad_position=None, weights=m.w, jit=True)(x)
    assert_close(only_weights, _weight_gradient(c.model_loss, m, "w", x))


def test_weight_read_in_a_helper_is_located():
    with pytest.raises(JitError, match="a function it calls reads a weight") as caught:
        s2s.grad(c.model_in_helper, weights=c.model.w, jit=True)(rng.normal(size=3))
    assert caught.value.filename == c.__file__
    assert linecache.getline(c.__file__, caught.value.lineno).strip() == "return v * model.w"


def test_source_shows_the_compiled_dialect():
    df = s2s.grad(c.scalar_loop, jit=True)
    df(0.5)
    source = inspect.getsource(df)
    assert "y_stack = saves(y, len(range_2))" in source
    assert "for step, _ in enumerate(range_2):" in source
    assert "for step in range(len(y_stack) - 1, -1, -1):" in source
    assert "reversed" not in source
    df_euler = s2s.grad(c.euler, jit=True)
    df_euler(*EULER_ARGS)
    # module data becomes arguments of the compiled code
    euler_source = inspect.getsource(df_euler)
    assert euler_source.startswith("def grad_euler(stiffness, damping, x0, v0, STEPS, DT):")
    # the runs of elementwise statements are loops over the elements (fusion.py)
    assert "for element in range(n_fused):" in euler_source
    assert "same_or_apart(" in euler_source


def test_other_argument_types_run_the_unfused_version():
    """The fused loops are written for the kinds of the first call's types; a call of
    other types (strided views: another Numba layout) runs the version without fusion."""
    df = s2s.grad(c.elementwise_chain, grad_position=(0, 1), jit=True)
    contiguous = (rng.normal(size=3), rng.normal(size=3))
    assert_close(df(*contiguous), numerical_grad(c.elementwise_chain, contiguous, (0, 1)))
    strided = (rng.normal(size=6)[::2], rng.normal(size=6)[::2])
    assert_close(df(*strided), numerical_grad(c.elementwise_chain, strided, (0, 1)))
    assert_close(df(*contiguous), numerical_grad(c.elementwise_chain, contiguous, (0, 1)))


def _fused_version(source: str, kinds: dict):
    """The function of ``source``, its elementwise runs fused, compiled by Numba."""
    import gast
    import numba
    from s2s.compiler import codegen
    from s2s.compiler.jit import build, fusion
    build.numba_module()
    tree = gast.parse(source).body[0]
    assert fusion.fuse(tree, kinds, "np")
    text = codegen.to_source(tree)
    namespace = {"np": np, "same_or_apart": fusion.same_or_apart}
    exec(text, namespace)
    return numba.njit(namespace[tree.name]), text


IN_PLACE = """\
def in_place(a, b, c):
    t = b * 2.0 - c
    a += t * c
    u = a + np.sin(b)
    a *= u
    return u
"""


def test_fused_runs_keep_numpy_semantics_when_arrays_share_memory():
    """Where an array written in place (``a += ...``) shares memory with another one, the
    loop over elements would read elements it already wrote: ``same_or_apart`` sends such
    calls to the statements as written. The oracle is NumPy running the source itself."""
    kinds = {"a": "float64", "b": "float64", "c": "float64", "t": "float64", "u": "float64"}
    compiled, text = _fused_version(IN_PLACE, kinds)
    assert "for element in range(n_fused)" in text and "same_or_apart(a, b)" in text
    namespace = {"np": np}
    exec(IN_PLACE, namespace)
    by_numpy = namespace["in_place"]

    def views(layout):
        buffer = np.linspace(-1.0, 1.0, 9)
        c = np.cos(np.arange(4.0))
        if layout == "apart":
            return buffer[:4], buffer[5:], c
        if layout == "same":
            return buffer[2:6], buffer[2:6], c
        if layout == "shifted":
            return buffer[1:5], buffer[0:4], c
        if layout == "reversed":
            return buffer[:4], buffer[3::-1], c
        if layout == "interleaved":     # no element shared, but the address ranges overlap
            return buffer[0:8:2], buffer[1:9:2], c
        return buffer[:4], buffer[5:], np.array([0.7])      # c broadcast: lengths differ

    for layout in ("apart", "same", "shifted", "reversed", "interleaved", "broadcast"):
        expected_args = views(layout)
        expected = by_numpy(*expected_args)
        actual_args = views(layout)
        actual = compiled(*actual_args)
        assert_close(actual, expected, rtol=1e-13, atol=0.0)
        assert_close(actual_args[0], expected_args[0], rtol=1e-13, atol=0.0)
        assert_close(actual_args[1], expected_args[1], rtol=1e-13, atol=0.0)


X3 = rng.normal(size=3)


def _jacobian_by_differences(fn, x):
    rows = [numerical_grad(lambda v, i=i: fn(v)[i], (x,), 0) for i in range(len(fn(x)))]
    return np.array(rows)


def test_jvp_compiled():
    tangent = rng.normal(size=3)
    out, jvp = s2s.jvp(c.sine_loop, (X3,), (tangent,), jit=True)
    assert_close(out, c.sine_loop(X3))
    assert_close(jvp, _jacobian_by_differences(c.sine_loop, X3) @ tangent)


def test_vjp_compiled():
    cotangent = rng.normal(size=3)
    out, pullback = s2s.vjp(c.sine_loop, X3, jit=True)
    assert_close(out, c.sine_loop(X3))
    expected = numerical_grad(lambda v: np.sum(c.sine_loop(v) * cotangent), (X3,), 0)
    assert_close(pullback(cotangent), (expected,))


@pytest.mark.parametrize("transform", [s2s.jacfwd, s2s.jacrev])
def test_jacobians_compiled(transform):
    assert_close(transform(c.sine_loop, jit=True)(X3),
                 _jacobian_by_differences(c.sine_loop, X3))


def test_hessian_compiled():
    step = 1e-4
    x = 0.5
    expected = (c.scalar_loop(x + step) - 2 * c.scalar_loop(x) + c.scalar_loop(x - step)) \
        / step ** 2
    assert s2s.hessian(c.scalar_loop, jit=True)(x) == pytest.approx(expected, rel=1e-5)


REFUSED = [
    (c.with_lambda, 0.5, "a lambda", "scale = lambda v: v * 2.0"),
    (c.with_dict, 0.5, "a dict", 'd = {"a": x}'),
    (c.with_local_function, 0.5, "a local function", "def h(v):"),
    (c.with_set, 0.5, "a set", "for i in {1, 2}:"),
    (c.calls_recursion, 0.5, "a recursion", "return recursive_helper(n - 1, x) * x"),
    (c.with_axis_tuple, np.ones((2, 3, 4)), "sum over an axis",
     "return np.sum(np.sum(x * x, axis=(0, 1)) ** 2)"),
]


@pytest.mark.parametrize("fn, arg, construct, line", REFUSED,
                         ids=[fn.__name__ for fn, _, _, _ in REFUSED])
def test_refused_construct_is_located(fn, arg, construct, line):
    with pytest.raises(JitError) as caught:
        s2s.grad(fn, jit=True)(arg)
    error = caught.value
    assert construct in str(error)
    assert error.filename == c.__file__
    assert linecache.getline(error.filename, error.lineno).strip() == line
    assert error.hint


import cases_core  # noqa: E402  (the rows of the core table that broadcast)

BROADCASTS = [
    (cases_core.index_newaxis, (rng.normal(size=4),), 0),
    (cases_core.index_tuple_mixed, (rng.normal(size=(3, 4)),), 0),
    (cases_core.np_expand_dims, (rng.normal(size=4),), 0),
    (c.outer_broadcasts, (rng.normal(size=(3, 1, 4)), rng.normal(size=(3, 1, 5, 1))), (0, 1)),
]


@pytest.mark.parametrize("fn, args, position", BROADCASTS,
                         ids=[fn.__name__ for fn, _, _ in BROADCASTS])
def test_broadcast_cotangents_are_summed_back(fn, args, position):
    """Cotangents of values broadcast along axes of length 1 (None, expand_dims, shapes
    stretched on both sides) and over leading axes are summed back to the value's shape
    (it stopped at run time, with a ValueError of Numba's code)."""
    actual = s2s.grad(fn, grad_position=position, jit=True)(*args)
    assert_close(actual, numerical_grad(fn, args, position))


def test_argument_numba_cannot_take_is_named_and_located():
    with pytest.raises(JitError, match="Numba cannot take 'g' \\(a ufunc\\)") as caught:
        s2s.grad(c.takes_function, jit=True)(0.5, np.sin)
    assert caught.value.filename == c.__file__
    assert linecache.getline(c.__file__, caught.value.lineno).strip() == "y = x"
    with pytest.raises(JitError, match="'g' \\(a dict\\)") as caught:
        s2s.grad(c.takes_function, jit=True)(0.5, {"a": 1.0})
    assert caught.value.filename == c.__file__ and caught.value.lineno


def test_run_time_refusal_of_compiled_code_is_located():
    """The Numba version stops at run time where the Python helper would have gone on (a
    saved array changing shape in a loop): a JitError at the user's function, and
    jit='auto' runs the NumPy gradient for those argument types, saying so once."""
    x = rng.normal(size=4)
    with pytest.raises(JitError, match="saves changes shape inside its loop") as caught:
        s2s.grad(c.shrinking, jit=True)(x)
    assert caught.value.filename == c.__file__
    assert linecache.getline(c.__file__, caught.value.lineno).strip() == "y = x"
    auto = s2s.grad(c.shrinking, jit="auto")
    with pytest.warns(UserWarning, match="keeps the NumPy gradient of shrinking"):
        first = auto(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = auto(x)
    expected = numerical_grad(c.shrinking, (x,), 0)
    assert_close(first, expected)
    assert_close(second, expected)


def test_complex_call_after_float_is_located():
    """A complex128 call of a gradient compiled for float64 compiles it again; Numba fails
    inside its own typing (an AttributeError of Numba's): a JitError at the user's line,
    not Numba's traceback."""
    df = s2s.grad(c.sine_loop_sum, jit=True)
    x = rng.normal(size=3)
    assert_close(df(x), numerical_grad(c.sine_loop_sum, (x,), 0))
    z = x + 0.5j * rng.normal(size=3)
    with pytest.raises(JitError, match=r"new argument types \(complex128 array\)") as caught:
        df(z)
    assert caught.value.filename == c.__file__ and caught.value.lineno


def test_hessian_through_a_helper_is_located():
    """Forward over reverse through a helper: the helper's pullback is differentiated as
    a closure, which Numba cannot return; refused at the user's call."""
    with pytest.raises(JitError, match="the Python function 'branching_helper'") as caught:
        s2s.hessian(c.helper_loop, jit=True)(0.5)
    assert caught.value.filename == c.__file__
    assert linecache.getline(c.__file__, caught.value.lineno).strip() == \
        "y = branching_helper(y)"


def test_auto_keeps_numpy_where_numba_cannot_and_says_so_once():
    df = s2s.grad(c.with_dict, jit="auto")
    with pytest.warns(UserWarning, match="keeps the NumPy gradient of with_dict"):
        first = df(0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = df(0.5)
    expected = numerical_grad(c.with_dict, (0.5,), 0)
    assert first == pytest.approx(expected, rel=1e-6) and second == first


def test_new_dtype_numba_cannot_compile_is_located(monkeypatch):
    """A later call with new dtypes compiles again: Numba's failure is a JitError at the
    user's line, and jit='auto' keeps NumPy for those types (saying so once)."""
    from s2s.compiler.jit import choice
    monkeypatch.setattr(choice, "ROUNDS", 0)    # jit='auto' keeps Numba from its first call
    df = s2s.grad(c.scaled_loop, jit=True)
    x64 = rng.normal(size=3)
    assert_close(df(x64), numerical_grad(c.scaled_loop, (x64,), 0))
    with pytest.raises(JitError, match=r"new argument types \(float32 array\)") as caught:
        df(x64.astype(np.float32))
    assert caught.value.filename == c.__file__
    assert linecache.getline(c.__file__, caught.value.lineno).strip() in (
        "for _ in range(3):", "y = y * 2.0 + np.sin(x)")
    auto = s2s.grad(c.scaled_loop, jit="auto")
    assert_close(auto(x64), numerical_grad(c.scaled_loop, (x64,), 0))
    x32 = x64.astype(np.float32)
    with pytest.warns(UserWarning, match="keeps the NumPy gradient of scaled_loop"):
        first = auto(x32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_close(auto(x32), first)
        assert_close(auto(x64), numerical_grad(c.scaled_loop, (x64,), 0))
    assert first.dtype == np.float32
    np.testing.assert_allclose(first, numerical_grad(c.scaled_loop, (x64,), 0), rtol=1e-4)


def test_dtype_numba_cannot_compile_is_located():
    """float16: Numba types it but has no machine code for it (a NotImplementedError)."""
    with pytest.raises(JitError, match="float16 array") as caught:
        s2s.grad(c.axis_sums, jit=True)(np.ones((2, 3), np.float16))
    assert caught.value.filename == c.__file__ and caught.value.lineno
    df = s2s.grad(c.sine_loop_sum, jit=True)       # compiled first for float64
    df(np.ones(3))
    with pytest.raises(JitError, match="new argument types \\(float16 array\\)"):
        df(np.ones(3, np.float16))


def test_auto_keeps_numpy_for_code_without_loops():
    x = rng.normal(size=4)
    df = s2s.grad(c.no_loop, jit="auto")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_close(df(x), numerical_grad(c.no_loop, (x,), 0))
    assert df.code_for(x) is s2s.grad(c.no_loop).code_for(x)


def test_auto_compiles_loops():
    df = s2s.grad(c.scalar_loop, jit="auto")
    assert df(0.5) == pytest.approx(numerical_grad(c.scalar_loop, (0.5,), 0), rel=1e-6)
    assert "saves(" in inspect.getsource(df)


def test_missing_numba(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)     # import numba raises ImportError
    with pytest.raises(JitError, match="pip install"):
        s2s.grad(c.loop_for_auto, jit=True)(0.4)
    df = s2s.grad(c.loop_for_auto, jit="auto")
    with pytest.warns(UserWarning, match="Numba, which is not installed"):
        assert df(0.4) == pytest.approx(numerical_grad(c.loop_for_auto, (0.4,), 0), rel=1e-6)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_jit_takes_true_false_or_auto(value):
    with pytest.raises(ValueError, match="jit must be"):
        s2s.grad(c.scalar_loop, jit=value)


CONVERTED = '''\
import math

import numpy as np

DT = 0.05


def scalar_loop(y):
    for _ in range(30):
        y = y * 0.99 + math.sin(y) * 0.1
    return y


def euler(k, x0, v0):
    x = x0
    v = v0
    for _ in range(20):
        a = -k * x
        x = x + DT * v
        v = v + DT * a
    return np.sum(x ** 2 + v ** 2)


def helper(v):
    if v > 0:
        return v * v
    return -v


def calls_helper(x):
    return helper(x) * x


def helper_twice(v):
    return helper(v) * v + helper(v * 0.5)


def calls_chain(x):
    y = x
    for _ in range(3):
        y = helper_twice(y) * 0.5 + y
    return y


def calls_lambda(x):
    scale = lambda v: v * 2.0
    return scale(x)
'''


def test_convert_target_numba(tmp_path):
    """``s2s convert --target numba`` writes gradients under numba.njit that match finite
    differences, and refuses, at the user's line, what Numba cannot compile."""
    from cli_helpers import s2s as run_s2s
    (tmp_path / "model.py").write_text(CONVERTED)
    done = run_s2s("convert", "model.py", "--target", "numba", "--function",
                   "scalar_loop,euler", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "model_grad.py").read_text()
    assert written.count("@numba.njit(cache=True)") == 2
    assert "reversed" not in written
    sys.path.insert(0, str(tmp_path))
    try:
        import model
        import model_grad
    finally:
        sys.path.remove(str(tmp_path))
    assert model_grad.grad_scalar_loop(0.5) == pytest.approx(
        numerical_grad(model.scalar_loop, (0.5,), 0), rel=1e-6)
    args = (np.array([1.0, 2.0]), np.array([0.3, -0.2]), np.array([0.1, 0.4]))
    assert_close(model_grad.grad_euler(*args), numerical_grad(model.euler, args, 0))
    refused = run_s2s("convert", "model.py", "--target", "numba", "--function",
                      "calls_lambda", "-o", "refused.py", cwd=tmp_path)
    assert refused.returncode == 1
    assert "Numba cannot compile a lambda" in refused.stderr
    assert "model.py" in refused.stderr


def test_convert_target_numba_calls_helpers(tmp_path):
    """Functions that call helpers of their module: each helper's forward sweep and its
    pullback are functions of their own under numba.njit, as jit=True compiles them."""
    from cli_helpers import s2s as run_s2s
    (tmp_path / "chain.py").write_text(CONVERTED)
    done = run_s2s("convert", "chain.py", "--target", "numba", "--function",
                   "calls_helper,calls_chain", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "chain_grad.py").read_text()
    assert "def pullback_helper(dresult, residuals):" in written
    assert "def pullback_helper_twice(" in written
    assert written.count("@numba.njit(cache=True)") == 6
    sys.path.insert(0, str(tmp_path))
    try:
        import chain
        import chain_grad
    finally:
        sys.path.remove(str(tmp_path))
    assert hasattr(chain_grad.pullback_helper, "py_func")       # a Numba dispatcher
    for fn, compiled in ((chain.calls_helper, chain_grad.grad_calls_helper),
                         (chain.calls_chain, chain_grad.grad_calls_chain)):
        for x in (0.7, -0.4):
            assert compiled(x) == pytest.approx(numerical_grad(fn, (x,), 0), rel=1e-6)


class _Clock:
    """A clock that each version advances by its own cost: the choice without timing."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_auto_keeps_the_version_the_first_calls_measure_faster():
    from s2s.compiler.jit import choice
    for slower in ("compiled", "plain"):
        clock = _Clock()
        calls = []

        def version(name, cost):
            def run(x):
                calls.append(name)
                clock.now += cost
                return x * 2.0
            return run

        faster_of = choice.FasterOf(version("compiled", 5.0 if slower == "compiled" else 1.0),
                                    version("plain", 5.0 if slower == "plain" else 1.0),
                                    clock=clock)
        results = [faster_of(float(i)) for i in range(10)]
        assert results == [2.0 * i for i in range(10)]
        trial = 2 * choice.ROUNDS
        assert calls[:trial] == ["compiled", "plain"] * choice.ROUNDS
        kept = "plain" if slower == "compiled" else "compiled"
        assert calls[trial:] == [kept] * (10 - trial)


def test_auto_gradient_is_right_on_every_call_while_it_measures():
    df = s2s.grad(c.loop_for_auto, jit="auto")
    expected = numerical_grad(c.loop_for_auto, (0.4,), 0)
    for _ in range(8):
        assert df(0.4) == pytest.approx(expected, rel=1e-6)
    x = rng.normal(size=3)
    dx = s2s.grad(c.sine_loop_sum, jit="auto")
    for _ in range(8):
        assert_close(dx(x), numerical_grad(c.sine_loop_sum, (x,), 0))
