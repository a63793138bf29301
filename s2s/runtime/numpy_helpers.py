"""Plain functions that the NumPy rule templates call from generated gradient code.

Every function here takes cotangents and primal values and returns a cotangent. They sit in
the hot path of generated code: the common ones (``unbroadcast``, ``match_dtype``,
``expand_reduced``) compare shapes or dtypes first and return their input untouched when
there is nothing to do. They use only numpy, and each is a plain top-level function with
readable source, so that a standalone generated module can carry a copy.

Cotangents returned here may share memory with their inputs (``unbroadcast`` hands back ``g``
itself when the shapes already match) or be read-only broadcast views (``expand_reduced``):
code that updates a cotangent in place must own it first.

Example, the rule of ``np.multiply`` with a broadcast operand::

    x1.shape == (3, 1), x2.shape == (4,), dresult.shape == (3, 4)
    dx1 = unbroadcast(dresult * x2, x1)        # summed over axis 1, shape (3, 1)
"""
from __future__ import annotations

import string

import numpy as np

_ndarray = np.ndarray
_REAL = np.dtype(float)


# --- shapes and dtypes -----------------------------------------------------------------

def other_library(value) -> bool:
    """Is ``value`` an array of another library (Dask, CuPy) that NumPy's functions dispatch
    to? Helpers must not ``np.asarray`` it: that would pull its data into NumPy (for Dask,
    compute it)."""
    return hasattr(type(value), "__array_function__") and not isinstance(value, _ndarray)


def match_dtype(g, x):
    """``g`` cast to ``x``'s floating dtype when they differ (``x`` an array or NumPy scalar).

    A float32 input gets a float32 cotangent even where the primal promoted to float64, and
    a real input the real part of a complex cotangent (the cotangent of a real value is real).
    Integer and Python-number inputs leave ``g`` alone, but for that real part.
    """
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        if type(x) is float and (type(g) is complex or getattr(g, "dtype", _REAL).kind == "c"):
            return np.real(g)
        return g
    g_dtype = getattr(g, "dtype", None)
    if g_dtype is dtype or dtype.kind not in "fc" or g_dtype == dtype:
        return g
    if dtype.kind == "f" and (type(g) is complex or g_dtype is not None and g_dtype.kind == "c"):
        g = np.real(g)
    if isinstance(g, np.ndarray) or other_library(g):
        return g.astype(dtype)
    return dtype.type(g)


def unbroadcast(g, x):
    """Sum the cotangent ``g`` down to ``np.shape(x)``, undoing NumPy broadcasting.

    Returns ``g`` itself when the shapes (and dtypes) already match.
    """
    if type(x) is tuple and len(x) == 2 and isinstance(x[1], np.dtype):
        shape, dtype = x        # all the reverse sweep kept of x (a tuple literal is data)
        if type(g) is _ndarray and g.shape == shape and g.dtype is dtype:
            return g
        x = np.empty(0, dtype)
    elif type(g) is _ndarray and type(x) is _ndarray and g.shape == x.shape \
            and g.dtype is x.dtype:
        return g                # the common case, decided with four attribute reads
    elif type(x) is float or type(x) is np.float64:
        if type(g) is float or type(g) is np.float64:
            return g            # two plain numbers
        shape = ()
    else:
        shape = np.shape(x)
    if np.shape(g) != shape:
        if not other_library(g):
            g = np.asarray(g)
        extra = g.ndim - len(shape)
        if extra:
            g = g.sum(axis=tuple(range(extra)))
        stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
        if stretched:
            g = g.sum(axis=stretched, keepdims=True)
    return match_dtype(g, x)


def size_of(x):
    """``np.size(x)``, read off the array itself where it is one: Dask does not implement
    ``np.size`` and would compute the whole array to answer it."""
    size = getattr(x, "size", None)
    return np.size(x) if size is None else size


def normalize_axes(axis, ndim):
    """The axes a reduction with ``axis`` runs over, as a sorted tuple of non-negative ints."""
    if axis is None or ndim == 0:      # NumPy lets a 0-d array be reduced over axis 0
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(sorted(a % ndim for a in axis))
    return (axis % ndim,)


