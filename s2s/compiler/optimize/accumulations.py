"""Accumulations: a cotangent set and then added to is one sum.

    dx = dout * a                   dx = dout * a + dy * b
    dx += dy * b            ->

Only when the sum does not read the cotangent itself, and stays shallower than
``MAX_DEPTH`` (a name used a thousand times would otherwise get a sum a thousand deep).
"""
from __future__ import annotations

import ast
from typing import List

import gast

from s2s.compiler import syntax
from s2s.compiler.context import Context
from s2s.compiler.optimize.uses import MAX_DEPTH, expression_depth


def fuse_accumulations(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """``d = a`` then ``d += b`` (b not reading d) becomes ``d = a + b``."""
    fn.body = _fuse(fn.body)


def _fuse(body: List[ast.AST]) -> List[ast.AST]:
    out: List[ast.AST] = []
    for stmt in body:
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner:
                setattr(stmt, field, _fuse(inner))
        prev = out[-1] if out else None
        if (isinstance(stmt, gast.AugAssign) and isinstance(stmt.op, gast.Add)
                and isinstance(stmt.target, gast.Name)
                and isinstance(prev, gast.Assign) and len(prev.targets) == 1
                and isinstance(prev.targets[0], gast.Name)
                and prev.targets[0].id == stmt.target.id
                and not isinstance(prev.value, gast.Name)
                and stmt.target.id not in syntax.names_in(stmt.value)
                and max(expression_depth(prev.value), expression_depth(stmt.value)) < MAX_DEPTH):
            prev.value = gast.BinOp(left=prev.value, op=gast.Add(), right=stmt.value)
            continue
        out.append(stmt)
    return out
