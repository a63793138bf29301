"""The benchmark's report, as a user without JAX sees it: a contender that is not installed
is n/a, without the note on why a workload skips it (``benchmarks/run.py --quick`` printed
"XLA had not finished compiling ..." on machines without JAX)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, sys
sys.path[:0] = [sys.argv[1]]
import run
euler = next(w for w in run.WORKLOADS if "JAX jit" in w.skip)
results = {}
for installed in (False, True):
    run.make_jax = lambda workload, args, jit: (lambda: 0.0) if installed else None
    problem = run.prepare(euler, "JAX jit", (), [])
    results[str(installed)] = [problem.short, problem.detail]
print(json.dumps(results))
"""


def test_a_skip_note_is_only_for_installed_contenders():
    proc = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "benchmarks")],
                          cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert results["False"] == ["n/a", ""]
    short, detail = results["True"]
    assert short == "skipped" and "XLA had not finished compiling" in detail


# the CuPy column's code path, run on a stand-in for CuPy whose "GPU arrays" are Dask arrays
# (both reach the generated code through NumPy's dispatch): checked, timed, copied to the host
CUPY_PROBE = r"""
import json, sys, types
sys.path[:0] = [sys.argv[1]]
import dask.array as da
import run
logistic = next(w for w in run.WORKLOADS if w.name == "logistic")
small = logistic.inputs(small=True)
absent = run.prepare(logistic, "s2s CuPy", small,
                     run.checks.as_arrays(logistic.hand(*small), logistic))
results = {"absent": absent.short if isinstance(absent, run.Problem) else "ran"}
stream = types.SimpleNamespace(synchronize=lambda: None)
run._optional["cupy"] = types.SimpleNamespace(
    ndarray=da.Array, asarray=lambda a: da.from_array(a, chunks=-1),
    asnumpy=lambda a: a.compute(),
    cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
                               get_current_stream=lambda: stream))
for workload in run.WORKLOADS:
    if workload.name in ("scalar_loop", "logistic", "elementwise"):
        args = workload.inputs(small=True)
        expected = run.checks.as_arrays(workload.hand(*args), workload)
        prepared = run.prepare(workload, "s2s CuPy", args, expected)
        results[workload.name] = prepared.short if isinstance(prepared, run.Problem) \
            else type(prepared()[0] if isinstance(prepared(), tuple) else prepared()).__name__
print(json.dumps(results))
"""


def test_the_cupy_column_is_na_without_a_gpu_and_runs_where_cupy_is():
    pytest.importorskip("dask")
    proc = subprocess.run([sys.executable, "-c", CUPY_PROBE, str(ROOT / "benchmarks")],
                          cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    if importlib.util.find_spec("cupy") is None:
        assert results["absent"] == "n/a"
    assert results["scalar_loop"] == "n/a"         # no array: nothing to put on a GPU
    assert results["logistic"] == "Array" and results["elementwise"] == "Array"
