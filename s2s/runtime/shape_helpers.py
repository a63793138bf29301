"""Plain functions that the rules of NumPy's array-manipulation functions call from
generated gradient code: the layouts and index maps that tell a cotangent where each entry
of the result came from.

Like ``numpy_helpers``, they use only numpy and are plain top-level functions, so that a
standalone generated module can carry a copy. Most return shapes or axes (the arithmetic
stays in the rules, in NumPy calls that have rules of their own); the few that return a
cotangent say so.

    y = np.rollaxis(x, 2, 0)     ->    dx = np.moveaxis(dy, rollaxis_destination(2, 0, 3), 2)
"""
from __future__ import annotations

import numpy as np

from s2s.runtime.numpy_helpers import match_dtype


def rollaxis_destination(axis, start, ndim):
    """Where ``np.rollaxis(x, axis, start)`` puts ``axis``, as ``np.moveaxis`` counts."""
    axis = axis % ndim
    if start < 0:
        start += ndim
    return start if start <= axis else start - 1


def padding_along(axis, ndim, before, after):
    """``np.pad`` widths that add ``before`` and ``after`` entries along ``axis`` only."""
    widths = [(0, 0)] * ndim
    widths[axis % ndim] = (before, after)
    return widths


def diff_cuts(a, axis, prepend, append):
    """Where the operand of ``np.diff(a, prepend=, append=)`` changes from ``prepend`` to
    ``a`` and from ``a`` to ``append``, along ``axis`` (a scalar counts one entry)."""
    axis = axis % np.ndim(a)
    before = 0 if prepend is None else (1 if np.ndim(prepend) == 0 else np.shape(prepend)[axis])
    return [before, before + np.shape(a)[axis]]


def zeros_unless_absent(edge, dtype):
    """Zeros shaped like ``np.diff``'s ``prepend`` or ``append``; NumPy's own default when
    it was not given (None), so that the tangent is cut like the result."""
    return np._NoValue if edge is None else np.zeros(np.shape(edge), dtype)


def kron_blocks(a, b):
    """The shape that lays ``np.kron(a, b)`` out as (a0, b0, a1, b1, ...): entry
    ``[i0, k0, i1, k1, ...]`` is ``a[i0, i1, ...] * b[k0, k1, ...]``. The operand with fewer
    axes counts as having leading axes of length 1."""
    shape_a, shape_b = np.shape(a), np.shape(b)
    ndim = max(len(shape_a), len(shape_b))
    shape_a = (1,) * (ndim - len(shape_a)) + shape_a
    shape_b = (1,) * (ndim - len(shape_b)) + shape_b
    return tuple(n for pair in zip(shape_a, shape_b) for n in pair)


def kron_axes(a, b, operand):
    """The axes of the ``kron_blocks`` layout that belong to ``operand`` (0 for a, 1 for b)."""
    ndim = max(np.ndim(a), np.ndim(b))
    return tuple(range(operand, 2 * ndim, 2))


def padded_shape(x, ndim):
    """``x``'s shape with leading axes of length 1 up to ``ndim`` axes."""
    shape = np.shape(x)
    return (1,) * (ndim - len(shape)) + shape


def atleast_adjoint(g, arys):
    """Cotangents of the arrays of ``np.atleast_1d(*arys)`` (or 2d, 3d): ``g`` reshaped back
    to each array's shape. With several arrays the result, and ``g``, is a list, whose
    items may be None or 0 for zeros."""
    if len(arys) == 1:
        g = [g]
    return [np.zeros(np.shape(x)) if gi is None or np.size(gi) != np.size(x)
            else match_dtype(np.reshape(gi, np.shape(x)), x) for gi, x in zip(g, arys)]
