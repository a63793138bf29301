"""Shapes known at transform time, and the run-time shape helpers they make unneeded.

``shape_classes`` maps each name of a generated function to a class: names in one class
have equal shapes at run time. When ``grad`` specialized on the shapes of a call's
arguments, classes are concrete shapes, followed through broadcasting, ``@``, items
``x[i]`` and loops over arrays. ``LowerShapeHelpers`` then decides at transform time what
the helpers would decide at run time:

    dW2 = matmul_adjoint_x2(dout, hidden, W2)     ->   dW2 = hidden.T @ dout
    db2 = unbroadcast(dout, b2)                   ->   db2 = dout.sum(axis=0)
    dh = unbroadcast(dh_add, h_matmul)            ->   dh = dh_add
"""
from __future__ import annotations

import ast
import copy
import itertools
from typing import Any, Dict, Optional, Set

import gast
import numpy as np

from s2s.runtime import numpy_helpers

from s2s import runtime

from s2s.compiler import syntax
from s2s.compiler.context import Context

_fresh_class = itertools.count()
SCALAR = "scalar"           # a number that broadcasts against anything without changing it

# -- 1. shape classes -----------------------------------------------------------------------
FLOAT = "float"             # what ``Context.shapes`` says of a parameter given a Python float
INTS = ("ints",)           # key of the set of int-valued names in a classes map


def shape_of_class(cls) -> Optional[tuple]:
    """The concrete shape a class stands for (known when grad specialized on the call's
    argument shapes), ``()`` for numbers, else None."""
    if cls == SCALAR:
        return ()
    if type(cls) is tuple and len(cls) == 2 and cls[0] == "shape":
        return cls[1]
    return None


def _shape_class(shape: tuple) -> Any:
    # an item of an array (NumPy scalar) or a matrix product of vectors: a number
    return SCALAR if shape == () else ("shape", tuple(shape))


def _param_class(spec) -> Any:
    if spec == FLOAT:
        return SCALAR
    if isinstance(spec, tuple) and spec:
        return ("shape", spec)
    return next(_fresh_class)


def shape_classes(fn: gast.FunctionDef, ctx: Context) -> Dict[str, Any]:
    """Map names to shape classes: names in one class have equal shapes at run time.

    Parameters whose shapes the call told (``ctx.shapes``) get concrete classes, and shapes
    then follow through broadcasting, matrix products, items ``x[i]`` and ``for`` loops over
    arrays; int-valued names (loop counters, ``i - 1``) are recorded under ``INTS``."""
    classes: Dict[Any, Any] = {}
    for arg in fn.args.args + fn.args.posonlyargs + fn.args.kwonlyargs:
        classes[arg.id] = _param_class(ctx.shapes.get(arg.id))
    bindings = _Bindings(fn)
    ints = _int_names(bindings, ctx)
    classes[INTS] = ints
    for n in ints:
        classes[n] = SCALAR
    conflicted: Set[str] = set()
    assigns = [(n.targets[0].id, n.value) for n in bindings.assigns
               if len(n.targets) == 1 and isinstance(n.targets[0], gast.Name)]
    # values brought back by the reverse sweep (x_prev = x_stack.pop(); x = x_prev) are
    # earlier values of the same names: they tell nothing new about shapes
    restored = {t for t, v in assigns if is_restore(v)}
    assigns = [(t, v) for t, v in assigns if not is_restore(v) and t not in ints
               and not (isinstance(v, gast.Name) and v.id in restored)]
    for loop in bindings.loops:
        # for x_t in xs: x_t has the shape of xs[0]
        if isinstance(loop.target, gast.Name) \
                and isinstance(loop.iter, gast.Name) and loop.target.id not in ints:
            assigns.append((loop.target.id, gast.Subscript(
                value=loop.iter, slice=gast.Constant(value=0, kind=None), ctx=gast.Load())))
    # first only classes that follow from known ones; then unknown values get classes of
    # their own (an early guess of "unknown" would later look like a change of shape).
    # A class is a function of the classes of the names the value reads, so a value is
    # looked at again only once one of those has changed since its last look.
    primals = [ctx.cotangent_of.get(target) for target, _ in assigns]
    found: list = [_UNSEEN] * len(assigns)  # the class each value had at its last look
    stale = [False] * len(assigns)          # a name the value reads changed since then
    readers: Dict[Any, list] = {}           # name -> the values that read it, by position
    for fresh in (False, True):
        for _ in range(8):                  # loops may need more looks; classes only merge
            changed = False
            for i, (target, value) in enumerate(assigns):
                last = found[i]
                if (last is None and not fresh or last is not None and last is not _UNSEEN) \
                        and not stale[i] or target in conflicted:
                    continue                # the same class as before: nothing to do
                primal = primals[i]
                if last is _UNSEEN:
                    for n in ((primal,) if primal else _names_in(value)):
                        readers.setdefault(n, []).append(i)
                cls = classes.get(primal) if primal else class_of(value, classes, ctx)
                if cls is None and fresh:
                    cls = ("fresh", id(value))
                found[i], stale[i] = cls, False
                if cls is None:
                    continue
                old = classes.get(target)
                if target not in classes:
                    classes[target] = cls
                elif old != cls and not primal:
                    # holds different shapes at different times: no class (equal to nothing)
                    conflicted.add(target)
                    classes[target] = None
                else:
                    continue
                changed = True
                for reader in readers.get(target, ()):
                    stale[reader] = True
            if not changed:
                break
    for d, primal in ctx.cotangent_of.items():
        if primal in classes:
            classes[d] = classes[primal]
    return classes


