"""Forward mode of straight-line statements: each one is followed by its tangent.

    y = np.sin(x)          ->   y = np.sin(x)
                                dy = dx * np.cos(x)
    buf[i] = y             ->   buf[i] = y
                                dbuf[i] = dy
    items.append(y)        ->   items.append(y)
                                ditems.append(dy)
    return y               ->   return (y, dy)

The tangent of a right-hand side comes from the rule of its operator or call
(``forward_calls``), folded by ``forward_zeros``. A tangent that is not a real variable
(``live``) is a symbolic zero; it is made real (``zeros_like``) only inside control flow, or
before an item store or a list method updates it in place. A tangent updated in place is
first made private (``own``), unless it already is (``owned``).
"""
from __future__ import annotations

import ast
import copy
import operator
from typing import List, Optional, Set

import gast

from s2s import runtime
from s2s.compiler.analysis.activity import STATIC_ATTRIBUTES
from s2s.compiler.forward.nodes import _base, _bound_names, _describe, _loaded_names, _rename
from s2s.compiler.forward.zeros import DRESULT, RESULT, _is_zero, _zero
from s2s.compiler.frontend.normalize import assign, const, name

BINARY_OPERATORS = {
    gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
    gast.Div: operator.truediv, gast.Mod: operator.mod, gast.Pow: operator.pow,
    gast.MatMult: operator.matmul,
}
UNARY_OPERATORS = {gast.USub: operator.neg, gast.UAdd: operator.pos}
# list methods whose receiver's tangent is updated the same way
LIST_METHODS = {"append", "extend", "insert"}


