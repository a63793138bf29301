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

from s2s.runtime.numpy_helpers import (_einsum_string_form, einsum_adjoints, match_dtype,
                                       normalize_axes, size_of, unbroadcast, unpack_like)


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


def diff_pieces(a, axis, prepend, append):
    """The indexes of ``prepend``, ``a`` and ``append`` in the operand of ``np.diff(a,
    prepend=, append=)``, along ``axis`` (a scalar counts one entry). Indexing, not
    ``np.split``, cuts the cotangent: every array library has it."""
    axis = axis % np.ndim(a)
    before = 0 if prepend is None else (1 if np.ndim(prepend) == 0 else np.shape(prepend)[axis])
    after = before + np.shape(a)[axis]
    lead = (slice(None),) * axis
    return (lead + (slice(0, before),), lead + (slice(before, after),),
            lead + (slice(after, None),))


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
    return [np.zeros(np.shape(x)) if gi is None or size_of(gi) != size_of(x)
            else match_dtype(np.reshape(gi, np.shape(x)), x) for gi, x in zip(g, arys)]


def unsplit(g, ary, indices_or_sections, axis):
    """Cotangent of ``ary`` for ``np.split(ary, indices_or_sections, axis)`` (or
    ``np.array_split``): the pieces' cotangents ``g`` put back where the pieces were cut
    from (pieces whose cotangent is None, never used, contribute nothing)."""
    shape = np.shape(ary)
    axis = axis % len(shape)
    n = shape[axis]
    if np.ndim(indices_or_sections) == 0:
        size, extra = divmod(n, int(indices_or_sections))
        sizes = [size + 1] * extra + [size] * (int(indices_or_sections) - extra)
        bounds = [int(b) for b in np.cumsum([0] + sizes)]
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    out = np.zeros(shape, np.result_type(ary, 1.0))
    before = (slice(None),) * axis
    for piece, start, stop in zip(g, bounds[:-1], bounds[1:]):
        if piece is not None:
            out[before + (slice(start, stop),)] += piece
    return match_dtype(out, ary)


def untake_along_axis(g, arr, indices, axis):
    """Cotangent of ``arr`` for ``np.take_along_axis(arr, indices, axis)``: each entry of
    ``g`` goes back where it was taken from; repeated indices accumulate."""
    arr_shape = np.shape(arr)
    if axis is None:
        out = np.zeros(int(np.prod(arr_shape)), np.result_type(g, arr))
        np.add.at(out, np.ravel(indices), np.ravel(g))
        return match_dtype(np.reshape(out, arr_shape), arr)
    axis = axis % len(arr_shape)
    out = np.zeros(arr_shape, np.result_type(g, arr))
    # arr and indices broadcast against each other along the other axes
    grid = [np.zeros((1,) * len(arr_shape), int) if n == 1 and d != axis else index
            for d, (n, index) in enumerate(zip(arr_shape, np.ogrid[tuple(
                slice(n) for n in np.shape(g))]))]
    grid[axis] = indices
    np.add.at(out, tuple(grid), g)
    return match_dtype(out, arr)


def select_default_mask(condlist):
    """Where ``np.select(condlist, choicelist, default)`` takes ``default``: no condition
    holds."""
    return ~np.any(np.broadcast_arrays(*condlist), axis=0)


def select_adjoint(g, condlist, choicelist):
    """Cotangents of the choices of ``np.select(condlist, choicelist, default)``: each gets
    ``g`` where its condition is the first that holds."""
    taken = np.zeros(np.shape(g), bool)
    cotangents = []
    for condition, choice in zip(condlist, choicelist):
        first = np.logical_and(condition, ~taken)
        cotangents.append(unbroadcast(np.where(first, g, 0.0), choice))
        taken = taken | first
    return cotangents


