"""Helpers that generated gradient code calls at run time.

This module is the hot path: every function here is small, does a cheap type or shape check
first, and never copies what it does not have to. The transformer only emits a call to a
helper where it could not decide the answer at transform time.
"""
from __future__ import annotations

import threading as _threading
import types as _types

import numpy as np

from s2s.runtime.arrays import check_index_of_foreign, is_foreign_array
from s2s.runtime.numpy_helpers import match_dtype, other_library

_ndarray = np.ndarray
_generic = np.generic


def ones_like(value):
    """The seed cotangent of an output: ones with its shape and dtype (a pytree of ones)."""
    kind = type(value)
    if kind is float or kind is int or kind is bool:
        return 1.0
    if isinstance(value, _generic):
        return value.dtype.type(1)
    if kind is _ndarray:
        return np.ones_like(value)
    if kind is tuple or kind is list:
        return kind(ones_like(v) for v in value)
    if kind is dict:
        return {k: ones_like(v) for k, v in value.items()}
    if kind is complex:
        return 1.0 + 0.0j
    if isinstance(value, tuple):        # a named tuple such as slogdet's result
        return tuple(ones_like(v) for v in value)
    if getattr(value, "dtype", None) is None:
        # None, a string, an object: no gradient can flow from it; zeros would be a lie
        raise TypeError(
            f"s2s cannot differentiate a function whose output is {_describe(value)}: a "
            f"gradient needs a number, an array of numbers, or a tuple, list or dict of them "
            f"(use has_aux=True to return other values beside the loss)")
    return np.ones_like(value)


def _describe(value) -> str:
    if value is None:
        return "None"
    return f"a {type(value).__name__} ({value!r:.40})"


def shape_of(value):
    """What the adjoint keeps of a value it only needs the shape of: ``(shape, dtype)``."""
    if type(value) is _ndarray:
        return value.shape, value.dtype
    return value


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
    if isinstance(value, (tuple, list)):        # named tuples such as slogdet's result
        return [zeros_like(v) for v in value]
    if isinstance(value, dict):
        return {k: zeros_like(v) for k, v in value.items()}
    if other_library(value):        # a Dask or CuPy array: zeros of its own library
        return np.zeros_like(value, value.dtype if value.dtype.kind in "fc" else float)
    return 0.0


_CONTAINERS = (dict, list, tuple)


def add(a, b):
    """``a + b`` for cotangents that may be pytrees (``None`` stands for zero, and so does a
    float zero beside a container)."""
    if a is None or type(a) is float and a == 0.0 and type(b) in _CONTAINERS:
        return b
    if b is None or type(b) is float and b == 0.0 and type(a) in _CONTAINERS:
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
        if is_foreign_array(buffer):
            check_index_of_foreign(buffer, key)
        buffer[key] = add(buffer[key], value)
    return buffer


def add_at_tangent(dbuffer, buffer, key, dvalue):
    """The tangent of ``add_at(buffer, key, value)``: ``dbuffer`` updated in place the same
    way, or a new buffer of zeros where ``dbuffer`` is the float standing for a tangent
    known to be zero."""
    if type(dbuffer) is float:
        dbuffer = zeros_like(buffer)
    return add_at(dbuffer, key, dvalue)


def add_at_iteration(buffer, index, value):
    """``add_at`` for the item a loop took at iteration ``index``; a loop over a dict takes
    its keys, which carry no cotangent."""
    if type(buffer) is dict:
        return buffer
    return add_at(buffer, index, value)


def add_at_iteration_tangent(dbuffer, buffer, index, dvalue):
    """The tangent of ``add_at_iteration(buffer, index, value)``, as ``add_at_tangent``."""
    if type(buffer) is dict:
        return zeros_like(buffer) if type(dbuffer) is float else dbuffer
    return add_at_tangent(dbuffer, buffer, index, dvalue)


def iteration_cotangent(cotangent, index, value):
    """The cotangent of the value that ``add_at_iteration(buffer, index, value)`` added:
    the buffer's cotangent at ``index``; zeros for a dict's (its loop took keys)."""
    if type(cotangent) is dict or type(cotangent) is float:
        return zeros_like(value)
    item = cotangent[index]
    return match_dtype(item, value) if type(item) is _ndarray else item