def restore_reduced_axes(g, x, axis, keepdims):
    """Give a reduction's cotangent back the reduced axes of ``x``, with size 1, so that it
    broadcasts against ``x``.

    ``np.sum(x, axis=1)`` of a (2, 3, 4) array has shape (2, 4); its cotangent becomes
    (2, 1, 4). A full reduction's scalar cotangent already broadcasts and is left alone.
    """
    if keepdims or axis is None:
        return g
    return np.expand_dims(g, normalize_axes(axis, np.ndim(x)))


def expand_reduced(g, x, axis, keepdims):
    """The cotangent of ``x`` in a sum over ``axis``: ``g`` broadcast back to ``x``'s shape.

    The result is a read-only broadcast view, in ``x``'s floating dtype.
    """
    if type(x) is tuple and len(x) == 2 and isinstance(x[1], np.dtype):
        # (shape, dtype): all the reverse sweep kept of x (a tuple literal is data)
        x = np.broadcast_to(np.empty((), x[1]), x[0])
    g = match_dtype(restore_reduced_axes(g, x, axis, keepdims), x)
    shape = np.shape(x)
    if axis is None and np.ndim(g) == 0 and not other_library(g):
        # a scalar repeated with zero strides: what broadcast_to makes, without its overhead
        g = np.asarray(g)
        view = np.ndarray(shape, g.dtype, buffer=g, strides=(0,) * len(shape))
        view.flags.writeable = False
        return view
    return np.broadcast_to(g, shape)


def inverse_permutation(axes, ndim):
    """The axes that undo ``np.transpose(x, axes)`` for an ``x`` with ``ndim`` dimensions."""
    return tuple(np.argsort([a % ndim for a in axes]))


# --- elementwise -------------------------------------------------------------------------

def power_dbase(x1, x2):
    """d(x1 ** x2)/dx1 = x2 * x1 ** (x2 - 1), taken as 0 where x2 == 0, even at x1 == 0.

    Lowering the exponent to 1 where it is 0 keeps ``x ** 0`` from giving 0 * inf = nan at 0;
    ``x ** 2`` at 0 gives 2 * 0 ** 1 = 0 with no special case.
    """
    if np.ndim(x2) == 0:
        if x2 == 0:
            return x2 * np.power(x1, x2)
        return x2 * np.power(x1, x2 - 1)
    # (cast: np.where makes an array of a Python number, which would promote a float32 x2)
    partial = x2 * np.power(x1, np.where(x2 == 0, 1, x2 - 1))
    dtype = np.result_type(x1, x2)
    return partial.astype(dtype) if dtype.kind == "f" and partial.dtype != dtype else partial


def power_dexponent(x1, result):
    """d(x1 ** x2)/dx2 = log(x1) * x1 ** x2, defined for x1 > 0.

    At x1 == 0 it is taken as 0 (the limit for a positive exponent, where the result is 0).
    For x1 < 0 the real derivative does not exist, and the answer is nan with a warning.
    """
    return match_dtype(result * np.log(np.where(x1 == 0, 1, x1)), result)


def extremum_share(g, x, other, result):
    """The part of ``g`` owed to ``x`` in a binary max or min: all of it where ``x`` is the
    result, half where ``x`` and ``other`` tie, none where ``other`` won.

    Working from ``result`` covers maximum, minimum, fmax and fmin, and gives NaNs no share.
    """
    return np.where(x == result, np.where(other == result, 0.5 * g, g), 0.0)


def share_among_args(g, result, args):
    """Cotangents of Python's ``max(*args)`` or ``min(*args)``, one per argument: ``g`` split
    evenly among the arguments equal to the result. With a single argument, the items of
    that iterable (a list or a 1-D array) share it, and the one cotangent is a list or array."""
    items = args[0] if len(args) == 1 else args
    if isinstance(items, np.ndarray):
        hits = items == result
        shares = hits * (g / int(np.count_nonzero(hits)))
    else:
        hits = [item == result for item in items]
        share = g / sum(hits)
        shares = [share * hit for hit in hits]
    return [shares] if len(args) == 1 else shares


def split_sum(g, items):
    """Cotangents of the items of Python's ``sum(items)``: ``g`` unbroadcast to each item.
    An array is summed over its first axis, so it gets ``g`` repeated along that axis."""
    if isinstance(items, np.ndarray):
        return match_dtype(np.broadcast_to(g, items.shape), items)
    return [unbroadcast(g, item) for item in items]


# --- reductions --------------------------------------------------------------------------

