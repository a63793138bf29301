"""Sinking: a cheap primal value that only the adjoint reads, once, is computed where the
adjoint reads it, instead of being kept alive from the primal sweep.

    out_pow = x ** 2                        (gone)
    ...
    dx = t * (2 * x) + out_pow * dt   ->    dx = t * (2 * x) + x ** 2 * dt
"""
from __future__ import annotations

import bisect
from typing import Dict, List, Set

import gast

from s2s.compiler import syntax
from s2s.compiler.context import Context
from s2s.compiler.optimize.uses import NameUses, is_marker, substitute


def sink_into_adjoint(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """A cheap primal value only the adjoint reads, once, is computed where it is read:
    no array is kept alive from the primal sweep for it, and the algebra of the adjoint
    can see into it (``x ** 2`` shares the factor x with ``2 * x``).

        out_pow = x ** 2                        (gone)
        dx = t * (2 * x) + out_pow * dt   ->    dx = x * (t * 2 + x * dt)   (after folding)
    """
    body = fn.body
    marker = next((i for i, s in enumerate(body) if is_marker(s)), None)
    if marker is None:
        return
    names = NameUses(body, ctx, by_statement=True)
    uses, stores = names.loads, names.binds
    for n in names.written_through:
        stores[n] = 2           # an array some statement may change in place: not stable
    named_at: Dict[str, List[int]] = {}         # name -> positions of statements naming it
    for at, named in enumerate(names.named_at):
        for n in named:
            named_at.setdefault(n, []).append(at)
    removed: Set[int] = set()
    for at, stmt in enumerate(body[:marker]):
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)):
            continue
        target = stmt.targets[0].id
        if target not in ctx.primal_temps or uses.get(target) != 1 \
                or stores.get(target) != 1 or not _cheap(stmt.value, stores):
            continue
        positions = named_at[target]
        k = bisect.bisect_right(positions, at)     # statements after ``at`` are all still there
        if k == len(positions):
            continue
        user_at = positions[k]
        user = body[user_at]
        # the first adjoint statements, one per temporary sunk so far, take none: the
        # marker's position used to be compared with positions in the shortened body, and
        # the generated code is kept as it was
        if user_at - len(removed) <= marker \
                or not isinstance(user, (gast.Assign, gast.AugAssign)):
            continue
        removed.add(at)
        substitute(user, target, stmt.value)
        for n in syntax.names_in(stmt.value):
            positions = named_at.setdefault(n, [])
            k = bisect.bisect_left(positions, user_at)
            if k == len(positions) or positions[k] != user_at:
                positions.insert(k, user_at)
    fn.body = [stmt for at, stmt in enumerate(body) if at not in removed]


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