_UNSEEN = object()


def _names_in(value) -> tuple:
    """The names an expression reads (``class_of`` looks at no others)."""
    return tuple({node.id for node in syntax.walk(value) if node.__class__ is gast.Name})


_INT_OPS = (gast.Add, gast.Sub, gast.Mult, gast.FloorDiv, gast.Mod)


class _Bindings:
    """The statements of ``fn`` that bind names, in ``syntax.walk`` order, found in one walk:
    assignments, augmented assignments, ``for`` loops, and every name stored to."""

    def __init__(self, fn: ast.AST):
        self.assigns, self.augmented, self.loops, self.stores = [], [], [], []
        kinds = {gast.Assign: self.assigns.append, gast.AugAssign: self.augmented.append,
                 gast.For: self.loops.append}
        for node in syntax.walk(fn):
            cls = node.__class__
            if cls is gast.Name:
                if isinstance(node.ctx, gast.Store):
                    self.stores.append(node)
            elif cls in kinds:
                kinds[cls](node)


def _int_names(bindings: _Bindings, ctx: Context) -> frozenset:
    """Names that only ever hold ints: ``for i in range(...)``, ``j = i - 1``, ``n = len(x)``
    (set-ups to None and values popped back in the reverse sweep aside).

    Each value is an int for sure, never, or if the names it reads are: one look at each
    finds the names it needs (``needs``: None for never). Then the names that need a name
    which is not an int go, and those that need them, until none is left to go."""
    needs: Dict[str, Optional[Set[str]]] = {}
    ranged, unranged = set(), set()     # names given a range(...) / anything else
    seen = set()            # ids of the stored names that the statements below bind
    callee = ctx.callee
    for node in bindings.assigns:
        targets = node.targets
        if len(targets) != 1 or targets[0].__class__ is not gast.Name:
            continue
        n = targets[0].id
        seen.add(id(targets[0]))
        value = node.value
        if is_restore(value):
            continue
        if value.__class__ is gast.Call:
            func = callee(value)
            (ranged if func is range else unranged).add(n)
            if func is not len:
                needs[n] = None
            elif n not in needs:
                needs[n] = set()
        else:
            unranged.add(n)
            _need(needs, n, value)
    for node in bindings.augmented:
        if isinstance(node.target, gast.Name):
            n = node.target.id
            seen.add(id(node.target))
            unranged.add(n)
            _need(needs, n, gast.BinOp(left=node.target, op=node.op, right=node.value))
    loops = [node for node in bindings.loops if isinstance(node.target, gast.Name)]
    for node in loops:
        seen.add(id(node.target))
        unranged.add(node.target.id)
    for node in bindings.stores:
        if id(node) not in seen:
            needs[node.id] = None       # unpacked, with...: unknown
            unranged.add(node.id)
    ranges = ranged - unranged
    for node in loops:
        n = node.target.id
        if not _iterates_ints(node.iter, ranges, ctx):
            needs[n] = None
        elif n not in needs:
            needs[n] = set()
    ints = {n for n, wanted in needs.items() if wanted is not None and n not in ranges}
    readers: Dict[str, list] = {}
    dropped = []
    for n in ints:
        for m in needs[n]:
            readers.setdefault(m, []).append(n)
            if m not in ints:
                dropped.append(n)
    while dropped:
        n = dropped.pop()
        if n in ints:
            ints.remove(n)
            dropped.extend(readers.get(n, ()))
    return frozenset(ints)


