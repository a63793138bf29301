"""Stage 6: make the generated gradient what a careful person would write.

In: the generated ``FunctionDef``, with the names the pipeline made up.  Out: the same
function, simplified. Passes, in order:

1. ``unbroadcast(g, x)`` is dropped where shape classes prove ``g`` already has ``x``'s shape
   (operands of elementwise code share a class; scalar constants never change a shape);
2. copies of cotangents (``dy = dz``) are propagated and algebra with 1 and 0 is folded;
3. assignments nothing reads are removed (only names the pipeline made, never user code);
4. single-use temporaries of the primal that the adjoint does not read are put back into the
   expression they came from, so the primal reads like the user's own code.

    out_pow = x ** 2                          out = 3 * x ** 2 + 4 * x
    out_mul = 3 * out_pow                     dout = ones_like(out)
    out = out_mul + 4 * x             ->      dout_pow = dout * 3
    dout = ones_like(out)                     dx = dout * 4 + dout_pow * (2 * x)
    dout_mul = unbroadcast(dout, out_mul)
    ...
"""
from __future__ import annotations

import ast
import copy
import itertools
from typing import Any, Dict, Iterable, List, Optional, Set

import gast
import numpy as np

from . import numpy_helpers

_fresh_class = itertools.count()
_SCALAR = "scalar"          # a number that broadcasts against anything without changing it


class Context:
    """What the optimizer needs to know about names the pipeline made."""

    def __init__(self, generated: Set[str], primal_temps: Set[str], cotangent_of: Dict[str, str],
                 elementwise: Any, unbroadcast: Optional[str], reduction: Any = None,
                 helpers: Optional[Dict[str, str]] = None, shapes=None,
                 is_number: Any = None, callee: Any = None, numpy: Any = None):
        self.generated = generated              # names safe to remove or rename
        self.primal_temps = primal_temps        # temporaries made by normalization
        self.cotangent_of = cotangent_of        # cotangent name -> primal name
        self.elementwise = elementwise          # callable: is this call elementwise?
        self.unbroadcast = unbroadcast          # the name unbroadcast has in generated code
        self.reduction = reduction or (lambda call: False)   # reduces to one number?
        self.helpers = helpers or {}            # 'ones_like', 'expand_reduced' -> their names
        # what this call's arguments are: parameter -> shape tuple (an ndarray) or FLOAT
        self.shapes = shapes or {}
        self.is_number = is_number or (lambda name: False)   # a global holding a number?
        self.callee = callee or (lambda call: None)          # the object a call calls
        self.numpy = numpy                      # callable: the name NumPy has in generated code