def share_among_extrema(g, x, result, axis, keepdims):
    """Cotangent of ``x`` for ``result = x.max(axis)`` (or min): ``g`` split evenly among
    the entries equal to the extremum, zero elsewhere."""
    if not other_library(x):
        x = np.asarray(x)
    hits = x == restore_reduced_axes(result, x, axis, keepdims)
    count = np.sum(hits, axis=axis, keepdims=True, dtype=x.dtype)
    return hits * (restore_reduced_axes(match_dtype(g, x), x, axis, keepdims) / count)


def product_of_others(x, axes):
    """For each entry of ``x``, the product of the other entries along ``axes``.

    Built from exclusive cumulative products from both ends, so zeros are exact.
    """
    if not other_library(x):
        x = np.asarray(x)
    last = tuple(range(x.ndim - len(axes), x.ndim))
    moved = np.moveaxis(x, axes, last)
    flat = moved.reshape(moved.shape[:x.ndim - len(axes)] + (-1,))
    ones = np.ones_like(flat[..., :1])
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return np.moveaxis((before * after).reshape(moved.shape), last, axes)


def prod_adjoint(g, x, result, axis, keepdims):
    """Cotangent of ``x`` for ``result = np.prod(x, axis)``: ``g`` times the product of the
    other entries; dividing ``result`` by ``x`` when no entry is zero."""
    g = restore_reduced_axes(g, x, axis, keepdims)
    # (another library's x, as Dask's, would be computed to decide)
    if not other_library(x) and np.all(x):
        return match_dtype(g * (restore_reduced_axes(result, x, axis, keepdims) / x), x)
    return match_dtype(g * product_of_others(x, normalize_axes(axis, np.ndim(x))), x)


def reverse_cumsum(g, axis):
    """``g`` summed from the end along ``axis``: the adjoint of ``np.cumsum``."""
    return np.flip(np.cumsum(np.flip(g, axis), axis), axis)


def cumprod_adjoint(g, x, result, axis):
    """Cotangent of ``x`` for ``result = np.cumprod(x, axis)`` (``axis`` an int).

    Without zeros: reverse cumulative sum of ``g * result``, divided by ``x``. With zeros (and
    on another library's arrays, which would be computed to tell), each position is redone
    with that entry replaced by 1 (quadratic, but exact, and built of dispatching calls).
    """
    if not other_library(x):
        x = np.asarray(x)
        if np.all(x):
            return match_dtype(reverse_cumsum(g * result, axis) / x, x)
    moved = np.moveaxis(x, axis, -1)
    g = np.moveaxis(g, axis, -1)
    positions = np.arange(moved.shape[-1])
    # entry i: the sum over j >= i of g_j times the product of x_0..x_j without x_i
    columns = [np.sum(np.where(positions >= i, g * np.cumprod(
        np.where(positions == i, 1, moved), axis=-1), 0), axis=-1) for i in positions]
    out = np.stack(columns, -1) if columns else g * moved
    return match_dtype(np.moveaxis(out, -1, axis), x)


# --- shapes --------------------------------------------------------------------------------

def split_like(g, arrays, axis):
    """Cut ``g`` along ``axis`` into one cotangent per array that was joined into it.

    An array with fewer dimensions than ``g`` (as np.vstack promotes 1-D rows) takes one
    slice; ``axis=None`` means ``g`` is the flat concatenation of the raveled arrays.
    """
    if np.ndim(g) == 0:
        # a number: the zero of an overwritten list slot, the same for every piece
        return [match_dtype(np.full(np.shape(a), g), a) for a in arrays]
    if axis is None:
        g = np.ravel(g)
        sizes = [size_of(a) for a in arrays]
        axis = 0
    else:
        ndim = np.ndim(g)
        sizes = [np.shape(a)[axis] if np.ndim(a) == ndim else 1 for a in arrays]
    pieces = _split_at(g, np.cumsum(sizes)[:-1], axis)
    out = [match_dtype(np.reshape(p, np.shape(a)), a) for p, a in zip(pieces, arrays)]
    if isinstance(arrays, np.ndarray):      # the rows of one array: its cotangent is one too
        return match_dtype(np.stack(out) if out else np.zeros(np.shape(arrays)), arrays)
    return out


