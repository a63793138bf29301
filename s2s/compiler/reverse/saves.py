"""Saves: values the primal overwrites that the adjoint sweep still reads.

They are pushed on a plain list before they are overwritten and popped back in reverse, so
that at every point of the adjoint sweep each primal name holds the value it had at the
matching point of the primal sweep. Only names the adjoint really reads are saved.

    for i in range(n):                 for i in i_range:
        y = np.sin(y)          ->          y_stack.append(y)
                                           y = np.sin(y)
                                       ...  (reverse sweep)  y = y_stack.pop()
"""
from __future__ import annotations

import ast
from typing import List, Set

import gast

from s2s import runtime
from s2s.compiler import syntax
from s2s.compiler.analysis.activity import stored_names
from s2s.compiler.reverse.nodes import stored_in
from s2s.compiler.reverse.state import ReverseState
from s2s.compiler.syntax import assign, const, name


def plan_saves(state: ReverseState, primal: List[ast.AST], params) -> Set[str]:
    """Find assignments that may overwrite a value; return the names they overwrite.

    An assignment overwrites when its name may already hold a value on some path:
    re-assignment in straight-line code or after a branch, or any assignment in a loop.
    Names that may still be unbound when they are saved are set to None up front.
    """
    state.overwrites = set()
    state.maybe_unbound = set()
    # a loop target's earlier value matters to the adjoint only where an assignment (or the
    # call) gave it, or an enclosing loop: a loop's own reversed body rebinds its targets
    assigned = set(params) | {n for node in syntax.walk(gast.Module(body=list(primal),
                                                                    type_ignores=[]))
                              if isinstance(node, gast.Assign) for t in node.targets
                              for n in stored_names(t)}

    def walk(stmts, may: Set[str], must: Set[str], enclosing: Set[str] = frozenset()):
        for stmt in stmts:
            if isinstance(stmt, gast.Assign):
                if id(stmt) in state.no_save:
                    continue
                for t in stmt.targets:
                    for n in stored_names(t):
                        if n in may:
                            state.overwrites.add((id(stmt), n))
                            if n not in must:
                                state.maybe_unbound.add(n)
                        may.add(n)
                        must.add(n)
            elif isinstance(stmt, gast.If):
                may_b, must_b = walk(stmt.body, set(may), set(must), enclosing)
                may_e, must_e = walk(stmt.orelse, set(may), set(must), enclosing)
                may, must = may_b | may_e, must_b & must_e
            elif isinstance(stmt, (gast.For, gast.While)):
                inner = stored_in(stmt.body)
                targets = stored_names(getattr(stmt, "target", None))
                info = state.loops.get(id(stmt))
                if info is not None:
                    rebound = targets & may & (assigned | enclosing)
                    info.rebound = sorted(rebound)
                    state.maybe_unbound |= rebound - must
                walk(stmt.body, may | inner | targets, must | targets, enclosing | targets)
                may = may | inner | targets
        return may, must
    walk(primal, set(params), set(params))
    loop_targets = set()
    for info in state.loops.values():
        loop_targets |= set(info.targets) | set(info.rebound)
    return {n for _, n in state.overwrites} | loop_targets


def saved(state: ReverseState, stmt, var: str) -> bool:
    """Is the value ``stmt`` overwrites in ``var`` pushed before, and popped back after?"""
    return ((id(stmt), var) in state.overwrites and var in state.restores
            and id(stmt) not in state.recomputed)


def insert_saves(state: ReverseState, primal: List[ast.AST], params) -> List[ast.AST]:
    """Push each saved name before it is overwritten; give each saved name a stack."""
    body = _insert_pushes(state, primal)
    setup = [assign(stack, gast.List(elts=[], ctx=gast.Load()))
             for stack in state.stacks.values()]
    setup += [assign(n, const(None)) for n in sorted(state.maybe_unbound)
              if n in state.stacks]
    for stmt in setup:
        state.no_save.add(id(stmt))
    return setup + body


def _insert_pushes(state: ReverseState, stmts):
    """``stmts`` with a push before each assignment whose old value is saved."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, gast.Assign):
            pushes = [_push(state, n) for t in stmt.targets
                      for n in sorted(stored_names(t)) if saved(state, stmt, n)]
            if pushes:
                # before the temporaries that compute this value, so they can fuse
                at = len(out)
                while at and _is_feeding_temp(state, out[at - 1], pushes):
                    at -= 1
                out[at:at] = pushes
        if isinstance(stmt, gast.If):
            stmt.body = _insert_pushes(state, stmt.body)
            stmt.orelse = _insert_pushes(state, stmt.orelse)
        elif isinstance(stmt, (gast.For, gast.While)):
            stmt.body = _insert_pushes(state, stmt.body)
            info = state.loops.get(id(stmt))
            if info is not None and info.kind == "counter":
                saves = [_push(state, n) for n in info.targets if n in state.restores]
                stmt.body = stmt.body[:1] + saves + stmt.body[1:]
            if info is not None:
                out += [_push(state, n) for n in info.rebound if n in state.restores]
        out.append(stmt)
    return out


def stack_of(state: ReverseState, var: str) -> str:
    """The list that keeps ``var``'s saved values (``x[]`` for items stored into x,
    ``x[dropped]`` for the items drop_last takes off x)."""
    stack = state.stacks.get(var)
    if stack is None:
        if var.endswith("[]"):
            base = f"{var[:-2]}_saved"
        elif var.endswith("[dropped]"):
            base = f"{var[:-len('[dropped]')]}_dropped"
        else:
            base = f"{var}_stack"
        stack = state.stacks[var] = state.namer.fresh(base)
    return stack


def _push(state: ReverseState, var: str) -> ast.AST:
    """``var_stack.append(var)`` (only its shape, where the adjoint reads nothing else)."""
    value: ast.AST = name(var)
    if var in state.shape_only:
        # the adjoint only needs its shape: keep that, not the array
        value = gast.Call(func=name(state.bind_free("shape_of", runtime.shape_of)),
                          args=[value], keywords=[])
    push = gast.Expr(value=gast.Call(
        func=gast.Attribute(value=name(stack_of(state, var)), attr="append", ctx=gast.Load()),
        args=[value], keywords=[]))
    push.s2s_var = var
    return push


def pop(state: ReverseState, var: str) -> ast.AST:
    """``var_stack.pop()``: the value saved last."""
    return gast.Call(func=gast.Attribute(value=name(stack_of(state, var)), attr="pop",
                                         ctx=gast.Load()), args=[], keywords=[])


def restore_rebound(state: ReverseState, loop) -> List[ast.AST]:
    """Pops that give a loop's targets back the values they had before the loop."""
    info = state.loops[id(loop)]
    return [assign(n, pop(state, n)) for n in reversed(info.rebound) if n in state.restores]


def restore_after(state: ReverseState, stmt) -> List[ast.AST]:
    """Pops that undo ``stmt``'s assignments, in the reverse sweep."""
    if not isinstance(stmt, gast.Assign):
        return []
    names = []
    for t in stmt.targets:
        names += sorted(stored_names(t))
    return [assign(n, pop(state, n)) for n in reversed(names) if saved(state, stmt, n)]


def _is_feeding_temp(state: ReverseState, stmt, pushes) -> bool:
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name)):
        return False
    target = stmt.targets[0].id
    pushed = {p.s2s_var for p in pushes}
    return target in state.primal_temps and target not in pushed