def cross_adjoint(g, a, b, axisa, axisb, axisc, axis, operand):
    """Cotangent of ``a`` (``operand`` 0) or ``b`` (1) for ``np.cross(a, b, ...)``.

    <g, a x b> = <a, b x g> = <b, g x a>; 2-vectors count as 3-vectors with a zero third
    component, and two of them give the third component of their product alone."""
    if axis is not None:
        axisa = axisb = axisc = axis
    vectors = [np.moveaxis(np.asarray(a), axisa, -1), np.moveaxis(np.asarray(b), axisb, -1)]
    padded = [np.concatenate([v, np.zeros(v.shape[:-1] + (3 - v.shape[-1],), v.dtype)], -1)
              for v in vectors]
    if vectors[0].shape[-1] == 2 and vectors[1].shape[-1] == 2:
        g = np.stack([np.zeros_like(g), np.zeros_like(g), g], -1)
    else:
        g = np.moveaxis(np.asarray(g), axisc, -1)
    if operand == 0:
        d = np.cross(padded[1], g)
    else:
        d = np.cross(g, padded[0])
    own = vectors[operand]
    d = unbroadcast(d[..., :own.shape[-1]], own)
    return match_dtype(np.moveaxis(d, -1, (axisa, axisb)[operand]), (a, b)[operand])


#: np.pad modes whose padding copies entries of the array, so that the cotangent of each
#: entry is the sum of its copies ("constant" copies none)
_COPYING_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def checked_pad_mode(mode, reflect_type):
    """``mode`` if s2s differentiates ``np.pad`` in it, else a TypeError saying so."""
    if mode not in _COPYING_PAD_MODES or (reflect_type == "odd" and mode in ("reflect",
                                                                             "symmetric")):
        raise TypeError(
            f"s2s differentiates np.pad in the modes {', '.join(_COPYING_PAD_MODES)} (with "
            f"reflect_type='even'); mode={mode!r}"
            + (f", reflect_type={reflect_type!r}" if reflect_type != "even" else "")
            + " has no rule yet: pad with np.concatenate of slices instead")
    return mode


def pad_adjoint(g, array, pad_width, mode, reflect_type):
    """Cotangent of ``array`` for ``np.pad(array, pad_width, mode)``: each entry sums the
    entries of ``g`` that copy it (found by padding the entries' own positions)."""
    mode = checked_pad_mode(mode, reflect_type)
    shape = np.shape(array)
    positions = np.arange(int(np.prod(shape))).reshape(shape)
    if mode == "constant":
        copied = np.pad(positions, pad_width, constant_values=-1)
    else:
        copied = np.pad(positions, pad_width, mode)
    inside = copied >= 0
    d = np.bincount(copied[inside], weights=np.asarray(g)[inside], minlength=positions.size)
    return match_dtype(np.reshape(d, shape), array)


def pad_constant_adjoint(g, array, pad_width, constant_values):
    """Cotangent of ``constant_values`` for ``np.pad(array, pad_width, constant_values=)``:
    the sum of ``g`` over the entries each (axis, side) value fills."""
    ndim = np.ndim(array)
    # the side of each padded entry, coded 1 + 2 * axis + (0 before, 1 after)
    codes = np.reshape(np.arange(1, 2 * ndim + 1), (ndim, 2))
    sides = np.pad(np.zeros(np.shape(array), int), pad_width, constant_values=codes)
    sums = np.bincount(np.ravel(sides), weights=np.ravel(g), minlength=2 * ndim + 1)[1:]
    # summed to constant_values' shape: one value, one (before, after) pair, or one per axis
    summed = unbroadcast(np.reshape(sums, (ndim, 2)), np.zeros(np.shape(constant_values)))
    return unpack_like(summed, constant_values)


def pad_values_error(values):
    """Differentiating ``np.pad``'s ``end_values`` or ``stat_length``: no rule yet."""
    raise TypeError("s2s differentiates np.pad's array and constant_values; end_values "
                    "(mode='linear_ramp') has no rule yet")