def optimize(fn: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    classes = shape_classes(fn, ctx)
    if ctx.unbroadcast:
        DropUnbroadcast(classes, ctx).visit(fn)
    fn.body = lower_item_helpers(fn.body, classes, ctx)
    drop_unread_restores(fn, classes, ctx)
    scalar_seeds(fn, classes, ctx)
    sizes_from_representatives(fn, classes, ctx)
    fn.body = propagate_copies(fn.body, ctx)
    _fold_adjoint(fn)
    fn.body = remove_dead(fn.body, ctx.generated)
    fn.body = sink_into_adjoint(fn.body, ctx)
    fn.body = fuse_accumulations(fn.body)
    fn.body = inline_temporaries(fn.body, ctx.primal_temps, ctx.generated)
    fn.body = fuse_accumulations(fn.body)
    fn.body = propagate_copies(fn.body, ctx)
    _fold_adjoint(fn)
    _deeper_first(fn, classes, ctx)
    return fn


def _deeper_first(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """In the adjoint's array sums ``a + b``, evaluate the operand that needs more
    temporary arrays first (Ershov numbers; then the longer one): fewer arrays are alive at
    once, which is what large arrays pay for. Only where shape classes show both are arrays or numbers, so
    ``+`` is NumPy's, which commutes."""
    def need(node) -> int:
        if isinstance(node, gast.BinOp):
            a, b = need(node.left), need(node.right)
            return max(a, b) if a != b else a + 1
        if isinstance(node, gast.UnaryOp):
            return max(need(node.operand), 1)
        if isinstance(node, gast.Call):
            return max([need(a) for a in node.args] + [1])
        return 0

    def weight(node):
        # ties go to the longer chain (measured: 10^6 elements, 10-25% faster that way)
        operations = sum(isinstance(n, (gast.BinOp, gast.UnaryOp, gast.Call))
                         for n in ast.walk(node))
        return need(node), operations

    class Reorder(ast.NodeTransformer):
        def visit_BinOp(self, node):
            self.generic_visit(node)
            if isinstance(node.op, gast.Add) and weight(node.right) > weight(node.left) \
                    and class_of(node.left, classes, ctx) is not None \
                    and class_of(node.right, classes, ctx) is not None:
                node.left, node.right = node.right, node.left
            return node

    marker = next((i for i, s in enumerate(fn.body) if _is_marker(s)), None)
    if marker is not None:
        for stmt in fn.body[marker + 1:]:
            Reorder().visit(stmt)


def fuse_accumulations(body: List[ast.AST]) -> List[ast.AST]:
    """``d = a`` then ``d += b`` (b not reading d) becomes ``d = a + b``."""
    out: List[ast.AST] = []
    for stmt in body:
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner:
                setattr(stmt, field, fuse_accumulations(inner))
        prev = out[-1] if out else None
        if (isinstance(stmt, gast.AugAssign) and isinstance(stmt.op, gast.Add)
                and isinstance(stmt.target, gast.Name)
                and isinstance(prev, gast.Assign) and len(prev.targets) == 1
                and isinstance(prev.targets[0], gast.Name)
                and prev.targets[0].id == stmt.target.id
                and not isinstance(prev.value, gast.Name)
                and stmt.target.id not in {n.id for n in ast.walk(stmt.value)
                                           if isinstance(n, gast.Name)}):
            prev.value = gast.BinOp(left=prev.value, op=gast.Add(), right=stmt.value)
            continue
        out.append(stmt)
    return out


def is_elementwise(func: Any) -> bool:
    """Does ``func`` apply elementwise (its result has its operands' broadcast shape)?"""
    if isinstance(func, np.ufunc):
        return True
    if getattr(func, "__s2s_elementwise__", False):
        return True
    return getattr(func, "__module__", None) == "math"


# -- sizes ---------------------------------------------------------------------------------
_SIZE_FUNCTIONS = {"size", "shape", "ndim"}


def sizes_from_representatives(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """``np.size(x_sq)`` reads ``np.size(x)`` when shape classes prove them equal and ``x``
    comes first: then ``x_sq`` need not be computed at all if nothing else reads it.

        x_sq = x ** 2                            (gone, when only its size was read)
        dx = ... / np.size(x_sq)         ->      dx = ... / np.size(x)
    """
    first: Dict[Any, str] = {}
    for arg in fn.args.args + fn.args.posonlyargs + fn.args.kwonlyargs:
        cls = classes.get(arg.id)
        if cls is not None and cls != _SCALAR:
            first.setdefault(cls, arg.id)
    counts = _assign_counts(fn.body)
    for stmt in fn.body:
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], gast.Name):
            target = stmt.targets[0].id
            cls = classes.get(target)
            if cls is not None and cls != _SCALAR and counts.get(target) == 1 \
                    and target not in ctx.cotangent_of:
                first.setdefault(cls, target)
    for node in ast.walk(fn):
        if (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                and node.func.attr in _SIZE_FUNCTIONS and len(node.args) == 1
                and isinstance(node.args[0], gast.Name)):
            cls = classes.get(node.args[0].id)
            representative = first.get(cls) if cls is not None else None
            if representative is not None:
                node.args[0].id = representative


# -- seeds of scalar outputs ---------------------------------------------------------------------
def scalar_seeds(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """A scalar output's seed is ``1.0``; a scalar spread over an array by a full reduction's
    adjoint stays a scalar where every use multiplies it by an array of that shape.

        dout = ones_like(out)                          dout = 1.0
        dx_sum = expand_reduced(dout, x_sum, None, False)   ->  dx_sum = 1.0
        dx = dx_sum * (2 * x)                          dx = 1.0 * (2 * x)   (then folded)
    """
    ones, expand = ctx.helpers.get("ones_like"), ctx.helpers.get("expand_reduced")
    loads: Dict[str, List[ast.AST]] = {}
    parents: Dict[int, ast.AST] = {}
    for node in ast.walk(fn):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
            loads.setdefault(node.id, []).append(node)
    for node in ast.walk(fn):
        if not (isinstance(node, gast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], gast.Name) and isinstance(node.value, gast.Call)
                and isinstance(node.value.func, gast.Name)):
            continue
        call, target = node.value, node.targets[0].id
        if call.func.id == ones and len(call.args) == 1 \
                and class_of(call.args[0], classes, ctx) == _SCALAR:
            node.value = gast.Constant(value=1.0, kind=None)
        elif call.func.id == expand and len(call.args) == 4 and _is_none(call.args[2]) \
                and _is_false(call.args[3]) and target in ctx.generated:
            spread = class_of(call.args[1], classes, ctx)
            if spread is None or spread == _SCALAR:
                continue
            uses = loads.get(target, [])
            if uses and all(_multiplies_array_of(parents.get(id(u)), u, spread, classes, ctx)
                            for u in uses):
                node.value = call.args[0]


def _multiplies_array_of(parent, use, cls, classes, ctx) -> bool:
    if not (isinstance(parent, gast.BinOp) and isinstance(parent.op, (gast.Mult, gast.Div))):
        return False
    other = parent.right if parent.left is use else parent.left
    if isinstance(parent.op, gast.Div) and parent.left is not use:
        return False
    return class_of(other, classes, ctx) == cls


def _is_none(node) -> bool:
    return isinstance(node, gast.Constant) and node.value is None


def _is_false(node) -> bool:
    return isinstance(node, gast.Constant) and node.value is False


# -- 1. shape classes -----------------------------------------------------------------------
FLOAT = "float"             # what ``Context.shapes`` says of a parameter given a Python float
_INTS = ("ints",)           # key of the set of int-valued names in a classes map


def shape_of_class(cls) -> Optional[tuple]:
    """The concrete shape a class stands for (known when grad specialized on the call's
    argument shapes), ``()`` for numbers, else None."""
    if cls == _SCALAR:
        return ()
    if type(cls) is tuple and len(cls) == 2 and cls[0] == "shape":
        return cls[1]
    return None


def _shape_class(shape: tuple) -> Any:
    # an item of an array (NumPy scalar) or a matrix product of vectors: a number
    return _SCALAR if shape == () else ("shape", tuple(shape))


def _param_class(spec) -> Any:
    if spec == FLOAT:
        return _SCALAR
    if isinstance(spec, tuple) and spec:
        return ("shape", spec)
    return next(_fresh_class)


def shape_classes(fn: gast.FunctionDef, ctx: Context) -> Dict[str, Any]:
    """Map names to shape classes: names in one class have equal shapes at run time.

    Parameters whose shapes the call told (``ctx.shapes``) get concrete classes, and shapes
    then follow through broadcasting, matrix products, items ``x[i]`` and ``for`` loops over
    arrays; int-valued names (loop counters, ``i - 1``) are recorded under ``_INTS``."""
    classes: Dict[Any, Any] = {}
    for arg in fn.args.args + fn.args.posonlyargs + fn.args.kwonlyargs:
        classes[arg.id] = _param_class(ctx.shapes.get(arg.id))
    ints = _int_names(fn, ctx)
    classes[_INTS] = ints
    for n in ints:
        classes[n] = _SCALAR
    conflicted: Set[str] = set()
    assigns = [(n.targets[0].id, n.value) for n in ast.walk(fn) if isinstance(n, gast.Assign)
               and len(n.targets) == 1 and isinstance(n.targets[0], gast.Name)]
    # values brought back by the reverse sweep (x_prev = x_stack.pop(); x = x_prev) are
    # earlier values of the same names: they tell nothing new about shapes
    restored = {t for t, v in assigns if _is_restore(v)}
    assigns = [(t, v) for t, v in assigns if not _is_restore(v) and t not in ints
               and not (isinstance(v, gast.Name) and v.id in restored)]
    for loop in ast.walk(fn):
        # for x_t in xs: x_t has the shape of xs[0]
        if isinstance(loop, gast.For) and isinstance(loop.target, gast.Name) \
                and isinstance(loop.iter, gast.Name) and loop.target.id not in ints:
            assigns.append((loop.target.id, gast.Subscript(
                value=loop.iter, slice=gast.Constant(value=0, kind=None), ctx=gast.Load())))
    # first only classes that follow from known ones; then unknown values get classes of
    # their own (an early guess of "unknown" would later look like a change of shape)
    for fresh in (False, True):
        for _ in range(8):                  # loops may need more looks; classes only merge
            changed = False
            for target, value in assigns:
                if target in conflicted:
                    continue
                primal = ctx.cotangent_of.get(target)
                cls = classes.get(primal) if primal else class_of(value, classes, ctx)
                if cls is None:
                    if not fresh:
                        continue
                    cls = ("fresh", id(value))
                old = classes.get(target)
                if target not in classes:
                    classes[target] = cls
                    changed = True
                elif old != cls and not primal:
                    # holds different shapes at different times: no class (equal to nothing)
                    conflicted.add(target)
                    classes[target] = None
                    changed = True
            if not changed:
                break
    for d, primal in ctx.cotangent_of.items():
        if primal in classes:
            classes[d] = classes[primal]
    return classes


_INT_OPS = (gast.Add, gast.Sub, gast.Mult, gast.FloorDiv, gast.Mod)


def _int_names(fn: gast.FunctionDef, ctx: Context) -> frozenset:
    """Names that only ever hold ints: ``for i in range(...)``, ``j = i - 1``, ``n = len(x)``
    (set-ups to None and values popped back in the reverse sweep aside)."""
    sources: Dict[str, list] = {}
    for node in ast.walk(fn):
        if isinstance(node, gast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], gast.Name):
            if not _is_restore(node.value):
                sources.setdefault(node.targets[0].id, []).append(node.value)
            node.targets[0].s2s_seen = True
        elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            sources.setdefault(node.target.id, []).append(
                gast.BinOp(left=node.target, op=node.op, right=node.value))
            node.target.s2s_seen = True
        elif isinstance(node, gast.For) and isinstance(node.target, gast.Name):
            sources.setdefault(node.target.id, []).append(("in", node.iter))
            node.target.s2s_seen = True
    for node in ast.walk(fn):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            if not getattr(node, "s2s_seen", False):
                sources.setdefault(node.id, []).append(None)    # unpacked, with...: unknown
            else:
                del node.s2s_seen
    ranges = {n for n, values in sources.items()
              if all(isinstance(v, gast.Call) and ctx.callee(v) is range for v in values)}
    ints = {n for n in sources if n not in ranges}
    while True:
        kept = {n for n in ints
                if all(_int_valued(v, ints, ranges, ctx) for v in sources[n])}
        if kept == ints:
            return frozenset(ints)
        ints = kept