def _need(needs: Dict[str, Optional[Set[str]]], n: str, value) -> None:
    """One more value of ``n``: an int if the names added to its needs are."""
    wanted = needs.get(n, _NEW)
    if wanted is None:
        return                  # another value is never an int
    if wanted is _NEW:
        wanted = set()
    needs[n] = wanted if _int_operands(value, wanted) else None


_NEW = object()


def _iterates_ints(it, ranges, ctx) -> bool:
    """Is ``for v in it`` over ints: ``range(...)``, ``reversed`` of one, or a name bound
    to ranges only?"""
    if isinstance(it, gast.Call) and ctx.callee(it) is reversed and len(it.args) == 1:
        it = it.args[0]
    return (isinstance(it, gast.Name) and it.id in ranges
            or isinstance(it, gast.Call) and ctx.callee(it) is range)


def _int_operands(node, wanted: Set[str]) -> bool:
    """``is_int`` with the names it asks about put in ``wanted`` rather than looked up."""
    cls = node.__class__
    if cls is gast.Name:
        wanted.add(node.id)
        return True
    if cls is gast.Constant:
        return type(node.value) is int
    if cls is gast.BinOp:
        return (isinstance(node.op, _INT_OPS) and _int_operands(node.left, wanted)
                and _int_operands(node.right, wanted))
    if cls is gast.UnaryOp:
        return isinstance(node.op, (gast.USub, gast.UAdd)) and _int_operands(node.operand,
                                                                              wanted)
    return False


def is_int(node, ints) -> bool:
    """An int for sure: int constants, int-valued names, and +, -, *, //, % of those."""
    if isinstance(node, gast.Constant):
        return type(node.value) is int
    if isinstance(node, gast.Name):
        return node.id in ints
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd)):
        return is_int(node.operand, ints)
    if isinstance(node, gast.BinOp) and isinstance(node.op, _INT_OPS):
        return is_int(node.left, ints) and is_int(node.right, ints)
    return False


def is_restore(value) -> bool:
    """``x = None`` set-up and ``x = x_stack.pop()``: they bring back an earlier value."""
    if isinstance(value, gast.Constant) and value.value is None:
        return True
    return (isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute)
            and value.func.attr == "pop" and not value.args)


def _broadcast(*shapes) -> Optional[tuple]:
    """NumPy's broadcast of these shapes, or None if they do not broadcast."""
    out = []
    for axis in range(1, max(len(s) for s in shapes) + 1):
        sizes = {s[-axis] for s in shapes if len(s) >= axis} - {1}
        if len(sizes) > 1:
            return None
        out.append(sizes.pop() if sizes else 1)
    return tuple(reversed(out))


def matmul_shape(a: tuple, b: tuple) -> Optional[tuple]:
    """The shape of ``a @ b`` for operands of shapes a and b, or None if they do not fit."""
    if not a or not b:
        return None
    if len(a) == 1 and len(b) == 1:
        return () if a[0] == b[0] else None
    if len(b) == 1:
        return a[:-1] if a[-1] == b[0] else None
    if len(a) == 1:
        return b[:-2] + b[-1:] if a[0] == b[-2] else None
    if a[-1] != b[-2]:
        return None
    batch = _broadcast(a[:-2], b[:-2])
    return None if batch is None else batch + (a[-2], b[-1])


# calls whose result has the shape of their (only) argument, and own(cotangent, primal)
_LIKE = (np.zeros_like, np.ones_like, np.empty_like, np.copy, runtime.zeros_like,
         runtime.ones_like, runtime.fresh_copy)


def _item_class(base_cls, index, classes) -> Any:
    """The class of ``base[index]`` for a base of known shape and an int (or tuple of ints)."""
    shape = shape_of_class(base_cls)
    if not shape:
        return None
    ints = classes.get(INTS, frozenset())
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    if len(parts) > len(shape) or not all(is_int(p, ints) for p in parts):
        return None
    return _shape_class(shape[len(parts):])