def _split_at(g, cuts, axis):
    """``np.split(g, cuts, axis)`` by slicing, which every array library has (Dask has no
    ``np.split``): the pieces of ``g`` between the indexes ``cuts`` along ``axis``."""
    before = (slice(None),) * (axis % np.ndim(g))
    bounds = [None] + [int(c) for c in cuts] + [None]
    return [g[before + (slice(start, stop),)] for start, stop in zip(bounds, bounds[1:])]


def hstack_adjoint(g, tup):
    """Cotangents of the arrays of ``np.hstack(tup)``, joined along axis 0 when 1-D, else 1."""
    return split_like(g, tup, 0 if np.ndim(g) == 1 else 1)


def unstack(g, arrays, axis):
    """One cotangent per array of ``np.stack(arrays, axis)``: the slices of ``g`` along axis."""
    return [match_dtype(p, a) for p, a in zip(np.moveaxis(g, axis, 0), arrays)]


def unblock(g, arrays):
    """Cotangent of ``np.block(arrays)``: ``g`` cut back into the nested blocks, one
    cotangent per item in the same nesting. The innermost lists were joined along the
    last axis, the lists around them along the axis before, and so on; items were promoted
    to the result's number of dimensions by leading axes of length 1."""
    depth, probe = 0, arrays
    while isinstance(probe, list):
        depth, probe = depth + 1, probe[0] if probe else None
    ndim = np.ndim(g)

    def size(item, axis):
        shape = np.shape(np.block(item) if isinstance(item, list) else item)
        return shape[axis] if -axis <= len(shape) else 1

    def cut(g, item, level):
        if not isinstance(item, list):
            return match_dtype(np.reshape(g, np.shape(item)), item)
        axis = level - depth
        sizes = [size(sub, axis) for sub in item]
        pieces = _split_at(g, np.cumsum(sizes)[:-1], ndim + axis)
        return [cut(p, sub, level + 1) for p, sub in zip(pieces, item)]

    return cut(g, arrays, 0)


def unpack_like(g, obj):
    """Cotangent of ``np.array(obj)``: ``g`` in ``obj``'s shape; a list or tuple gets a list
    with one cotangent per element (recursively for nested lists)."""
    g = np.reshape(g, np.shape(obj))
    if isinstance(obj, (list, tuple)):
        return [unpack_like(gi, item) for gi, item in zip(g, obj)]
    return match_dtype(g, obj)


# nested lists for nested lists: reverse mode adds into its items as pytrees
unpack_like.__s2s_pytree_result__ = True
# one cotangent per item, in a list (list += would extend it)
for _helper in (split_sum, share_among_args, split_like, hstack_adjoint, unstack, unblock):
    _helper.__s2s_pytree_result__ = True
del _helper


def untile(g, x, reps):
    """Cotangent of ``x`` for ``np.tile(x, reps)``: the sum of ``g`` over all the tiles."""
    shape = np.shape(x)
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    ndim = max(len(shape), len(reps))
    shape_padded = (1,) * (ndim - len(shape)) + shape
    reps_padded = (1,) * (ndim - len(reps)) + reps
    interleaved = [n for pair in zip(reps_padded, shape_padded) for n in pair]
    g = np.reshape(g, interleaved).sum(axis=tuple(range(0, 2 * ndim, 2)))
    return match_dtype(g.reshape(shape), x)


def unrepeat(g, x, repeats, axis):
    """Cotangent of ``x`` for ``np.repeat(x, repeats, axis)``: each entry sums its copies.
    (Other libraries, as Dask, repeat by one integer only: a reshape and a sum.)"""
    if not other_library(x):
        x, g = np.asarray(x), np.asarray(g)
    if axis is None:
        return np.reshape(unrepeat(g, np.ravel(x), repeats, 0), x.shape)
    g = np.moveaxis(g, axis, 0)
    n = x.shape[axis]
    if np.ndim(repeats) == 0 or np.size(repeats) == 1:
        out = g.reshape((n, int(np.ravel(repeats)[0])) + g.shape[1:]).sum(axis=1)
    else:
        out = np.zeros((n,) + g.shape[1:], g.dtype)
        np.add.at(out, np.repeat(np.arange(n), repeats), g)
    return match_dtype(np.moveaxis(out, 0, axis), x)


def untake(g, x, indices, axis):
    """Cotangent of ``x`` for ``np.take(x, indices, axis)``; repeated indices accumulate."""
    shape = np.shape(x)
    out = np.zeros(shape, np.result_type(g, x))
    if axis is None:
        np.add.at(out.reshape(-1), indices, g)
    else:
        np.add.at(out, (slice(None),) * (axis % len(shape)) + (indices,), g)
    return match_dtype(out, x)


