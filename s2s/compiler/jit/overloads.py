"""Numba versions of what generated code calls: the run-time helpers and the loop storage.

Importing this module registers them with ``numba.extending.overload``, so a gradient
compiled by Numba calls ``ones_like(y)`` or ``own(dout, out)`` by the same names as the
Python gradient. Each version is chosen by the Numba types of the arguments, at compile
time, and covers the cases that shape-specialized code meets (numbers and arrays). Any other
case raises a ``TypingError`` that names the helper; the builder turns it into an
``S2SError`` at the user's line. None of them ever guesses: where the Python helper would
sum or reshape in a way not written here, the compile fails.
"""
from __future__ import annotations

import numpy as np
from numba import types
from numba.core.errors import TypingError
from numba import njit
from numba.extending import overload

from s2s import runtime
from s2s.compiler.jit.fusion import same_or_apart
from s2s.compiler.jit.stacks import push, saves, sum_axes
from s2s.compiler.reverse.sweep import numeric_operand
from s2s.runtime import numpy_helpers

_NUMBER = (types.Float, types.Integer, types.Boolean)


def _number(t) -> bool:
    return isinstance(t, _NUMBER)


def _held(t):
    """The type an optional value has where it is read: a name saved before its first
    assignment is Optional to Numba, and read only once it holds a value."""
    return t.type if isinstance(t, types.Optional) else t


def _float_dtype(t):
    """The floating dtype a cotangent of an array of type ``t`` has."""
    return t.dtype if isinstance(t.dtype, types.Float) else types.float64


def _refuse(helper: str, *args) -> None:
    raise TypingError(f"the helper {helper}{tuple(str(a) for a in args)} has no Numba "
                      f"version for these argument types")


def _item_by_item(params: str, unpacked: dict, items: list):
    """A function ``impl(params)`` that unpacks each tuple parameter into names (``unpacked``:
    {parameter: its item names}) and returns the tuple of ``items`` (expressions over those
    names). Unpacked whole: Numba lowers no item read of an Optional tuple (a name saved
    before its first assignment is one)."""
    lines = [f"def impl({params}):"]
    for param, names in unpacked.items():
        if names:
            lines.append(f"    {', '.join(names)}, = {param}")
    lines.append(f"    return ({', '.join(items)}{',' if items else ''})")
    namespace = {"add": runtime.add, "zeros_like": runtime.zeros_like}
    exec("\n".join(lines) + "\n", namespace)
    return namespace["impl"]


def _tuple(t):
    t = _held(t)
    return t if isinstance(t, types.BaseTuple) else None


@overload(numeric_operand)
def _numeric_operand(value, label, filename, lineno, function):
    """Nothing to check at run time: Numba's types tell here whether the operand is a
    number or an array (read as arithmetic, rightly) or a list or tuple (refused)."""
    held = _held(value)
    if _number(held) or isinstance(held, types.Array):
        return lambda value, label, filename, lineno, function: None
    raise TypingError("an operand of + or * that s2s read as arithmetic holds a list or a "
                      "tuple; make it certain where it is bound: name = list(...)")


# Numba does not check indexes: a loop over a list it appends to would write past the end
_MORE_STEPS = ("s2s (Numba): a loop ran more steps than its length before it started; "
               "pass jit=False for this function")


@overload(saves)
def _saves(like, count):
    if _number(like):
        dtype = like

        def saves_numbers(like, count):
            return np.empty(count, dtype)
        return saves_numbers
    if isinstance(like, types.Array):
        # one array, a row per step: a list of the arrays themselves measured several times
        # slower (Numba's lists of arrays count references on every append and read)
        def saves_arrays(like, count):
            return np.empty((count,) + like.shape, like.dtype)
        return saves_arrays
    _refuse("saves", like, count)


