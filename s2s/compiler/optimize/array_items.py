"""Array items in generated code: plain indexing instead of run-time helpers, and no
saving of items nothing reads back.

Both rely on shape classes (``shapes.py``): a name of known shape holds an ndarray, and an
item ``x[i]`` with int ``i`` of a 1-D array is a number, a copy.
"""
from __future__ import annotations

import ast
import copy
from typing import Dict, List, Optional, Set

import gast
import numpy as np

from s2s.runtime import numpy_helpers

from s2s import runtime

from s2s.compiler import syntax
from s2s.compiler.analysis.shapes import INTS, attr_of, class_of, is_int, is_restore, shape_of_class
from s2s.compiler.context import Context
from s2s.compiler.optimize.uses import is_marker, may_call, may_call_method

# -- item helpers of arrays ---------------------------------------------------------------
def lower_item_helpers(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """Plain indexing where the container is an ndarray of known shape and the index ints:

        out_saved.append(saved_item(out, i))     ->   out_saved.append(out[i])
        restore_item(out, i, out_saved.pop())    ->   out[i] = out_saved.pop()
        dout_item = take_item(dout, i)           ->   dout_item = dout[i]
        clear_item(dout, i)                      ->   dout[i] = 0.0
        add_at(du, i, g)                         ->   du[i] += g

    The run-time helpers also serve lists, dicts and cotangents that are still scalars; a
    cotangent counts as an array only after ``own``/``zeros_like`` made it one, in the same
    block (a loop or branch that rebinds it forgets that)."""
    if may_call(ctx, _is_item_helper):
        fn.body = _lower_items(fn.body, set(), classes, ctx)


def _is_item_helper(func) -> bool:
    return getattr(func, "__module__", None) == "s2s.runtime" and getattr(
        func, "__name__", None) in ("saved_item", "take_item", "restore_item", "clear_item",
                                    "add_at")


def _lower_items(stmts, arrays: Set[str], classes, ctx) -> List[ast.AST]:
    out = []
    for stmt in stmts:
        inner = [f for f in ("body", "orelse") if isinstance(getattr(stmt, f, None), list)]
        if inner:
            rebound = {n.id for n in syntax.walk(stmt)
                       if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
            arrays -= rebound
            for f in inner:
                setattr(stmt, f, _lower_items(getattr(stmt, f), set(arrays), classes, ctx))
            out.append(stmt)
            continue
        lowering = _ItemLowering(arrays, classes, ctx)
        stmt = lowering.visit(stmt)
        if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
            stmt = lowering.statement(stmt.value) or stmt
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], gast.Name):
            target = stmt.targets[0].id
            if lowering.makes_array(stmt.value):
                arrays.add(target)
            else:
                arrays.discard(target)
        out.append(stmt)
    return out


