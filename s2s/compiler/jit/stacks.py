"""The saved values of a counted loop, as the Numba dialect writes them (plain Python here).

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
"""
from __future__ import annotations


def saves(like, count):
    """Storage for ``count`` values of the kind of ``like``, one per step of a loop."""
    return []


def push(saved, step, value):
    """Save ``value`` for step ``step`` (steps come in order 0, 1, ...)."""
    saved.append(value)