def diag_adjoint(g, v, k):
    """Cotangent of ``v`` for ``np.diag(v, k)``: the k-th diagonal of ``g`` when ``v`` is a
    vector; ``g`` laid on the k-th diagonal of zeros shaped like ``v`` when it is a matrix."""
    if np.ndim(v) == 1:
        return match_dtype(np.diag(g, k), v)
    # the square matrix with g on its diagonal, padded with zeros to the k-th diagonal of v's
    # shape (dispatching calls, no item set: lazy on Dask)
    (rows, columns), n = np.shape(v), np.shape(g)[0]
    top, left = min(max(-k, 0), rows), min(max(k, 0), columns)      # (past the corner: n 0)
    return match_dtype(np.pad(np.diag(g), ((top, rows - n - top), (left, columns - n - left))),
                       v)


# --- linear algebra ------------------------------------------------------------------------

def matrix_transpose(x):
    """Swap the last two axes (a stack of matrices transposed)."""
    return np.swapaxes(x, -1, -2)


def matmul_adjoint_x1(g, x1, x2):
    """Cotangent of ``x1`` in ``x1 @ x2``, for 1-D, 2-D and broadcast batched operands."""
    if type(x1) is _ndarray and type(x2) is _ndarray and x1.ndim == 2 and x2.ndim == 2:
        return unbroadcast(g @ x2.T, x1)
    if np.ndim(x2) == 1:
        d = np.multiply.outer(g, x2)
    elif np.ndim(x1) == 1:
        d = np.matmul(x2, np.expand_dims(g, -1))[..., 0]
    else:
        d = np.matmul(g, matrix_transpose(x2))
    return unbroadcast(d, x1)


def matmul_adjoint_x2(g, x1, x2):
    """Cotangent of ``x2`` in ``x1 @ x2``, for 1-D, 2-D and broadcast batched operands."""
    if type(x1) is _ndarray and type(x2) is _ndarray and x1.ndim == 2 and x2.ndim == 2:
        return unbroadcast(x1.T @ g, x2)
    if np.ndim(x1) == 1:
        if np.ndim(x2) == 1:
            d = g * x1
        else:
            d = np.expand_dims(x1, -1) * np.expand_dims(g, -2)
    elif np.ndim(x2) == 1:
        d = np.matmul(matrix_transpose(x1), np.expand_dims(g, -1))[..., 0]
    else:
        d = np.matmul(matrix_transpose(x1), g)
    return unbroadcast(d, x2)


def _as_array(value):
    """A list or tuple operand as the array NumPy makes of it; anything else unchanged."""
    return np.asarray(value) if isinstance(value, (list, tuple)) else value


def dot_adjoint_a(g, a, b):
    """Cotangent of ``a`` in ``np.dot(a, b)``: scalars, matrices, and N-D ``dot`` (which sums
    the last axis of ``a`` with the second-to-last of ``b``, with no batch broadcasting).
    Lists (``np.dot([x, 1.0], v)``) count as the arrays NumPy makes of them."""
    a, b = _as_array(a), _as_array(b)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        return matmul_adjoint_x1(g, a, b)
    b_axis = max(np.ndim(b) - 2, 0)
    b_free = [i for i in range(np.ndim(b)) if i != b_axis]
    return match_dtype(np.tensordot(g, b, axes=(list(range(np.ndim(a) - 1, np.ndim(g))), b_free)), a)


def dot_adjoint_b(g, a, b):
    """Cotangent of ``b`` in ``np.dot(a, b)``; see ``dot_adjoint_a``."""
    a, b = _as_array(a), _as_array(b)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        return matmul_adjoint_x2(g, a, b)
    a_free = list(range(np.ndim(a) - 1))
    summed = np.tensordot(a, g, axes=(a_free, a_free))
    return match_dtype(np.moveaxis(summed, 0, max(np.ndim(b) - 2, 0)), b)


def inner_adjoint(g, x, other, x_is_first):
    """Cotangent of one operand of ``np.inner(a, b)`` (sums the last axes of both); the
    result's axes are ``a``'s free axes followed by ``b``'s."""
    if np.ndim(x) == 0 or np.ndim(other) == 0:
        return unbroadcast(g * other, x)
    if x_is_first:
        g_axes = list(range(np.ndim(x) - 1, np.ndim(g)))
    else:
        g_axes = list(range(np.ndim(other) - 1))
    return match_dtype(np.tensordot(g, other, axes=(g_axes, list(range(np.ndim(other) - 1)))), x)


