"""Inlining: temporaries that normalization made are put back into the one expression that
reads them, so that the primal reads like the user's own code; temporaries of the adjoint
fuse into the next adjoint statement the same way.

    out_pow = x ** 2
    out_mul = 3 * out_pow           ->      out = 3 * x ** 2 + 4 * x
    out = out_mul + 4 * x
"""
from __future__ import annotations

import ast
from typing import List

import gast

from s2s.compiler.context import Context
from s2s.compiler.optimize.uses import (MAX_DEPTH, NameUses, closed_over, depths_of,
                                        expression_depth, substitute)


def inline_temporaries(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """``t = a * b; y = t + c`` becomes ``y = a * b + c`` when only that use reads ``t``.

    Only the statement right after a temporary's definition may absorb it, which keeps
    the user's order of evaluation.
    """
    uses = NameUses(fn.body)
    closed = closed_over(fn, ctx)
    fn.body = _inline_block(fn.body, ctx.primal_temps - closed, uses.loads, uses.binds,
                            ctx.generated - closed)


def _inline_block(body, temps, uses, stores, adjoint_temps):
    out: List[ast.AST] = []
    for stmt in body:
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner:
                setattr(stmt, field, _inline_block(inner, temps, uses, stores, adjoint_temps))
        # adjoint temporaries fuse into the next adjoint statement, never into the return:
        # the gradients keep their names there
        adjoint = adjoint_temps if not isinstance(stmt, gast.Return) else ()
        while (out and _inlinable(out[-1], temps, adjoint, uses)
               and stores.get(out[-1].targets[0].id) == 1
               and _single_use_in(stmt, out[-1])):
            prev = out.pop()
            stmt = substitute(stmt, prev.targets[0].id, prev.value)
        out.append(stmt)
    return out


def _inlinable(stmt, temps, adjoint_temps, uses) -> bool:
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name)):
        return False
    target = stmt.targets[0].id
    return (target in temps or target in adjoint_temps) and uses.get(target) == 1


def _single_use_in(stmt, prev) -> bool:
    """Does ``stmt`` read ``prev``'s target exactly once, and stay shallow with ``prev``'s
    value in its place? (A chain of 250 statements fused into one expression would take
    every later stage, and Python's compiler, as deep as the chain is long.)"""
    if not isinstance(stmt, (gast.Assign, gast.Return, gast.AugAssign)):
        return False
    target = prev.targets[0].id
    value = stmt.value
    if value is None:
        return False
    depths = depths_of(value, target)
    return len(depths) == 1 and depths[0] + expression_depth(prev.value) <= MAX_DEPTH
