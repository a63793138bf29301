"""Interleaved wall-clock timing and peak-memory measurement.

``per_call_seconds`` times several contenders inside one process, round-robin, so that a slow
phase of the machine (another process, frequency scaling, a cache flush) hits all of them
alike, and reports the median of the samples. A fast function is timed as a batch of ``n``
calls per sample, divided by ``n``; a slow one gets fewer samples so that it stays within the
budget, but never fewer than ``min_samples``.

Samples are short (a fraction of a millisecond) on purpose: on a busy machine most of them
then run uninterrupted, and the median is one of those.
"""
from __future__ import annotations

import gc
import math
import statistics
import time
import tracemalloc
from dataclasses import dataclass
from typing import Callable, Dict, List, Tuple


@dataclass
class Plan:
    """How hard to measure: seconds per sample, samples per contender, time per contender."""
    sample_seconds: float
    min_samples: int
    max_samples: int
    budget_seconds: float


def _time_batch(fn: Callable[[], object], n: int) -> float:
    # like timeit: the collector would otherwise charge one contender for another's garbage
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return time.perf_counter() - start
    finally:
        if was_enabled:
            gc.enable()


def _calibrate(fn: Callable[[], object], sample_seconds: float) -> Tuple[int, float]:
    """Calls per sample so that one sample lasts about ``sample_seconds``, and seconds per call."""
    elapsed = _time_batch(fn, 1)
    if elapsed >= sample_seconds:           # a slow function: one call per sample
        return 1, elapsed
    n = 1
    while True:
        # the quickest of three, so that one interrupted batch does not set the batch size
        elapsed = min(_time_batch(fn, n) for _ in range(3))
        if elapsed >= sample_seconds / 5 or n >= 10 ** 7:
            return max(1, round(n * sample_seconds / max(elapsed, 1e-9))), elapsed / n
        n *= 10


def per_call_seconds(contenders: Dict[str, Callable[[], object]], plan: Plan) -> Dict[str, float]:
    """Median seconds per call of each contender (each is called with no arguments).

    The contenders must already be warm: compiled, jitted, caches filled.
    """
    batch = {}
    wanted = {}
    for name, fn in contenders.items():
        batch[name], seconds_per_call = _calibrate(fn, plan.sample_seconds)
        fit = math.floor(plan.budget_seconds / max(batch[name] * seconds_per_call, 1e-9))
        wanted[name] = min(plan.max_samples, max(plan.min_samples, fit))
    samples: Dict[str, List[float]] = {name: [] for name in contenders}
    names = list(contenders)
    turn = 0
    while any(len(samples[name]) < wanted[name] for name in names):
        # rotate the starting contender so that no one always runs right after another
        for name in names[turn % len(names):] + names[:turn % len(names)]:
            if len(samples[name]) < wanted[name]:
                samples[name].append(_time_batch(contenders[name], batch[name]) / batch[name])
        turn += 1
    return {name: statistics.median(values) for name, values in samples.items()}


def peak_extra_bytes(fn: Callable[[], object], repeats: int = 3) -> int:
    """Peak memory allocated during one call of ``fn`` (its result included), median of runs.

    NumPy reports its array buffers to tracemalloc, so this counts arrays and Python objects.
    """
    peaks = []
    for _ in range(repeats):
        gc.collect()
        tracemalloc.start()
        try:
            result = fn()
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        del result
    return int(statistics.median(peaks))