class _ItemLowering(syntax.Transformer):
    def __init__(self, arrays, classes, ctx):
        self.arrays, self.classes, self.ctx = arrays, classes, ctx

    def _rank(self, node) -> Optional[int]:
        """The number of axes of an ndarray name, or None if it may be something else."""
        if not isinstance(node, gast.Name):
            return None
        shape = shape_of_class(self.classes.get(node.id))
        if not shape:
            return None
        if node.id in self.ctx.cotangent_of and node.id not in self.arrays:
            return None
        return len(shape)

    def _item(self, container, key, store=False):
        """``container[key]`` if the container is an array and the key ints, else None;
        with whether the item is a number (a copy) rather than a view."""
        rank = self._rank(container)
        ints = self.classes.get(INTS, frozenset())
        parts = key.elts if isinstance(key, gast.Tuple) else [key]
        if rank is None or len(parts) > rank or not all(is_int(p, ints) for p in parts):
            return None, False
        item = gast.Subscript(value=copy.deepcopy(container), slice=copy.deepcopy(key),
                              ctx=gast.Store() if store else gast.Load())
        return item, len(parts) == rank

    def _helper(self, call):
        func = self.ctx.callee(call) if isinstance(call.func, gast.Name) else None
        return func if getattr(func, "__module__", None) == "s2s.runtime" else None

    def visit_Call(self, node):
        self.generic_visit(node)
        func = self._helper(node)
        if func is not None and func.__name__ in ("saved_item", "take_item") \
                and len(node.args) == 2:
            item, number = self._item(*node.args)
            if item is not None:
                return item if number else gast.Call(func=attr_of(item, "copy"), args=[],
                                                     keywords=[])
        return node

    def statement(self, call):
        func = self._helper(call)
        name_ = getattr(func, "__name__", None)
        if name_ == "restore_item" and len(call.args) == 3:
            item, _ = self._item(call.args[0], call.args[1], store=True)
            if item is not None:
                return gast.Assign(targets=[item], value=call.args[2], type_comment=None)
        elif name_ == "clear_item" and len(call.args) == 2:
            item, _ = self._item(*call.args, store=True)
            if item is not None:
                return gast.Assign(targets=[item], value=gast.Constant(value=0.0, kind=None),
                                   type_comment=None)
        elif name_ == "add_at" and len(call.args) == 3:
            item, _ = self._item(call.args[0], call.args[1], store=True)
            if item is not None:
                return gast.AugAssign(target=item, op=gast.Add(), value=call.args[2])
        return None

    def makes_array(self, value) -> bool:
        """``own(d, x)`` or ``zeros_like(x)`` of an array ``x``: an ndarray of x's shape;
        likewise arithmetic on arrays (``2 * out``), which makes a new one."""
        if isinstance(value, (gast.BinOp, gast.UnaryOp)):
            return bool(shape_of_class(class_of(value, self.classes, self.ctx)))
        if not isinstance(value, gast.Call) or not value.args:
            return False
        func = self.ctx.callee(value)
        if func is np.zeros_like or getattr(func, "__module__", None) == "s2s.runtime" \
                and func.__name__ in ("own", "zeros_like"):
            primal = value.args[-1]
            return isinstance(primal, gast.Name) and primal.id not in self.ctx.cotangent_of \
                and bool(shape_of_class(self.classes.get(primal.id)))
        return False


# -- restores nothing reads -----------------------------------------------------------------
# calls that read only the shape of their arguments, and those that read one argument's
_SHAPE_READERS = (np.zeros_like, np.ones_like, np.empty_like, np.shape, np.size, np.ndim, len,
                  numpy_helpers.size_of,
                  runtime.zeros_like, runtime.ones_like, runtime.shape_of)
_SHAPE_ARGUMENT = ((runtime.own, 1), (numpy_helpers.expand_reduced, 1),
                   (numpy_helpers.unbroadcast, 1))


def drop_unread_restores(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """Drop the saving and restoring of items of an array that nothing reads afterwards.

        out_saved.append(out[i])                   (gone)
        out[i] = v                          ->     out[i] = v
        ...                                        ...
        out[i] = out_saved.pop()                   (gone)

    The reverse sweep puts back what ``out[i] = v`` overwrote so that reads of ``out`` in the
    adjoint see the values the primal saw. When the adjoint reads only ``out``'s shape, and
    the primal reads only numbers out of it (``out[i - 1]``, a copy: no view can see a later
    write), no one can tell, and the copies go."""
    if not may_call_method(ctx, "pop"):
        return                                  # nothing is restored
    pops: Dict[str, List[ast.AST]] = {}         # array name -> its restore statements
    for node in syntax.walk(fn):
        if (isinstance(node, gast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], gast.Subscript)
                and isinstance(node.targets[0].value, gast.Name)
                and is_restore(node.value) and isinstance(node.value.func.value, gast.Name)):
            pops.setdefault(node.targets[0].value.id, []).append(node)
    for array, restores in pops.items():
        stacks = {r.value.func.value.id for r in restores}
        shape = shape_of_class(classes.get(array))
        if not shape or len(stacks) != 1 or array in ctx.cotangent_of:
            continue
        stack = stacks.pop()
        saves = _saves_of_items(fn, stack, array)
        if saves is None or not _reads_only_numbers_and_shape(fn, array, len(shape),
                                                              set(map(id, restores + saves)),
                                                              classes, ctx):
            continue
        dropped = set(map(id, restores + saves))
        fn.body = _without(fn.body, lambda s: id(s) in dropped or _is_empty_list(s, stack))