@overload(push)
def _push(saved, step, value):
    if isinstance(saved, types.Array) and isinstance(value, types.Array):
        if saved.dtype != value.dtype or saved.ndim != value.ndim + 1:
            raise TypingError(
                f"an array the reverse sweep saves changes type inside its loop "
                f"({saved.dtype}, {saved.ndim - 1} dimensions before the loop, {value} in it)")

        def push_array(saved, step, value):
            # a row of another shape would be broadcast into it: refuse instead
            if step >= saved.shape[0]:
                raise IndexError(_MORE_STEPS)
            if value.shape != saved.shape[1:]:
                raise ValueError("s2s (Numba): an array the reverse sweep saves changes "
                                 "shape inside its loop; pass jit=False for this function")
            saved[step] = value
        return push_array
    if isinstance(saved, types.Array):
        if saved.dtype != value:
            raise TypingError(
                f"a value the reverse sweep saves changes type inside its loop "
                f"({saved.dtype} before the loop, {value} in it); start it with the type "
                f"it has in the loop (0.0 rather than 0)")

        def push_number(saved, step, value):
            if step >= saved.shape[0]:
                raise IndexError(_MORE_STEPS)
            saved[step] = value
        return push_number
    _refuse("push", saved, step, value)


@overload(sum_axes, prefer_literal=True)
def _sum_axes(a, axes, keepdims):
    if not (isinstance(a, types.Array) and isinstance(axes, types.BaseTuple)
            and all(isinstance(t, types.IntegerLiteral) for t in axes.types)
            and isinstance(keepdims, types.BooleanLiteral)):
        _refuse("sum_axes", a, axes, keepdims)
    summed = sorted({t.literal_value % a.ndim for t in axes.types})
    lines = ["def sum_each(a, axes, keepdims):", "    out = a"]
    # the highest axis first, so that each axis still has its number when it is summed
    lines += [f"    out = out.sum(axis={axis})" for axis in reversed(summed)]
    if keepdims.literal_value:
        lines += [f"    out = np.expand_dims(out, {axis})" for axis in summed]
    lines.append("    return out")
    namespace = {"np": np}
    exec("\n".join(lines) + "\n", namespace)
    return namespace["sum_each"]


@overload(same_or_apart)
def _same_or_apart(a, b):
    if isinstance(a, types.Array) and isinstance(b, types.Array) and a.ndim == b.ndim == 1:
        def same_or_apart_1d(a, b):
            if a.shape[0] == 0 or b.shape[0] == 0:
                return True
            a_first, b_first = a.ctypes.data, b.ctypes.data
            if a_first == b_first and a.strides[0] == b.strides[0]:
                return True
            a_last = a_first + (a.shape[0] - 1) * a.strides[0]
            b_last = b_first + (b.shape[0] - 1) * b.strides[0]
            a_low, a_high = min(a_first, a_last), max(a_first, a_last) + a.itemsize
            b_low, b_high = min(b_first, b_last), max(b_first, b_last) + b.itemsize
            return a_high <= b_low or b_high <= a_low
        return same_or_apart_1d
    _refuse("same_or_apart", a, b)


@overload(runtime.ones_like)
def _ones_like(value):
    if _number(value):
        return lambda value: 1.0
    if isinstance(value, types.Array):
        return lambda value: np.ones_like(value)
    _refuse("ones_like", value)


@overload(runtime.zeros_like)
def _zeros_like(value):
    if _number(value):
        return lambda value: 0.0
    if isinstance(value, types.Array):
        dtype = _float_dtype(value)
        return lambda value: np.zeros(value.shape, dtype)
    held = _tuple(value)
    if held is not None:        # the cotangent of a tuple: a tuple of zeros
        count = len(held)
        return _item_by_item("value", {"value": [f"a{i}" for i in range(count)]},
                             [f"zeros_like(a{i})" for i in range(count)])
    _refuse("zeros_like", value)


@overload(runtime.own)
def _own(cotangent, primal):
    if isinstance(cotangent, types.Array):
        return lambda cotangent, primal: cotangent.copy()
    if _number(cotangent) and isinstance(primal, types.Array):
        dtype = _float_dtype(primal)
        return lambda cotangent, primal: np.full(primal.shape, cotangent, dtype)
    if _number(cotangent) and _number(primal):
        return lambda cotangent, primal: cotangent
    _refuse("own", cotangent, primal)


@overload(runtime.add)
def _add(a, b):
    # the sum of two cotangents: numbers, arrays, or tuples of them item by item
    if (_number(a) or isinstance(a, types.Array)) and (_number(b) or isinstance(b, types.Array)):
        return lambda a, b: a + b
    if _tuple(a) is not None and _tuple(b) is not None and len(_tuple(a)) == len(_tuple(b)):
        count = len(_tuple(a))
        return _item_by_item("a, b", {"a": [f"a{i}" for i in range(count)],
                                      "b": [f"b{i}" for i in range(count)]},
                             [f"add(a{i}, b{i})" for i in range(count)])
    _refuse("add", a, b)


