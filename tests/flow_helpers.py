"""User functions in a module of their own, called by the cases in cases_flow.py.

Calls across modules must resolve each callee's free names in the callee's globals, not the
caller's: ``SHIFT`` below also exists in cases_flow.py with another value.
"""
import numpy as np

SHIFT = 0.5


def square(v):
    return v * v


def scaled_sin(v, scale):
    return np.sin(v) * scale


def affine(v, scale=2.0, shift=SHIFT):
    return v * scale + shift


def shifted(v):
    return v + SHIFT


def sin_cos(v):
    return np.sin(v), np.cos(v)


def sum_of_products(*values):
    total = 0.0
    for v in values:
        total = total + v * v
    return total


def forward_args(*args):
    """Passes its positional arguments on unchanged."""
    return scaled_sin(*args)


def forward_kwargs(v, **kwargs):
    """Passes its keyword arguments on unchanged."""
    return affine(v, **kwargs)


def power(v, n):
    """v ** n by recursion on the integer n."""
    if n == 0:
        return v * 0.0 + 1.0
    return v * power(v, n - 1)


def leaky(v):
    """Branches on its (possibly active) scalar argument."""
    if v > 0:
        return v * 1.5
    return v * 0.1


def soft_clip(v, limit):
    """Branches with several returns, one of them early."""
    if v > limit:
        return limit + np.tanh(v - limit)
    elif v < -limit:
        return -limit + np.tanh(v + limit)
    return v


def repeat_sin(v, n):
    for _ in range(n):
        v = np.sin(v) + v * 0.5
    return v


def chained(v):
    """A helper that calls helpers."""
    return square(scaled_sin(v, 3.0)) + leaky(v)


def apply(f, v):
    return f(v)


class Scaler:
    """An object whose method and ``__call__`` are differentiated as user code."""

    def __init__(self, factor):
        self.factor = factor

    def apply(self, v):
        return np.tanh(v * self.factor)

    def __call__(self, v):
        return v * self.factor + np.sin(v)


SCALER = Scaler(1.5)