def _saves_of_items(fn, stack: str, array: str) -> Optional[List[ast.AST]]:
    """The ``stack.append(array[...])`` statements, if every other use of ``stack`` is its
    set-up or a pop."""
    saves = []
    for node in syntax.walk(fn):
        if isinstance(node, gast.Expr) and isinstance(node.value, gast.Call) \
                and isinstance(node.value.func, gast.Attribute) \
                and isinstance(node.value.func.value, gast.Name) \
                and node.value.func.value.id == stack:
            if node.value.func.attr != "append":
                return None
            saves.append(node)
    uses = sum(isinstance(n, gast.Name) and n.id == stack for n in syntax.walk(fn))
    return saves if uses == 1 + len(saves) + _count_pops(fn, stack) else None


def _count_pops(fn, stack):
    return sum(isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute)
               and n.func.attr == "pop" and isinstance(n.func.value, gast.Name)
               and n.func.value.id == stack for n in syntax.walk(fn))


def _reads_only_numbers_and_shape(fn, array, rank, skip, classes, ctx) -> bool:
    """Does the adjoint read only ``array``'s shape, and the primal nothing that could
    alias it (only numbers out of it, and values computed from it)? A local function that
    reads it is no: it may run later, from a pullback, and read the restored values."""
    for node in syntax.walk(fn):
        if isinstance(node, (gast.Lambda, gast.FunctionDef)) and node is not fn and any(
                isinstance(n, gast.Name) and n.id == array for n in syntax.walk(node)):
            return False
    ints = classes.get(INTS, frozenset())
    ok = set()                  # ids of Name nodes of ``array`` in allowed places
    marker = next((i for i, s in enumerate(fn.body) if is_marker(s)), len(fn.body))
    for index, stmt in enumerate(fn.body):
        primal = index < marker
        for node in syntax.walk(stmt):
            if id(node) in skip:
                ok.update(id(inner) for inner in syntax.walk(node))
            elif isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) \
                    and node.value.id == array:
                parts = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
                if isinstance(node.ctx, gast.Store) or primal and (
                        len(parts) == rank and all(is_int(p, ints) for p in parts)):
                    ok.add(id(node.value))
            elif isinstance(node, gast.Call):
                func = ctx.callee(node)
                shape_at = next((at for f, at in _SHAPE_ARGUMENT if func is f), None)
                if any(func is f for f in _SHAPE_READERS) or primal and (
                        ctx.elementwise(node) or ctx.reduction(node)):
                    ok.update(id(a) for a in node.args)     # a new array or a number
                elif shape_at is not None and len(node.args) > shape_at:
                    ok.add(id(node.args[shape_at]))
            elif primal and isinstance(node, gast.BinOp):
                ok.update(id(a) for a in (node.left, node.right))   # arithmetic: a new array
    return all(id(n) in ok for n in syntax.walk(fn)
               if isinstance(n, gast.Name) and n.id == array and not isinstance(n.ctx, gast.Store))


def _is_empty_list(stmt, stack) -> bool:
    return (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id == stack
            and isinstance(stmt.value, gast.List) and not stmt.value.elts)


def _without(stmts, drop) -> List[ast.AST]:
    out = []
    for stmt in stmts:
        if drop(stmt):
            continue
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner:
                setattr(stmt, field, _without(inner, drop) or
                        ([gast.Pass()] if field == "body" else []))
        out.append(stmt)
    return out