@overload(runtime.fresh_copy)
def _fresh_copy(value):
    if isinstance(value, types.Array):
        return lambda value: value.copy()
    if _number(value) or _tuple(value) is not None:     # tuples cannot change
        return lambda value: value
    _refuse("fresh_copy", value)


@overload(runtime.shape_of)
def _shape_of(value):
    # what a reverse sweep keeps of a value it needs only the shape of; Numba keeps the
    # value itself (a reference), which has that shape and keeps one type for the name
    if isinstance(value, (types.Array, types.Optional)) or _number(value):
        return lambda value: value
    _refuse("shape_of", value)


def _basic_index(key) -> bool:
    """An int, a slice, or a tuple of them: an index that reads one item or a view."""
    if isinstance(key, (types.Integer, types.SliceType)):
        return True
    return isinstance(key, types.BaseTuple) and all(
        isinstance(k, (types.Integer, types.SliceType)) for k in key)


def _reads_number(container, key) -> bool:
    """Does ``container[key]`` read one number (ints over every axis)?"""
    keys = list(key) if isinstance(key, types.BaseTuple) else [key]
    return len(keys) == container.ndim and all(isinstance(k, types.Integer) for k in keys)


@overload(runtime.add_at, prefer_literal=True)
def _add_at(buffer, key, value):
    if isinstance(buffer, types.Array) and _basic_index(key):
        def add_at(buffer, key, value):
            buffer[key] += value
            return buffer
        return add_at
    found = _tuple_add_at(buffer, key, "key")
    if found is not None:
        return found
    _refuse("add_at", buffer, key, value)


@overload(runtime.add_at_iteration, prefer_literal=True)
def _add_at_iteration(buffer, index, value):
    if isinstance(buffer, types.Array) and isinstance(index, types.Integer):
        def add_at_iteration(buffer, index, value):
            buffer[index] += value
            return buffer
        return add_at_iteration
    found = _tuple_add_at(buffer, index, "index")
    if found is not None:
        return found
    _refuse("add_at_iteration", buffer, index, value)


def _tuple_add_at(buffer, key, name: str):
    """``add_at`` of a tuple's cotangent: a new tuple (the dialect assigns the result back
    to the buffer's name). A constant index picks its item at compile time; a variable one
    picks among items of one type. ``name``: the overload's name for the index."""
    held = _tuple(buffer)
    if held is None or not isinstance(key, types.Integer):
        return None
    count = len(held)
    items = [f"a{i}" for i in range(count)]
    if isinstance(key, types.IntegerLiteral):
        if not -count <= key.literal_value < count:
            return None
        where = key.literal_value % count
        return _item_by_item(f"buffer, {name}, value", {"buffer": items},
                             [f"add(a{i}, value)" if i == where else f"a{i}"
                              for i in range(count)])
    if not isinstance(held, types.UniTuple):
        return None
    lines = [f"def impl(buffer, {name}, value):", f"    {', '.join(items)}, = buffer",
             f"    where = {name} % {count}" if count else "    pass"]
    for i in range(count):
        made = ", ".join(f"add(a{j}, value)" if j == i else f"a{j}" for j in range(count))
        lines.append(f"    if where == {i}:\n        return ({made},)")
    lines.append("    raise IndexError('s2s (Numba): tuple index out of range')")
    namespace = {"add": runtime.add}
    exec("\n".join(lines) + "\n", namespace)
    return namespace["impl"]


@overload(runtime.restructure)
def _restructure(cotangent, primal):
    # tuples stay tuples; a float standing for a zero container becomes zeros
    if _tuple(primal) is not None and _number(cotangent):
        return lambda cotangent, primal: runtime.zeros_like(primal)
    return lambda cotangent, primal: cotangent


@overload(runtime.saved_item)
def _saved_item(container, key):
    if isinstance(container, types.Array) and _basic_index(key):
        if _reads_number(container, key):
            return lambda container, key: container[key]
        return lambda container, key: container[key].copy()
    _refuse("saved_item", container, key)


@overload(runtime.restore_item)
def _restore_item(container, key, old):
    if isinstance(container, types.Array) and _basic_index(key):
        def restore_item(container, key, old):
            container[key] = old
        return restore_item
    _refuse("restore_item", container, key, old)


