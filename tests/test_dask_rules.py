"""Rules on Dask arrays beyond each rule's first audit row (tests/test_dask.py runs those):
rules made lazy in more of their forms, the refusals of calls known only at run time and of
boolean masks. Every derivative is checked against central finite differences on the NumPy
inputs, and a Dask callback counts the tasks run: none before ``dask.compute``.
Skipped without Dask (the ``dask`` extra).
"""
import numpy as np
import pytest

import s2s
from s2s.errors import NotDifferentiableError
from tests.finite_diff import assert_close, numerical_grad

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
from tests.test_dask import TaskCount, in_chunks  # noqa: E402  (after the skip)


# --- calls known only at run time (call_vjp, call_jvp) ---------------------------------------

def sorted_weights(x):
    return np.sum(np.sort(x) * np.arange(6.0))


def apply_twice(x, g):
    return g(x) * 2.0


def apply_to_pair(x, g):
    return g([x, x]) * 2.0


def sort_first(pair):
    return sorted_weights(pair[0])


@pytest.mark.parametrize("outer, inner", [(apply_twice, sorted_weights),
                                          (apply_to_pair, sort_first)],
                         ids=["array", "list of arrays"])
def test_a_numpy_only_rule_reached_at_run_time_is_refused_at_its_line(outer, inner):
    x = in_chunks(np.linspace(0.0, 1.0, 6))
    line = sorted_weights.__code__.co_firstlineno + 1
    calls = [lambda: s2s.grad(outer)(x, inner), lambda: s2s.vjp(outer, x, inner),
             lambda: s2s.jvp(outer, (x, inner), (da.ones_like(x), None))]
    for call in calls:
        with TaskCount() as count, pytest.raises(NotDifferentiableError) as info:
            call()
        assert count.tasks == 0
        assert "sort on a dask Array" in str(info.value)
        assert info.value.filename == __file__ and info.value.lineno == line


def test_a_rule_that_runs_on_dask_reached_at_run_time_stays_lazy():
    x0 = np.linspace(0.1, 1.0, 6)

    def inner(x):
        return np.sum(np.tanh(x) ** 2)
    with TaskCount() as count:
        gradient = s2s.grad(apply_twice)(in_chunks(x0), inner)
        assert count.tasks == 0
        computed = gradient.compute()
    assert_close(computed, numerical_grad(lambda x: apply_twice(x, inner), (x0,), 0))


def calls_sorted_weights(x):
    return sorted_weights(x) + 1.0


def test_forward_mode_refuses_a_numpy_only_rule_of_a_function_it_calls():
    # the callee's jvp function carries its list, as the callee's vjp function does
    x = in_chunks(np.linspace(0.0, 1.0, 6))
    for call in (lambda: s2s.jvp(calls_sorted_weights, x, da.ones_like(x)),
                 lambda: s2s.jacfwd(calls_sorted_weights)(x)):
        with TaskCount() as count, pytest.raises(NotDifferentiableError) as info:
            call()
        assert count.tasks == 0
        assert "sort on a dask Array" in str(info.value)
        assert info.value.lineno == sorted_weights.__code__.co_firstlineno + 1


# --- item reads and writes whose cotangent Dask cannot place ---------------------------------

def masked_read(x):
    return np.sum(x[x > 0.5] ** 2)


def masked_write(x):
    y = x * 1.0
    y[x > 0.5] = 0.0
    return np.sum(y ** 2)


def repeated_read(x):
    return np.sum(x[np.array([0, 0, 2])] ** 2)


def repeated_rows(m):
    return np.sum(m[[1, 0, 1], 2:] ** 3)


def repeated_write(x):
    y = x * 1.0
    y[[1, 1]] = x[:2] ** 2
    return np.sum(y ** 2)


def index_of_dask(x, k):
    return np.sum(x[k] ** 2)


_x6 = np.linspace(0.1, 1.0, 6)
_m34 = np.arange(1.0, 13.0).reshape(3, 4) / 7.0
REFUSED_ITEMS = [
    ("mask read", masked_read, (_x6,), "a boolean mask index", "np.where"),
    ("mask write", masked_write, (_x6,), "a boolean mask index", "np.where"),
    ("repeated read", repeated_read, (_x6,), "an index array with repeated entries", ""),
    ("repeated rows", repeated_rows, (_m34,), "an index array with repeated entries", ""),
    ("repeated write", repeated_write, (_x6,), "an index array with repeated entries", ""),
    ("index of dask", index_of_dask, (_x6, np.array([0, 2])), "an index array", ".compute()"),
]


def _line_of(fn, text):
    import inspect
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


@pytest.mark.parametrize("name, fn, inputs, construct, hint", REFUSED_ITEMS,
                         ids=[c[0] for c in REFUSED_ITEMS])