def own(cotangent, primal):
    """A private copy of a cotangent that generated code is about to update in place."""
    kind = type(cotangent)
    if kind is _ndarray:
        return cotangent.copy()
    if kind is list or kind is tuple:
        return [own(c, p) for c, p in zip(cotangent, primal)]
    if kind is dict:
        # a key the primal does not hold (yet: d["b"] = v restored away) keeps its cotangent
        return {k: own(c, primal[k]) if k in primal else c for k, c in cotangent.items()}
    if kind is float or isinstance(cotangent, _generic):
        # a scalar standing for a whole array's cotangent: spread it to the primal's shape
        if isinstance(primal, _ndarray) or other_library(primal):
            full = zeros_like(primal)
            full += cotangent
            return full
        if type(primal) in (list, tuple, dict):
            return zeros_like(primal)       # only a zero stands for a container
        return cotangent
    if other_library(cotangent):
        return cotangent.copy()
    return cotangent


def restructure(cotangent, primal):
    """Give a pytree cotangent the container types of its primal (lists back to tuples)."""
    kind = type(primal)
    if type(cotangent) is float and (kind is tuple or kind is list or kind is dict):
        cotangent = zeros_like(primal)      # a zero standing for the whole container
    if kind is tuple:
        return tuple(restructure(c, p) for c, p in zip(cotangent, primal))
    if kind is list:
        return [restructure(c, p) for c, p in zip(cotangent, primal)]
    if kind is dict:
        return {k: restructure(cotangent[k], p) for k, p in primal.items()}
    return cotangent


def broadcast_like(tangent, primal):
    """``tangent`` with ``primal``'s shape (a read-only view when it had to grow).

    Forward-mode code calls it where a zero term dropped at transform time may have taken the
    shape of a sum with it: ``z = x + b`` with ``b`` constant has ``dz = dx``, smaller than
    ``z`` when ``b`` broadcast ``x``.
    """
    kind = type(primal)
    if kind is tuple or kind is list:
        return kind(broadcast_like(t, p) for t, p in zip(tangent, primal))
    if kind is dict:
        return {k: broadcast_like(tangent[k], p) for k, p in primal.items()}
    shape = np.shape(primal)
    if np.shape(tangent) == shape:
        return tangent
    # a Python float's tangent grows in the primal's dtype (float32 stays float32)
    return np.broadcast_to(match_dtype(tangent, primal), shape)


# -- calls whose target is only known at run time ---------------------------------------------
def function_behind(fn, args=None):
    """The Python function behind a callable, and the object it is bound to (or None).

    A ``grad(f)`` object stands for its generated code (``__s2s_function__``), so that a
    gradient inside a gradient is differentiated as plain Python; ``args``, where the call's
    arguments are known, say which of them are containers (code for a list is not code for
    an array)."""
    as_function = getattr(fn, "__s2s_function__", None)
    if as_function is not None:
        return as_function(args), None
    if isinstance(fn, _types.MethodType):
        return fn.__func__, fn.__self__
    if isinstance(fn, _types.FunctionType):
        return fn, None
    call = getattr(type(fn), "__call__", None)
    if isinstance(call, _types.FunctionType):
        return call, fn
    return fn, None


# -- gradients of parameters reached through objects ----------------------------------------
class _Sinks(_threading.local):
    """Per thread, the weights the running ``weights=`` gradients collect, innermost last."""

    def __init__(self):
        self.stack = []


weight_sinks = _Sinks()


def weight_cotangent(value, cotangent):
    """Report a cotangent for ``value`` if it is one of the weights being differentiated."""
    stack = weight_sinks.stack
    if stack:
        entry = stack[-1].get(id(value))
        if entry is not None and entry[0] is value:
            entry[1] = cotangent if entry[1] is None else entry[1] + cotangent


# -- containers and arrays updated in place ---------------------------------------------------
MISSING = object()


def fresh_copy(value):
    """A private copy of an input the generated code will update in place."""
    kind = type(value)
    if kind is list:
        return list(value)
    if kind is dict:
        return dict(value)
    if isinstance(value, _ndarray):
        return np.array(value)
    if other_library(value):
        return value.copy()
    return value


def saved_item(container, key):
    """What ``container[key]`` holds before it is overwritten (a copy for arrays)."""
    if isinstance(container, _ndarray):
        item = container[key]
        return item.copy() if type(item) is _ndarray else item   # scalars are immutable
    if other_library(container):
        return container[key].copy()
    if type(container) is dict:
        return container.get(key, MISSING)
    return container[key]


