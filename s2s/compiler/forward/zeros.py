"""Symbolic zeros: folding the zero tangents out of an expanded tangent rule.

While a rule is expanded, a tangent known to be zero stands as the name ``ZERO``, and
``RESULT`` and ``DRESULT`` stand for the primal result and the tangent being assigned.
``Simplifier`` folds the zeros away, so that no zero is ever computed:

    # z = x * w, with w constant (dw is a zero)
    dresult = dx * w + x * ZERO         ->      dz = dx * w

Where a dropped zero could have given a sum its shape, the tangent is wrapped in
``broadcast_like`` (``tidy`` drops the wrappers that shape classes prove useless):

    # z = x + np.ones((3, 4)), x of shape (4,)
    dresult = dx + ZERO                 ->      dz = broadcast_like(dx, z)
"""
from __future__ import annotations

import ast
from typing import Dict, List, Set, Tuple

import gast

from s2s import runtime

from s2s.compiler import syntax
from s2s.compiler.forward.scope import Scope
from s2s.compiler.syntax import const, name

ZERO = "__s2s_zero__"          # a symbolic zero tangent inside an expanded rule
RESULT = "__s2s_result__"      # the primal result while a rule is expanded
DRESULT = "__s2s_dresult__"    # the tangent being assigned while a rule is expanded


def is_zero(node) -> bool:
    """Is ``node`` the symbolic zero?"""
    return isinstance(node, gast.Name) and node.id == ZERO


def symbolic_zero() -> gast.Name:
    """A new node standing for a zero tangent."""
    return name(ZERO)


