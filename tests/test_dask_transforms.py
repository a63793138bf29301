"""jvp, vjp, jacfwd, jacrev, hessian and hvp on Dask arrays: lazy until computed, and equal
to finite differences on the NumPy version of the inputs (the oracle).

A Dask callback counts the tasks run (``TaskCount``, as in tests/test_dask.py): none may run
before ``dask.compute``. A Jacobian is assembled from one Dask array per basis vector (jacfwd,
hessian) or per output entry (jacrev), stacked by Dask, so it stays lazy too. What cannot
stay lazy is refused with a located error: a rule written for NumPy arrays only
(templates/reverse/numpy_only.py), a Jacobian of an output of unknown size, ``jit=True``.
Skipped without Dask (the ``dask`` extra).
"""
import numpy as np
import pytest

import s2s
from s2s import rules
from s2s.errors import NotDifferentiableError
from tests.finite_diff import assert_close, numerical_grad
from tests.rules.audit import directional, plain, random_like, row_id
from tests.rules.harness import label
from tests.rules.test_audit import ROWS as AUDIT_ROWS

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
from tests.test_dask import (WORKLOADS, TaskCount, chunked_for, in_chunks,  # noqa: E402
                             skip_unless_dask_runs)


def numerical_jacobian(fn, args, position):
    """Central differences, one output entry at a time: shape out.shape + in.shape."""
    out = np.asarray(fn(*args))
    rows = [numerical_grad(lambda *a, j=j: np.ravel(fn(*a))[j], args, position)
            for j in range(out.size)]
    return np.reshape(np.stack(rows), out.shape + np.shape(args[position]))


def hessian_by_differences(fn, args, position):
    """Central differences of the gradient (itself checked against finite differences in
    tests/test_dask.py), one input entry at a time: shape in.shape + in.shape."""
    gradient = s2s.grad(fn, position)
    return numerical_jacobian(lambda *a: gradient(*a), args, position)


def computed(value):
    """``value`` computed with a task count of zero before it: the transform was lazy."""
    assert_lazy(value)
    return dask.compute(value)[0]


def assert_lazy(value):
    leaves = value if isinstance(value, (tuple, list)) else (value,)
    for leaf in leaves:
        if isinstance(leaf, (tuple, list)):
            assert_lazy(leaf)
        else:
            assert isinstance(leaf, da.Array), f"a {type(leaf).__name__}, not a Dask array"


# --- the four workloads ------------------------------------------------------------------------
# a small position per workload for the Hessian (one jvp of the gradient per entry)
HESSIAN_POSITION = {"mlp": 3, "logistic": 0, "rnn": 3, "elementwise": 0}


@pytest.mark.parametrize("name, fn, inputs, positions", WORKLOADS,
                         ids=[w[0] for w in WORKLOADS])
def test_workload_transforms_are_lazy_and_right(name, fn, inputs, positions):
    args = inputs(small=True)
    dask_args = [in_chunks(a) for a in args]
    rng = np.random.default_rng(3)
    directions = [rng.standard_normal(np.shape(args[p])) for p in positions]
    h = HESSIAN_POSITION[name]
    with TaskCount() as count:
        tangents = tuple(in_chunks(directions[positions.index(i)]) if i in positions
                         else in_chunks(np.zeros(np.shape(a))) for i, a in enumerate(args))
        value, tangent = s2s.jvp(fn, tuple(dask_args), tangents)
        out, pullback = s2s.vjp(fn, *dask_args)
        cotangents = pullback(1.0)
        forward = s2s.jacfwd(fn, positions)(*dask_args)
        reverse = s2s.jacrev(fn, positions)(*dask_args)
        hessian = s2s.hessian(fn, h)(*dask_args)
        assert count.tasks == 0, "a transform computed Dask tasks before .compute()"
        for result in (tangent, forward, reverse, hessian):
            assert_lazy(result)
        value, tangent, cotangents, forward, reverse, hessian = dask.compute(
            value, tangent, cotangents, forward, reverse, hessian)
    gradient = numerical_grad(fn, args, positions)
    assert value == pytest.approx(fn(*args), rel=1e-12)
    along = sum(np.sum(g * d) for g, d in zip(gradient, directions))
    assert tangent == pytest.approx(along, rel=1e-6)
    assert_close(tuple(cotangents[p] for p in positions), gradient, rtol=1e-5, atol=1e-6)
    assert_close(tuple(forward), gradient, rtol=1e-5, atol=1e-6)
    assert_close(tuple(reverse), gradient, rtol=1e-5, atol=1e-6)
    assert_close(hessian, hessian_by_differences(fn, args, h), rtol=1e-5, atol=1e-6)