def restore_item(container, key, old):
    if is_foreign_array(container):
        check_index_of_foreign(container, key)
    if old is MISSING:
        del container[key]
    else:
        container[key] = old


def item_or_zero(cotangent, key):
    """``cotangent[key]``, or zero where the cotangent has no entry for it."""
    if type(cotangent) is dict:
        value = cotangent.get(key)
        return 0.0 if value is None else value
    if type(cotangent) is float:
        return 0.0
    return cotangent[key]


def take_item(cotangent, key):
    """``cotangent[key]`` as a value of its own (zero when the cotangent is a scalar zero)."""
    if isinstance(cotangent, _ndarray):
        item = cotangent[key]
        if type(item) is _ndarray and not _is_basic_index(key):
            return _last_writes(cotangent, key, item)
        return item.copy() if type(item) is _ndarray else item
    if type(cotangent) is float:
        return 0.0
    if other_library(cotangent):
        return cotangent[key].copy()
    value = cotangent[key]
    return 0.0 if value is None else value


def _last_writes(cotangent, key, item):
    """``cotangent[key]`` for ``x[key] = v`` through a fancy index: where ``key`` repeats an
    entry, only the write NumPy keeps (the last one) reaches the output; the others get 0."""
    if item.size == 0 or getattr(key, "dtype", None) == bool:
        return item.copy()
    writes = np.arange(item.size).reshape(item.shape)
    kept = np.full(cotangent.shape, -1)
    kept[key] = writes
    return np.where(kept[key] == writes, item, 0.0).astype(item.dtype, copy=False)


def clear_item(cotangent, key, primal=None):
    """The overwritten slot had no effect on the output: its cotangent is zero (of the
    shape of ``primal[key]``, the slot's earlier value, for a list or dict)."""
    if isinstance(cotangent, _ndarray) or other_library(cotangent):
        cotangent[key] = 0
    elif type(cotangent) is not float:
        earlier = primal is not None and (type(primal) is not dict or key in primal)
        cotangent[key] = zeros_like(primal[key]) if earlier else 0.0   # a new key: no value


def cleared_item(cotangent, key, primal=None):
    """What ``clear_item`` stores: ``clear_item(d, k, p)`` read as ``d[k] =
    clear_item.cleared(d, k, p)`` by code that differentiates a gradient again."""
    if isinstance(cotangent, _ndarray) or other_library(cotangent):
        return 0.0
    earlier = primal is not None and (type(primal) is not dict or key in primal)
    return zeros_like(primal[key]) if earlier else 0.0


clear_item.cleared = cleared_item


def take_appended(cotangent, count):
    """Remove and return the cotangents of a list's last ``count`` items (zeros if none).

    The cotangent list shrinks with the primal list, so indices like ``ys[-1]`` keep
    meaning the same item in both.
    """
    if type(cotangent) is list:
        taken = cotangent[len(cotangent) - count:]
        del cotangent[len(cotangent) - count:]
        return [0.0 if c is None else c for c in taken]
    return [0.0] * count


def join_items(cotangent, count):
    """The cotangents of a list or tuple ``items * n`` (``count`` is ``len(items)``):
    each item of ``items`` gets the sum of its ``n`` copies' cotangents."""
    parts = list(cotangent)
    summed = parts[:count]
    for start in range(count, len(parts), count):
        summed = [add(a, b) for a, b in zip(summed, parts[start:start + count])]
    return summed


def drop_last(items, count):
    """Undo ``append``/``extend``: remove the last ``count`` items."""
    del items[len(items) - count:]


def put_back(cotangent, items, value, dvalue):
    """Undo ``value = items.pop()``: ``value`` goes back at the end of ``items``; the list's
    cotangent (None for zeros) is returned, private, with ``dvalue`` (None for zeros) as the
    last item's."""
    return put_back_all(cotangent, items, [value], None if dvalue is None else [dvalue])


