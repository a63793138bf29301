"""Forward mode through control flow: each tangent stays beside its primal, in the same block.

Branches and loops keep their shape. A tangent that is a symbolic zero before a branch or
loop that may update it becomes a real variable first, and a loop over values iterates over
their tangents beside them:

    s = 0.0                             s = 0.0
                                        ds = 0.0
    for v in vs:               ->       for v, dv in zip(vs, dvs):
        s = s + v                           s = s + v
                                            ds = ds + dv

The static tangent state (which tangents are real variables, which are private arrays that
may be updated in place) is joined at the end of a branch. Before a loop, every tangent the
loop updates is made real, and private if it is updated in place, so that one state holds
for every iteration.
"""
from __future__ import annotations

import ast
import builtins
import itertools
from typing import Callable, List, Set

import gast

from s2s.compiler.forward.nodes import bound_names, rebound_names, stored_names
from s2s.compiler.forward.state import TangentState
from s2s.compiler.syntax import assign, name

Block = Callable[[List[ast.AST]], List[ast.AST]]


def branch(state: TangentState, stmt: gast.If, block: Block) -> List[ast.AST]:
    """An if statement with the tangents of both branches; ``block`` writes each branch.

    Both branches start from the state before the if; after it, a tangent is live if either
    branch made it live, and private only if both did:

        if c:                       dy = zeros_like(y)     (y bound before, its tangent zero)
            y = x * 2.0    ->       if c:
                                        y = x * 2.0
                                        dy = dx * 2.0
    """
    flow = state.flow
    before = state.materialize(bound_names([stmt]))
    saved = set(flow.live), set(flow.owned), set(flow.defined), set(flow.numbers)
    flow.depth += 1
    stmt.body = block(stmt.body) or [gast.Pass()]
    after_body = flow.live, flow.owned, flow.defined
    flow.live, flow.owned, flow.defined, flow.numbers = saved
    stmt.orelse = block(stmt.orelse)
    flow.depth -= 1
    flow.live |= after_body[0]
    flow.owned &= after_body[1]
    flow.defined |= after_body[2]
    return before + [stmt]


def loop(state: TangentState, stmt, block: Block) -> List[ast.AST]:
    """A for or while loop with the tangents in its body; ``block`` writes the body.

    Before the loop, every tangent it updates is made real, and private if it is updated in
    place, so that one state holds for every iteration (see the module's example).
    """
    flow = state.flow
    assigned = bound_names([stmt])
    rebound = rebound_names([stmt])
    before = state.materialize(assigned)
    for var in sorted((assigned - rebound) & flow.varied & flow.defined):
        before += state.own(var)     # updated in place: one private copy for all iterations
    flow.live |= assigned & flow.varied
    flow.owned -= rebound
    owned = set(flow.owned)
    flow.depth += 1
    start = loop_target(state, stmt) if isinstance(stmt, gast.For) else []
    stmt.body = start + block(stmt.body) or [gast.Pass()]
    flow.owned &= owned
    stmt.orelse = block(stmt.orelse)
    flow.depth -= 1
    flow.owned &= owned
    return before + [stmt]


def loop_target(state: TangentState, stmt: gast.For) -> List[ast.AST]:
    """Iterate over tangents beside the primal items; zero tangents for the rest.

        for v in vs:                ->   for v, dv in zip(vs, dvs):
        for i, v in enumerate(vs):  ->   for i, v, dv in zip(count(), vs, dvs):
        for a, b in zip(xs, ys):    ->   for a, b, da in zip(xs, ys, dxs):   (ys constant)
    """
    kind, args = state.scope.iteration(stmt)
    target = stmt.target
    carried: Set[str] = set()
    if kind == "plain" and state.has_tangent(args[0]):
        stmt.target = gast.Tuple(elts=[target, _tangent_target(state, target)],
                                 ctx=gast.Store())
        stmt.iter = state.scope.helper("zip", builtins.zip,
                                       [args[0], state.operand_tangent(args[0])])
        carried = stored_names(target)
    elif kind == "enumerate" and state.has_tangent(args[0]):
        # zip(count(), ...) rather than enumerate(zip(...)): a zip over names differentiates
        # again (the inner zip would be a call of its own)
        index, item = target.elts
        stmt.target = gast.Tuple(elts=[index, item, _tangent_target(state, item)],
                                 ctx=gast.Store())
        stmt.iter = state.scope.helper("zip", builtins.zip, [
            state.scope.helper("count", itertools.count, []), args[0],
            state.operand_tangent(args[0])])
        carried = stored_names(item)
    elif kind == "zip":
        pairs = [(t, a) for t, a in zip(target.elts, args) if state.has_tangent(a)]
        if pairs:
            target.elts = target.elts + [_tangent_target(state, t) for t, _ in pairs]
            stmt.iter.args = list(args) + [state.operand_tangent(a) for _, a in pairs]
            for t, _ in pairs:
                carried |= stored_names(t)
    for var in carried:
        state.flow.owned.discard(var)
    zero = sorted(stored_names(target) & state.flow.varied - carried)
    return [assign(state.tangent(v), state.zeros(v)) for v in zero]


def _tangent_target(state: TangentState, target):
    """The loop target of the tangents: ``v`` -> ``dv``, ``(a, b)`` -> ``(da, db)``."""
    if isinstance(target, gast.Name):
        return name(state.tangent(target.id), gast.Store())
    if isinstance(target, (gast.Tuple, gast.List)):
        return gast.Tuple(elts=[_tangent_target(state, e) for e in target.elts],
                          ctx=gast.Store())
    raise state.source.error(target, "this loop target",
                             "loop over plain names: for x in xs, for i, x in enumerate(xs)")