# -- clears nothing reads -------------------------------------------------------------------
def drop_dead_clears(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """Drop ``dx[k] = 0.0`` where no later statement reads slot k of ``dx``.

    ``x[i] = v`` reversed hands ``dx[i]`` to v and clears the slot, since the value x[i]
    held before had no part in it. In a reversed ``for i in range(s, e)`` loop the clear is
    dead when every read of dx in the loop is at ``i + c`` with c no larger than the
    cleared offset (later iterations only go down), smaller after the clear, and code
    after the loop reads only constant slots below ``s`` plus that offset:

        for i in reversed(i_range):                  for i in reversed(i_range):
            j = i - 1                                    j = i - 1
            dout_item = dout[i]                          dout_item = dout[i]
            dout[i] = 0.0                 ->             dout[j] += dout_item * a
            dout[j] += dout_item * a
    """
    if not any(_is_clear(s) or isinstance(s, gast.For) and any(_is_clear(t) for t in s.body)
               for s in fn.body):
        return                                  # no clear to look at
    starts = _range_starts(fn, ctx)
    private = _only_indexed(fn, ctx)
    body = fn.body
    for index, stmt in enumerate(body):
        if _is_clear(stmt) and _cleared(stmt) in private \
                and not any(_reads(s, _cleared(stmt)) for s in body[index + 1:]):
            stmt.s2s_dead = True
        elif isinstance(stmt, gast.For) and not stmt.orelse:
            start = _reversed_range_start(stmt, starts, ctx)
            if start is not None:
                _drop_loop_clears(stmt, start, body[index + 1:], private)
    fn.body = _without(fn.body, lambda s: getattr(s, "s2s_dead", False))


def _only_indexed(fn, ctx) -> Set[str]:
    """Cotangent buffers used only through indexing (and handed to ``own``, which copies):
    no other name can see their slots."""
    seen, other = set(), set()
    for node in syntax.walk(fn):
        if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name):
            node.value.s2s_indexed = True
        elif isinstance(node, gast.Call) and node.args and isinstance(node.args[0], gast.Name) \
                and ctx.callee(node) is runtime.own:
            node.args[0].s2s_indexed = True
    for node in syntax.walk(fn):
        if isinstance(node, gast.Name) and node.id in ctx.cotangent_of:
            if isinstance(node.ctx, gast.Store) or getattr(node, "s2s_indexed", False):
                seen.add(node.id)
            else:
                other.add(node.id)
        if hasattr(node, "s2s_indexed"):
            del node.s2s_indexed
    return seen - other


def _drop_loop_clears(loop, start: int, after, private: Set[str]) -> None:
    counter = loop.target.id
    offsets: Dict[str, int] = {counter: 0}      # names holding counter + offset
    reads: List[tuple] = []                     # (position, array, offset or None)
    clears: List[tuple] = []                    # (position, array, offset, statement)
    for position, stmt in enumerate(loop.body):
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], gast.Name):
            offset = _offset(stmt.value, offsets)
            if offset is None:
                offsets.pop(stmt.targets[0].id, None)
            else:
                offsets[stmt.targets[0].id] = offset
            if stmt.targets[0].id == counter:
                return                          # the counter rebound: nothing is known
        if _is_clear(stmt):
            array = _cleared(stmt)
            clears.append((position, array, _offset(stmt.targets[0].slice, offsets), stmt))
            continue
        nested = isinstance(stmt, (gast.For, gast.While, gast.If))
        for node in syntax.walk(stmt):
            if isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Store):
                reads.append((position, node.id,
                              None if nested else _read_offset(stmt, node, offsets)))
    for position, array, offset, stmt in clears:
        if offset is None or array not in private:
            continue
        # 0 in a reversed range(start, e): the slots this loop clears are >= start + offset
        later = all(_is_constant_slot_below(s, array, start + offset) for s in after)
        ok = later and all(
            read_offset is not None and (read_offset <= offset if at < position
                                         else read_offset < offset)
            for at, name, read_offset in reads if name == array)
        if ok:
            stmt.s2s_dead = True
    loop.body = _without(loop.body, lambda s: getattr(s, "s2s_dead", False)) or [gast.Pass()]