@overload(numpy_helpers.size_of)
def _size_of(x):
    x = _held(x)
    if isinstance(x, types.Array):
        return lambda x: x.size
    if _number(x):
        return lambda x: 1
    _refuse("size_of", x)


@overload(numpy_helpers.power_dbase)
def _power_dbase(x1, x2):
    if _number(x2):
        def power_dbase(x1, x2):
            if x2 == 0:
                return x2 * np.power(x1, x2)
            return x2 * np.power(x1, x2 - 1)
        return power_dbase
    _refuse("power_dbase", x1, x2)


@overload(numpy_helpers.expand_reduced, prefer_literal=True)
def _expand_reduced(g, x, axis, keepdims):
    x = _held(x)
    if isinstance(axis, (types.NoneType, types.Omitted)):
        if _number(g) and isinstance(x, types.Array):
            dtype = _float_dtype(x)
            return lambda g, x, axis, keepdims: np.full(x.shape, g, dtype)
        if _number(g) and _number(x):
            return lambda g, x, axis, keepdims: g
        _refuse("expand_reduced", g, x)
    if not (isinstance(axis, types.IntegerLiteral) and isinstance(x, types.Array)
            and isinstance(keepdims, (types.BooleanLiteral, types.Omitted))):
        raise TypingError("the gradient of a sum over an axis has a Numba version for one "
                          "axis given as a constant int (not a tuple of axes or a variable)")
    kept = isinstance(keepdims, types.BooleanLiteral) and keepdims.literal_value
    ndim = x.ndim
    where = axis.literal_value % ndim if ndim else 0
    dtype = _float_dtype(x)
    if _number(g):
        # a 1-D x summed over its only axis
        return lambda g, x, axis, keepdims: np.full(x.shape, g, dtype)
    if not isinstance(g, types.Array) or g.ndim != (ndim if kept else ndim - 1):
        _refuse("expand_reduced", g, x, axis)
    if kept:
        def expand_kept(g, x, axis, keepdims):
            return np.zeros(x.shape, dtype) + g
        return expand_kept

    def expand(g, x, axis, keepdims):
        # the summed axis back with length 1, then broadcast along it
        return np.zeros(x.shape, dtype) + np.expand_dims(g, where)
    return expand


@njit
def _sum_to_shape(g, shape):
    """``g`` summed down to ``shape``, NumPy's broadcasting undone: its leading axes
    summed away, and the axes where ``shape`` has length 1 summed to length 1. Refuses
    shapes that do not broadcast to ``g``'s (the Python helper would fail there too)."""
    extra = g.ndim - len(shape)
    size = 1
    for n in shape:
        size *= n
    # the flat index each axis of g moves by in the result (0 where it is summed)
    moves = np.zeros(g.ndim, np.intp)
    step = 1
    for axis in range(len(shape) - 1, -1, -1):
        if shape[axis] == g.shape[extra + axis]:
            moves[extra + axis] = step
        elif shape[axis] != 1:
            raise ValueError("s2s (Numba): a cotangent does not broadcast to its value's shape")
        step *= shape[axis]
    out = np.zeros(size, g.dtype)
    items = np.ascontiguousarray(g).reshape(g.size)
    for flat in range(g.size):
        rest, target = flat, 0
        for axis in range(g.ndim - 1, -1, -1):
            target += (rest % g.shape[axis]) * moves[axis]
            rest //= g.shape[axis]
        out[target] += items[flat]
    return out.reshape(shape)


@overload(numpy_helpers.unbroadcast)
def _unbroadcast(g, x):
    x = _held(x)
    if _number(x):
        if _number(g):
            return lambda g, x: g
        if isinstance(g, types.Array):
            return lambda g, x: g.sum()
    if isinstance(x, types.Array):
        dtype = _float_dtype(x)
        if _number(g):
            return lambda g, x: np.full(x.shape, g, dtype)
        if isinstance(g, types.Array) and g.ndim == x.ndim:
            def same_rank(g, x):
                if g.shape == x.shape:
                    return g
                return _sum_to_shape(g, x.shape)
            return same_rank
        if isinstance(g, types.Array) and g.ndim > x.ndim:
            return lambda g, x: _sum_to_shape(g, x.shape)
    _refuse("unbroadcast", g, x)
