"""The benchmark's report, as a user without JAX sees it: a contender that is not installed
is n/a, without the note on why a workload skips it (``benchmarks/run.py --quick`` printed
"XLA had not finished compiling ..." on machines without JAX)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