def _tensordot_axes(axes, a_ndim, b_ndim):
    """``np.tensordot``'s ``axes`` as two lists of non-negative axes: summed in a, in b."""
    if np.ndim(axes) == 0:
        return list(range(a_ndim - axes, a_ndim)), list(range(axes))
    a_axes, b_axes = axes
    a_axes = [a_axes] if np.ndim(a_axes) == 0 else list(a_axes)
    b_axes = [b_axes] if np.ndim(b_axes) == 0 else list(b_axes)
    return [i % a_ndim for i in a_axes], [i % b_ndim for i in b_axes]


def tensordot_adjoint_a(g, a, b, axes):
    """Cotangent of ``a`` in ``np.tensordot(a, b, axes)``."""
    a_axes, b_axes = _tensordot_axes(axes, np.ndim(a), np.ndim(b))
    a_free = [i for i in range(np.ndim(a)) if i not in a_axes]
    b_free = [i for i in range(np.ndim(b)) if i not in b_axes]
    g_b_part = list(range(len(a_free), np.ndim(g)))
    summed = np.tensordot(g, b, axes=(g_b_part, b_free))
    # summed has a's free axes, then a's summed axes in the order of their partners in b
    order = a_free + [a_axes[i] for i in np.argsort(b_axes)]
    return match_dtype(np.transpose(summed, np.argsort(order)), a)


def tensordot_adjoint_b(g, a, b, axes):
    """Cotangent of ``b`` in ``np.tensordot(a, b, axes)``."""
    a_axes, b_axes = _tensordot_axes(axes, np.ndim(a), np.ndim(b))
    a_free = [i for i in range(np.ndim(a)) if i not in a_axes]
    b_free = [i for i in range(np.ndim(b)) if i not in b_axes]
    summed = np.tensordot(a, g, axes=(a_free, list(range(len(a_free)))))
    # summed has b's summed axes in the order of their partners in a, then b's free axes
    order = [b_axes[i] for i in np.argsort(a_axes)] + b_free
    return match_dtype(np.transpose(summed, np.argsort(order)), b)


_EINSUM_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum_string_form(subscripts, operands):
    """``np.einsum``'s arguments in the string form: (subscripts, arrays, where each array sat
    in ``operands``). The sublist form ``np.einsum(a, [0, 1], b, [1, 2], [0, 2])`` is
    ``np.einsum('ab,bc->ac', a, b)``; the array passed first sits before ``operands`` (-1)."""
    if isinstance(subscripts, str):
        return subscripts, list(operands), list(range(len(operands)))
    arguments = [subscripts] + list(operands)

    def term(sublist):
        return "".join("..." if s is Ellipsis else _EINSUM_LETTERS[s] for s in sublist)

    count = len(arguments) // 2
    spec = ",".join(term(arguments[2 * i + 1]) for i in range(count))
    if len(arguments) % 2:
        spec += "->" + term(arguments[-1])
    return spec, arguments[0:2 * count:2], [2 * i - 1 for i in range(count)]


def _einsum_parts(subscripts):
    """Split einsum subscripts into input terms and the output term (implicit mode too)."""
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        inputs, output = subscripts.split("->")
        return inputs.split(","), output
    inputs = subscripts.split(",")
    letters = [c for term in inputs for c in term if c != "."]
    once = sorted(c for c in set(letters) if letters.count(c) == 1)
    ellipsis = "..." if "..." in subscripts else ""
    return inputs, ellipsis + "".join(once)


def _letter_sizes(term, shape):
    """Map each letter of one einsum input term to its axis length (``...`` may sit inside)."""
    if "..." in term:
        head, tail = term.split("...")
        pairs = list(zip(head, shape)) + list(zip(tail, shape[len(shape) - len(tail):]))
    else:
        pairs = list(zip(term, shape))
    return dict(pairs)


