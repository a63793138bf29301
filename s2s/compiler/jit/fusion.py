"""Elementwise statements of the Numba dialect fused into one loop over the elements.

In: the gast ``FunctionDef`` of a gradient in the Numba dialect (``dialect.rewrite``), and the
kind Numba inferred for each local name: ``"float64"`` or ``"complex128"`` for a 1-D array,
``"scalar"`` for a number (names of several kinds are left out). Out: the same function,
where each run of two or more elementwise statements (arithmetic ``+ - *``, powers by a
constant, unary minus, one-argument NumPy ufuncs, on same-length 1-D arrays and numbers) is
one loop over the elements, guarded by a check of the lengths, with the original statements
as the other branch. Numba fuses the operations of one statement, but writes a new array
for each statement; the loop writes only the arrays read after it:

    dacceleration = dv * DT                      n_fused = dv.shape[0]
    dv = dx * DT + dv                            if dx.shape[0] == n_fused and ... \\
    ddamping += -dacceleration * v                       and same_or_apart(ddamping, v):
                                                     dv_out = np.empty(n_fused, np.float64)
                                      ->             for element in range(n_fused):
                                                         dacceleration_e = dv[element] * DT
                                                         dv_e = dx[element] * DT + dv[element]
                                                         ddamping[element] += ...
                                                         dv_out[element] = dv_e
                                                     dv = dv_out
                                                 else:
                                                     (the three statements as they were)

Why the loop computes what NumPy would: each statement reads and writes element ``i`` of
its arrays only, so running all statements for element 0, then for element 1, ... gives
each element the value it gets statement by statement, as long as no array the loop writes
in place (``+=``) shares memory with another array it reads, except as the very same
elements (``same_or_apart``, checked at run time). Names the statements rebind are new
arrays in NumPy: the loop keeps their elements in numbers, and writes new arrays for the
names read after the group (or read by the group before it rebinds them, around a loop).
Assignments that only rebind names (``x = x_prev``, ``v = v_stack[step]``) and ``push`` of
a loop's saves may sit between the statements: they move above the group when the group
so far does not write what they read, nor read or write what they bind, and writes no
array in place.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Set

import gast

from s2s.compiler import syntax

_OPERATORS = (gast.Add, gast.Sub, gast.Mult)
# one-argument ufuncs whose Numba versions on numbers are those it uses on arrays
UFUNCS = frozenset({"sin", "cos", "tan", "exp", "log", "tanh", "sinh", "cosh", "sqrt",
                    "arctan", "square", "negative", "log1p", "expm1"})
ARRAY_KINDS = frozenset({"float64", "complex128"})


def same_or_apart(a, b) -> bool:
    """Do the 1-D arrays ``a`` and ``b`` (of one length) hold the very same elements in the
    same order, or share no memory? (Numba's version is in ``overloads``.)"""
    import numpy as np
    same = (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.strides == b.strides)
    return same or not np.shares_memory(a, b)


def fuse(fn: gast.FunctionDef, kinds: Dict[str, str], numpy_name: str) -> bool:
    """Fuse the elementwise runs of ``fn`` in place (see the module docstring); ``numpy_name``
    is a global name of the NumPy module. Returns whether anything changed."""
    fusion = _Fusion(fn, kinds, numpy_name)
    fusion.block(fn.body)
    return fusion.changed


class _Fusion:
    def __init__(self, fn: gast.FunctionDef, kinds: Dict[str, str], numpy_name: str):
        self.kinds = kinds
        self.numpy = numpy_name
        self.numpy_names = {numpy_name}
        self.used = syntax.names_in(fn)
        self.loads = _loads(fn)
        self.changed = False

    def fresh(self, base: str) -> str:
        candidate, n = base, 2
        while candidate in self.used:
            candidate, n = f"{base}_{n}", n + 1
        self.used.add(candidate)
        return candidate

    # -- finding the runs -----------------------------------------------------------------
    def block(self, block: list) -> None:
        out: List[gast.stmt] = []
        run: List[gast.stmt] = []           # the elementwise statements of the run
        moved: List[gast.stmt] = []         # statements that move above it
        order: List[gast.stmt] = []         # both, as they were written

        def flush():
            if len(run) >= 2:
                out.extend(moved)
                out.extend(self.fused(run))
                self.changed = True
            else:
                out.extend(order)
            run.clear(), moved.clear(), order.clear()

        for statement in block:
            for field in ("body", "orelse"):
                inner = getattr(statement, field, None)
                if inner and isinstance(statement, (gast.For, gast.While, gast.If)):
                    self.block(inner)
            if self.elementwise(statement):
                run.append(statement)
                order.append(statement)
            elif run and self.movable(statement, run):
                moved.append(statement)
                order.append(statement)
            else:
                flush()
                out.append(statement)
        flush()
        block[:] = out

    def kind(self, name: str) -> Optional[str]:
        return self.kinds.get(name)

    def expression(self, node) -> bool:
        """Is ``node`` an elementwise expression of arrays and numbers?"""
        if isinstance(node, gast.Name):
            return self.kind(node.id) in ARRAY_KINDS or self.kind(node.id) == "scalar"
        if isinstance(node, gast.Constant):
            return type(node.value) in (int, float, complex)
        if isinstance(node, gast.BinOp):
            if isinstance(node.op, gast.Pow):
                exponent = node.right
                return self.expression(node.left) and isinstance(exponent, gast.Constant) \
                    and type(exponent.value) in (int, float) and exponent.value >= 0
            return isinstance(node.op, _OPERATORS) and self.expression(node.left) \
                and self.expression(node.right)
        if isinstance(node, gast.UnaryOp):
            return isinstance(node.op, (gast.USub, gast.UAdd)) and self.expression(node.operand)
        if isinstance(node, gast.Call):
            func = node.func
            return isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
                and func.value.id in self.numpy_names and func.attr in UFUNCS \
                and len(node.args) == 1 and not node.keywords and self.expression(node.args[0])
        return False

    def reads_an_array(self, node) -> bool:
        return any(isinstance(n, gast.Name) and self.kind(n.id) in ARRAY_KINDS
                   for n in syntax.walk(node))

    def elementwise(self, statement) -> bool:
        if isinstance(statement, gast.Assign):
            if len(statement.targets) != 1 or not isinstance(statement.targets[0], gast.Name):
                return False
            target = statement.targets[0].id
            # a bare name only rebinds: it stays as it is (and may move above a run)
            return self.kind(target) in ARRAY_KINDS and self.expression(statement.value) \
                and self.reads_an_array(statement.value) \
                and not isinstance(statement.value, gast.Name)
        if isinstance(statement, gast.AugAssign):
            return isinstance(statement.target, gast.Name) \
                and self.kind(statement.target.id) in ARRAY_KINDS \
                and isinstance(statement.op, _OPERATORS) and self.expression(statement.value)
        return False

    def movable(self, statement, run: List[gast.stmt]) -> bool:
        """May ``statement``, which follows ``run``, run before it?"""
        if any(isinstance(s, gast.AugAssign) for s in run):
            return False        # it could read an array the run writes in place
        if isinstance(statement, gast.Assign):
            value = statement.value
            if not all(isinstance(t, gast.Name) for t in statement.targets):
                return False
            if isinstance(value, gast.Subscript):
                if not isinstance(value.value, gast.Name) \
                        or not all(isinstance(n, (gast.Name, gast.Constant, gast.Tuple))
                                   for n in syntax.walk(value.slice)
                                   if isinstance(n, gast.expr)):
                    return False
            elif not isinstance(value, (gast.Name, gast.Constant)):
                return False
        elif not _is_push(statement):
            return False
        written = {_target(s) for s in run}
        touched = written | set().union(*(syntax.loaded_names(s) for s in run))
        binds = {n.id for n in syntax.walk(statement)
                 if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        return not (syntax.loaded_names(statement) & written) and not (binds & touched)

    # -- writing the loop -----------------------------------------------------------------
    def fused(self, run: List[gast.stmt]) -> List[gast.stmt]:
        element = self.fresh("element")
        local: Dict[str, str] = {}          # name rebound in the run -> its number
        operands: List[str] = []            # arrays read from memory, in order
        in_place: List[str] = []            # arrays written in place
        read_first: Set[str] = set()        # read from memory before the run rebinds them

        def read(node):
            if isinstance(node, gast.Name):
                if node.id in local:
                    return syntax.name(local[node.id])
                if self.kind(node.id) in ARRAY_KINDS:
                    if node.id not in operands:
                        operands.append(node.id)
                    read_first.add(node.id)
                    return _item(node.id, element)
                return node
            if isinstance(node, gast.BinOp):
                node.left, node.right = read(node.left), read(node.right)
            elif isinstance(node, gast.UnaryOp):
                node.operand = read(node.operand)
            elif isinstance(node, gast.Call):
                node.args = [read(a) for a in node.args]
            return node

        body: List[gast.stmt] = []
        for statement in run:
            copy = syntax.copy_tree(statement)
            value = read(copy.value)
            if isinstance(copy, gast.Assign):
                target = copy.targets[0].id
                local[target] = self.fresh(f"{target}_e")
                body.append(syntax.assign(local[target], value))
                continue
            target = copy.target.id
            if target in local:
                written = syntax.name(local[target], gast.Store())
            else:
                if target not in operands:
                    operands.append(target)
                if target not in in_place:
                    in_place.append(target)
                read_first.add(target)
                written = _item(target, element, gast.Store())
            body.append(gast.AugAssign(target=written, op=copy.op, value=value))

        in_run = _loads(run)
        kept = [name for name in local
                if self.loads.get(name, 0) > in_run.get(name, 0) or name in read_first]
        length = self.fresh("n_fused")
        outputs = {name: self.fresh(f"{name}_out") for name in kept}
        checks = [f"{name}.shape[0] == {length}" for name in operands[1:]]
        pairs = {tuple(sorted((written, other))) for written in in_place
                 for other in operands if other != written}
        checks += [f"same_or_apart({a}, {b})" for a, b in sorted(pairs)]
        text = [f"{length} = {operands[0]}.shape[0]",
                f"if {' and '.join(checks) or 'True'}:"]
        text += [f"    {outputs[name]} = {self.numpy}.empty({length}, "
                 f"{self.numpy}.{self.kind(name)})" for name in kept]
        text += [f"    for {element} in range({length}):", "        pass"]
        text += [f"    {name} = {outputs[name]}" for name in kept]
        text += ["else:", "    pass"]
        made = gast.parse("\n".join(text)).body
        branch = made[1]
        loop = branch.body[len(kept)]
        for name in kept:
            store = syntax.assign("_", syntax.name(local[name]))
            store.targets = [_item(outputs[name], element, gast.Store())]
            body.append(store)
        loop.body = body
        branch.orelse = list(run)
        like = getattr(run[0], "user_line", None)
        for node in syntax.walk_statements(made):
            if isinstance(node, gast.stmt) and not hasattr(node, "user_line"):
                node.user_line = like
        return made


def _loads(node_or_block) -> Dict[str, int]:
    """How often each name is read (the target of ``+=`` is read too)."""
    counts: Dict[str, int] = {}
    nodes = node_or_block if isinstance(node_or_block, list) else [node_or_block]
    for root in nodes:
        for node in syntax.walk(root):
            if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
                counts[node.target.id] = counts.get(node.target.id, 0) + 1
            elif isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def _item(name: str, element: str, ctx=None) -> gast.Subscript:
    return gast.Subscript(value=syntax.name(name), slice=syntax.name(element),
                          ctx=ctx or gast.Load())


def _target(statement) -> str:
    if isinstance(statement, gast.Assign):
        return statement.targets[0].id
    return statement.target.id


def _is_push(statement) -> bool:
    """``push(stack, step, value)``: writes the storage ``saves`` made, which nothing else
    holds."""
    return isinstance(statement, gast.Expr) and isinstance(statement.value, gast.Call) \
        and isinstance(statement.value.func, gast.Name) and statement.value.func.id == "push" \
        and all(isinstance(a, gast.Name) for a in statement.value.args)
