"""Gradients of Dask arrays: the same generated NumPy code, run lazily through NumPy's
dispatch protocols, with no hidden compute and no conversion to NumPy.

Each workload of ``benchmarks/workloads.py`` is differentiated on Dask inputs; a Dask callback
counts the tasks run, which must stay 0 until ``dask.compute``. The computed gradients are
checked against central finite differences on the NumPy inputs (the oracle), and against the
NumPy gradients to 1e-10. Skipped without Dask (the ``dask`` extra).
"""
import importlib.util
import os
import pathlib
import re
import runpy
import subprocess
import sys

import numpy as np
import pytest

import s2s
from s2s import rules
from s2s.errors import NotDifferentiableError
from tests.finite_diff import assert_close, numerical_grad
from tests.rules.audit import plain, row_id
from tests.rules.harness import label
from tests.rules.test_audit import ROWS as AUDIT_ROWS

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
from dask.callbacks import Callback  # noqa: E402  (after the skip)

_spec = importlib.util.spec_from_file_location(
    "workloads", pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "workloads.py")
workloads = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(workloads)


class TaskCount(Callback):
    """Counts the Dask tasks run while it is active."""

    def __init__(self):
        super().__init__()
        self.tasks = 0

    def _posttask(self, key, result, dsk, state, worker_id):
        self.tasks += 1