def put_back_all(cotangent, items, values, dvalues):
    """Undo ``values = take_appended(items, n)`` or ``drop_last(items, n)`` (reverse mode
    over gradient code): ``values`` go back at the end of ``items``, and their cotangents
    ``dvalues`` (None for zeros) at the end of the list's cotangent (None for zeros), which
    is returned private. A float ``items`` (a zero cotangent, which take_appended leaves
    alone) keeps its cotangent."""
    if type(items) is not list:
        return 0.0 if cotangent is None else cotangent
    before = items[:]
    items.extend(values)
    cotangent = zeros_like(before) if cotangent is None else list(cotangent)
    if dvalues is None:
        dvalues = [None] * len(values)
    return cotangent + [zeros_like(v) if d is None else d for v, d in zip(values, dvalues)]


def last_items(items, count):
    """The last ``count`` items of a list (a copy): what ``drop_last`` is about to drop."""
    return items[len(items) - count:]


put_back.__s2s_pytree_result__ = True
put_back_all.__s2s_pytree_result__ = True


# --- sorted, list and tuple of containers -----------------------------------------------------

def sort_order(items, key, reverse):
    """The positions of ``items`` in the order ``sorted(items, key=key, reverse=reverse)``
    puts them (a dict gives its keys, as iterating it does); stable, as ``sorted`` is."""
    items = list(items)
    if key is None:
        return sorted(range(len(items)), key=items.__getitem__, reverse=reverse)
    return sorted(range(len(items)), key=lambda i: key(items[i]), reverse=reverse)


def _share_ties(values, order, items):
    """``values`` (one per place of the sorted order) with each run of equal items sharing
    the mean of its places' values: ties split evenly, as in max and min."""
    shared = list(values)
    start = 0
    for end in range(1, len(order) + 1):
        if end < len(order) and np.array_equal(items[order[end]], items[order[start]]):
            continue
        if end - start > 1:
            mean = values[start]
            for v in values[start + 1:end]:
                mean = mean + v
            mean = mean / (end - start)
            shared[start:end] = [mean] * (end - start)
        start = end
    return shared


def unsort(cotangent, items, key, reverse):
    """The cotangent of ``items`` for ``result = sorted(items, ...)``: each item gets the
    cotangent of the place it was sorted to (equal items share theirs evenly). The keys of a
    dict carry none."""
    if type(items) is dict or type(cotangent) is float:
        return zeros_like(items)
    listed = list(items)
    order = sort_order(listed, key, reverse)
    shared = _share_ties([0.0 if c is None else c for c in cotangent], order, listed)
    placed = [None] * len(order)
    for place, position in enumerate(order):
        placed[position] = shared[place]
    return items_cotangent(placed, items)


def sorted_tangent(tangent, items, key, reverse):
    """The tangent of ``sorted(items, ...)``: the items' tangents in the sorted order (equal
    items share theirs evenly; zeros for the keys of a dict)."""
    if type(items) is dict:
        return [0.0] * len(items)
    listed = list(items)
    order = sort_order(listed, key, reverse)
    return _share_ties([tangent[position] for position in order], order, listed)


# one tangent per item, in a list (reverse mode adds into a list's items, as list += extends)
sorted_tangent.__s2s_pytree_result__ = True


def items_cotangent(cotangent, items):
    """The cotangent of ``items`` for ``list(items)`` or ``tuple(items)``, whose cotangent
    is a list: an array gets its rows back as one array; a dict (whose keys were listed)
    gets zeros."""
    if type(items) is dict or type(cotangent) is float:
        return zeros_like(items)
    if isinstance(items, _ndarray):
        rows = [np.zeros(items.shape[1:], items.dtype) if c is None else c for c in cotangent]
        return np.array(rows, dtype=items.dtype if items.dtype.kind in "fc" else float
                        ).reshape(items.shape)
    return [zeros_like(item) if c is None else match_dtype(c, item)
            for c, item in zip(cotangent, items)]


def items_tangent(tangent, items, kind):
    """The tangent of ``kind(items)`` (``list`` or ``tuple``): the items' tangents (zeros
    for the keys of a dict)."""
    if type(items) is dict:
        return kind([0.0] * len(items))
    return kind(tangent)


items_tangent.__s2s_pytree_result__ = True


# helpers whose result is a container where an argument is one (a list's zeros, a list's
# cotangent with an item added): code that calls them, differentiated again, treats their
# results as possible containers
for _helper in (ones_like, zeros_like, add, add_at, add_at_tangent, add_at_iteration,
                add_at_iteration_tangent, iteration_cotangent, own, restructure, broadcast_like,
                fresh_copy, take_item, item_or_zero):
    _helper.__s2s_like_arguments__ = True
del _helper
