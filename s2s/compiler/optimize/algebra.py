"""Algebra in the adjoint sweep: products with 1, double negations, numbers multiplied
together, and a common factor taken out of a sum.

    dy = 1.0 * dout                         dy = dout
    dx = -(-dy) * 3 * (2 * x)        ->     dx = 6 * dy * x
    dw = d * a * b + d * c                  dw = d * (a * b + c)

Never ``g * 0``: that would lose the shape of g. Never in the primal sweep, nor for an array
updated in place later, where ``1.0 * g`` is a copy that must stay one.
"""
from __future__ import annotations

import ast
import copy
from typing import List, Optional, Set

import gast

from s2s.compiler import syntax
from s2s.compiler.context import Context
from s2s.compiler.optimize.uses import changed_in_place, is_marker, is_number


def fold_adjoint(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """Fold algebra in the adjoint sweep only: in the primal, ``y = x * 1.0`` makes a copy
    that the user may update in place. Likewise a cotangent later updated in place keeps
    its ``1.0 * g``: folded to ``g`` it would share g's array."""
    mutated, updated = changed_in_place(fn.body, ctx)
    seen_sentinel = False
    for stmt in fn.body:
        if is_marker(stmt):
            seen_sentinel = True
            continue
        if not seen_sentinel:
            continue
        # only compound statements hold assignments below them
        simple = isinstance(stmt, (gast.Assign, gast.AugAssign, gast.Expr, gast.Return))
        for node in (stmt,) if simple else syntax.walk(stmt):
            if isinstance(node, gast.Assign):
                node.s2s_keep = False
            if isinstance(node, gast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], gast.Name) \
                    and node.targets[0].id in updated:
                # 1.0 * g stays: the value may reach the target through a call that
                # hands its argument back (unbroadcast(g * 1.0, y) is g where the shapes
                # agree), and the target's update in place would change g too
                node.value = _Fold(mutated, keep_copies=True).visit(
                    syntax.copy_tree(node.value))
                node.s2s_keep = True
        _Fold(mutated).visit(stmt)


def _factors(node) -> List[ast.AST]:
    """The operands of a chain of ``*`` (a single operand for anything else); ``x ** 2``
    counts as ``x * x``."""
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Mult):
        return _factors(node.left) + _factors(node.right)
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Pow) \
            and isinstance(node.left, gast.Name) and is_number(node.right, 2):
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


def _merge_constants(node) -> Optional[ast.AST]:
    """``3 * (2 * x)`` becomes ``6 * x``: the numbers of a chain of ``*`` multiplied once."""
    def flatten(n):
        if isinstance(n, gast.BinOp) and isinstance(n.op, gast.Mult):
            return flatten(n.left) + flatten(n.right)
        return [n]
    factors = flatten(node)
    numbers = [f for f in factors if isinstance(f, gast.Constant)
               and type(f.value) in (int, float)]
    if len(numbers) < 2:
        return None
    value = 1
    for n in numbers:
        value *= n.value
    rest = [f for f in factors if not any(f is n for n in numbers)]
    return _product([gast.Constant(value=value, kind=None)] + rest)


class _Fold(syntax.Transformer):
    """``g * 1``, ``1.0 * g``, ``g / 1``, ``-(-g)``. Never folds ``g * 0``: shapes matter."""

    def __init__(self, mutated: Set[str] = frozenset(), keep_copies: bool = False):
        self.mutated = mutated          # arrays changed in place later: 1.0 * x stays a copy
        self.keep_copies = keep_copies  # every 1.0 * x stays a copy

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
            if is_number(node.right, 1) and not self._shared(node.left):
                return node.left
            if is_number(node.left, 1) and not self._shared(node.right):
                return node.right
            merged = _merge_constants(node)
            if merged is not None:
                return merged
        if isinstance(node.op, gast.Div) and is_number(node.right, 1):
            return node.left
        return node

    def _shared(self, node) -> bool:
        if isinstance(node, (gast.Constant, gast.BinOp, gast.UnaryOp)):
            return False        # a number, or a new array
        return self.keep_copies or isinstance(node, gast.Name) and node.id in self.mutated

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if (isinstance(node.op, gast.USub) and isinstance(node.operand, gast.UnaryOp)
                and isinstance(node.operand.op, gast.USub)):
            return node.operand.operand
        return node