def class_of(node: ast.AST, classes: Dict[str, Any], ctx: Context) -> Any:
    if isinstance(node, gast.Constant) and isinstance(node.value, (int, float)):
        return SCALAR
    if isinstance(node, gast.Name):
        if node.id not in classes and ctx.is_number(node.id):
            return SCALAR          # a global constant such as DT = 0.01
        return classes.get(node.id)
    if isinstance(node, gast.UnaryOp):
        return class_of(node.operand, classes, ctx)
    if isinstance(node, gast.BinOp):
        left = class_of(node.left, classes, ctx)
        right = class_of(node.right, classes, ctx)
        if isinstance(node.op, gast.MatMult):
            a, b = shape_of_class(left), shape_of_class(right)
            shape = matmul_shape(a, b) if a is not None and b is not None else None
            return None if shape is None else _shape_class(shape)
        if left == SCALAR:
            return right
        if right == SCALAR or left == right:
            return left
        return _broadcast_class([left, right])
    if isinstance(node, gast.Subscript):
        return _item_class(class_of(node.value, classes, ctx), node.slice, classes)
    if isinstance(node, gast.Attribute) and node.attr == "T":
        shape = shape_of_class(class_of(node.value, classes, ctx))
        return None if not shape else _shape_class(shape[::-1])
    if isinstance(node, gast.Call):
        return _call_class(node, classes, ctx)
    return None


def _broadcast_class(operands) -> Any:
    """Operands of known shapes broadcast to a known shape."""
    shapes = [shape_of_class(c) for c in operands]
    if any(s is None for s in shapes):
        return None
    shape = _broadcast(*shapes)
    return None if shape is None else _shape_class(shape)


def _call_class(node: gast.Call, classes, ctx) -> Any:
    if ctx.reduction(node):
        return SCALAR
    if ctx.elementwise(node):
        operands = [class_of(a, classes, ctx) for a in node.args]
        arrays = [c for c in operands if c != SCALAR]
        if arrays and all(c is not None and c == arrays[0] for c in arrays):
            return arrays[0]
        if not arrays and node.args:
            return SCALAR
        return _broadcast_class(arrays) if arrays else None
    func = ctx.callee(node)
    label = getattr(func, "__name__", None)
    if isinstance(node.func, gast.Attribute) and label is None and not node.args \
            and not node.keywords and node.func.attr == "copy":
        return class_of(node.func.value, classes, ctx)      # x.copy()
    if func is runtime.own and len(node.args) == 2:
        return class_of(node.args[1], classes, ctx)
    if any(func is f for f in _LIKE) and len(node.args) == 1 \
            and all(k.arg == "dtype" for k in node.keywords):
        return class_of(node.args[0], classes, ctx)
    if (func is runtime.take_item or func is runtime.saved_item) and len(node.args) == 2:
        return _item_class(class_of(node.args[0], classes, ctx), node.args[1], classes)
    if func is np.matmul and len(node.args) == 2 and not node.keywords:
        return class_of(gast.BinOp(left=node.args[0], op=gast.MatMult(), right=node.args[1]),
                        classes, ctx)
    return None


