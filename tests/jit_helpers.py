"""Helpers in a module of their own, called by functions of tests/cases_jit.py that are
differentiated with ``jit=True``: a step that reads this module's data (``GAIN``, read on
each call), a helper that calls another, and one that branches."""
import numpy as np

GAIN = 0.3


def damped(v):
    return np.tanh(v) * GAIN + v * 0.5


def spring(x, k):
    force = -k * damped(x)
    return x + 0.1 * force


def clipped(v):
    if v > 1.0:
        return 1.0 + 0.1 * (v - 1.0)
    return v * v
