"""Stage 3: one operation per statement.

In: a gast ``FunctionDef``.  Out: the same function where every statement that computes
with numbers does exactly one operation on names and constants, with named temporaries.
Integer bookkeeping, comparisons and other expressions that cannot carry a gradient are left
as the user wrote them. Temporaries are named after the variable they help compute.

    def f(x, w, b):                          def f(x, w, b):
        pred = np.tanh(x @ w + b)                pred_matmul = x @ w
        return np.mean(pred ** 2)       ->       pred_add = pred_matmul + b
                                                 pred = np.tanh(pred_add)
                                                 out_pow = pred ** 2
                                                 out = np.mean(out_pow)
                                                 return out

Also: ``a += b`` becomes ``a = a + b``; ``a, b = t`` becomes ``a = t[0]`` and ``b = t[1]``;
``a = b = e`` binds ``e`` once; docstrings and ``pass`` go.
"""
from __future__ import annotations

import ast
import copy
import types
from typing import Dict, List, Set

import gast
import numpy as np

from s2s.compiler import syntax
from s2s.compiler.syntax import assign, const, dotted, name
from s2s.compiler.frontend.names import Namer
from s2s.compiler.frontend.parse import Source
from s2s.compiler.frontend.resolve import Resolver, local_names

# Methods that grow a list; their arguments get names so their cotangents can be routed.
CONTAINER_METHODS = {"append", "extend"}

# Attributes of an array that are plain data, never differentiable.
STATIC_ATTRIBUTES = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes", "strides"}

BINOP_NAMES = {
    gast.Add: "add", gast.Sub: "sub", gast.Mult: "mul", gast.Div: "div",
    gast.FloorDiv: "floordiv", gast.Mod: "mod", gast.Pow: "pow", gast.MatMult: "matmul",
    gast.BitAnd: "and", gast.BitOr: "or", gast.BitXor: "xor", gast.LShift: "lshift",
    gast.RShift: "rshift",
}
UNARY_NAMES = {gast.USub: "neg", gast.UAdd: "pos", gast.Invert: "invert", gast.Not: "not"}


def is_atom(node: ast.AST) -> bool:
    """Names and literal constants: the operands of a normalized statement."""
    if isinstance(node, (gast.Name, gast.Constant)):
        return True
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd)):
        return isinstance(node.operand, gast.Constant)
    return False


def _spliced(args: List[ast.AST]) -> List[ast.AST]:
    """Call arguments with a starred literal spliced in: ``f(*(a, b), c)`` is ``f(a, b, c)``
    (generated tangent code passes a ``*args`` rule's tangents so, and differentiating it
    again needs them one by one)."""
    out: List[ast.AST] = []
    for arg in args:
        if isinstance(arg, gast.Starred) and isinstance(arg.value, (gast.Tuple, gast.List)):
            out += arg.value.elts
        else:
            out.append(arg)
    return out


def _op_hint(node: ast.AST) -> str:
    if isinstance(node, gast.BinOp):
        return BINOP_NAMES.get(type(node.op), "op")
    if isinstance(node, gast.UnaryOp):
        return UNARY_NAMES.get(type(node.op), "op")
    if isinstance(node, gast.Call):
        func = node.func
        if isinstance(func, gast.Attribute):
            return func.attr
        if isinstance(func, gast.Name):
            return func.id
        return "call"
    if isinstance(node, gast.Attribute):
        return node.attr
    if isinstance(node, gast.Subscript):
        return "item"
    if isinstance(node, (gast.Tuple, gast.List)):
        return "items"
    return "t"


# NumPy functions that certainly return an array (with the ufuncs): a list literal beside
# their result in arithmetic is an array operand.
_ARRAY_MAKERS = (np.array, np.asarray, np.ones, np.zeros, np.full, np.empty, np.ones_like,
                 np.zeros_like, np.full_like, np.empty_like, np.arange, np.linspace, np.eye,
                 np.identity, np.dot, np.outer, np.stack, np.concatenate, np.reshape,
                 np.transpose, np.clip, np.cumsum, np.diag, np.tile)


