"""The cache of generated code at scale: memory over 10,000 distinct functions, and 10,000
closures of one def.

    python benchmarks/cache.py

Targets (issue 11): memory flat within 10 MB over 10,000 distinct functions; 10,000 closures
of one ``def`` over different floats transform once, and a ``s2s.grad(closure)(w)`` call costs
what a call of a cached gradient through a new ``grad`` object costs.
"""
from __future__ import annotations

import gc
import importlib.util
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))          # benchmark the s2s of this checkout

import numpy as np                            # noqa: E402

import s2s                                    # noqa: E402
from s2s.compiler import pipeline             # noqa: E402

COUNT = 10_000


def distinct_functions(count: int):
    """A module of ``count`` distinct functions (each its own code object), kept alive."""
    folder = Path(tempfile.mkdtemp())
    text = "".join(f"def f{i}(x):\n    return x * {i + 0.5} + x ** 2\n\n" for i in range(count))
    (folder / "s2s_bench_many.py").write_text(text)
    spec = importlib.util.spec_from_file_location("s2s_bench_many",
                                                  folder / "s2s_bench_many.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [getattr(module, f"f{i}") for i in range(count)]


def memory_over_distinct_functions() -> None:
    functions = distinct_functions(COUNT)
    tracemalloc.start()
    marks = {}
    for i, f in enumerate(functions, 1):
        assert s2s.grad(f)(1.0) == i - 0.5 + 2.0
        if i in (1000, COUNT // 2, COUNT):
            gc.collect()
            marks[i] = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    grown = (marks[COUNT] - marks[1000]) / 1e6
    verdict = "PASS" if grown <= 10 else "FAIL"
    print(f"memory, {COUNT} distinct live functions (cache limit {s2s.cache_limit()}): "
          f"{marks[1000] / 1e6:.1f} MB after 1,000, {marks[COUNT // 2] / 1e6:.1f} MB after "
          f"{COUNT // 2:,}, {marks[COUNT] / 1e6:.1f} MB after {COUNT:,}: grew {grown:.2f} MB "
          f"past the first 1,000 (<= 10 MB) {verdict}")


def make_loss(lam):
    def loss(w):
        return np.sum(w ** 2) * lam + np.sum(np.sin(w))
    return loss


def closures_of_one_def(rounds: int = 5) -> None:
    """Processor time per call, the least of ``rounds`` rounds that alternate a batch of
    new closures with as many calls of one cached function through new ``grad`` objects
    (so that load on the machine weighs on both alike)."""
    built = []
    original = pipeline._reverse

    def counting(fn, *args):
        built.append(fn)
        return original(fn, *args)
    pipeline._reverse = counting
    w = np.linspace(-1.0, 1.0, 8)
    batch = COUNT // rounds
    lams = np.linspace(0.01, 2.0, COUNT)
    per_closure = cached = float("inf")
    try:
        same = make_loss(0.5)
        s2s.grad(same)(w)
        for r in range(rounds):
            closures = [make_loss(float(lam)) for lam in lams[r * batch:(r + 1) * batch]]
            start = time.process_time()
            for loss in closures:
                s2s.grad(loss)(w)
            per_closure = min(per_closure, (time.process_time() - start) / batch)
            start = time.process_time()
            for _ in range(batch):
                s2s.grad(same)(w)
            cached = min(cached, (time.process_time() - start) / batch)
    finally:
        pipeline._reverse = original
    verdict = "PASS" if len(built) == 1 and per_closure <= 1.5 * cached else "FAIL"
    print(f"closures, {COUNT} closures of one def over different floats: transformed "
          f"{len(built)} time(s); s2s.grad(closure)(w) {per_closure * 1e6:.1f} us per closure "
          f"against {cached * 1e6:.1f} us for a new grad object of one cached function "
          f"(processor time, least of {rounds} rounds; {per_closure / cached:.2f}x, <= 1.5x) "
          f"{verdict}")


if __name__ == "__main__":
    closures_of_one_def()
    memory_over_distinct_functions()