def _int_valued(value, ints, ranges, ctx) -> bool:
    if isinstance(value, tuple):                # ("in", iterable) of a for loop
        it = value[1]
        if isinstance(it, gast.Call) and ctx.callee(it) is reversed and len(it.args) == 1:
            it = it.args[0]
        return (isinstance(it, gast.Name) and it.id in ranges
                or isinstance(it, gast.Call) and ctx.callee(it) is range)
    if isinstance(value, gast.Name) and not isinstance(value.ctx, gast.Store):
        return value.id in ints
    return _is_int(value, ints) or (isinstance(value, gast.Call) and ctx.callee(value) is len)


def _is_int(node, ints) -> bool:
    """An int for sure: int constants, int-valued names, and +, -, *, //, % of those."""
    if isinstance(node, gast.Constant):
        return type(node.value) is int
    if isinstance(node, gast.Name):
        return node.id in ints
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd)):
        return _is_int(node.operand, ints)
    if isinstance(node, gast.BinOp) and isinstance(node.op, _INT_OPS):
        return _is_int(node.left, ints) and _is_int(node.right, ints)
    return False


def _is_restore(value) -> bool:
    """``x = None`` set-up and ``x = x_stack.pop()``: they bring back an earlier value."""
    if isinstance(value, gast.Constant) and value.value is None:
        return True
    return (isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute)
            and value.func.attr == "pop" and not value.args)