class Statements:
    """Mixin of ``ForwardBuilder``: statements, their right-hand sides and operands."""

    def block(self, stmts: List[ast.AST]) -> List[ast.AST]:
        out: List[ast.AST] = []
        for i, stmt in enumerate(stmts):
            if isinstance(stmt, gast.FunctionDef):
                self._check_closure(stmt, stmts[i + 1:])
            out.extend(self.statement(stmt))
            bound = _bound_names([stmt])
            self.defined |= bound
            self.numbers -= bound
            if (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                    and isinstance(stmt.value, gast.Constant)
                    and type(stmt.value.value) in (int, float)):
                self.numbers.add(stmt.targets[0].id)
        return out

    def statement(self, stmt: ast.AST) -> List[ast.AST]:
        if isinstance(stmt, gast.Assign):
            target = stmt.targets[0]
            if len(stmt.targets) == 1 and isinstance(target, gast.Name):
                return self.assign(target.id, stmt.value, stmt)
            if len(stmt.targets) == 1 and isinstance(target, gast.Subscript):
                return self.subscript_store(target, stmt)
            return self._reject_if_varied(stmt, _bound_names([stmt]) | _base(target),
                                          "this assignment")
        if isinstance(stmt, gast.AugAssign):
            return self._reject_if_varied(stmt, _base(stmt.target), "this augmented assignment")
        if isinstance(stmt, gast.If):
            return self.branch(stmt)
        if isinstance(stmt, (gast.For, gast.While)):
            return self.loop(stmt)
        if isinstance(stmt, gast.Return):
            return [self.return_(stmt)]
        if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
            return self.call_statement(stmt)
        if isinstance(stmt, gast.FunctionDef):
            return self.nested_function(stmt)
        return [stmt]

    def _reject_if_varied(self, stmt, touched: Set[str], what: str) -> List[ast.AST]:
        if touched & self.varied:
            raise self.source.error(stmt, f"{what} of a differentiated value",
                                    "assign to a plain name or an item (x[i] = v) instead")
        return [stmt]

    def assign(self, target: str, value: ast.AST, stmt: ast.AST) -> List[ast.AST]:
        if target not in self.varied:
            return [stmt]
        if isinstance(value, gast.Call):
            call = (self.user_call(target, value, stmt) or self.local_call(target, value, stmt)
                    or self.dynamic_call(target, value, stmt))
            if call is not None:
                return call
        tangent = self.tangent_statements(value, stmt)
        if tangent is None:
            return [stmt] + self.set_zero(target, value)
        result = target
        if target in _loaded_names(tangent):
            # the tangent reads the old value of the name this statement rebinds
            result = self._fresh_temp(target + "_new")
            stmt = assign(result, value, stmt)
        tangent = _rename(tangent, {RESULT: result, DRESULT: self.tangent(target)})
        out = [stmt] + tangent
        if result != target:
            out.append(assign(target, name(result)))
        self.live.add(target)
        last = tangent[-1]
        if isinstance(last, gast.Assign) and _creates_new(last.value):
            self.owned.add(target)
        else:
            self.owned.discard(target)
        return out

    def set_zero(self, target: str, value: Optional[ast.AST] = None) -> List[ast.AST]:
        """``target`` now has a zero tangent: symbolic, or materialized inside control flow."""
        if self.depth == 0:
            self.live.discard(target)
            self.owned.discard(target)
            return []
        self.live.add(target)
        self.owned.add(target)
        return [assign(self.tangent(target), self.zeros(target, value))]

    def materialize(self, names: Set[str]) -> List[ast.AST]:
        """Real zero tangents for ``names`` that are bound but have a symbolic zero tangent."""
        out = []
        for var in sorted(names & self.varied & self.defined - self.live):
            out.append(assign(self.tangent(var), self.zeros(var)))
            self.live.add(var)
            self.owned.add(var)
        return out

    def own(self, var: str) -> List[ast.AST]:
        """Make ``var``'s tangent a private, real array before it is updated in place."""
        if var not in self.live:
            self.live.add(var)
            self.owned.add(var)
            return [assign(self.tangent(var), self.zeros(var))]
        if var in self.owned:
            return []
        self.owned.add(var)
        d = self.tangent(var)
        return [assign(d, self._helper("own", runtime.own, [name(d), name(var)]))]

    def subscript_store(self, target: gast.Subscript, stmt) -> List[ast.AST]:
        """``x[i] = v`` also sets ``dx[i] = dv``."""
        base = target.value
        if not isinstance(base, gast.Name) or base.id not in self.varied:
            return self._reject_if_varied(stmt, _base(target), "this item assignment")
        value = self.operand_tangent(stmt.value)
        if _is_zero(value):
            if base.id not in self.live:
                return [stmt]
            value = (const(0.0) if isinstance(stmt.value, gast.Constant)
                     else self.zeros(stmt.value.id))
        out = self.own(base.id) + [stmt]
        store = gast.Subscript(value=name(self.tangent(base.id)),
                               slice=copy.deepcopy(target.slice), ctx=gast.Store())
        out.append(gast.Assign(targets=[store], value=value, type_comment=None))
        return out

    def call_statement(self, stmt: gast.Expr) -> List[ast.AST]:
        """``lst.append(v)`` also appends ``dv``; ``add_at(buf, k, v)`` also adds ``dv``."""
        call = stmt.value
        receiver, _ = self._in_place_call(call)
        if receiver is None or receiver not in self.varied:
            return [stmt]
        if isinstance(call.func, gast.Attribute):
            if call.func.attr not in LIST_METHODS:
                raise self.source.error(call, f"the method .{call.func.attr}() on a "
                                        "differentiated value",
                                        "build a new value instead of updating it in place")
            args = [a if (call.func.attr == "insert" and i == 0) else self._dense_tangent(a)
                    for i, a in enumerate(call.args)]
            method = gast.Attribute(value=name(self.tangent(receiver)), attr=call.func.attr,
                                    ctx=gast.Load())
            update = gast.Call(func=method, args=args, keywords=[])
        else:
            dvalue = self.operand_tangent(call.args[2])
            if _is_zero(dvalue):
                return [stmt]
            update = gast.Call(func=copy.deepcopy(call.func),
                               args=[name(self.tangent(receiver)), copy.deepcopy(call.args[1]),
                                     dvalue], keywords=[])
        return self.own(receiver) + [stmt, gast.Expr(value=update)]

    def _dense_tangent(self, node: ast.AST) -> ast.AST:
        """The tangent of an operand as a real value (zeros where it is symbolic)."""
        t = self.operand_tangent(node)
        if not _is_zero(t):
            return t
        if isinstance(node, gast.Name):
            return self.zeros(node.id)
        if isinstance(node, gast.Constant) and type(node.value) in (int, float, bool):
            return const(0.0)
        return self._helper("zeros_like", runtime.zeros_like, [copy.deepcopy(node)])

    def return_(self, stmt: gast.Return) -> gast.Return:
        value = stmt.value if stmt.value is not None else const(None)
        if self.select is not None:
            if not (isinstance(value, gast.Tuple) and len(value.elts) > self.select):
                raise self.source.error(
                    stmt, "a single return value where a tuple is expected",
                    "with has_aux=True the function must return a tuple (out, aux1, ...)")
            tangent = self._dense_tangent(value.elts[self.select])
        elif isinstance(value, gast.Tuple):
            tangent = gast.Tuple(elts=[self._dense_tangent(e) for e in value.elts],
                                 ctx=gast.Load())
        else:
            tangent = self._dense_tangent(value)
        new = gast.Return(value=gast.Tuple(elts=[value, tangent], ctx=gast.Load()))
        return ast.copy_location(new, stmt)

    # -- tangents of right-hand sides -----------------------------------------------------
    def operand_tangent(self, node: Optional[ast.AST]) -> ast.AST:
        """The tangent of an operand (a name, constant or literal), or the symbolic zero."""
        if isinstance(node, gast.Name):
            return name(self.tangent(node.id)) if node.id in self.live else _zero()
        if isinstance(node, (gast.Tuple, gast.List)):
            elts = [self.operand_tangent(e) for e in node.elts]
            if all(_is_zero(e) for e in elts):
                return _zero()
            dense = [self._dense_tangent(e) if _is_zero(t) else t
                     for e, t in zip(node.elts, elts)]
            return type(node)(elts=dense, ctx=gast.Load())
        if isinstance(node, gast.Dict) and None not in node.keys:
            values = [self.operand_tangent(v) for v in node.values]
            if all(_is_zero(v) for v in values):
                return _zero()
            return gast.Dict(keys=copy.deepcopy(node.keys),
                             values=[self._dense_tangent(v) if _is_zero(t) else t
                                     for v, t in zip(node.values, values)])
        if isinstance(node, gast.Starred):
            raise self.source.error(node, "a starred argument", "pass the arguments one by one")
        return _zero()

    def tangent_statements(self, value: ast.AST, stmt) -> Optional[List[ast.AST]]:
        """Statements that assign ``DRESULT`` the tangent of ``value``, or None for zero."""
        if isinstance(value, gast.Name):
            return self._simple(self.operand_tangent(value))
        if isinstance(value, (gast.Constant, gast.Compare)):
            return None
        if isinstance(value, gast.BinOp):
            fn = BINARY_OPERATORS.get(type(value.op))
            if fn is None:          # //, bitwise operators: piecewise constant
                return None
            return self.apply_rule(fn, [value.left, value.right], {}, stmt)
        if isinstance(value, gast.UnaryOp):
            fn = UNARY_OPERATORS.get(type(value.op))
            if fn is None:
                return None
            return self.apply_rule(fn, [value.operand], {}, stmt)
        if isinstance(value, gast.Call):
            return self.call_tangent(value, stmt)
        if isinstance(value, gast.Attribute):
            if value.attr in STATIC_ATTRIBUTES:
                return None
            base = self.operand_tangent(value.value)
            if value.attr != "T":
                raise self.source.error(value, f"the attribute .{value.attr}",
                                        "only .T and data attributes (.shape, .ndim, .size, "
                                        ".dtype) of arrays are differentiable")
            return self._simple(base if _is_zero(base) else gast.Attribute(
                value=base, attr="T", ctx=gast.Load()))
        if isinstance(value, gast.Subscript):
            base = (self.operand_tangent(value.value) if isinstance(value.value, gast.Name)
                    else _zero())
            return self._simple(base if _is_zero(base) else gast.Subscript(
                value=base, slice=copy.deepcopy(value.slice), ctx=gast.Load()))
        if isinstance(value, gast.Tuple):
            return self._simple(self.operand_tangent(value))
        if isinstance(value, gast.List):
            # a list may grow later (lst.append): its tangent is always a real list
            return self._simple(gast.List(elts=[self._dense_tangent(e) for e in value.elts],
                                          ctx=gast.Load()))
        if isinstance(value, gast.Dict):
            if any(k is None for k in value.keys):
                raise self.source.error(value, "a ** in a dict literal", "list the items")
            return self._simple(gast.Dict(keys=copy.deepcopy(value.keys),
                                          values=[self._dense_tangent(v) for v in value.values]))
        raise self.source.error(value, _describe(value),
                                "rewrite it with operations that s2s has rules for")

    def _simple(self, tangent: ast.AST) -> Optional[List[ast.AST]]:
        if _is_zero(tangent):
            return None
        return [assign(DRESULT, tangent)]


def _creates_new(value) -> bool:
    """Does ``value`` surely build a new object (one the optimizer will not fold away)?"""
    if isinstance(value, (gast.List, gast.Dict)):
        return True
    if isinstance(value, gast.UnaryOp):
        return isinstance(value.op, gast.USub) and not isinstance(value.operand, gast.UnaryOp)
    if isinstance(value, gast.BinOp):
        ones = [side for side in (value.left, value.right)
                if isinstance(side, gast.Constant) and type(side.value) in (int, float)
                and side.value == 1]
        return not ones
    return False
