"""What the Numba dialect's code calls (plain Python here): the saved values of a counted
loop, and sums over several axes.

A loop whose trip count is known before it starts (``for _ in range(n)``, ``for row in xs``)
saves the values its reverse sweep needs into storage made once, before the loop, and read
back by the step index instead of popped:

    y_stack = []                                 y_stack = saves(y, len(range_2))
    for _ in range_2:                            for step, _ in enumerate(range_2):
        y_stack.append(y)               ->           push(y_stack, step, y)
        ...                                          ...
    for y in reversed(y_stack):                  for step in range(len(y_stack) - 1, -1, -1):
        ...                                          y = y_stack[step]

Under Numba (``overloads.py``) the values are saved in one array made before the loop
(numbers of a type, or arrays of a shape and type, one row per step); these Python versions, which a module written by ``s2s convert
--target numba`` also runs without Numba, keep a list.

Numba's ``sum`` takes one axis, without ``keepdims``: a sum over several (what the gradient
of a broadcast becomes where shapes are known) is written ``sum_axes``, whose Numba version
sums them one by one:

    g.sum(axis=(0, 2), keepdims=True)   ->   sum_axes(g, (0, 2), True)
"""
from __future__ import annotations

import numpy as np


def saves(like, count):
    """Storage for ``count`` values of the kind of ``like``, one per step of a loop."""
    return []


def push(saved, step, value):
    """Save ``value`` for step ``step`` (steps come in order 0, 1, ...)."""
    saved.append(value)


def sum_axes(a, axes, keepdims):
    """``a`` summed over ``axes`` (a tuple of ints), the summed axes kept with length 1 if
    ``keepdims``."""
    return np.sum(a, axis=axes, keepdims=keepdims)