def _broadcast(*shapes) -> Optional[tuple]:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


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


_LIKE = {"zeros_like", "ones_like", "empty_like", "copy", "fresh_copy", "own"}


def _item_class(base_cls, index, classes) -> Any:
    """The class of ``base[index]`` for a base of known shape and an int (or tuple of ints)."""
    shape = shape_of_class(base_cls)
    if not shape:
        return None
    ints = classes.get(_INTS, frozenset())
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    if len(parts) > len(shape) or not all(_is_int(p, ints) for p in parts):
        return None
    return _shape_class(shape[len(parts):])


def class_of(node: ast.AST, classes: Dict[str, Any], ctx: Context) -> Any:
    if isinstance(node, gast.Constant) and isinstance(node.value, (int, float)):
        return _SCALAR
    if isinstance(node, gast.Name):
        if node.id not in classes and ctx.is_number(node.id):
            return _SCALAR          # a global constant such as DT = 0.01
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
        if left == _SCALAR:
            return right
        if right == _SCALAR or left == right:
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
        return _SCALAR
    if ctx.elementwise(node):
        operands = [class_of(a, classes, ctx) for a in node.args]
        arrays = [c for c in operands if c != _SCALAR]
        if arrays and all(c is not None and c == arrays[0] for c in arrays):
            return arrays[0]
        if not arrays and node.args:
            return _SCALAR
        return _broadcast_class(arrays) if arrays else None
    func = ctx.callee(node)
    label = getattr(func, "__name__", None)
    if isinstance(node.func, gast.Attribute) and label is None and not node.args \
            and not node.keywords and node.func.attr == "copy":
        return class_of(node.func.value, classes, ctx)      # x.copy()
    if label in _LIKE and node.args and (label in ("own", "fresh_copy") or len(node.args) == 1
                                         and all(k.arg == "dtype" for k in node.keywords)):
        return class_of(node.args[-1] if label == "own" else node.args[0], classes, ctx)
    if label in ("take_item", "saved_item") and len(node.args) == 2 \
            and getattr(func, "__module__", "") == "s2s.runtime":
        return _item_class(class_of(node.args[0], classes, ctx), node.args[1], classes)
    if func is np.matmul and len(node.args) == 2 and not node.keywords:
        return class_of(gast.BinOp(left=node.args[0], op=gast.MatMult(), right=node.args[1]),
                        classes, ctx)
    return None


class DropUnbroadcast(ast.NodeTransformer):
    """Decides at transform time what the run-time shape helpers would: ``unbroadcast(g, x)``
    becomes ``g`` where shape classes prove g has x's shape, or ``g.sum(axis=0)`` and the
    like where both shapes are known; ``matmul_adjoint_x1/x2`` of known matrix and vector
    shapes become the products themselves (``g @ W.T``, ``X.T @ g``)."""

    def __init__(self, classes, ctx):
        self.classes, self.ctx = classes, ctx

    def visit_Call(self, node):
        self.generic_visit(node)
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
            return (_binop(g, gast.MatMult(), _attr(x2, "T")) if first
                    else _binop(_attr(x1, "T"), gast.MatMult(), g))
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


