"""Reverse mode through control flow: the adjoints of branches and loops.

The adjoint of a branch is a branch on the same condition; the adjoint of a loop is a loop
that runs as many times, backwards (``prepare`` planned how: a range loop walks its range in
reverse, any other loop counts down its iterations). The static cotangent state (which
cotangents may be nonzero, which are private arrays that may be updated in place) is joined
at the end of branches and iterated to a fixed point over loop bodies; where the branches or
iterations disagree a cotangent is reset to zero.

    for i in range(n):                 for i in reversed(i_range):
        y = np.sin(y)          ->          y_prev = y_stack.pop()
                                           dy = dy * np.cos(y_prev)
                                           y = y_prev
"""
from __future__ import annotations

import ast
import copy
from typing import Callable, List, Set

import gast

from s2s import runtime
from s2s.compiler import syntax
from s2s.compiler.analysis.activity import stored_names
from s2s.compiler.reverse import cotangents, items, queries, saves
from s2s.compiler.reverse.nodes import stored_in
from s2s.compiler.reverse.state import Loop, ReverseState
from s2s.compiler.syntax import assign, const, name


def reverse_if(state: ReverseState, stmt: gast.If, reverse_block: Callable) -> List[ast.AST]:
    """The adjoint of an ``if``: an ``if`` on the same condition, each branch reversed by
    ``reverse_block``. Cotangents nonzero after one branch only are reset in the other.

        if cond:                  if cond:
            y = x * 2      ->         dx = dy * 2
        else:                     else:
            y = x                     dx = dy
    """
    if not queries.is_active_code(state, [stmt]):
        return []
    start = (set(state.nonzero), set(state.owned))
    body = reverse_block(stmt.body)
    after_body = (set(state.nonzero), set(state.owned))
    state.nonzero, state.owned = set(start[0]), set(start[1])
    orelse = reverse_block(stmt.orelse)
    after_else = (set(state.nonzero), set(state.owned))
    body += [cotangents.reset(state, v) for v in sorted(after_else[0] - after_body[0])]
    orelse += [cotangents.reset(state, v) for v in sorted(after_body[0] - after_else[0])]
    # zeros_like(v) where the primal took the other branch: v may never have been bound
    state.branch_resets |= after_body[0] ^ after_else[0]
    state.nonzero = after_body[0] | after_else[0]
    state.owned = after_body[1] & after_else[1]
    if not _has_code(body) and not _has_code(orelse):
        return []
    return [gast.If(test=copy.deepcopy(stmt.test), body=body or [gast.Pass()],
                    orelse=orelse)]


def reverse_loop(state: ReverseState, loop, reverse_block: Callable) -> List[ast.AST]:
    """The adjoint of a loop: a loop that runs as many times, backwards, over the body
    reversed by ``reverse_block``. The cotangent state is iterated to a fixed point over the
    body first, so that every iteration of the generated loop starts from the same one.

        for i in range(n):          for i in reversed(i_range):
            y = np.sin(y)    ->         y = y_stack.pop()
                                        dy = dy * np.cos(y)
    """
    info = state.loops.get(id(loop))
    if info is None:
        return []
    before = (set(state.nonzero), set(state.owned))
    entry = before
    shared: Set[str] = set()
    for _ in range(8):                      # joins only grow nonzero / shrink owned
        cp = state.checkpoint()
        state.nonzero, state.owned = set(entry[0]), set(entry[1])
        body, index = _loop_body(state, loop, info, reverse_block)
        end = (set(state.nonzero), set(state.owned))
        # a cotangent first materialized before the loop is a fresh buffer: owned
        fresh = {v for v in end[1] - before[0] if _bound_outside(state, v, loop)}
        # one shared before the loop that the body copies to update in place: copy it
        # once, before the loop
        shared |= {v for v in _copied_in(state, body) if v in before[0] - before[1]
                   and _bound_outside(state, v, loop)}
        joined = (before[0] | end[0], (before[1] | fresh | shared) & end[1])
        if joined == entry:
            break                           # this sweep saw the fixed point: keep it
        state.rollback(cp)
        entry = joined
    end_nonzero = set(state.nonzero)
    body += [cotangents.reset(state, v) for v in sorted(entry[0] - end_nonzero)]
    state.nonzero, state.owned = set(entry[0]), set(entry[1])
    pre = [assign(state.cotangent(v), cotangents.zeros(state, v)) if v in entry[1]
           else cotangents.reset(state, v)
           for v in sorted(entry[0] - before[0])]
    pre += [assign(state.cotangent(v), state.call_helper("own", runtime.own,
                                                         [name(state.cotangent(v)), name(v)]))
            for v in sorted((entry[1] & before[0]) - before[1])]
    after = saves.restore_rebound(state, loop)
    if not _has_code(body):
        return pre + after
    if info.kind == "range":
        header = gast.For(target=copy.deepcopy(loop.target),
                          iter=gast.Call(func=name(state.bind_free("reversed", reversed)),
                                         args=[name(info.rng)], keywords=[]),
                          body=body, orelse=[], type_comment=None)
    else:
        steps_range = gast.Call(func=name(state.bind_free("range", range)),
                                args=[name(info.steps)], keywords=[])
        if index is not None:
            it = gast.Call(func=name(state.bind_free("reversed", reversed)),
                           args=[steps_range], keywords=[])
            target = name(index, gast.Store())
        else:
            it, target = steps_range, name("_", gast.Store())
        header = gast.For(target=target, iter=it, body=body, orelse=[], type_comment=None)
    return pre + [header] + after


