"""Dead code: assignments to names the pipeline made that nothing reads go, until none is
left (a removal may leave another name unread). User code always stays.

    dy_sum = dout * 2.0             (gone: nothing reads dy_sum)
    dx = dout * np.cos(x)    ->     dx = dout * np.cos(x)
    return dx                       return dx
"""
from __future__ import annotations

import ast
from typing import List, Set

import gast

from s2s.compiler import syntax
from s2s.compiler.context import Context


def remove_dead(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """Drop assignments to pipeline names that nothing reads afterwards (loops: anywhere)."""
    fn.body = _remove_dead(fn.body, ctx.generated)


def _remove_dead(body: List[ast.AST], removable: Set[str]) -> List[ast.AST]:
    while True:
        reads: Set[str] = set()
        self_reads: Set[int] = set()
        for node in syntax.walk(gast.Module(body=body, type_ignores=[])):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) \
                    and id(node) not in self_reads:
                reads.add(node.id)
            elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
                reads.add(node.target.id)
            elif isinstance(node, gast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], gast.Name) and _arithmetic(node.value):
                # steps = steps + 1 reads steps only to compute steps again
                self_reads.update(id(n) for n in syntax.walk(node.value)
                                  if isinstance(n, gast.Name) and n.id == node.targets[0].id)
        dead = {n for n in removable if n not in reads}
        new_body, removed = _drop_assignments(body, dead)
        body = new_body
        if not removed:
            return body


def _arithmetic(value) -> bool:
    """Names and numbers combined by operators: no call, no side effect."""
    return all(isinstance(n, (gast.BinOp, gast.UnaryOp, gast.Name, gast.Constant, gast.Load,
                              gast.operator, gast.unaryop)) for n in syntax.walk(value))


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
