"""``jit='auto'`` on code with loops: the faster of the Numba version and the NumPy code,
measured on the first calls.

Whether Numba pays depends on where the time goes: in a loop of small array or scalar
operations Numba removes the interpreter (Euler: 25x), but where the loop's time is in
matrix products or other large NumPy kernels, NumPy's own versions (BLAS) are already
compiled, and Numba's are slower (the RNN's gradient: 0.7x). No rule read off the code
tells the two apart for every size, so the first calls tell: they alternate between the two
versions, ``ROUNDS`` calls each, and the one with the least time runs from then on, without
timing. Each call returns its version's result, so every result is correct; the trial costs
at most ``ROUNDS`` calls of the slower version.
"""
from __future__ import annotations

import time
from typing import Callable, List, Optional

ROUNDS = 3


class FasterOf:
    """Calls ``compiled`` and ``plain`` (the same function) alternately and times them, then
    keeps the faster: ``chosen`` is it once chosen."""

    def __init__(self, compiled: Callable, plain: Callable,
                 clock: Callable[[], float] = time.perf_counter):
        self.candidates = (compiled, plain)
        self.best: List[float] = [float("inf"), float("inf")]
        self.calls = 0
        self.clock = clock
        self.chosen: Optional[Callable] = None
        self.__wrapped__ = compiled

    def __call__(self, *args, **kwargs):
        chosen = self.chosen
        if chosen is not None:
            return chosen(*args, **kwargs)
        which = self.calls % 2
        self.calls += 1
        start = self.clock()
        result = self.candidates[which](*args, **kwargs)
        self.best[which] = min(self.best[which], self.clock() - start)
        if self.calls >= 2 * ROUNDS and self.chosen is None:
            self.chosen = self.candidates[0 if self.best[0] <= self.best[1] else 1]
            self.__wrapped__ = self.chosen
        return result