def gradient_spacing_error(spacing):
    """Differentiating the spacing of ``np.gradient``: no rule yet."""
    raise TypeError("s2s differentiates np.gradient in its array; differentiated spacings "
                    "(the *varargs) have no rule yet")


def gradient_adjoint(g, f, varargs, axis, edge_order):
    """Cotangent of ``f`` for ``np.gradient(f, *varargs, axis=axis, edge_order=)``.

    Along one axis np.gradient is a matrix with at most three entries per row, in the window
    of three entries around it. Applied to the combs of every third entry (offsets 0, 1, 2)
    it gives each row's entry in the column of that offset, so its transpose is applied in
    O(n) without building the matrix."""
    f = np.asarray(f)
    axes = normalize_axes(axis, f.ndim)
    cotangents = [g] if len(axes) == 1 else g
    if len(varargs) == 1 and len(axes) > 1:
        varargs = varargs * len(axes)
    out = np.zeros(f.shape, np.result_type(f, 1.0))
    for k, (ax, gk) in enumerate(zip(axes, cotangents)):
        if gk is None:
            continue
        n = f.shape[ax]
        spacing = varargs[k:k + 1] if varargs else ()
        rows = np.arange(n)
        start = np.clip(rows - 1, 0, max(n - 3, 0))
        moved = np.moveaxis(np.broadcast_to(gk, f.shape), ax, 0)
        total = np.zeros(moved.shape, out.dtype)
        for offset in range(3):
            comb = (rows % 3 == offset).astype(float)
            weights = np.gradient(comb, *spacing, edge_order=edge_order)
            columns = start + (offset - start) % 3
            kept = columns < n
            np.add.at(total, columns[kept],
                      np.expand_dims(weights[kept], tuple(range(1, moved.ndim))) * moved[kept])
        out += np.moveaxis(total, 0, ax)
    return match_dtype(out, f)



def einsum_first_adjoint(g, subscripts, operands):
    """The cotangent of the array passed first in einsum's sublist form,
    ``np.einsum(a, [0, 1], b, [1, 2])``: a's. (Its rules, and those of the others below,
    are in ``templates/forward/numpy_linalg.py``.)"""
    spec, arrays, _ = _einsum_string_form(subscripts, operands)
    return einsum_adjoints(g, spec, arrays)[0]


def einsum_first_tangent(subscripts, operands, dfirst):
    """The term of the tangent of einsum's sublist form, ``np.einsum(a, [0, 1], b, [1, 2])``,
    that the tangent ``dfirst`` of the array passed first gives."""
    spec, arrays, _ = _einsum_string_form(subscripts, operands)
    return np.einsum(spec, dfirst, *arrays[1:])


# --- second derivatives of einsum (both forms): einsum is multilinear in its arrays ----------

def _einsum_slots(subscripts, operands, first, rest):
    """``np.einsum(subscripts, *operands)`` as (string subscripts, its arrays, a value for
    each array or None): ``first`` for the array passed first in the sublist form, and
    ``rest[i]`` for ``operands[i]``. A scalar zero stands for an array's zero (and ``rest``
    for all of them), as in generated tangent code."""
    spec, arrays, places = _einsum_string_form(subscripts, operands)
    values = []
    for place, x in zip(places, arrays):
        if place < 0:
            v = first
        else:
            v = rest[place] if isinstance(rest, (tuple, list)) else rest
        values.append(None if v is None or np.ndim(v) == 0 and np.ndim(x) > 0 else v)
    return spec, arrays, places, values


def _einsum_placed(places, count, by_slot, arrays):
    """Values by array, placed as np.einsum's arguments were: (the first array's, a list
    aligned with ``operands`` with None at the sublists); zeros where no value came."""
    aligned = [None] * count
    first = None
    for place, value, x in zip(places, by_slot, arrays):
        if value is None:
            value = np.zeros(np.shape(x), np.result_type(x))
        if place < 0:
            first = value
        else:
            aligned[place] = value
    return first, aligned


