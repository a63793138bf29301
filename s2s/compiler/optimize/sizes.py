"""Sizes read from the first name of their shape class, so that a temporary computed only
for its size need not be computed at all.
"""
from __future__ import annotations

from typing import Any, Dict

import gast

from s2s.compiler import syntax
from s2s.compiler.analysis.shapes import SCALAR
from s2s.compiler.context import Context
from s2s.compiler.optimize.uses import may_call, may_call_method
from s2s.runtime.numpy_helpers import size_of


_SIZE_FUNCTIONS = {"size", "shape", "ndim"}


def sizes_from_representatives(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """``np.size(x_sq)`` reads ``np.size(x)`` when shape classes prove them equal and ``x``
    comes first: then ``x_sq`` need not be computed at all if nothing else reads it.

        x_sq = x ** 2                            (gone, when only its size was read)
        dx = ... / np.size(x_sq)         ->      dx = ... / np.size(x)
    """
    if not may_call_method(ctx, *_SIZE_FUNCTIONS) and not may_call(ctx, _is_size_of):
        return
    counts: Dict[str, int] = {}
    sized = []                                  # the calls np.size(name) and the like
    for node in syntax.walk(fn):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
        elif (isinstance(node, gast.Call) and len(node.args) == 1
                and isinstance(node.args[0], gast.Name)
                and (isinstance(node.func, gast.Attribute) and node.func.attr in _SIZE_FUNCTIONS
                     or isinstance(node.func, gast.Name) and _is_size_of(ctx.callee(node)))):
            sized.append(node)
    if not sized:
        return
    first: Dict[Any, str] = {}
    for arg in fn.args.args + fn.args.posonlyargs + fn.args.kwonlyargs:
        cls = classes.get(arg.id)
        if cls is not None and cls != SCALAR:
            first.setdefault(cls, arg.id)
    for stmt in fn.body:
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], gast.Name):
            target = stmt.targets[0].id
            cls = classes.get(target)
            if cls is not None and cls != SCALAR and counts.get(target) == 1 \
                    and target not in ctx.cotangent_of:
                first.setdefault(cls, target)
    for node in sized:
        cls = classes.get(node.args[0].id)
        representative = first.get(cls) if cls is not None else None
        if representative is not None:
            node.args[0].id = representative


def _is_size_of(obj) -> bool:
    return obj is size_of      # the rules' np.size, which does not make Dask compute