def einsum_adjoints(g, subscripts, operands):
    """One cotangent per operand of ``np.einsum(subscripts, *operands)``.

    The cotangent of operand i is itself an einsum: of ``g`` and the other operands, into
    operand i's term. Letters that only operand i has (summed over inside it) come from a
    vector of ones; a repeated letter (a diagonal, as in ``'ii->'``) is written through
    einsum's writeable diagonal view into zeros. Broadcast ``...`` axes are summed back.

    In the sublist form the list is aligned with ``operands`` (None for the sublists), and
    the array passed first has its cotangent from ``shape_helpers.einsum_first_adjoint``.
    """
    if not isinstance(subscripts, str):
        spec, arrays, places = _einsum_string_form(subscripts, operands)
        cotangents = [None] * len(operands)
        for place, d in zip(places, einsum_adjoints(g, spec, arrays)):
            if place >= 0:
                cotangents[place] = d
        return cotangents
    inputs, output = _einsum_parts(subscripts)
    cotangents = []
    for i, (term, x) in enumerate(zip(inputs, operands)):
        others = [t for j, t in enumerate(inputs) if j != i]
        other_ops = [op for j, op in enumerate(operands) if j != i]
        # '...' counts once: collapse it to one mark while removing repeated letters
        unique = "".join(dict.fromkeys(term.replace("...", "*"))).replace("*", "...")
        seen = set(output + "".join(others))
        sizes = _letter_sizes(term, np.shape(x))
        ones_terms = [c for c in unique if c != "." and c not in seen]
        ones = [np.ones(sizes[c], np.result_type(g)) for c in ones_terms]
        # einsum will not sum '...' away by itself: an operand without one gets it in front,
        # summed below
        spread = "..." if "..." not in unique and "..." in "".join(others + [output]) else ""
        spec = ",".join(others + [output] + ones_terms) + "->" + spread + unique
        d = np.einsum(spec, *other_ops, g, *ones)
        if spread:
            d = np.sum(d, axis=tuple(range(np.ndim(d) - len(unique))))
        if "..." in unique:
            d = _own_ellipsis(d, unique, term, np.shape(x))
        if unique != term and other_library(d):
            d = _on_repeated_letters(d, unique, term)
        elif unique != term:
            full = np.zeros(np.shape(x), d.dtype)
            np.einsum(term + "->" + unique, full)[...] = d
            d = full
        cotangents.append(unbroadcast(d, x))
    return cotangents


def _on_repeated_letters(d, unique, term):
    """``d`` (laid out as ``unique``) placed where ``term`` repeats a letter, zeros elsewhere
    ('ii' from 'i': d on the diagonal), as a product with identity matrices: dispatching
    calls only (another library, as Dask, gets no view to write into)."""
    fresh = iter(c for c in string.ascii_letters if c not in term)
    sizes = _letter_sizes(unique, np.shape(d))
    out, eyes, letters, seen = "", [], [], set()
    for c in term.replace("...", "*"):
        if c in seen and c != "*":
            twin = next(fresh)
            eyes.append(np.eye(sizes[c], dtype=bool))
            letters.append(c + twin)
            c = twin
        seen.add(c)
        out += c
    spec = ",".join([unique] + letters) + "->" + out.replace("*", "...")
    return np.einsum(spec, d, *eyes)


einsum_adjoints.__s2s_pytree_result__ = True    # a list: one cotangent per operand


def _own_ellipsis(d, unique, term, shape):
    """Sum ``d`` (laid out as ``unique``) back to the ``...`` axes of an operand of ``shape``
    (laid out as ``term``): the broadcast ``...`` of all operands may have more axes than
    this operand's, or length where this one has 1, and it sits where ``...`` is in the
    term, not in front, so ``unbroadcast`` cannot see it."""
    before = unique.index("...")
    own = len(shape) - len(term.replace("...", ""))
    extra = d.ndim - len(unique.replace("...", "")) - own
    if extra > 0:
        d = d.sum(axis=tuple(range(before, before + extra)))
    start = len(term[:term.index("...")])
    for k in range(own):
        if shape[start + k] == 1 and d.shape[before + k] != 1:
            d = d.sum(axis=before + k, keepdims=True)
    return d


def trace_adjoint(g, x, offset, axis1, axis2):
    """Cotangent of ``x`` for ``np.trace(x, offset, axis1, axis2)``: ``g`` on that diagonal."""
    shape = np.shape(x)
    eye = np.eye(shape[axis1], shape[axis2], k=offset, dtype=np.result_type(g, x))
    d = np.expand_dims(g, (-2, -1)) * eye
    return match_dtype(np.moveaxis(d, (-2, -1), (axis1, axis2)), x)