def in_chunks(value):
    """A NumPy array as a Dask array of two chunks per axis (numbers stay numbers)."""
    if not isinstance(value, np.ndarray):
        return value
    return da.from_array(value, chunks=tuple(max(1, (n + 1) // 2) for n in value.shape))


def chunked_for(row):
    """How a rule's audit row gets Dask inputs: two chunks per axis, but one for the FFTs,
    which Dask computes only along axes of a single chunk, and for inv and solve, whose LU
    decomposition in Dask needs square chunks (the user's own call would fail in Dask
    otherwise, with or without s2s)."""
    if any("numpy.fft" in str(getattr(k, "__module__", "")) or k in _SQUARE_CHUNKS
           for k in row.covers):
        return lambda v: da.from_array(v, chunks=-1) if isinstance(v, np.ndarray) else v
    return in_chunks


_SQUARE_CHUNKS = (np.linalg.inv, np.linalg.solve)


# (name, function, inputs, differentiated positions)
WORKLOADS = [
    ("mlp", workloads.mlp_loss, workloads.mlp_inputs, (0, 1, 2, 3)),
    ("logistic", workloads.logistic_loss, workloads.logistic_inputs, (0, 1)),
    ("rnn", workloads.rnn_loss, workloads.rnn_inputs, (0, 1, 3)),
    ("elementwise", workloads.elementwise, workloads.elementwise_inputs, (0,)),
]


@pytest.mark.parametrize("name, fn, inputs, positions", WORKLOADS,
                         ids=[w[0] for w in WORKLOADS])
def test_workload_gradients_are_lazy_dask_arrays(name, fn, inputs, positions):
    args = inputs(small=True)
    dask_args = [in_chunks(a) for a in args]
    with TaskCount() as count:
        grads = s2s.grad(fn, grad_position=positions)(*dask_args)
        assert count.tasks == 0, "the gradient computed Dask tasks before .compute()"
        for g, p in zip(grads, positions):
            primal = dask_args[p]
            if isinstance(primal, da.Array):
                assert isinstance(g, da.Array)
                assert (g.shape, g.dtype, g.chunks) == (primal.shape, primal.dtype,
                                                        primal.chunks)
        computed = dask.compute(*grads)
        assert count.tasks > 0
    expected = numerical_grad(fn, args, positions)
    assert_close(tuple(np.asarray(g) if np.ndim(g) else float(g) for g in computed),
                 expected, rtol=1e-5, atol=1e-6)
    on_numpy = s2s.grad(fn, grad_position=positions)(*args)
    for g, n in zip(computed, on_numpy):
        np.testing.assert_allclose(g, n, rtol=1e-10, atol=1e-10)


def test_value_and_grad_computes_value_and_gradient_together():
    w, b, X, y = (in_chunks(a) for a in workloads.logistic_inputs(small=True))
    with TaskCount() as count:
        loss, dw = s2s.value_and_grad(workloads.logistic_loss)(w, b, X, y)
        assert count.tasks == 0
        loss, dw = dask.compute(loss, dw)
    w0, b0, X0, y0 = workloads.logistic_inputs(small=True)
    assert loss == pytest.approx(workloads.logistic_loss(w0, b0, X0, y0), rel=1e-12)
    assert_close(dw, numerical_grad(workloads.logistic_loss, (w0, b0, X0, y0), 0))


def sum_of_cubes(x):
    return np.sum(x ** 3)


def test_integer_dask_input_gets_a_float_gradient():
    x = da.from_array(np.arange(6).reshape(2, 3), chunks=(1, 3))
    g = s2s.grad(sum_of_cubes)(x)
    assert isinstance(g, da.Array) and g.dtype == np.float64 and g.chunks == x.chunks
    np.testing.assert_allclose(g.compute(), 3.0 * np.arange(6).reshape(2, 3) ** 2)


def test_mixing_dask_and_numpy_arrays_names_both():
    w, b, X, y = workloads.logistic_inputs(small=True)
    with pytest.raises(NotDifferentiableError) as info:
        s2s.grad(workloads.logistic_loss)(w, b, in_chunks(X), y)
    message = str(info.value)
    assert "'w' is a NumPy ndarray" in message and "'X' a dask Array" in message


def test_unknown_chunk_sizes_are_refused_with_the_fix():
    x = da.from_array(np.arange(1.0, 7.0), chunks=3)
    unknown = x[x > 2.0]            # a boolean mask leaves the chunk sizes unknown
    with pytest.raises(NotDifferentiableError) as info:
        s2s.grad(workloads.elementwise)(unknown)
    assert "unknown shape (nan,)" in str(info.value)
    assert "compute_chunk_sizes()" in str(info.value)
    known = unknown.compute_chunk_sizes()
    np.testing.assert_allclose(s2s.grad(workloads.elementwise)(known).compute(),
                               numerical_grad(workloads.elementwise, (np.arange(3.0, 7.0),)),
                               rtol=1e-6)


class ArrayAPIOnly:
    """An array that follows the array API standard but not NumPy's dispatch (as a PyTorch
    tensor): NumPy would convert it, not run on it."""
    shape, dtype = (3,), np.dtype(np.float64)

    def __array_namespace__(self, api_version=None):
        raise AssertionError("not called")


def test_an_array_without_numpy_dispatch_is_refused():
    with pytest.raises(NotDifferentiableError) as info:
        s2s.grad(workloads.elementwise)(ArrayAPIOnly())
    assert "does not implement NumPy's dispatch protocols" in str(info.value)


def test_the_readme_example_runs_lazily(tmp_path, capsys):
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("```py\n", 1)[1].split("```", 1)[0]
    head, tail = block.split("value, dw = dask.compute", 1)
    (tmp_path / "readme_dask.py").write_text(head)     # a file, so s2s reads loss's source
    with TaskCount() as count:
        namespace = runpy.run_path(str(tmp_path / "readme_dask.py"))
        assert count.tasks == 0
        exec("value, dw = dask.compute" + tail, namespace)
    assert capsys.readouterr().out == "Array (16,) ((8, 8),)\n"
    X = namespace["X"].compute()
    t = np.tanh(X @ np.full(16, 0.1))
    closed_form = X.T @ (2.0 * t * (1.0 - t ** 2)) / len(X)   # d mean(tanh(Xw)^2) / dw
    np.testing.assert_allclose(namespace["dw"], closed_form, rtol=1e-10)


def test_distributed_sample_on_a_small_local_cluster():
    """The sample at a small size on its 2-worker LocalCluster: s2s's loss falls, and each
    step matches the step of the gradient written by hand with dask.array (the oracle)."""
    pytest.importorskip("distributed")
    root = pathlib.Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    completed = subprocess.run(
        [sys.executable, str(root / "samples" / "distributed_regression.py"), "--rows", "40000",
         "--chunk-rows", "10000", "--steps", "4"],
        capture_output=True, text=True, timeout=120, env=env)
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    ours = [float(v) for v in re.findall(r"step +\d+ +s2s: loss ([0-9.]+)", out)]
    by_hand = [float(v) for v in re.findall(r"step +\d+ +dask.array by hand: loss ([0-9.]+)",
                                            out)]
    assert len(ours) == 4 and ours == by_hand, out
    assert all(later < earlier for earlier, later in zip(ours, ours[1:])), out
    assert re.search(r"time per step \(median\): s2s [0-9.]+ s", out), out
    assert re.search(r"workers' peak memory: \d+ MB, \d+ MB", out), out


# --- the rules on Dask: every audit row ---------------------------------------------------

def _dask_rows():
    """Every first-order reverse audit row that takes an array (tests/rules/audit.py): each
    is lazy and right on Dask, refused (its rule is on the numpy-only list), or skipped
    because Dask cannot run the row's own call."""
    return [row for row in AUDIT_ROWS
            if "reverse" in row.modes and row.order == 1 and not row.zero and row.active()
            and "s2s." not in row.source
            and any(isinstance(v, np.ndarray) and v.ndim for v in row.inputs.values())]


def skip_unless_dask_runs(function, dask_args):
    """A row whose own function Dask cannot run (np.repeat of a matrix without an axis, a
    fancy index on two axes), or runs only by computing, says nothing of s2s, which makes
    the same call: skipped with Dask's reason."""
    try:
        with TaskCount() as count:
            function(*dask_args)
    except (NotImplementedError, ValueError, TypeError, AttributeError) as error:
        pytest.skip(f"Dask itself cannot run this row: {type(error).__name__}: {error}")
    if count.tasks:
        pytest.skip(f"Dask's own call computes ({count.tasks} tasks; np.diff does, given a "
                    f"Dask array to prepend or append)")


@pytest.mark.parametrize("row", _dask_rows(), ids=row_id)
def test_rule_on_dask_is_lazy_and_right_or_refused_where_it_is_called(row):
    transformed = row.function()
    args = row.args()
    active = row.active()
    position = active if len(active) > 1 else active[0]
    if isinstance(transformed(*row.args()), (tuple, list, dict)):
        pytest.skip("grad takes one output; the audit checks this row through vjp")
    dask_args = [chunked_for(row)(a) for a in args]
    refused = [label(k) for k in row.covers if k in rules.NUMPY_ONLY]
    with TaskCount() as count:
        if refused:
            with pytest.raises(NotDifferentiableError) as info:
                s2s.grad(transformed, position)(*dask_args)
            assert "on a dask Array" in str(info.value)
            assert info.value.filename.startswith("<audit") and info.value.lineno is not None
            assert count.tasks == 0
            return
    skip_unless_dask_runs(transformed, dask_args)
    with TaskCount() as count:
        grads = s2s.grad(transformed, position)(*dask_args)
        assert count.tasks == 0, f"{count.tasks} tasks ran before .compute(); if the rule " \
            f"cannot avoid them, declare it in templates/reverse/numpy_only.py"
        for g, p in zip(grads if isinstance(position, tuple) else (grads,),
                        position if isinstance(position, tuple) else (position,)):
            if isinstance(dask_args[p], da.Array):
                assert isinstance(g, da.Array) and g.chunks == dask_args[p].chunks
        computed = dask.compute(grads)[0]

    def f(*point):
        return plain(transformed(*point))
    assert_close(computed, numerical_grad(f, args, position), rtol=row.rtol,
                 atol=row.rtol * 1e-2)


# --- rules taken off templates/reverse/numpy_only.py, in more forms than their first row ----
_r = np.random.default_rng(7)
_A, _B, _C = _r.standard_normal((4, 3)), _r.standard_normal((3, 5)), _r.standard_normal((4, 4))
_u, _v = _r.standard_normal(4), _r.standard_normal(3)

# (name, function, inputs): every input differentiated
UNLISTED_FORMS = [
    ("dot matrix vector", lambda a, x: np.sum(np.dot(a, x) ** 2), (_A, _v)),
    ("dot vector matrix", lambda x, a: np.sum(np.dot(x, a) ** 2), (_u, _A)),
    ("dot matrices", lambda a, b: np.sum(np.sin(np.dot(a, b))), (_A, _B)),
    ("dot vectors", lambda x, y: np.dot(x, y) ** 2, (_u, _u + 1.0)),
    ("einsum column sums", lambda a: np.sum(np.einsum("ij->j", a ** 2) ** 2), (_A,)),
    ("einsum matrix vector", lambda a, x: np.sum(np.einsum("ij,j->i", a, x) ** 2), (_A, _v)),
    ("einsum implicit", lambda a, b: np.sum(np.einsum("ij,jk", a, b) ** 2), (_A, _B)),
    ("average", lambda x: np.average(x) ** 2, (_A,)),
    ("average along 1", lambda x, w: np.sum(np.average(x, 1, weights=w) ** 2), (_A, _v + 3)),
    ("average weights like x", lambda x, w: np.average(x, weights=w) ** 2, (_A, _A ** 2 + 1.0)),
    ("concatenate axis 1", lambda x, y: np.sum(np.concatenate([x, y], axis=1) ** 3), (_A, _C)),
    ("concatenate raveled", lambda x, y: np.sum(np.concatenate([x, y], None) ** 3), (_A, _B)),
    ("concatenate three", lambda x, y: np.sum(np.sin(np.concatenate((x, y, x)))), (_u, _v)),
    ("vstack matrices", lambda x, y: np.sum(np.vstack([x, y]) ** 3), (_A, _B.T)),
    ("hstack matrices", lambda x, y: np.sum(np.hstack([x, y]) ** 3), (_A, _C)),
    ("dstack vectors", lambda x, y: np.sum(np.dstack([x, y]) ** 3), (_u, _u * 2.0)),
    ("block of matrices", lambda x, y: np.sum(np.block([[x, x], [y, y]]) ** 3), (_A, _A)),
    ("triu below", lambda x: np.sum(np.triu(x, -1) ** 3), (_A,)),
    ("diff twice along 0", lambda x: np.sum(np.diff(x, 2, axis=0) ** 2), (_A,)),
    ("diff prepend append", lambda x: np.sum(np.diff(x, prepend=0.5, append=_v) ** 2), (_u,)),
    ("atleast_2d", lambda x: np.sum(np.atleast_2d(x) ** 2), (_u,)),
    ("atleast_3d matrix", lambda x: np.sum(np.atleast_3d(x) ** 3), (_A,)),
    ("append raveled", lambda x, y: np.sum(np.append(x, y) ** 3), (_A, _v)),
    ("append along 0", lambda x, y: np.sum(np.append(x, y, axis=0) ** 3), (_A, _A)),
    ("full_like", lambda y, x: np.sum(np.full_like(y, 1.5) * x ** 2), (_A, _A)),
    ("fftshift along 0", lambda x: np.sum(np.fft.fftshift(x, axes=0) * _A), (_A,)),
]


@pytest.mark.parametrize("name, fn, inputs", UNLISTED_FORMS, ids=[c[0] for c in UNLISTED_FORMS])
def test_rules_off_the_numpy_only_list_are_lazy_and_right_on_dask(name, fn, inputs):
    positions = tuple(range(len(inputs)))
    with TaskCount() as count:
        grads = s2s.grad(fn, positions)(*[in_chunks(a) for a in inputs])
        assert count.tasks == 0
        computed = dask.compute(grads)[0]
    assert_close(tuple(computed), numerical_grad(fn, inputs, positions), rtol=1e-5, atol=1e-7)


# FFTs on Dask: one chunk along the transformed axes (Dask's own requirement), any along others
_W5, _x8 = _r.standard_normal(5), _r.standard_normal(8)
FFT_FORMS = [
    ("rfft", lambda x: np.sum(np.abs(np.fft.rfft(x)) ** 2 * np.arange(5.0)), _x8, -1),
    ("irfft of rfft", lambda x: np.sum(np.fft.irfft(np.fft.rfft(x) * _W5) ** 2), _x8, -1),
    ("rfft along 0", lambda x: np.sum(np.abs(np.fft.rfft(x, axis=0)) ** 2), _A, (4, 2)),
    ("fft padded", lambda x: np.sum(np.abs(np.fft.fft(x, n=12)) ** 2), _x8, -1),
    ("fft cut", lambda x: np.sum(np.abs(np.fft.fft(x, n=5)) ** 2), _x8, -1),
    ("rfftn", lambda x: np.sum(np.abs(np.fft.rfftn(x)) ** 2), _A, -1),
    ("hfft", lambda x: np.sum(np.fft.hfft(x, n=8) ** 2), _r.standard_normal(5), -1),
]


# inv and solve on Dask: square chunks (Dask's LU needs them), here 2 x 2 blocks of 2 x 2
_S = _C + 4.0 * np.eye(4)
SQUARE_FORMS = [
    ("inv", lambda a: np.sum(np.linalg.inv(a) ** 2), (_S,), 0),
    ("solve for a vector", lambda a, y: np.sum(np.linalg.solve(a, y) ** 2), (_S, _u), (0, 1)),
    ("solve for columns", lambda a, y: np.sum(np.sin(np.linalg.solve(a, y))), (_S, _A), (0, 1)),
]


@pytest.mark.parametrize("name, fn, inputs, positions", SQUARE_FORMS,
                         ids=[c[0] for c in SQUARE_FORMS])
def test_inv_and_solve_are_lazy_and_right_on_dask(name, fn, inputs, positions):
    with TaskCount() as count:
        grads = s2s.grad(fn, positions)(*[da.from_array(a, chunks=2) for a in inputs])
        assert count.tasks == 0
        computed = dask.compute(grads)[0]
    assert_close(computed, numerical_grad(fn, inputs, positions), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name, fn, x, chunks", FFT_FORMS, ids=[c[0] for c in FFT_FORMS])
def test_ffts_are_lazy_and_right_on_dask(name, fn, x, chunks):
    with TaskCount() as count:
        gradient = s2s.grad(fn)(da.from_array(x, chunks=chunks))
        assert count.tasks == 0
        gradient = gradient.compute()
    assert_close(gradient, numerical_grad(fn, (x,)), rtol=1e-5, atol=1e-7)