def einsum_terms(subscripts, operands, first, rest):
    """The sum over the arrays of ``np.einsum(subscripts, *operands)`` given a value (see
    ``_einsum_slots``) of the einsum with that array replaced by it: the einsum's tangent,
    or the transpose of its adjoints."""
    spec, arrays, _, values = _einsum_slots(subscripts, operands, first, rest)
    total = 0.0
    for k, v in enumerate(values):
        if v is not None:
            total = total + np.einsum(spec, *arrays[:k], v, *arrays[k + 1:])
    return total


def einsum_cross(subscripts, operands, first_a, rest_a, first_b, rest_b):
    """The sum, over pairs of different arrays i, j of ``np.einsum(subscripts, *operands)``,
    of the einsum with array i replaced by its value in a and array j by its value in b:
    the tangent of ``einsum_terms`` along the arrays' tangents b."""
    spec, arrays, _, a = _einsum_slots(subscripts, operands, first_a, rest_a)
    b = _einsum_slots(subscripts, operands, first_b, rest_b)[3]
    total = 0.0
    for i, ai in enumerate(a):
        for j, bj in enumerate(b):
            if i != j and ai is not None and bj is not None:
                replaced = list(arrays)
                replaced[i], replaced[j] = ai, bj
                total = total + np.einsum(spec, *replaced)
    return total


def einsum_cross_adjoints(g, subscripts, operands, first, rest):
    """For each array j of ``np.einsum(subscripts, *operands)``, the sum over the other
    arrays i given a value of j's cotangent (for ``g``) in the einsum with array i replaced
    by its value: ``einsum_cross``'s transpose in b, and the tangent of the adjoints along
    the arrays' tangents. Placed as the arguments were (see ``_einsum_placed``)."""
    spec, arrays, places, values = _einsum_slots(subscripts, operands, first, rest)
    by_slot = [None] * len(arrays)
    for i, v in enumerate(values):
        if v is None:
            continue
        parts = einsum_adjoints(g, spec, arrays[:i] + [v] + arrays[i + 1:])
        for j, part in enumerate(parts):
            if j != i:
                by_slot[j] = part if by_slot[j] is None else by_slot[j] + part
    return _einsum_placed(places, len(operands), by_slot, arrays)


def einsum_adjoints_tangent(g, dg, subscripts, operands, dfirst, doperands):
    """The tangent of ``einsum_adjoints(g, subscripts, operands)`` (a list aligned with
    ``operands``) along ``dg`` and the arrays' tangents (a scalar zero stands for a zero)."""
    spec, arrays, places, _ = _einsum_slots(subscripts, operands, None, None)
    total = _einsum_placed(places, len(operands), [None] * len(arrays), arrays)[1]
    if not (np.ndim(dg) == 0 and np.ndim(g) > 0):
        total = [t if d is None else t + d
                 for t, d in zip(total, einsum_adjoints(dg, subscripts, operands))]
    cross = einsum_cross_adjoints(g, subscripts, operands, dfirst, doperands)[1]
    return [t if c is None else t + c for t, c in zip(total, cross)]


einsum_adjoints_tangent.__s2s_pytree_result__ = True     # a list, as einsum_adjoints'


def einsum_first_adjoint_tangent(g, dg, subscripts, operands, doperands):
    """The tangent of ``einsum_first_adjoint(g, subscripts, operands)`` along ``dg`` and the
    other arrays' tangents ``doperands`` (a scalar zero stands for a zero)."""
    total = einsum_cross_adjoints(g, subscripts, operands, None, doperands)[0]
    if not (np.ndim(dg) == 0 and np.ndim(g) > 0):
        total = total + einsum_first_adjoint(dg, subscripts, operands)
    return total


# --- np.r_[...] and np.c_[...]: the items an index expression joins ----------------------------