def test_elementwise_hessian_matches_its_closed_form():
    x0 = np.linspace(-1.5, 2.0, 7)
    from tests.test_dask import workloads
    hessian = computed(s2s.hessian(workloads.elementwise)(in_chunks(x0)))
    t = np.tanh(x0)
    # d2/dx2 tanh(x) x^2 = tanh'' x^2 + 4 tanh' x + 2 tanh, tanh' = 1 - t^2, tanh'' = -2 t tanh'
    diagonal = -2.0 * t * (1.0 - t ** 2) * x0 ** 2 + 4.0 * (1.0 - t ** 2) * x0 + 2.0 * t
    np.testing.assert_allclose(hessian, np.diag(diagonal), rtol=1e-12, atol=1e-14)


# --- small functions with array outputs -------------------------------------------------------
_r = np.random.default_rng(11)
_X, _w, _M = _r.standard_normal((3, 4)), _r.standard_normal(4), _r.standard_normal((4, 4))


def layer(x, w):
    return np.tanh(x @ w) * 2.0


def softmax_rows(x):
    e = np.exp(x - np.max(x, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def quadratic(x, m):
    return np.sum(x * (m @ x)) + np.sum(np.sin(x) ** 2)


def stacked(x, w):
    return np.concatenate([x * w, np.cumsum(x, axis=0)], axis=0)


# (function, inputs, position)
SMALL = [
    (layer, (_X, _w), 0),
    (layer, (_X, _w), 1),
    (softmax_rows, (_X,), 0),
    (stacked, (_X, _w), 0),
]


@pytest.mark.parametrize("fn, inputs, position", SMALL,
                         ids=[f"{c[0].__name__}-{c[2]}" for c in SMALL])
def test_jacobians_jvp_and_vjp_of_array_outputs(fn, inputs, position):
    dask_inputs = [in_chunks(a) for a in inputs]
    expected = numerical_jacobian(fn, inputs, position)
    direction = _r.standard_normal(np.shape(inputs[position]))
    cotangent = _r.standard_normal(expected.shape[:np.ndim(fn(*inputs))])
    tangents = tuple(in_chunks(direction) if i == position else in_chunks(np.zeros_like(a))
                     for i, a in enumerate(inputs))
    with TaskCount() as count:
        forward = s2s.jacfwd(fn, position)(*dask_inputs)
        reverse = s2s.jacrev(fn, position)(*dask_inputs)
        _, tangent = s2s.jvp(fn, tuple(dask_inputs), tangents)
        _, pullback = s2s.vjp(fn, *dask_inputs)
        pulled = pullback(in_chunks(cotangent))[position]
        assert count.tasks == 0
        forward, reverse, tangent, pulled = dask.compute(forward, reverse, tangent, pulled)
    in_axes = tuple(range(expected.ndim - direction.ndim, expected.ndim))
    assert_close(forward, expected, rtol=1e-6)
    assert_close(reverse, expected, rtol=1e-6)
    assert_close(tangent, np.tensordot(expected, direction, (in_axes, tuple(
        range(direction.ndim)))), rtol=1e-6)
    assert_close(pulled, np.tensordot(cotangent, expected, cotangent.ndim), rtol=1e-6)


def test_hessian_of_two_inputs_and_hvp():
    x0, m0 = _w, _M + _M.T
    with TaskCount() as count:
        blocks = s2s.hessian(quadratic, (0, 1))(in_chunks(x0), in_chunks(m0))
        product = s2s.hvp(quadratic, (in_chunks(x0), in_chunks(m0)),
                          (in_chunks(np.ones(4)), in_chunks(np.zeros((4, 4)))))
        assert count.tasks == 0
        blocks, product = dask.compute(blocks, product)
    # closed form of q = x.m.x + sum(sin(x)^2): d2q/dx2 = m + m^T + diag(2 cos 2x),
    # d2q/dx_i dm_jk = [i == j] x_k + [i == k] x_j, d2q/dm2 = 0
    eye = np.eye(4)
    hxx = m0 + m0.T + np.diag(2.0 * np.cos(2.0 * x0))
    hxm = eye[:, :, None] * x0[None, None, :] + eye[:, None, :] * x0[None, :, None]
    np.testing.assert_allclose(blocks[0][0], hxx, rtol=1e-12)
    np.testing.assert_allclose(blocks[0][1], hxm, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(blocks[1][0], np.moveaxis(hxm, 0, -1), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(blocks[1][1], np.zeros((4, 4, 4, 4)), atol=1e-15)
    np.testing.assert_allclose(product[0], hxx @ np.ones(4), rtol=1e-12)
    np.testing.assert_allclose(product[1], np.moveaxis(hxm, 0, -1) @ np.ones(4), rtol=1e-12)


# --- what cannot stay lazy is refused where it happens ---------------------------------------

def uses_sort(x):
    return np.sum(np.sort(x) * np.arange(6.0))


def test_a_numpy_only_rule_is_refused_by_every_transform_at_its_line():
    x = in_chunks(np.linspace(0.0, 1.0, 6))
    line = uses_sort.__code__.co_firstlineno + 1
    calls = [lambda: s2s.jvp(uses_sort, x, da.ones_like(x)),
             lambda: s2s.vjp(uses_sort, x),
             lambda: s2s.jacfwd(uses_sort)(x),
             lambda: s2s.jacrev(uses_sort)(x),
             lambda: s2s.hessian(uses_sort)(x)]
    for call in calls:
        with TaskCount() as count, pytest.raises(NotDifferentiableError) as info:
            call()
        assert count.tasks == 0
        assert "sort on a dask Array" in str(info.value)
        assert info.value.lineno == line and info.value.filename == __file__


def masked(x):
    return x[x > 0.5] ** 2


def test_a_jacobian_of_an_output_of_unknown_size_is_refused():
    x = in_chunks(np.linspace(0.0, 1.0, 6))
    for transform in (s2s.jacfwd, s2s.jacrev):
        with TaskCount() as count, pytest.raises(NotDifferentiableError) as info:
            transform(masked)(x)
        assert count.tasks == 0
        assert "unknown shape (nan,)" in str(info.value)
        assert info.value.lineno == masked.__code__.co_firstlineno


def test_jit_and_mixed_libraries_are_refused():
    x = in_chunks(_w)
    with pytest.raises(NotDifferentiableError, match="Numba runs on NumPy arrays only"):
        s2s.jacfwd(layer, 1, jit=True)(in_chunks(_X), x)
    with pytest.raises(NotDifferentiableError) as info:
        s2s.jvp(layer, (in_chunks(_X), x), (in_chunks(np.zeros((3, 4))), np.ones(4)))
    assert "'x' is a dask Array" in str(info.value)
    assert "'the tangent of w' a NumPy ndarray" in str(info.value)
    _, pullback = s2s.vjp(layer, in_chunks(_X), x)
    with pytest.raises(NotDifferentiableError, match="cotangent of NumPy ndarrays"):
        pullback(np.ones(3))


# --- the rules on Dask in forward mode: every audit row through jvp -----------------------

def _forward_rows():
    """Every first-order forward audit row that takes an array (tests/rules/audit.py): each
    is lazy and right on Dask, refused (its rule is on the numpy-only list), or skipped
    because Dask cannot run the row's own call."""
    return [row for row in AUDIT_ROWS
            if "forward" in row.modes and row.order == 1 and not row.zero and row.active()
            and "s2s." not in row.source
            and any(isinstance(v, np.ndarray) and v.ndim for v in row.inputs.values())]


@pytest.mark.parametrize("row", _forward_rows(), ids=row_id)
def test_rule_on_dask_in_forward_mode_is_lazy_and_right_or_refused(row):
    transformed = row.function()
    args = row.args()
    active = row.active()
    if isinstance(transformed(*args), (tuple, list, dict)):
        pytest.skip("one array output is checked here; the audit checks the others")
    rng = np.random.default_rng(len(row.source))
    tangents = [random_like(a, rng) if i in active else None for i, a in enumerate(args)]
    chunked = chunked_for(row)
    given = tuple(chunked(t) if i in active else chunked(a)
                  for i, (a, t) in enumerate(zip(args, tangents)))
    dask_args = tuple(chunked(a) for a in args)
    refused = [label(k) for k in row.covers if k in rules.NUMPY_ONLY]
    with TaskCount() as count:
        if refused:
            with pytest.raises(NotDifferentiableError) as info:
                s2s.jvp(transformed, dask_args, given)
            assert "on a dask Array" in str(info.value)
            assert info.value.filename.startswith("<audit") and info.value.lineno is not None
            assert count.tasks == 0
            return
    skip_unless_dask_runs(transformed, dask_args)
    with TaskCount() as count:
        _, tangent = s2s.jvp(transformed, dask_args, given)
        assert count.tasks == 0, f"{count.tasks} tasks ran before .compute(); if the rule " \
            f"cannot avoid them, declare it in templates/reverse/numpy_only.py"
        tangent = dask.compute(tangent)[0]

    def f(*point):
        return plain(transformed(*point))
    assert_close(plain(tangent), directional(f, args, tangents), rtol=row.rtol,
                 atol=row.rtol * 1e-2)
