"""Helpers that generated gradient code calls at run time.

This module is the hot path: every function here is small, does a cheap type or shape check
first, and never copies what it does not have to. The transformer only emits a call to a
helper where it could not decide the answer at transform time.
"""
from __future__ import annotations

import numpy as np

_ndarray = np.ndarray
_generic = np.generic


def ones_like(value):
    """The seed cotangent of an output: ones with its shape and dtype (a pytree of ones)."""
    kind = type(value)
    if kind is float or kind is int or kind is bool:
        return 1.0
    if kind is _ndarray or isinstance(value, _generic):
        return np.ones_like(value)
    if kind is tuple or kind is list:
        return kind(ones_like(v) for v in value)
    if kind is dict:
        return {k: ones_like(v) for k, v in value.items()}
    return np.ones_like(value)


def zeros_like(value):
    """A zero cotangent for ``value``; containers get mutable containers of zeros."""
    kind = type(value)
    if kind is float or kind is int or kind is bool:
        return 0.0
    if kind is _ndarray:
        if value.dtype.kind in "fc":
            return np.zeros_like(value)
        return np.zeros(value.shape)
    if isinstance(value, _generic):
        return value.dtype.type(0) if value.dtype.kind in "fc" else 0.0
    if kind is tuple or kind is list:
        return [zeros_like(v) for v in value]
    if kind is dict:
        return {k: zeros_like(v) for k, v in value.items()}
    if isinstance(value, _ndarray):
        return np.zeros(value.shape, value.dtype if value.dtype.kind in "fc" else float)
    return 0.0


def add(a, b):
    """``a + b`` for cotangents that may be pytrees (``None`` stands for zero)."""
    if a is None:
        return b
    if b is None:
        return a
    kind = type(a)
    if kind is list or kind is tuple:
        return [add(x, y) for x, y in zip(a, b)]
    if kind is dict:
        out = dict(a)
        for k, v in b.items():
            out[k] = add(out.get(k), v)
        return out
    return a + b


def _is_basic_index(key) -> bool:
    kind = type(key)
    if kind is int or kind is slice or key is None or key is Ellipsis:
        return True
    if kind is tuple:
        for k in key:
            t = type(k)
            if not (t is int or t is slice or k is None or k is Ellipsis):
                return False
        return True
    return isinstance(key, (np.integer,))


def add_at(buffer, key, value):
    """``buffer[key] += value`` that also accumulates repeated indices and pytree items.

    ``buffer`` is a cotangent owned by the generated code (never a user's array).
    """
    if type(buffer) is _ndarray:
        if _is_basic_index(key):
            buffer[key] += value
        else:
            np.add.at(buffer, key, value)
    else:
        buffer[key] = add(buffer[key], value)
    return buffer


def own(cotangent, primal):
    """A private copy of a cotangent that generated code is about to update in place."""
    kind = type(cotangent)
    if kind is _ndarray:
        return cotangent.copy()
    if kind is list or kind is tuple:
        return [own(c, p) for c, p in zip(cotangent, primal)]
    if kind is dict:
        return {k: own(c, primal[k]) for k, c in cotangent.items()}
    if kind is float or isinstance(cotangent, _generic):
        # a scalar zero standing for a whole cotangent: make it the primal's shape
        full = zeros_like(primal)
        if type(full) is _ndarray:
            full += cotangent
        return full
    return cotangent


def restructure(cotangent, primal):
    """Give a pytree cotangent the container types of its primal (lists back to tuples)."""
    kind = type(primal)
    if kind is tuple:
        return tuple(restructure(c, p) for c, p in zip(cotangent, primal))
    if kind is list:
        return [restructure(c, p) for c, p in zip(cotangent, primal)]
    if kind is dict:
        return {k: restructure(cotangent[k], p) for k, p in primal.items()}
    return cotangent