class LowerShapeHelpers(syntax.Transformer):
    """Decides at transform time what the run-time shape helpers would: ``unbroadcast(g, x)``
    becomes ``g`` where shape classes prove g has x's shape, or ``g.sum(axis=0)`` and the
    like where both shapes are known; ``matmul_adjoint_x1/x2`` of known matrix and vector
    shapes become the products themselves (``g @ W.T``, ``X.T @ g``)."""

    def __init__(self, classes, ctx):
        self.classes, self.ctx = classes, ctx

    def visit(self, node):
        """``node`` with the helper calls in it decided, innermost first (what replaces
        ``node``, when it is such a call itself). Only calls of a name can be helpers: one
        walk finds them and where they sit, instead of a visit of every node."""
        found = []      # (holder, field, position in the field's list or None, call)
        for holder in syntax.walk(node):
            attrs = holder.__dict__
            for field in syntax.child_fields(holder.__class__):
                value = attrs.get(field)
                if type(value) is list:
                    found.extend((holder, field, i, item) for i, item in enumerate(value)
                                 if item.__class__ is gast.Call
                                 and item.func.__class__ is gast.Name)
                elif value.__class__ is gast.Call and value.func.__class__ is gast.Name:
                    found.append((holder, field, None, value))
        for holder, field, i, call in reversed(found):     # children before their parents
            new = self.visit_Call(call)
            if new is not call:
                if i is None:
                    setattr(holder, field, new)
                else:
                    getattr(holder, field)[i] = new
        if node.__class__ is gast.Call and node.func.__class__ is gast.Name:
            return self.visit_Call(node)
        return node

    def visit_Call(self, node):
        """A call whose arguments are decided already."""
        if not isinstance(node.func, gast.Name):
            return node
        if node.func.id == self.ctx.unbroadcast and len(node.args) == 2:
            value_cls = class_of(node.args[0], self.classes, self.ctx)
            target_cls = class_of(node.args[1], self.classes, self.ctx)
            if value_cls is not None and value_cls == target_cls:
                return node.args[0]
            summed = _sum_to(node.args[0], shape_of_class(value_cls),
                             shape_of_class(target_cls))
            return node if summed is None else summed
        func = self.ctx.callee(node)
        if func in (numpy_helpers.matmul_adjoint_x1, numpy_helpers.matmul_adjoint_x2) \
                and len(node.args) == 3 and not node.keywords and self.ctx.numpy:
            lowered = self._matmul_adjoint(func is numpy_helpers.matmul_adjoint_x1, *node.args)
            return node if lowered is None else lowered
        return node

    def _matmul_adjoint(self, first, g, x1, x2):
        a = shape_of_class(class_of(x1, self.classes, self.ctx))
        b = shape_of_class(class_of(x2, self.classes, self.ctx))
        if not a or not b or len(a) > 2 or len(b) > 2:
            return None
        result = matmul_shape(a, b)
        if result is None or shape_of_class(class_of(g, self.classes, self.ctx)) != result:
            return None
        g, x1, x2 = copy.deepcopy(g), copy.deepcopy(x1), copy.deepcopy(x2)
        if len(a) == 1 and len(b) == 1:         # a dot product: g is a number
            return _binop(g, gast.Mult(), x2 if first else x1)
        if len(a) == 2 and len(b) == 2:
            return (_binop(g, gast.MatMult(), attr_of(x2, "T")) if first
                    else _binop(attr_of(x1, "T"), gast.MatMult(), g))
        outer = gast.Attribute(value=gast.Name(id=self.ctx.numpy(), ctx=gast.Load(),
                                               annotation=None, type_comment=None),
                               attr="outer", ctx=gast.Load())
        if len(b) == 1:                         # matrix @ vector
            return (gast.Call(func=outer, args=[g, x2], keywords=[]) if first
                    else _binop(g, gast.MatMult(), x1))
        return (_binop(x2, gast.MatMult(), g) if first      # vector @ matrix
                else gast.Call(func=outer, args=[x1, g], keywords=[]))


def _binop(left, op, right):
    return gast.BinOp(left=left, op=op, right=right)


def attr_of(value, attr):
    return gast.Attribute(value=value, attr=attr, ctx=gast.Load())


def _sum_to(g, value: Optional[tuple], target: Optional[tuple]):
    """``g`` (of shape ``value``) summed down to ``target``, as a method call, or None."""
    if value is None or target is None or len(value) < len(target) or value == ():
        return None
    lead = len(value) - len(target)
    stretched = []
    for i, n in enumerate(target):
        if value[lead + i] != n:
            if n != 1:
                return None             # not a broadcast of target: leave it to run time
            stretched.append(lead + i)
    axes = list(range(lead)) + stretched
    if not axes:
        return g
    keywords = []
    if target != () or len(axes) != len(value):
        axis = gast.Constant(value=axes[0], kind=None) if len(axes) == 1 else gast.Tuple(
            elts=[gast.Constant(value=a, kind=None) for a in axes], ctx=gast.Load())
        keywords.append(gast.keyword(arg="axis", value=axis))
    if stretched and not lead:
        keywords.append(gast.keyword(arg="keepdims", value=gast.Constant(value=True, kind=None)))
    summed = gast.Call(func=attr_of(g, "sum"), args=[], keywords=keywords)
    if stretched and lead:
        summed = gast.Call(func=attr_of(summed, "reshape"), args=[gast.Tuple(
            elts=[gast.Constant(value=n, kind=None) for n in target], ctx=gast.Load())],
            keywords=[])
    return summed
