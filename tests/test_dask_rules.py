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