def _copied_in(state: ReverseState, body) -> Set[str]:
    """Primal names whose cotangent ``body`` copies with ``own`` before an update."""
    own_name = state.injected and next((n for n, v in state.injected.items()
                                        if v is runtime.own), None)
    names = set()
    for node in syntax.walk(gast.Module(body=list(body), type_ignores=[])):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
                and node.func.id == own_name and len(node.args) == 2 \
                and isinstance(node.args[1], gast.Name):
            names.add(node.args[1].id)
    return names


def _bound_outside(state: ReverseState, var: str, loop) -> bool:
    """Is ``var`` a parameter, or assigned somewhere other than inside ``loop``? Then it
    holds a value when the reversed loop starts, and its cotangent can be made there."""
    if var in state.wrt or var in state.params:
        return True
    inside = stored_in(loop.body) | stored_names(getattr(loop, "target", None))
    return var in state.assigned_anywhere and var not in inside


def _loop_body(state: ReverseState, loop, info: Loop, reverse_block: Callable):
    """The reversed body of one iteration, and the name of the iteration index if used."""
    body: List[ast.AST] = []
    index = None
    if info.kind == "counter":
        body += [assign(n, saves.pop(state, n)) for n in reversed(info.targets)
                 if n in state.restores]
    body += reverse_block(loop.body)
    if info.recompute:
        read = {n.id for stmt in body for n in syntax.walk(stmt)
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
        # what the reversed body reads, and what those read in turn (j = i + 1; k = j % 3:
        # k needs j recomputed too)
        needed = []
        for stmt in reversed(info.recompute):
            if stmt.targets[0].id in read:
                needed.append(stmt)
                read |= {n.id for n in syntax.walk(stmt.value) if isinstance(n, gast.Name)}
        body = [copy.deepcopy(stmt) for stmt in reversed(needed)] + body
    for target, iterable, order in info.sources:
        if target not in state.nonzero or iterable not in state.active:
            state.nonzero.discard(target)
            state.owned.discard(target)
            continue
        if index is None:
            index = _loop_index(state, loop)
        key: ast.AST = name(index)
        if order == "reversed":
            key = gast.BinOp(
                left=gast.BinOp(left=gast.Call(func=name(state.bind_free("len", len)),
                                               args=[name(iterable)], keywords=[]),
                                op=gast.Sub(), right=const(1)),
                op=gast.Sub(), right=name(index))
        body += items.item_contribution(state, iterable, key, name(state.cotangent(target)),
                                        basic=True, iteration=True)
        state.nonzero.discard(target)
        state.owned.discard(target)
    return body, index


def _loop_index(state: ReverseState, loop) -> str:
    key = ("index", id(loop))
    if key not in state.loop_names:
        state.loop_names[key] = state.namer.fresh("k")
    return state.loop_names[key]


def _has_code(stmts) -> bool:
    return any(not isinstance(s, gast.Pass) for s in stmts)