def _attr(value, attr):
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
    summed = gast.Call(func=_attr(g, "sum"), args=[], keywords=keywords)
    if stretched and lead:
        summed = gast.Call(func=_attr(summed, "reshape"), args=[gast.Tuple(
            elts=[gast.Constant(value=n, kind=None) for n in target], ctx=gast.Load())],
            keywords=[])
    return summed


# -- item helpers of arrays ---------------------------------------------------------------
def lower_item_helpers(body: List[ast.AST], classes, ctx: Context) -> List[ast.AST]:
    """Plain indexing where the container is an ndarray of known shape and the index ints:

        out_saved.append(saved_item(out, i))     ->   out_saved.append(out[i])
        restore_item(out, i, out_saved.pop())    ->   out[i] = out_saved.pop()
        dout_item = take_item(dout, i)           ->   dout_item = dout[i]
        clear_item(dout, i)                      ->   dout[i] = 0.0
        add_at(du, i, g)                         ->   du[i] += g

    The run-time helpers also serve lists, dicts and cotangents that are still scalars; a
    cotangent counts as an array only after ``own``/``zeros_like`` made it one, in the same
    block (a loop or branch that rebinds it forgets that)."""
    return _lower_items(body, set(), classes, ctx)


def _lower_items(stmts, arrays: Set[str], classes, ctx) -> List[ast.AST]:
    out = []
    for stmt in stmts:
        inner = [f for f in ("body", "orelse") if isinstance(getattr(stmt, f, None), list)]
        if inner:
            rebound = {n.id for n in ast.walk(stmt)
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


class _ItemLowering(ast.NodeTransformer):
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
        ints = self.classes.get(_INTS, frozenset())
        parts = key.elts if isinstance(key, gast.Tuple) else [key]
        if rank is None or len(parts) > rank or not all(_is_int(p, ints) for p in parts):
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
                return item if number else gast.Call(func=_attr(item, "copy"), args=[],
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
        """``own(d, x)`` or ``zeros_like(x)`` of an array ``x``: an ndarray of x's shape."""
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
_SHAPE_READERS = {"zeros_like", "ones_like", "empty_like", "shape", "size", "ndim", "len",
                  "shape_of"}
_SHAPE_ARGUMENT = {"own": 1, "expand_reduced": 1, "unbroadcast": 1}    # position read for shape


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
    pops: Dict[str, List[ast.AST]] = {}         # array name -> its restore statements
    for node in ast.walk(fn):
        if (isinstance(node, gast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], gast.Subscript)
                and isinstance(node.targets[0].value, gast.Name)
                and _is_restore(node.value) and isinstance(node.value.func.value, gast.Name)):
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
    for node in ast.walk(fn):
        if isinstance(node, gast.Expr) and isinstance(node.value, gast.Call) \
                and isinstance(node.value.func, gast.Attribute) \
                and isinstance(node.value.func.value, gast.Name) \
                and node.value.func.value.id == stack:
            if node.value.func.attr != "append":
                return None
            saves.append(node)
    uses = sum(isinstance(n, gast.Name) and n.id == stack for n in ast.walk(fn))
    return saves if uses == 1 + len(saves) + _count_pops(fn, stack) else None


def _count_pops(fn, stack):
    return sum(isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute)
               and n.func.attr == "pop" and isinstance(n.func.value, gast.Name)
               and n.func.value.id == stack for n in ast.walk(fn))