def test_an_item_dask_cannot_differentiate_is_refused_at_its_line(name, fn, inputs,
                                                                   construct, hint):
    dask_inputs = [in_chunks(a) for a in inputs]
    line = _line_of(fn, "[")
    for call in (lambda: s2s.grad(fn)(*dask_inputs),
                 lambda: s2s.vjp(fn, *dask_inputs)[1](1.0)):
        with TaskCount() as count, pytest.raises(NotDifferentiableError) as info:
            call()
        assert count.tasks == 0
        assert info.value.construct == construct and hint in info.value.hint
        assert (info.value.filename, info.value.lineno) == (__file__, line)
    # the same code on NumPy arrays differentiates (finite differences)
    assert_close(s2s.grad(fn)(*inputs), numerical_grad(fn, inputs, 0))


ITEMS_ON_DASK = [
    ("distinct indices", lambda x: np.sum(x[np.array([4, 0, 2])] ** 2), (_x6,)),
    ("rows and a slice", lambda m: np.sum(m[[2, 0], 1:] ** 3), (_m34,)),
    ("an entry of distinct rows", lambda m: np.sum(m[[2, 0], 3] ** 3), (_m34,)),
    ("NumPy mask", lambda x: np.sum(x[_x6 > 0.5] ** 2), (_x6,)),
    ("np.where instead of a mask", lambda x: np.sum(np.where(x > 0.5, x, 0.0) ** 2), (_x6,)),
]


@pytest.mark.parametrize("name, fn, inputs", ITEMS_ON_DASK, ids=[c[0] for c in ITEMS_ON_DASK])
def test_items_dask_can_place_are_lazy_and_right(name, fn, inputs):
    with TaskCount() as count:
        gradient = s2s.grad(fn)(*[in_chunks(a) for a in inputs])
        assert count.tasks == 0
        computed = gradient.compute()
    assert_close(computed, numerical_grad(fn, inputs, 0))


def test_forward_mode_reads_a_dask_mask_lazily():
    # a tangent needs no placing back: dx[mask] is as lazy as x[mask]
    with TaskCount() as count:
        value, tangent = s2s.jvp(masked_read, in_chunks(_x6), in_chunks(np.ones(6)))
        assert count.tasks == 0
        tangent = tangent.compute()
    assert tangent == pytest.approx(float(numerical_grad(masked_read, (_x6,), 0).sum()))


# --- rules taken off templates/reverse/numpy_only.py: lazy in both modes ---------------------
_r = np.random.default_rng(11)
_A = _r.standard_normal((4, 3))
_v = _r.standard_normal(5)
_A0, _v0 = _A.copy(), _v.copy()
_A0[1, 2] = _v0[2] = 0.0            # zeros take the exact path of prod's and cumprod's rules

# (name, function of one array, input)
NOW_LAZY = [
    ("prod", lambda x: np.prod(x) ** 2, _v),
    ("prod with a zero", lambda x: np.prod(x), _v0),
    ("prod along 0", lambda x: np.sum(np.prod(x, axis=0) ** 2), _A0),
    ("prod keepdims", lambda x: np.sum(np.prod(x, 1, keepdims=True) * x), _A),
    ("prod method", lambda x: x.prod(axis=1).sum(), _A0),
    ("cumprod raveled", lambda x: np.sum(np.cumprod(x) * np.arange(12.0)), _A),
    ("cumprod with a zero along 1", lambda x: np.sum(np.cumprod(x, axis=1) ** 2), _A0),
    ("cumprod with a zero", lambda x: np.sum(np.sin(np.cumprod(x))), _v0),
    ("repeat along 0", lambda x: np.sum(np.repeat(x, 3, axis=0) ** 2 * np.arange(3.0)), _A),
    ("repeat a vector", lambda x: np.sum(np.sin(np.repeat(x, 2))), _v),
    ("repeat method", lambda x: np.sum(x.repeat(2, axis=1) ** 3), _A),
    ("diag of a vector", lambda x: np.sum(np.diag(x, 1) * np.arange(36.0).reshape(6, 6)), _v),
    ("diag of a matrix", lambda x: np.sum(np.diag(x) ** 3), _A),
    ("diag above", lambda x: np.sum(np.sin(np.diag(x, 1))), _A),
    ("diag below", lambda x: np.sum(np.diag(x, -2) ** 2), _A),
    ("diag past the corner", lambda x: np.sum(np.diag(x, 5)) + np.sum(x ** 2), _A),
    ("diag below the corner", lambda x: np.sum(np.diag(x, -7)) + np.sum(x ** 2), _A),
]


@pytest.mark.parametrize("name, fn, x", NOW_LAZY, ids=[c[0] for c in NOW_LAZY])
def test_rules_made_lazy_are_right_on_dask_in_both_modes(name, fn, x):
    expected = numerical_grad(fn, (x,), 0)
    direction = _r.standard_normal(x.shape)
    with TaskCount() as count:
        gradient = s2s.grad(fn)(in_chunks(x))
        _, tangent = s2s.jvp(fn, in_chunks(x), in_chunks(direction))
        assert count.tasks == 0
        gradient, tangent = dask.compute(gradient, tangent)
    assert_close(gradient, expected, rtol=1e-5, atol=1e-7)
    assert tangent == pytest.approx(float(np.sum(expected * direction)), rel=1e-5, abs=1e-7)