class Simplifier:
    """Folds the symbolic zeros out of an expanded tangent rule.

    ``a * 0 -> 0``, ``a + 0 -> a``, ``0 - a -> -a``, ``f(0) -> 0`` for a call whose only
    tangent argument is zero (other zero arguments become ``0.0``). Where a zero left a sum,
    the tangent is wrapped in ``broadcast_like(t, result)`` to keep the result's shape.

    ``primal_of`` maps the names of tangents to their primals' (the builder's own map, read
    and never copied: a rule is expanded once per statement); ``operands`` are the names the
    primitive's arguments read.
    """

    def __init__(self, scope: Scope, primal_of: Dict[str, str], operands: Set[str]):
        self.scope = scope
        self.primal_of = primal_of
        self.operands = operands
        self.zero_locals: Set[str] = set()
        self.tangent_locals: Set[str] = {DRESULT}       # rule locals that hold tangents
        # what a rule local stands for, in terms of operands (a tangent dx stands for x)
        self.meaning: Dict[str, Set[str]] = {}

    def block(self, stmts, top: bool = True) -> Tuple[List[ast.AST], bool]:
        """The simplified statements, and whether the tangent is statically zero."""
        out: List[ast.AST] = []
        zero = False
        for stmt in stmts:
            if isinstance(stmt, gast.If):
                stmt.body = self.block(stmt.body, top=False)[0] or [gast.Pass()]
                stmt.orelse = self.block(stmt.orelse, top=False)[0]
                out.append(stmt)
                continue
            if not isinstance(stmt, gast.Assign):
                out.append(stmt)
                continue
            target = stmt.targets[0].id
            value, shrunk = self.expr(syntax.rename_loads(stmt.value,
                                                          {n: ZERO for n in self.zero_locals}))
            if target != DRESULT:
                if is_zero(value):
                    self.zero_locals.add(target)
                    continue
                if self.is_tangent(value):
                    self.tangent_locals.add(target)
                self.meaning[target] = self.reads(value)
                stmt.value = value
                out.append(stmt)
                continue
            if is_zero(value):
                if top:
                    zero = True
                    continue
                value = self.scope.helper("zeros_like", runtime.zeros_like, [name(RESULT)])
            elif shrunk:
                value = self.scope.helper("broadcast_like", runtime.broadcast_like,
                                          [value, name(RESULT)])
            stmt.value = value
            out.append(stmt)
        return out, zero

    def is_tangent(self, node) -> bool:
        """Does ``node`` read a tangent (or a rule local that holds one)?"""
        return any(n in self.primal_of or n in self.tangent_locals
                   for n in syntax.names_in(node))

    def reads(self, node) -> Set[str]:
        """The names ``node`` stands on, in terms of operands: ``dx * w`` -> {x, w}."""
        reads: Set[str] = set()
        for n in syntax.names_in(node):
            if n in self.meaning:
                reads |= self.meaning[n]
            else:
                reads.add(self.primal_of.get(n, n))
        return reads

    def shrinks(self, node) -> bool:
        """Could ``node`` be smaller than the result? Not if it reads the result, or every
        operand (``dx1 * x2`` has the shape of ``x1 * x2``)."""
        reads = self.reads(node)
        return RESULT not in reads and not self.operands <= reads

    def expr(self, node) -> Tuple[ast.AST, bool]:
        """``node`` without symbolic zeros, and whether a zero left a sum on the way."""
        if isinstance(node, gast.BinOp):
            left, s1 = self.expr(node.left)
            right, s2 = self.expr(node.right)
            shrunk = s1 or s2
            if isinstance(node.op, (gast.Add, gast.Sub)):
                if is_zero(left) and is_zero(right):
                    return symbolic_zero(), False
                if is_zero(right):
                    return left, self.shrinks(left)
                if is_zero(left):
                    if isinstance(node.op, gast.Add):
                        return right, self.shrinks(right)
                    return gast.UnaryOp(op=gast.USub(), operand=right), self.shrinks(right)
            elif is_zero(left) or is_zero(right):
                if isinstance(node.op, gast.Div) and is_zero(right):
                    raise ValueError("a tangent rule divides by a tangent")
                return symbolic_zero(), False
            node.left, node.right = left, right
            return node, shrunk
        if isinstance(node, gast.UnaryOp):
            operand, shrunk = self.expr(node.operand)
            if is_zero(operand):
                return symbolic_zero(), False
            node.operand = operand
            return node, shrunk
        if isinstance(node, gast.Call):
            return self.call(node)
        if isinstance(node, (gast.Subscript, gast.Attribute)):
            value, shrunk = self.expr(node.value)
            if is_zero(value):
                return symbolic_zero(), False
            node.value = value
            return node, shrunk
        if isinstance(node, (gast.Tuple, gast.List)):
            parts = [self.expr(e) for e in node.elts]
            # an empty tuple or list is a constant (np.einsum's output sublist []), not a zero
            if parts and all(is_zero(e) for e, _ in parts):
                return symbolic_zero(), False
            node.elts = [const(0.0) if is_zero(e) else e for e, _ in parts]
            return node, any(s for _, s in parts) or any(is_zero(e) for e, _ in parts)
        return node, False

    def call(self, node: gast.Call) -> Tuple[ast.AST, bool]:
        """A call without symbolic zeros: zero if only zero tangents reach it, else with
        ``0.0`` for each zero argument; and whether a zero left a sum on the way."""
        args = [self.expr(a) for a in node.args]
        kwargs = [self.expr(k.value) for k in node.keywords]
        parts = args + kwargs
        shrunk = any(s for _, s in parts)
        if not any(is_zero(p) for p, _ in parts):
            node.args = [a for a, _ in args]
            for kw, (v, _) in zip(node.keywords, kwargs):
                kw.value = v
            return node, shrunk
        if not any(self.is_tangent(p) for p, _ in parts if not is_zero(p)):
            return symbolic_zero(), False
        node.args = [const(0.0) if is_zero(a) else a for a, _ in args]
        for kw, (v, _) in zip(node.keywords, kwargs):
            kw.value = const(0.0) if is_zero(v) else v
        return node, shrunk or self.shrinks(node)