def _reads_only_numbers_and_shape(fn, array, rank, skip, classes, ctx) -> bool:
    """Does the adjoint read only ``array``'s shape, and the primal nothing that could
    alias it (only numbers out of it, and values computed from it)?"""
    ints = classes.get(_INTS, frozenset())
    ok = set()                  # ids of Name nodes of ``array`` in allowed places
    marker = next((i for i, s in enumerate(fn.body) if _is_marker(s)), len(fn.body))
    for index, stmt in enumerate(fn.body):
        primal = index < marker
        for node in ast.walk(stmt):
            if id(node) in skip:
                ok.update(id(inner) for inner in ast.walk(node))
            elif isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) \
                    and node.value.id == array:
                parts = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
                if isinstance(node.ctx, gast.Store) or primal and (
                        len(parts) == rank and all(_is_int(p, ints) for p in parts)):
                    ok.add(id(node.value))
            elif isinstance(node, gast.Call):
                label = getattr(ctx.callee(node), "__name__", None)
                if label in _SHAPE_READERS or primal and (ctx.elementwise(node)
                                                          or ctx.reduction(node)):
                    ok.update(id(a) for a in node.args)     # a new array or a number
                elif label in _SHAPE_ARGUMENT and len(node.args) > _SHAPE_ARGUMENT[label]:
                    ok.add(id(node.args[_SHAPE_ARGUMENT[label]]))
            elif primal and isinstance(node, gast.BinOp):
                ok.update(id(a) for a in (node.left, node.right))   # arithmetic: a new array
    return all(id(n) in ok for n in ast.walk(fn)
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


# -- 2. copies and algebra -------------------------------------------------------------------
def _assign_counts(body: List[ast.AST]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for node in ast.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def propagate_copies(body: List[ast.AST], ctx: Context) -> List[ast.AST]:
    """``da = db``, ``da`` bound once: read ``db`` instead, while ``db`` is unchanged.

    Works block by block (loop and branch bodies too); a copy is folded only when every
    read of ``da`` follows it in the same block with no assignment to ``db`` in between.
    """
    counts = _assign_counts(body)
    loads = _load_counts(body)
    mutated = _mutated_in_place(body)
    return _propagate_block(body, ctx, counts, loads, mutated)


def _propagate_block(stmts, ctx, counts, loads, mutated):
    out = list(stmts)
    i = 0
    while i < len(out):
        stmt = out[i]
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner:
                setattr(stmt, field, _propagate_block(inner, ctx, counts, loads, mutated))
        if (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name) and _is_plain_number(stmt.value)
                and stmt.targets[0].id in ctx.generated and counts.get(stmt.targets[0].id) == 1):
            a = stmt.targets[0].id
            if _reads_before_rebinding(out[i + 1:], a, a) == loads.get(a, 0):
                for later in out[i + 1:]:
                    _replace_load(later, a, stmt.value)
                del out[i]
                continue
        if (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.Name)):
            a, b = stmt.targets[0].id, stmt.value.id
            if _copies_back(out[:i], a, b):
                del out[i]          # b = a right after a = b: b still holds that value
                continue
            if (a in ctx.generated and counts.get(a) == 1 and a not in mutated
                    and b not in mutated and a != b
                    and _reads_before_rebinding(out[i + 1:], a, b) == loads.get(a, 0)):
                for later in out[i + 1:]:
                    _rename_load(later, a, b)
                del out[i]
                continue
        i += 1
    return out


def _copies_back(before, a, b) -> bool:
    """Is ``a = b`` redundant because ``b = a`` came earlier and neither changed since?"""
    for stmt in reversed(before):
        if (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id == b
                and isinstance(stmt.value, gast.Name) and stmt.value.id == a):
            return True
        if any(isinstance(n, gast.Name) and n.id in (a, b) and isinstance(n.ctx, gast.Store)
               for n in ast.walk(stmt)):
            return False
        if isinstance(stmt, gast.AugAssign):
            return False
    return False


def _reads_before_rebinding(stmts, a, b) -> int:
    """Reads of ``a`` in ``stmts`` before anything rebinds ``b`` (-1 if ``b`` is rebound first
    inside a statement that also reads ``a``)."""
    reads = 0
    for stmt in stmts:
        stmt_reads = sum(1 for n in ast.walk(stmt) if isinstance(n, gast.Name)
                         and n.id == a and isinstance(n.ctx, gast.Load))
        rebinds = any(isinstance(n, gast.Name) and n.id == b and isinstance(n.ctx, gast.Store)
                      for n in ast.walk(stmt))
        if rebinds:
            simple = isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            if simple and stmt_reads:
                reads += stmt_reads        # `b = f(a)` reads a before b changes
            elif stmt_reads:
                return -1
            return reads
        reads += stmt_reads
    return reads


def _load_counts(body) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for node in ast.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
            counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def _is_plain_number(node) -> bool:
    return isinstance(node, gast.Constant) and type(node.value) in (int, float)


def _replace_load(node, old, value):
    for parent in ast.walk(node):
        for field, child in ast.iter_fields(parent):
            if isinstance(child, gast.Name) and child.id == old and isinstance(child.ctx,
                                                                                gast.Load):
                setattr(parent, field, copy.deepcopy(value))
            elif isinstance(child, list):
                for j, item in enumerate(child):
                    if isinstance(item, gast.Name) and item.id == old \
                            and isinstance(item.ctx, gast.Load):
                        child[j] = copy.deepcopy(value)


def _rename_load(node, old, new):
    for n in ast.walk(node):
        if isinstance(n, gast.Name) and n.id == old and isinstance(n.ctx, gast.Load):
            n.id = new


def _mutated_in_place(body) -> Set[str]:
    names = set()
    for node in ast.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Subscript):
            base = node.target.value
            if isinstance(base, gast.Name):
                names.add(base.id)
        elif isinstance(node, gast.Call) and node.args and isinstance(node.args[0], gast.Name):
            func = node.func
            if isinstance(func, gast.Name) and func.id.startswith("add_at"):
                names.add(node.args[0].id)
    return names


def _is_number(node, value) -> bool:
    return (isinstance(node, gast.Constant) and type(node.value) in (int, float)
            and node.value == value)


