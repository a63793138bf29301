"""Cotangent accumulation: how a contribution to a cotangent becomes a statement.

The sweep knows statically which cotangents are still zero (``state.nonzero``): the first
contribution to ``dx`` is a plain assignment and later ones add to it, in place (``dx +=
v``) when the array is private to the generated code (``state.owned``), else ``dx = dx +
v``. Containers' cotangents (pytrees) add with ``runtime.add``.
"""
from __future__ import annotations

import ast
from typing import List, Optional

import gast

from s2s import runtime
from s2s.compiler.analysis.shapes import FLOAT, SCALAR
from s2s.compiler.reverse.nodes import deep_copy, has_active, item_of
from s2s.compiler.reverse.state import ReverseState
from s2s.compiler.syntax import assign, const, name


def contribute(state: ReverseState, var: str, value: ast.AST) -> List[ast.AST]:
    """Statements adding ``value`` to the cotangent of ``var``: the first contribution is
    an assignment, later ones accumulate (in place when the cotangent is private to us).

        contribute(x, dy * 2)   ->   dx = dy * 2          (dx was zero)
                                     dx += dy * 2         (dx is nonzero and ours)
    """
    if var not in state.active:
        return []
    d = state.cotangent(var)
    if isinstance(value, gast.Name):
        # value's array is now shared: whoever held it may no longer update it in place
        primal = state.primal_of(value.id)
        if primal is not None:
            state.owned.discard(primal)
    if var not in state.nonzero:
        state.nonzero.add(var)
        if isinstance(value, (gast.BinOp, gast.UnaryOp)):
            state.owned.add(var)
        else:
            state.owned.discard(var)
        return [assign(d, value)]
    if var in state.trees:
        state.owned.add(var)
        return [assign(d, state.call_helper("add", runtime.add, [name(d), value]))]
    if var in state.owned:
        # a private array: accumulate in place, no new allocation
        return [gast.AugAssign(target=name(d, gast.Store()), op=gast.Add(), value=value)]
    state.owned.add(var)
    return [assign(d, gast.BinOp(left=name(d), op=gast.Add(), right=value))]


def contribute_to_operand(state: ReverseState, operand: Optional[ast.AST],
                          value: ast.AST) -> List[ast.AST]:
    """Statements handing ``value`` to a rule's operand: a name, or a tuple, list or dict
    of names whose cotangent ``value`` holds item by item."""
    if isinstance(operand, gast.Name):
        return contribute(state, operand.id, value)
    if isinstance(operand, gast.Dict):
        if not any(has_active(v, state.active) for v in operand.values):
            return []
        tmp = state.fresh_temp("parts")
        out = [assign(tmp, value)]
        for k, v in zip(operand.keys, operand.values):
            if isinstance(v, gast.Name) and k is not None:
                out += contribute(state, v.id, state.call_helper(
                    "item_or_zero", runtime.item_or_zero, [name(tmp), deep_copy(k)]))
        return out
    if isinstance(operand, (gast.Tuple, gast.List)):
        if not any(has_active(e, state.active) for e in operand.elts):
            return []
        tmp = state.fresh_temp("parts")
        out = [assign(tmp, value)]
        for i, e in enumerate(operand.elts):
            if isinstance(e, gast.Starred):
                # f(a, *rest) binds *args to (a, *rest): rest's items take the items after a
                tail = gast.Slice(lower=const(i), upper=None, step=None)
                out += contribute_to_operand(state, e.value, item_of(name(tmp), tail))
            elif isinstance(e, (gast.Name, gast.Tuple, gast.List, gast.Dict)):
                # max([a, b]) binds *args to ([a, b],): nested literals route item by item
                out += contribute_to_operand(state, e, item_of(name(tmp), const(i)))
        return out
    return []


def zeros(state: ReverseState, var: str) -> ast.AST:
    """A zero cotangent buffer: np.zeros_like for inputs known to be arrays, the runtime
    helper (which also builds lists and dicts of zeros) for anything else."""
    if state.shapes.get(var) == FLOAT:
        return const(0.0)       # a Python float's cotangent: a float, added to freely
    if var in state.wrt and var not in state.trees:
        return gast.Call(func=state.numpy("zeros_like"), args=[name(var)], keywords=[])
    return state.call_helper("zeros_like", runtime.zeros_like, [name(var)])


def reset(state: ReverseState, var: str) -> ast.AST:
    """Where paths of the adjoint disagree, the cotangent restarts at zero: ``dx = 0.0``
    for a number, else zeros of ``x``'s value at that point (``x`` holds it there: the
    sweep restores overwritten values). Rules and shape lowering take a cotangent to have
    its primal's shape (``dv.sum(axis=0)``, ``np.reshape(dv, x.shape)``), so a float zero
    may stand only for a number's cotangent."""
    if state.classes.get(var) == SCALAR:
        return assign(state.cotangent(var), const(0.0))
    # the run-time helper: x may also be a local function (whose zero is 0.0) or a pytree
    return assign(state.cotangent(var),
                  state.call_helper("zeros_like", runtime.zeros_like, [name(var)]))
