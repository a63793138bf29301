"""Checks of gradients: the hand-written ones against finite differences, the others against
the hand-written ones.

A workload here is anything with ``function``, ``hand``, ``positions`` and ``inputs(small)``
(see ``run.Workload``). Gradients are compared as lists of float64 arrays in position order.
"""
from __future__ import annotations

import math
from typing import Any, Callable, List, Optional, Tuple

import numpy as np


# -- gradients as flat lists of arrays ------------------------------------------------------
def positions_of(workload) -> Tuple[int, ...]:
    p = workload.positions
    return (p,) if isinstance(p, int) else tuple(p)


def as_arrays(grads: Any, workload) -> List[np.ndarray]:
    """The gradients one call returned, as float64 arrays in position order."""
    if isinstance(workload.positions, int):
        grads = (grads,)
    return [np.asarray(g, dtype=np.float64) for g in grads]


def relative_error(got: List[np.ndarray], want: List[np.ndarray], floor: float = 1e-12) -> float:
    """Largest error of any gradient, relative to that gradient's largest entry (or floor)."""
    if len(got) != len(want):
        return math.inf
    worst = 0.0
    for g, w in zip(got, want):
        if g.shape != w.shape:
            return math.inf
        scale = max(float(np.max(np.abs(w), initial=0.0)), floor)
        worst = max(worst, float(np.max(np.abs(g - w), initial=0.0)) / scale)
    return worst


# -- checking the yardstick ------------------------------------------------------------------
FD_STEP = 1e-6


def _shifted(args: tuple, position: int, delta: Any) -> list:
    shifted = list(args)
    shifted[position] = args[position] + delta
    return shifted


def finite_difference_grad(f: Callable, args: tuple, position: int) -> np.ndarray:
    """Central differences of f with respect to args[position], one coordinate at a time."""
    x = args[position]
    if isinstance(x, float):
        h = FD_STEP * max(1.0, abs(x))
        return np.asarray((f(*_shifted(args, position, h)) - f(*_shifted(args, position, -h)))
                          / (2 * h))
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        h = FD_STEP * max(1.0, abs(x[index]))
        bump = np.zeros_like(x)
        bump[index] = h
        grad[index] = (f(*_shifted(args, position, bump))
                       - f(*_shifted(args, position, -bump))) / (2 * h)
    return grad


def check_handwritten(workload) -> Optional[str]:
    """Why the hand-written gradient is wrong, or None.

    Every coordinate on the small instance; one random direction on the benchmark size.
    """
    args = workload.inputs(small=True)
    hand = as_arrays(workload.hand(*args), workload)
    numeric = [finite_difference_grad(workload.function, args, p) for p in positions_of(workload)]
    # a central difference carries a rounding error of about eps * |f| / step, however small
    # the gradient: measure a small gradient's error against a floor that scales with |f|
    floor = 1e-2 * max(1.0, abs(float(workload.function(*args))))
    error = relative_error(hand, numeric, floor)
    if not error <= 1e-6:
        return f"relative error {error:.1e} against finite differences (small instance)"
    args = workload.inputs(small=False)
    hand = as_arrays(workload.hand(*args), workload)
    rng = np.random.default_rng(1)
    directions = [rng.normal(size=np.shape(args[p])) for p in positions_of(workload)]
    plus, minus = list(args), list(args)
    for p, d in zip(positions_of(workload), directions):
        d = float(d) if isinstance(args[p], float) else d
        plus[p] = args[p] + FD_STEP * d
        minus[p] = args[p] - FD_STEP * d
    numeric = (workload.function(*plus) - workload.function(*minus)) / (2 * FD_STEP)
    analytic = sum(float(np.sum(g * d)) for g, d in zip(hand, directions))
    if not abs(numeric - analytic) <= 1e-5 * max(abs(numeric), abs(analytic), 1e-8):
        return (f"directional derivative {analytic:.10g}, finite differences say "
                f"{numeric:.10g} (benchmark size)")
    return None