class Normalizer:
    """Rewrites a function body into one operation per statement."""

    def __init__(self, source: Source, namer: Namer, locals_: Set[str], weights: bool = False):
        self.source = source
        self.namer = namer
        self.locals = locals_
        self.weights = weights      # grad(..., weights=): weights may be read as globals
        self.resolver = Resolver(source, locals_)
        self.arrays: Set[str] = set()       # local names that certainly hold arrays

    # -- list literals as array operands ------------------------------------------------
    def _numpy_root(self, func) -> ast.AST:
        """For ``np.multiply`` (any spelling of numpy as an attribute root), the ``np`` node;
        else None."""
        if isinstance(func, gast.Attribute) and self.resolver.resolve(func.value) is np:
            return func.value
        return None

    def _array_spelling(self, node):
        """The ``np`` node of an operand that is certainly an array: a call of a NumPy
        function (``np.ones(2)``), or a global or closure name holding an array (then the
        numpy the function body names as ``np`` or ``numpy``); else None."""
        if isinstance(node, gast.Call):
            func = self.resolver.resolve(node.func)
            if isinstance(func, np.ufunc) or any(func is f for f in _ARRAY_MAKERS):
                return self._numpy_root(node.func)
            return None     # np.shape(x) + (n,) is a tuple; np.split(...) + [y] a list
        if isinstance(node, gast.Name) and (node.id in self.arrays or isinstance(
                self.resolver.resolve(node), np.ndarray)):
            for spelling in ("np", "numpy"):
                if spelling not in self.locals and self.source.lookup(spelling) is np:
                    return name(spelling)
        return None

    def _as_array(self, node, root, constants: bool = False) -> ast.AST:
        """``[x, 1.0]`` -> ``np.asarray([x, 1.0])`` when it holds names (constants stay,
        unless ``constants``)."""
        if isinstance(node, (gast.List, gast.Tuple)) and (constants
                                                          or not _constant_literal(node)):
            wrapped = gast.Call(func=gast.Attribute(value=copy.deepcopy(root), attr="asarray",
                                                    ctx=gast.Load()),
                                args=[node], keywords=[])
            return ast.copy_location(wrapped, node)
        return node

    def _local_arrays(self, fn) -> Set[str]:
        """Local names every store to which is ``a = <a call that returns an array>``."""
        made: Dict[str, List[bool]] = {}
        for n in syntax.walk(fn):
            if isinstance(n, gast.Assign) and len(n.targets) == 1 \
                    and isinstance(n.targets[0], gast.Name):
                made.setdefault(n.targets[0].id, []).append(
                    isinstance(n.value, gast.Call) and self._array_spelling(n.value) is not None)
        stored = {}
        for n in syntax.walk(fn):
            if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Del)):
                stored[n.id] = stored.get(n.id, 0) + 1
        params = {a.id for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
                  if isinstance(a, gast.Name)}
        return {k for k, v in made.items() if all(v) and stored.get(k) == len(v)
                and k not in params}

    def _array_operands(self, node):
        """A list literal given to a ufunc (``np.multiply([x, 1.0], y)``), or to an arithmetic
        operator whose other operand is a NumPy call (``np.ones(2) + [x, y]``) or a global
        array (``V * [x, y]``), means an array: it is written as ``np.asarray([...])`` so the
        rules see an array. ``[x] * 3`` and list ``+`` list keep their list meaning."""
        if isinstance(node, gast.Call) and not node.keywords:
            root = self._numpy_root(node.func)
            if root is not None and isinstance(self.resolver.resolve(node.func), np.ufunc):
                node.args = [self._as_array(a, root) for a in node.args]
        elif isinstance(node, gast.BinOp):
            # a constant list too: beside an array it is NumPy arithmetic, never a list
            # joined or repeated
            for mine, other in (("left", node.right), ("right", node.left)):
                root = self._array_spelling(other)
                if root is not None:
                    setattr(node, mine, self._as_array(getattr(node, mine), root, True))
        return node

    # -- dict methods as subscripts -----------------------------------------------------
    def _mapping_method(self, node):
        """A dict's ``items()``, ``values()``, ``keys()`` and ``get(k, default)`` spelled with
        iteration and subscripts, which both modes follow item by item; else None.

            d.items()         ->   [(k, d[k]) for k in d.keys()]
            d.values()        ->   [d[k] for k in d.keys()]
            d.get(k, x)       ->   d[k] if k in d else x

        (``d.keys()`` itself is on the list of functions with no derivative.)

        The receiver becomes a name first. A global or closure object that is not a dict keeps
        its own method."""
        if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                and not node.keywords and not any(isinstance(a, gast.Starred)
                                                  for a in node.args)):
            return None
        method, count = node.func.attr, len(node.args)
        if not (method in ("items", "values") and count == 0
                or method == "get" and count in (1, 2)):
            return None
        root = dotted(node.func.value)
        if root is None or root.split(".")[0] not in self.locals:
            if not isinstance(self.resolver.resolve(node.func.value), dict):
                return None
        hint = _op_hint(node.func.value) if not isinstance(node.func.value, gast.Name) \
            else node.func.value.id
        mapping = self.atom(node.func.value, hint)
        if method == "get":
            key = self.atom(node.args[0], hint + "_key")
            default = node.args[1] if count == 2 else const(None)
            test = gast.Compare(left=copy.deepcopy(key), ops=[gast.In()],
                                comparators=[copy.deepcopy(mapping)])
            found = gast.Subscript(value=copy.deepcopy(mapping), slice=key, ctx=gast.Load())
            return ast.copy_location(gast.IfExp(test=test, body=found, orelse=default), node)
        key = self.namer.fresh("key")
        item = gast.Subscript(value=copy.deepcopy(mapping), slice=name(key), ctx=gast.Load())
        elt = gast.Tuple(elts=[name(key), item], ctx=gast.Load()) if method == "items" \
            else item
        keys = gast.Call(func=gast.Attribute(value=copy.deepcopy(mapping), attr="keys",
                                             ctx=gast.Load()), args=[], keywords=[])
        loop = gast.comprehension(target=name(key, gast.Store()), iter=keys, ifs=[],
                                  is_async=0)
        return ast.copy_location(gast.ListComp(elt=elt, generators=[loop]), node)

    def _dict_literal(self, node):
        """``dict(...)`` of literal items as a dict literal, whose items both modes follow;
        else None (another argument keeps the call).

            dict([("a", x)], b=y)   ->   {"a": x, "b": y}
            dict({"a": x})          ->   {"a": x}
        """
        if not (isinstance(node, gast.Call) and len(node.args) <= 1
                and self.resolver.resolve(node.func) is dict
                and all(k.arg is not None for k in node.keywords)):
            return None
        keys, values = [], []
        if node.args:
            items = node.args[0]
            if isinstance(items, gast.Dict) and None not in items.keys:
                keys, values = list(items.keys), list(items.values)
            elif isinstance(items, (gast.List, gast.Tuple)) and all(
                    isinstance(e, (gast.Tuple, gast.List)) and len(e.elts) == 2
                    for e in items.elts):
                keys = [e.elts[0] for e in items.elts]
                values = [e.elts[1] for e in items.elts]
            else:
                return None
        keys += [const(k.arg) for k in node.keywords]
        values += [k.value for k in node.keywords]
        return ast.copy_location(gast.Dict(keys=keys, values=values), node)

    # -- statements ---------------------------------------------------------------------
    def function(self, node: gast.FunctionDef) -> gast.FunctionDef:
        node = syntax.copy_tree(node)
        self.arrays = self._local_arrays(node)
        node.body = self.block(node.body, top=True)
        return node

    def block(self, stmts: List[ast.AST], top: bool = False) -> List[ast.AST]:
        out: List[ast.AST] = []
        for i, stmt in enumerate(stmts):
            if top and i == 0 and _is_docstring(stmt):
                continue
            out.extend(self.statement(stmt))
        return out

    def statement(self, stmt: ast.AST) -> List[ast.AST]:
        method = getattr(self, "visit_" + type(stmt).__name__, None)
        if method is None:
            return [stmt]           # the reverse pass decides what it accepts
        saved, self.pending = getattr(self, "pending", []), []
        result = method(stmt)
        out = self.pending + result
        self.pending = saved
        return out

    def visit_FunctionDef(self, stmt):
        return [stmt]           # a nested function is differentiated when it is called

    def visit_If(self, stmt):
        stmt.body = self.block(stmt.body) or [gast.Pass()]
        stmt.orelse = self.block(stmt.orelse)
        return [stmt]

    def visit_While(self, stmt):
        stmt.body = self.block(stmt.body) or [gast.Pass()]
        stmt.orelse = self.block(stmt.orelse)
        return [stmt]

    def visit_For(self, stmt):
        stmt.iter = self.iterable(stmt.iter)
        unpacking = self._plain_loop_target(stmt)
        stmt.body = self.block(unpacking + stmt.body) or [gast.Pass()]
        stmt.orelse = self.block(stmt.orelse)
        return [stmt]

    def visit_Pass(self, stmt):
        return []

    def _plain_loop_target(self, stmt) -> List[ast.AST]:
        """Give a loop one name per item (a pair of names under ``enumerate`` and ``zip``);
        a nested target is unpacked at the top of the body.

            for i, (k, v) in enumerate(pairs):   ->   for i, pair in enumerate(pairs):
                ...                                        k, v = pair
        """
        target = stmt.target
        if isinstance(target, gast.Name):
            return []
        if isinstance(target, (gast.Tuple, gast.List)) and isinstance(stmt.iter, gast.Call) \
                and isinstance(stmt.iter.func, gast.Name) \
                and stmt.iter.func.id in ("enumerate", "zip"):
            parts = list(target.elts)
        else:
            parts = [target]
        unpacking, names = [], []
        for part in parts:
            if isinstance(part, gast.Name) or isinstance(part, gast.Starred):
                names.append(part)
                continue
            item = self.namer.fresh("item")
            self.locals.add(item)
            names.append(name(item, gast.Store()))
            unpacking.append(ast.copy_location(
                gast.Assign(targets=[part], value=name(item), type_comment=None), stmt))
        if unpacking:
            stmt.target = names[0] if len(parts) == 1 else gast.Tuple(elts=names,
                                                                      ctx=gast.Store())
        return unpacking

    def iterable(self, node):
        """``for`` headers keep range/zip/enumerate/reversed calls, with name arguments."""
        if (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)
                and node.func.id in ("range", "zip", "enumerate", "reversed")
                and node.func.id not in self.locals and not node.keywords):
            if node.func.id in ("zip", "enumerate"):
                node.args = [self._reversed_as_slice(a) for a in node.args]
            node.args = [self.atom(a, "items") for a in node.args]
            return node
        return self.atom(node, "items")

    def _reversed_as_slice(self, node):
        """``reversed(xs)`` inside ``zip``/``enumerate`` reads as ``xs[::-1]``."""
        if (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)
                and node.func.id == "reversed" and "reversed" not in self.locals
                and len(node.args) == 1 and not node.keywords):
            return gast.Subscript(value=node.args[0], slice=gast.Slice(
                lower=None, upper=None, step=const(-1)), ctx=gast.Load())
        return node

    def conditional(self, node, hint: str) -> ast.AST:
        """``a if c else b`` (and ``a and b``, ``a or b``) as an if statement on a temporary."""
        tmp = self.namer.fresh(f"{hint}_{'cond' if isinstance(node, gast.IfExp) else 'either'}")
        if isinstance(node, gast.IfExp):
            body = self._branch(tmp, node.body)
            orelse = self._branch(tmp, node.orelse)
            self.pending.append(ast.copy_location(
                gast.If(test=node.test, body=body, orelse=orelse), node))
            return name(tmp)
        first, *rest = node.values
        self.pending.extend(self._branch(tmp, first))
        for value in rest:
            test = name(tmp) if isinstance(node.op, gast.And) else gast.UnaryOp(
                op=gast.Not(), operand=name(tmp))
            self.pending.append(ast.copy_location(
                gast.If(test=test, body=self._branch(tmp, value), orelse=[]), node))
        return name(tmp)

    def comprehension(self, node: gast.ListComp, hint: str) -> ast.AST:
        """``[f(x) for x in xs if c]`` as a loop that appends to a fresh list."""
        items = self.namer.fresh(f"{hint}_items")
        renames = {}
        for gen in node.generators:
            for target in syntax.walk(gen.target):
                if isinstance(target, gast.Name) and target.id not in renames:
                    renames[target.id] = self.namer.fresh(target.id)
        tree = copy.deepcopy(node)
        for n in syntax.walk(tree):
            if isinstance(n, gast.Name) and n.id in renames:
                n.id = renames[n.id]
        append = gast.Expr(value=gast.Call(
            func=gast.Attribute(value=name(items), attr="append", ctx=gast.Load()),
            args=[tree.elt], keywords=[]))
        body: List[ast.AST] = [append]
        for gen in reversed(tree.generators):
            for cond in reversed(gen.ifs):
                body = [gast.If(test=cond, body=body, orelse=[])]
            body = [gast.For(target=gen.target, iter=gen.iter, body=body, orelse=[],
                             type_comment=None)]
        self.locals |= {items} | set(renames.values())
        loop = body[0]
        for n in syntax.walk(loop):
            if hasattr(n, "lineno") is False or getattr(n, "lineno", None) is None:
                ast.copy_location(n, node)
        self.pending.append(ast.copy_location(assign(items, gast.List(elts=[],
                                                                      ctx=gast.Load())), node))
        self.pending.extend(self.statement(loop))
        return name(items)

    def _branch(self, tmp, value):
        saved, self.pending = self.pending, []
        op = self.operation(value, tmp)
        produced, self.pending = self.pending, saved
        return produced + [assign(tmp, op, value)]

    def visit_Expr(self, stmt):
        if isinstance(stmt.value, gast.Constant):
            return []               # a stray string or docstring
        call = stmt.value
        if (isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute)
                and isinstance(call.func.value, gast.Name) and call.func.value.id in self.locals
                and call.func.attr in CONTAINER_METHODS):
            # xs.append(x * 2): the argument becomes a name, so its cotangent can be found
            hint = call.func.value.id + "_item"
            call.args = [a if isinstance(a, (gast.List, gast.Tuple)) and all(
                is_atom(e) for e in a.elts) else self.atom(a, hint) for a in call.args]
        elif self.is_add_at(call):
            # np.add.at(y, rows, x * 2): the added value becomes a name, as above
            call.args[2] = self.atom(call.args[2], call.args[0].id + "_added")
        return [stmt]

    def is_add_at(self, call) -> bool:
        """Is ``call`` ``np.add.at(y, index, value)`` on a local array ``y``?"""
        return (isinstance(call, gast.Call) and len(call.args) == 3 and not call.keywords
                and isinstance(call.args[0], gast.Name) and call.args[0].id in self.locals
                and isinstance(call.func, gast.Attribute) and call.func.attr == "at"
                and self.resolver.resolve(call.func) == np.add.at)

    def visit_AnnAssign(self, stmt):
        if stmt.value is None:
            return []
        return self.visit_Assign(ast.copy_location(
            gast.Assign(targets=[stmt.target], value=stmt.value, type_comment=None), stmt))

    def visit_AugAssign(self, stmt):
        target = stmt.target
        if isinstance(target, gast.Name):
            value = gast.BinOp(left=name(target.id), op=stmt.op, right=stmt.value)
            ast.copy_location(value, stmt)
            return self.visit_Assign(ast.copy_location(
                gast.Assign(targets=[target], value=value, type_comment=None), stmt))
        if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
            # x[i] += v  ->  x_item = x[i]; x[i] = x_item + v
            hint = target.value.id
            index = self.index(target.slice, hint)
            current = self.namer.fresh(f"{hint}_item")
            self.pending.append(ast.copy_location(assign(current, gast.Subscript(
                value=name(hint), slice=copy.deepcopy(index), ctx=gast.Load())), stmt))
            value = gast.BinOp(left=name(current), op=stmt.op, right=self.atom(stmt.value, hint))
            updated = self.atom(ast.copy_location(value, stmt), hint)
            store = gast.Subscript(value=name(hint), slice=index, ctx=gast.Store())
            return [ast.copy_location(gast.Assign(targets=[store], value=updated,
                                                  type_comment=None), stmt)]
        return [stmt]               # attribute targets: the reverse pass decides

    def visit_Assign(self, stmt):
        targets = stmt.targets
        if len(targets) == 1 and isinstance(targets[0], gast.Name):
            value = self.operation(stmt.value, targets[0].id)
            return [ast.copy_location(gast.Assign(targets=targets, value=value,
                                                  type_comment=None), stmt)]
        if all(isinstance(t, gast.Name) for t in targets):
            first = targets[0].id
            value = self.operation(stmt.value, first)
            out = [assign(first, value, stmt)]
            out += [assign(t.id, name(first), stmt) for t in targets[1:]]
            return out
        if len(targets) == 1 and isinstance(targets[0], (gast.Tuple, gast.List)):
            return self.unpack(targets[0], stmt.value, stmt)
        if len(targets) == 1 and isinstance(targets[0], gast.Subscript) \
                and isinstance(targets[0].value, gast.Name):
            # x[i] = v: the index and the value become names
            target = targets[0]
            hint = target.value.id
            target.slice = self.index(target.slice, hint)
            value = self.atom(stmt.value, hint + "_item")
            return [ast.copy_location(gast.Assign(targets=[target], value=value,
                                                  type_comment=None), stmt)]
        return [stmt]               # attribute targets

    def unpack(self, target, value, stmt) -> List[ast.AST]:
        if any(isinstance(e, gast.Starred) for e in target.elts):
            return [stmt]           # rejected by the reverse pass with a hint
        if isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(target.elts):
            # a, b = b, a: evaluate every right-hand side before binding any name
            parts = [self.atom(v, _target_hint(t)) for v, t in zip(value.elts, target.elts)]
            parts = [self.snapshot(p, target) for p in parts]
            out = []
            for t, p in zip(target.elts, parts):
                out += self._bind(t, p, stmt)
            return out
        hint = "_".join(_target_hint(t) for t in target.elts)
        whole = self.atom(value, hint)
        if not isinstance(whole, gast.Name):
            tmp = self.namer.fresh(hint)
            self.pending.append(assign(tmp, whole, stmt))
            whole = name(tmp)
        self.namer.unpacked.add(whole.id)
        out = []
        for i, t in enumerate(target.elts):
            item = gast.Subscript(value=name(whole.id), slice=const(i), ctx=gast.Load())
            out += self._bind(t, item, stmt)
        return out

    def snapshot(self, part, target):
        """Copy a right-hand name that the unpacking itself rebinds (``a, b = b, a``)."""
        bound = syntax.names_in(target)
        if isinstance(part, gast.Name) and part.id in bound:
            tmp = self.namer.fresh(part.id + "_old")
            self.pending.append(assign(tmp, name(part.id)))
            return name(tmp)
        return part

    def _bind(self, target, value, stmt) -> List[ast.AST]:
        inner = gast.Assign(targets=[target], value=value, type_comment=None)
        ast.copy_location(inner, stmt)
        saved, self.pending = self.pending, []
        result = self.visit_Assign(inner)
        produced, self.pending = self.pending, saved
        return produced + result

    def visit_Return(self, stmt):
        if stmt.value is None or is_atom(stmt.value):
            return [stmt]
        if isinstance(stmt.value, gast.Tuple):
            elts = [self._returned_item(e) for e in stmt.value.elts]
            value = gast.Tuple(elts=elts, ctx=gast.Load())
            return [ast.copy_location(gast.Return(value=value), stmt)]
        out = self.namer.fresh("out")
        value = self.operation(stmt.value, out)
        return [assign(out, value, stmt), ast.copy_location(gast.Return(value=name(out)), stmt)]

    def _returned_item(self, node) -> ast.AST:
        """An item of a returned tuple as an atom. A nested tuple is bound to a name too:
        the adjoint seeds the named items of a returned tuple only."""
        if not isinstance(node, gast.Tuple):
            return self.atom(node, "out")
        tmp = self.namer.fresh("out")
        self.pending.append(assign(tmp, self.operation(node, "out"), node))
        return name(tmp)

    # -- expressions --------------------------------------------------------------------
    def is_static(self, node) -> bool:
        """Cheap, pure expressions worth repeating: ``np.pi``, ``x.shape``, ``(2, 3)``."""
        if self.weights and self._global_read(node):
            return False
        if is_atom(node):
            return True
        if isinstance(node, gast.Attribute):
            root = dotted(node)
            if root is None:
                return False
            if root.split(".")[0] in self.locals:
                return node.attr in STATIC_ATTRIBUTES and isinstance(node.value, gast.Name)
            return True
        if isinstance(node, gast.Tuple):
            return all(self.is_static(e) for e in node.elts)
        return False

    def _global_read(self, node) -> bool:
        """A global array (a Parameter read by name) or an attribute of a global object other
        than a module (``NET.weight``): in weights mode, where a weight's gradient may come
        from, so it gets a statement of its own (``w = NET.weight``)."""
        if isinstance(node, gast.Name):
            return node.id not in self.locals and isinstance(self.resolver.resolve(node),
                                                             np.ndarray)
        if not isinstance(node, gast.Attribute) or node.attr in STATIC_ATTRIBUTES:
            return False
        root = node
        while isinstance(root, gast.Attribute):
            root = root.value
        return isinstance(root, gast.Name) and root.id not in self.locals \
            and not isinstance(self.resolver.resolve(root), types.ModuleType)

    def atom(self, node: ast.AST, hint: str) -> ast.AST:
        """``node`` as a name or constant, binding it to a temporary where needed."""
        if self.is_static(node):
            return node
        value = self.operation(node, hint)
        tmp = self.namer.fresh(f"{hint}_{_op_hint(node)}")
        self.pending.append(assign(tmp, value, node))
        return name(tmp)

    def operation(self, node: ast.AST, hint: str) -> ast.AST:
        """``node`` with its operands turned into atoms: a single operation."""
        if isinstance(node, (gast.IfExp, gast.BoolOp)):
            return self.conditional(node, hint)
        if isinstance(node, gast.ListComp):
            return self.comprehension(node, hint)
        mapping = self._mapping_method(node)
        if mapping is None:
            mapping = self._dict_literal(node)
        if mapping is not None:
            return self.operation(mapping, hint)
        node = self._array_operands(node)
        if isinstance(node, gast.BinOp):
            node.left = self.atom(node.left, hint)
            node.right = self.atom(node.right, hint)
        elif isinstance(node, gast.UnaryOp):
            if isinstance(node.op, (gast.USub, gast.UAdd)):
                node.operand = self.atom(node.operand, hint)
        elif isinstance(node, gast.Call):
            func = node.func
            if isinstance(func, gast.Attribute):
                root = dotted(func)
                if root is None or root.split(".")[0] in self.locals:
                    # a method call: x.sum(); its receiver becomes a name
                    func.value = self.atom(func.value, hint)
            node.args = [self._argument(a, hint) for a in _spliced(node.args)]
            for kw in node.keywords:
                kw.value = self.atom(kw.value, hint)
        elif isinstance(node, gast.Attribute):
            if not self.is_static(node.value):
                node.value = self.atom(node.value, hint)
        elif isinstance(node, gast.Subscript):
            if isinstance(node.value, (gast.Tuple, gast.List)):
                # (x, 1.0)[0]: a constant index into a literal of names and constants is that
                # item; any other index gets the literal a name, so the item read from it is
                # routed back as from t = (x, 1.0); t[k] (a literal left in place dropped it)
                literal = self.operation(node.value, hint)
                picked = _constant_item(literal, node.slice)
                if picked is not None:
                    return picked
                tmp = self.namer.fresh(f"{hint}_{_op_hint(literal)}")
                self.pending.append(assign(tmp, literal, node.value))
                node.value = name(tmp)
            else:
                node.value = self.atom(node.value, hint)
            node.slice = self.index(node.slice, hint)
        elif isinstance(node, (gast.Tuple, gast.List)):
            node.elts = [self._argument(e, hint) for e in node.elts]
        elif isinstance(node, gast.Dict):
            node.keys = [k if k is None else self.atom(k, hint) for k in node.keys]
            node.values = [self.atom(v, hint) for v in node.values]
        return node

    def _argument(self, node, hint):
        if isinstance(node, gast.Starred):
            node.value = self.atom(node.value, hint)
            return node
        if isinstance(node, (gast.List, gast.Tuple)) and all(is_atom(e) for e in node.elts):
            return node     # np.stack([a, b]): keep the literal so its items get cotangents
        if isinstance(node, (gast.List, gast.Tuple)):
            # np.array([[x, y], [z, w]]): inner literals get names of their own, so each
            # level of nesting is a list the cotangent can be routed through
            node.elts = [self.atom(e, hint) if isinstance(e, (gast.List, gast.Tuple))
                         and not _constant_literal(e) else self._argument(e, hint)
                         for e in node.elts]
            return node
        return self.atom(node, hint)

    def index(self, node, hint):
        if isinstance(node, gast.Slice):
            for part in ("lower", "upper", "step"):
                value = getattr(node, part)
                if value is not None:
                    setattr(node, part, self.atom(value, hint))
            return node
        if isinstance(node, gast.Tuple):
            node.elts = [self.index(e, hint) for e in node.elts]
            return node
        return self.atom(node, hint)