def _joined_layout(maker, key):
    """How ``maker[key]`` (``np.r_``, ``np.c_``, ...) joins its items: ``(axis, items)``, where
    each item is ``(position in key, its shape after promotion, the transpose applied)``. A
    leading directive string ('0,2,1') sets the axis, the minimum number of axes and where a
    promoted item's own axes go; 'r' and 'c' (which make an np.matrix) are refused."""
    axis, ndmin, trans1d = maker.axis, maker.ndmin, maker.trans1d
    start = 0
    if key and isinstance(key[0], str):
        directive, start = key[0], 1
        if directive in ("r", "c") or maker.matrix:
            raise ValueError("s2s does not differentiate np.r_/np.c_ making an np.matrix "
                             f"(directive {directive!r}); join the arrays with np.concatenate")
        fields = [int(part) for part in directive.split(",")]
        axis = fields[0]
        if len(fields) > 1:
            ndmin = fields[1]
        if len(fields) > 2:
            trans1d = fields[2]
    items = []
    for position in range(start, len(key)):
        item = key[position]
        if isinstance(item, slice):
            shape = (1,) * (ndmin - 1) + (len(joined_range(item)),)
            axes = list(range(len(shape)))
            if ndmin > 1 and trans1d != -1:
                axes[-1], axes[trans1d] = axes[trans1d], axes[-1]
        else:
            own = np.shape(item)
            shape = (1,) * (ndmin - len(own)) + own
            axes = list(range(len(shape)))
            if trans1d != -1 and len(own) < ndmin and type(item) not in np.ScalarType:
                grown = ndmin - len(own)
                first = trans1d + grown + 1 if trans1d < 0 else trans1d
                axes = axes[:first] + axes[grown:] + axes[first:grown]
        items.append((position, tuple(shape[a] for a in axes), axes))
    return axis, items


def joined_range(item):
    """The values a slice stands for inside ``np.r_[...]``: ``1:10`` is ``np.arange(1, 10)``
    and ``0:1:5j`` is ``np.linspace(0, 1, 5)``."""
    start = 0 if item.start is None else item.start
    step = 1 if item.step is None else item.step
    if isinstance(step, (complex, np.complexfloating)):
        return np.linspace(start, item.stop, num=int(abs(step)))
    return np.arange(start, item.stop, step)


def split_joined(g, maker, key):
    """The cotangents of the items of ``maker[key]`` (``np.r_[a, 1.0, b]``, ``np.c_[a, b]``):
    ``g`` cut along the joining axis, each piece put back into its item's shape. A key that
    is one item gets one cotangent; slices and the directive get None."""
    items_key = key if isinstance(key, tuple) else (key,)
    axis, items = _joined_layout(maker, items_key)
    out = [None] * len(items_key)
    index = [slice(None)] * np.ndim(g)
    offset = 0
    for position, shape, axes in items:
        width = shape[axis]
        index[axis] = slice(offset, offset + width)
        offset += width
        item = items_key[position]
        if isinstance(item, slice):
            continue
        piece = np.transpose(g[tuple(index)], np.argsort(axes))
        piece = match_dtype(np.reshape(piece, np.shape(item)), item)
        out[position] = piece if np.ndim(item) else piece[()]     # a number's is a number
    return out if isinstance(key, tuple) else out[0]


def join_tangents(maker, key, dkey):
    """The tangent of ``maker[key]``: ``maker`` joining the items' tangents ``dkey``, where a
    slice (constant values) becomes zeros of its length, the directive string stays, and a
    missing tangent (None) is zeros shaped like its item."""
    if not isinstance(key, tuple):
        return maker[np.zeros(np.shape(key)) if dkey is None else dkey]
    joined = tuple(item if isinstance(item, str)
                   else np.zeros_like(joined_range(item)) if isinstance(item, slice)
                   else np.zeros(np.shape(item)) if dkey[i] is None
                   else dkey[i] for i, item in enumerate(key))
    return maker[joined]