def _range_starts(fn, ctx) -> Dict[str, int]:
    """Names bound once to ``range(e)`` or ``range(s, e[, step > 0])`` with constant s."""
    starts, counts = {}, {}
    for node in syntax.walk(fn):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
        if isinstance(node, gast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], gast.Name) and isinstance(node.value, gast.Call) \
                and ctx.callee(node.value) is range and not node.value.keywords \
                and 1 <= len(node.value.args) <= 3:
            args = node.value.args
            step = args[2] if len(args) == 3 else gast.Constant(value=1, kind=None)
            first = args[0] if len(args) > 1 else gast.Constant(value=0, kind=None)
            if _int_constant(first) is not None and (_int_constant(step) or 0) > 0:
                starts[node.targets[0].id] = _int_constant(first)
    return {n: s for n, s in starts.items() if counts.get(n) == 1}


def _reversed_range_start(loop, starts, ctx) -> Optional[int]:
    it = loop.iter
    if isinstance(loop.target, gast.Name) and isinstance(it, gast.Call) \
            and ctx.callee(it) is reversed and len(it.args) == 1 \
            and isinstance(it.args[0], gast.Name):
        return starts.get(it.args[0].id)
    return None


def _int_constant(node) -> Optional[int]:
    if isinstance(node, gast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        inner = _int_constant(node.operand)
        return None if inner is None else -inner
    return None


def _offset(node, offsets) -> Optional[int]:
    """c if ``node`` is the loop counter plus the constant c, else None."""
    if isinstance(node, gast.Name):
        return offsets.get(node.id)
    if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Add, gast.Sub)):
        sign = 1 if isinstance(node.op, gast.Add) else -1
        left, right = _offset(node.left, offsets), _int_constant(node.right)
        if left is not None and right is not None:
            return left + sign * right
        if isinstance(node.op, gast.Add):
            left, right = _int_constant(node.left), _offset(node.right, offsets)
            if left is not None and right is not None:
                return left + right
    return None


def _read_offset(stmt, name_node, offsets) -> Optional[int]:
    """The slot offset a use of an array reads, or None if it may read any slot."""
    for node in syntax.walk(stmt):
        if isinstance(node, gast.Subscript) and node.value is name_node:
            if isinstance(node.ctx, gast.Store) and not isinstance(stmt, gast.AugAssign):
                return -10 ** 9            # a plain write reads nothing: never blocks
            return _offset(node.slice, offsets)
    return None


def _is_clear(stmt) -> bool:
    return (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Subscript)
            and isinstance(stmt.targets[0].value, gast.Name)
            and isinstance(stmt.value, gast.Constant) and stmt.value.value == 0.0
            and type(stmt.value.value) is float)


def _cleared(stmt) -> str:
    return stmt.targets[0].value.id


def _reads(stmt, array) -> bool:
    """Does ``stmt`` read ``array`` (anything but a plain write ``array[k] = v``)?"""
    for node in syntax.walk(stmt):
        if isinstance(node, gast.Name) and node.id == array \
                and not isinstance(node.ctx, gast.Store) \
                and _read_offset(stmt, node, {}) != -10 ** 9:
            return True
    return False


def _is_constant_slot_below(stmt, array, bound) -> bool:
    """Does ``stmt`` read ``array`` only at constant slots below ``bound`` (or not at all)?"""
    for node in syntax.walk(stmt):
        if isinstance(node, gast.Name) and node.id == array \
                and not isinstance(node.ctx, gast.Store):
            owner = next((n for n in syntax.walk(stmt)
                          if isinstance(n, gast.Subscript) and n.value is node), None)
            if owner is None:
                return False
            if isinstance(owner.ctx, gast.Store) and not isinstance(stmt, gast.AugAssign):
                continue
            slot = _int_constant(owner.slice)
            if slot is None or slot >= bound:
                return False
    return True