def _constant_item(literal, index):
    """The item ``literal[index]`` when the index is an integer constant and every item of the
    literal is a name or a constant (reading it again has no effect), else None."""
    if not (isinstance(index, gast.Constant) and isinstance(index.value, int)):
        return None
    if not all(is_atom(e) for e in literal.elts):
        return None
    k = int(index.value)
    if -len(literal.elts) <= k < len(literal.elts):
        return copy.deepcopy(literal.elts[k])
    return None


def _constant_literal(node) -> bool:
    """A list or tuple literal of constants only (``[1.0, 2.0]``, ``((0, 1), (2, 3))``)."""
    if isinstance(node, (gast.List, gast.Tuple)):
        return all(_constant_literal(e) for e in node.elts)
    return is_atom(node) and not isinstance(node, gast.Name)


def _is_docstring(stmt) -> bool:
    return (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant)
            and isinstance(stmt.value.value, str))


def _target_hint(target) -> str:
    if isinstance(target, gast.Name):
        return target.id
    return "item"


def normalize(source: Source, node: gast.FunctionDef, namer: Namer, weights: bool = False
              ) -> gast.FunctionDef:
    """Normalize ``node`` (a copy is returned; the input is not changed). With ``weights``,
    reads of global arrays and of attributes of global objects get statements of their own."""
    return Normalizer(source, namer, local_names(node), weights).function(node)
