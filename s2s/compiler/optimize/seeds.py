"""Seeds of scalar outputs: the seed of a scalar is ``1.0``, not an array of ones, and a
full reduction's adjoint spreads it over an array only where something needs the array.
"""
from __future__ import annotations

import ast
from typing import Dict, List

import gast

from s2s.compiler import syntax
from s2s.compiler.analysis.shapes import SCALAR, class_of
from s2s.compiler.context import Context


def scalar_seeds(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """A scalar output's seed is ``1.0``; a scalar spread over an array by a full reduction's
    adjoint stays a scalar where every use multiplies it by an array of that shape.

        dout = ones_like(out)                          dout = 1.0
        dx_sum = expand_reduced(dout, x_sum, None, False)   ->  dx_sum = 1.0
        dx = dx_sum * (2 * x)                          dx = 1.0 * (2 * x)   (then folded)
    """
    ones, expand = ctx.helpers.get("ones_like"), ctx.helpers.get("expand_reduced")
    loads: Dict[str, List[ast.AST]] = {}
    operation_of: Dict[int, ast.AST] = {}   # id of a name read as an operand -> the operation
    seeds: List[ast.AST] = []
    for part in (fn.args, *fn.body):         # a statement at a time: see NameUses
        for node in syntax.walk(part):
            kind = type(node)
            if kind is gast.Name and isinstance(node.ctx, gast.Load):
                loads.setdefault(node.id, []).append(node)
            elif kind is gast.BinOp:
                operation_of[id(node.left)] = operation_of[id(node.right)] = node
            elif kind is gast.Assign and len(node.targets) == 1 \
                    and isinstance(node.targets[0], gast.Name) \
                    and isinstance(node.value, gast.Call) \
                    and isinstance(node.value.func, gast.Name):
                seeds.append(node)
    for node in seeds:
        call, target = node.value, node.targets[0].id
        if call.func.id == ones and len(call.args) == 1 \
                and class_of(call.args[0], classes, ctx) == SCALAR:
            node.value = gast.Constant(value=1.0, kind=None)
        elif call.func.id == expand and len(call.args) == 4 and _is_none(call.args[2]) \
                and _is_false(call.args[3]) and target in ctx.generated:
            spread = class_of(call.args[1], classes, ctx)
            if spread is None or spread == SCALAR:
                continue
            uses = loads.get(target, [])
            if uses and all(_multiplies_array_of(operation_of.get(id(u)), u, spread, classes, ctx)
                            for u in uses):
                node.value = call.args[0]


def _multiplies_array_of(parent, use, cls, classes, ctx) -> bool:
    if not (isinstance(parent, gast.BinOp) and isinstance(parent.op, (gast.Mult, gast.Div))):
        return False
    other = parent.right if parent.left is use else parent.left
    if isinstance(parent.op, gast.Div) and parent.left is not use:
        return False
    return class_of(other, classes, ctx) == cls


def _is_none(node) -> bool:
    return isinstance(node, gast.Constant) and node.value is None


def _is_false(node) -> bool:
    return isinstance(node, gast.Constant) and node.value is False