def cotangent_or_zeros(g, like):
    """The cotangent of one part of a tuple result; ``None`` or a scalar 0 stands for zeros."""
    if g is None:
        return np.zeros_like(like)
    if np.shape(g) == np.shape(like):
        return g
    return np.zeros_like(like) + g


def solve_adjoint_b(g, a, b):
    """``a^-T g``: the cotangent of ``b`` in ``np.linalg.solve(a, b)`` before unbroadcasting.

    As in NumPy 2, ``b`` is a vector (or stack of them) only when it is 1-D.
    """
    if np.ndim(b) == 1:
        return np.linalg.solve(matrix_transpose(a), np.expand_dims(g, -1))[..., 0]
    return np.linalg.solve(matrix_transpose(a), g)


def solve_adjoint_a(gb, result, b):
    """Cotangent of ``a`` in ``result = np.linalg.solve(a, b)`` before unbroadcasting:
    ``-gb result^T``, with ``gb`` from ``solve_adjoint_b``."""
    if np.ndim(b) == 1:
        return -np.expand_dims(gb, -1) * np.expand_dims(result, -2)
    return -np.matmul(gb, matrix_transpose(result))


def norm_adjoint(g, x, result, ord, axis, keepdims):
    """Cotangent of ``x`` for ``result = np.linalg.norm(x, ord, axis, keepdims)``.

    Vector norms: ord None/2, 1, inf, -inf and any other p (0 counts entries: no gradient).
    Matrix norms (2-D ``x`` with ord given, or a 2-tuple ``axis``): 'fro', 'nuc', 1, -1,
    inf, -inf, 2, -2. Ties for a max or min (inf-norms, 1-norms of matrices) share evenly.
    At a zero vector, where no derivative exists, the cotangent is 0 (as for ``abs`` at 0).
    A complex ``x`` gets the conjugate of the derivative (s2s's convention: dL/dRe - 1j dL/dIm).
    """
    x = np.asarray(x)
    if np.iscomplexobj(x):
        return np.conj(_norm_adjoint(np.real(g), x, result, ord, axis, keepdims))
    return _norm_adjoint(g, x, result, ord, axis, keepdims)


def _norm_adjoint(g, x, result, ord, axis, keepdims):
    g = restore_reduced_axes(match_dtype(g, x), x, axis, keepdims)
    r = restore_reduced_axes(result, x, axis, keepdims)
    divisor = r
    if not np.all(r):
        g, divisor = np.where(r == 0, 0.0, g), np.where(r == 0, 1.0, r)
    matrix = (len(axis) == 2) if isinstance(axis, tuple) else (axis is None and ord is not None and x.ndim == 2)
    if ord is None or ord == "fro" or (not matrix and ord == 2):
        return g * (x / divisor)
    if not matrix:
        if ord == 0:
            return np.zeros_like(x)
        if ord in (np.inf, -np.inf):
            hits = np.abs(x) == r
            count = np.sum(hits, axis=axis, keepdims=True, dtype=x.dtype)
            return g * np.sign(x) * hits / count
        # an entry at 0 has no derivative when ord < 1 (an infinite slope): 0 there
        ratio = np.abs(x) / divisor
        return g * np.sign(x) * np.power(ratio, ord - 1, out=np.zeros_like(ratio),
                                         where=ratio != 0)
    rows, cols = (0, 1) if axis is None else tuple(a % x.ndim for a in axis)
    if ord in ("nuc", 2, -2):
        moved = np.moveaxis(x, (rows, cols), (-2, -1))
        u, s, vt = np.linalg.svd(moved, full_matrices=False)
        if ord == "nuc":
            d = np.matmul(u, vt)
        else:
            k = 0 if ord == 2 else -1
            d = np.expand_dims(u[..., :, k], -1) * np.expand_dims(vt[..., k, :], -2)
        return g * np.moveaxis(d, (-2, -1), (rows, cols))
    # 1 / -1: max / min column sum of |x|; inf / -inf: max / min row sum
    along = rows if ord in (1, -1) else cols
    sums = np.sum(np.abs(x), axis=along, keepdims=True)
    hits = sums == r
    count = np.sum(hits, axis=(rows, cols), keepdims=True, dtype=x.dtype)
    return g * np.sign(x) * (hits / count)