def _fold_adjoint(fn) -> None:
    """Fold algebra in the adjoint sweep only: in the primal, ``y = x * 1.0`` makes a copy
    that the user may update in place. Likewise a cotangent later updated in place keeps
    its ``1.0 * g``: folded to ``g`` it would share g's array."""
    updated = _updated_in_place(fn.body)
    seen_sentinel = False
    for stmt in fn.body:
        if _is_marker(stmt):
            seen_sentinel = True
            continue
        if not seen_sentinel:
            continue
        for node in ast.walk(stmt):
            if isinstance(node, gast.Assign):
                node.s2s_keep = False
            if isinstance(node, gast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], gast.Name) \
                    and node.targets[0].id in updated:
                folded = _Fold().visit(copy.deepcopy(node.value))
                if not isinstance(folded, gast.Name):
                    node.value = folded
                node.s2s_keep = True
        _Fold().visit(stmt)


def _updated_in_place(body) -> Set[str]:
    names = set()
    for node in ast.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.AugAssign):
            target = node.target
            while isinstance(target, gast.Subscript):
                target = target.value
            if isinstance(target, gast.Name):
                names.add(target.id)
        elif isinstance(node, gast.Call) and node.args and isinstance(node.args[0], gast.Name):
            func = node.func
            if isinstance(func, gast.Name) and func.id.startswith(("add_at", "clear_item")):
                names.add(node.args[0].id)
    return names


def _is_marker(stmt) -> bool:
    return (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant)
            and isinstance(stmt.value.value, str) and stmt.value.value.startswith("s2s:"))


def _factors(node) -> List[ast.AST]:
    """The operands of a chain of ``*`` (a single operand for anything else); ``x ** 2``
    counts as ``x * x``."""
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Mult):
        return _factors(node.left) + _factors(node.right)
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Pow) \
            and isinstance(node.left, gast.Name) and _is_number(node.right, 2):
        return [node.left, copy.deepcopy(node.left)]
    return [node]


def _product(factors: List[ast.AST]) -> ast.AST:
    if not factors:
        return gast.Constant(value=1.0, kind=None)
    out = factors[0]
    for f in factors[1:]:
        out = gast.BinOp(left=out, op=gast.Mult(), right=f)
    return out


def _common_factor(left, right):
    """``d * a * b + d * c`` becomes ``d * (a * b + c)``: one multiplication less per term.
    Only a plain name counts as a common factor (elementwise ``*`` commutes)."""
    lf, rf = _factors(left), _factors(right)
    if len(lf) < 2 or len(rf) < 2:
        return None
    for i, f in enumerate(lf):
        if not isinstance(f, gast.Name):
            continue
        for j, g in enumerate(rf):
            if isinstance(g, gast.Name) and g.id == f.id:
                rest = gast.BinOp(left=_product(lf[:i] + lf[i + 1:]), op=gast.Add(),
                                  right=_product(rf[:j] + rf[j + 1:]))
                return gast.BinOp(left=gast.Name(id=f.id, ctx=gast.Load(), annotation=None,
                                                 type_comment=None),
                                  op=gast.Mult(), right=rest)
    return None


class _Fold(ast.NodeTransformer):
    """``g * 1``, ``1.0 * g``, ``g / 1``, ``-(-g)``. Never folds ``g * 0``: shapes matter."""

    def visit_Assign(self, node):
        if getattr(node, "s2s_keep", False):
            return node
        self.generic_visit(node)
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.Add):
            factored = _common_factor(node.left, node.right)
            if factored is not None:
                return factored
        if isinstance(node.op, gast.Mult):
            if _is_number(node.right, 1):
                return node.left
            if _is_number(node.left, 1):
                return node.right
        if isinstance(node.op, gast.Div) and _is_number(node.right, 1):
            return node.left
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if (isinstance(node.op, gast.USub) and isinstance(node.operand, gast.UnaryOp)
                and isinstance(node.operand.op, gast.USub)):
            return node.operand.operand
        return node


# -- 3. dead code ---------------------------------------------------------------------------
def remove_dead(body: List[ast.AST], removable: Set[str]) -> List[ast.AST]:
    """Drop assignments to pipeline names that nothing reads afterwards (loops: anywhere)."""
    while True:
        reads: Set[str] = set()
        for node in ast.walk(gast.Module(body=body, type_ignores=[])):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                reads.add(node.id)
            elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
                reads.add(node.target.id)
        dead = {n for n in removable if n not in reads}
        new_body, removed = _drop_assignments(body, dead)
        body = new_body
        if not removed:
            return body


def _drop_assignments(body, dead):
    removed = False
    out = []
    for stmt in body:
        if (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id in dead):
            removed = True
            continue
        if (isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Subscript)
                and isinstance(stmt.target.value, gast.Name) and stmt.target.value.id in dead):
            removed = True
            continue
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner:
                new_inner, r = _drop_assignments(inner, dead)
                removed |= r
                setattr(stmt, field, new_inner or ([gast.Pass()] if field == "body" else []))
        out.append(stmt)
    return out, removed


def sink_into_adjoint(body: List[ast.AST], ctx: Context) -> List[ast.AST]:
    """A cheap primal value only the adjoint reads, once, is computed where it is read:
    no array is kept alive from the primal sweep for it, and the algebra of the adjoint
    can see into it (``x ** 2`` shares the factor x with ``2 * x``).

        out_pow = x ** 2                        (gone)
        dx = t * (2 * x) + out_pow * dt   ->    dx = x * (t * 2 + x * dt)   (after folding)
    """
    marker = next((i for i, s in enumerate(body) if _is_marker(s)), None)
    if marker is None:
        return body
    uses = _load_counts(body)
    stores = _assign_counts(body)
    for n in _maybe_written_through(body, ctx):
        stores[n] = 2           # an array some statement may change in place: not stable
    out = list(body)
    for stmt in body[:marker]:
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)):
            continue
        target = stmt.targets[0].id
        if target not in ctx.primal_temps or uses.get(target) != 1 \
                or stores.get(target) != 1 or not _cheap(stmt.value, stores):
            continue
        user = next((s for s in out[out.index(stmt) + 1:]
                     if any(isinstance(n, gast.Name) and n.id == target
                            for n in ast.walk(s))), None)
        if user is None or out.index(user) <= marker \
                or not isinstance(user, (gast.Assign, gast.AugAssign)):
            continue
        out.remove(stmt)
        _substitute(user, target, stmt.value)
    return out


def _maybe_written_through(body, ctx) -> Set[str]:
    """Names whose value some statement may change in place: ``x[i] = v``, ``x += v``,
    ``x.append(v)``, or passing ``x`` to a function that is not an elementwise operation."""
    names = set()
    for node in ast.walk(gast.Module(body=body, type_ignores=[])):
        target = None
        if isinstance(node, (gast.Subscript, gast.Attribute)) \
                and isinstance(node.ctx, gast.Store):
            target = node.value
        elif isinstance(node, gast.AugAssign):
            target = node.target.value if isinstance(node.target, gast.Subscript) \
                else node.target
        elif isinstance(node, gast.Call):
            if isinstance(node.func, gast.Attribute) and isinstance(node.func.value, gast.Name):
                names.add(node.func.value.id)
            if not (ctx.elementwise(node) or ctx.reduction(node)):
                names.update(a.id for a in node.args if isinstance(a, gast.Name))
                names.update(k.value.id for k in node.keywords
                             if isinstance(k.value, gast.Name))
        if isinstance(target, gast.Name):
            names.add(target.id)
    return names


def _cheap(value, stores) -> bool:
    """One elementwise operation on names bound once (or never) and numbers."""
    if isinstance(value, gast.UnaryOp):
        operands = [value.operand]
    elif isinstance(value, gast.BinOp) and not isinstance(value.op, gast.MatMult):
        operands = [value.left, value.right]
    else:
        return False
    return all(isinstance(o, gast.Constant) and type(o.value) in (int, float)
               or isinstance(o, gast.Name) and stores.get(o.id, 0) <= 1 for o in operands)


# -- 4. primal temporaries back into their expressions --------------------------------------
def inline_temporaries(body: List[ast.AST], temps: Set[str],
                       adjoint_temps: Set[str] = frozenset()) -> List[ast.AST]:
    """``t = a * b; y = t + c`` becomes ``y = a * b + c`` when only that use reads ``t``.

    Only the statement right after a temporary's definition may absorb it, which keeps
    the user's order of evaluation.
    """
    uses = _load_counts(body)
    stores = _assign_counts(body)
    return _inline_block(body, temps, uses, stores, adjoint_temps)


def _inline_block(body, temps, uses, stores, adjoint_temps):
    out: List[ast.AST] = []
    for stmt in body:
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner:
                setattr(stmt, field, _inline_block(inner, temps, uses, stores, adjoint_temps))
        # adjoint temporaries fuse into the next adjoint statement, never into the return:
        # the gradients keep their names there
        allowed = temps | (adjoint_temps if not isinstance(stmt, gast.Return) else set())
        while (out and _inlinable(out[-1], allowed, uses)
               and stores.get(out[-1].targets[0].id) == 1
               and _single_use_in(stmt, out[-1])):
            prev = out.pop()
            stmt = _substitute(stmt, prev.targets[0].id, prev.value)
        out.append(stmt)
    return out


def _inlinable(stmt, temps, uses) -> bool:
    return (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id in temps
            and uses.get(stmt.targets[0].id) == 1)


def _single_use_in(stmt, prev) -> bool:
    if not isinstance(stmt, (gast.Assign, gast.Return, gast.AugAssign)):
        return False
    target = prev.targets[0].id
    value = stmt.value
    if value is None:
        return False
    return sum(isinstance(n, gast.Name) and n.id == target for n in ast.walk(value)) == 1


def _substitute(stmt, target, value):
    class Sub(ast.NodeTransformer):
        def visit_Name(self, node):
            if isinstance(node.ctx, gast.Load) and node.id == target:
                return _parenthesized(value)
            return node
    stmt.value = Sub().visit(stmt.value)
    return stmt


def _parenthesized(value):
    return copy.deepcopy(value)     # ast.unparse adds parentheses by precedence
