"""Preparation of the primal: what the forward sweep runs, made ready to be reversed.

Conditions become names (the reversed ``if`` tests the same value); each loop with active
code gets a plan (``state.loops``): a ``range`` loop keeps its range object, any other loop
counts its iterations. Loop-invariant temporaries move before the loop; item stores keep
the item they overwrite; calls to user functions return their pullback
(``calls.prepare_call``); inputs and values updated in place are copied first.

    if x > 0:                   cond = x > 0
        y = x * 2        ->     if cond:
                                    y = x * 2
    for i in range(n):          i_range = range(n)
        ...              ->     for i in i_range:
                                    ...
"""
from __future__ import annotations

import ast
from typing import List, Optional, Tuple

import gast

from s2s import runtime
from s2s.compiler import syntax
from s2s.compiler.analysis.activity import stored_names
from s2s.compiler.analysis.shapes import is_int
from s2s.compiler.frontend.canonical import _contains
from s2s.compiler.reverse import calls, items, queries, saves
from s2s.compiler.reverse.nodes import index_value, stored_in
from s2s.compiler.reverse.state import Loop, ReverseState
from s2s.compiler.syntax import assign, const, name


def prepare_block(state: ReverseState, stmts: List[ast.AST]) -> List[ast.AST]:
    """``stmts`` made ready for the sweeps (see the module docstring)."""
    out: List[ast.AST] = []
    for stmt in stmts:
        out += prepare_statement(state, stmt)
    return out


def prepare_statement(state: ReverseState, stmt: ast.AST) -> List[ast.AST]:
    """The statements that replace ``stmt`` in the primal sweep.

        x[i] = v     ->    x_saved.append(saved_item(x, i))
                           x[i] = v
    """
    if isinstance(stmt, gast.Delete):
        for target in stmt.targets:
            if syntax.names_in(target) & state.active:
                raise state.source.error(
                    stmt, "del of a differentiated value",
                    "let the name go out of scope; the gradient needs its value")
        return []           # the adjoint may still read it; the name just lives longer
    if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript) \
            and isinstance(stmt.targets[0].value, gast.Name) \
            and stmt.targets[0].value.id in state.active:
        # x[i] = v: keep what x[i] held, to put it back in the reverse sweep
        var = stmt.targets[0].value.id
        index = index_value(stmt.targets[0].slice)
        saved = gast.Call(func=name(state.bind_free("saved_item", runtime.saved_item)),
                          args=[name(var), index], keywords=[])
        push = gast.Expr(value=gast.Call(
            func=gast.Attribute(value=name(saves.stack_of(state, f"{var}[]")), attr="append",
                                ctx=gast.Load()), args=[saved], keywords=[]))
        return [push, stmt]
    if isinstance(stmt, gast.Expr) and items.is_drop_last(state, stmt.value):
        return items.save_dropped(state, stmt)
    if isinstance(stmt, gast.Assign) and items.is_take_appended(state, stmt.value):
        return [stmt]           # undone by the sweep (items.take_appended_adjoint)
    if isinstance(stmt, gast.Assign):
        stmt = calls.prepare_call(state, stmt)
        copy_ = _private_copy(state, stmt)
        return [stmt] + copy_
    if isinstance(stmt, gast.If):
        if not queries.is_active_code(state, [stmt]):
            return [stmt]
        before = []
        if not isinstance(stmt.test, gast.Name):
            cond = state.namer.fresh("cond")
            before.append(ast.copy_location(assign(cond, stmt.test), stmt))
            stmt.test = name(cond)
        stmt.body = prepare_block(state, stmt.body) or [gast.Pass()]
        stmt.orelse = prepare_block(state, stmt.orelse)
        return before + [stmt]
    if isinstance(stmt, (gast.For, gast.While)):
        return _prepare_loop(state, stmt)
    return [stmt]


def _prepare_loop(state: ReverseState, loop) -> List[ast.AST]:
    """A loop with active code gets a ``Loop`` plan: a range loop keeps its range object,
    any other loop counts its iterations (``steps += 1``) for the reversed loop."""
    iter_names = set()
    if isinstance(loop, gast.For):
        iter_names = {n.id for n in syntax.walk(loop.iter) if isinstance(n, gast.Name)}
    if not queries.is_active_code(state, loop.body) and not (iter_names & state.active):
        return [loop]
    before: List[ast.AST] = []
    target = getattr(loop, "target", None)
    if (isinstance(loop, gast.For) and _call_name(loop.iter) == "range"
            and queries.resolves_to(state, loop.iter.func, range)
            and isinstance(target, gast.Name)
            and not _contains(loop.body, (gast.Break,), False)
            and target.id not in stored_in(loop.body)):
        rng = state.namer.fresh(f"{target.id}_range")
        before.append(ast.copy_location(assign(rng, loop.iter), loop))
        loop.iter = name(rng)
        info = Loop("range", rng=rng)
    else:
        steps = state.namer.fresh("steps")
        before.append(ast.copy_location(assign(steps, const(0)), loop))
        increment = assign(steps, gast.BinOp(left=name(steps), op=gast.Add(),
                                             right=const(1)))
        state.no_save.add(id(increment))
        loop.body = [increment] + list(loop.body)
        info = Loop("counter", steps=steps)
        if isinstance(loop, gast.For):
            info.sources = _iteration_sources(state, loop)
            info.targets = sorted(stored_names(loop.target))
    state.loops[id(loop)] = info
    before += _hoist_invariants(state, loop)
    loop.body = prepare_block(state, loop.body) or [gast.Pass()]
    if info.kind == "range":
        info.recompute = _recomputable(state, loop)
        state.recomputed.update(id(stmt) for stmt in info.recompute)
    return before + [loop]


def _recomputable(state: ReverseState, loop) -> List[ast.AST]:
    """``j = i - 1`` in ``for i in range(...)``: int arithmetic on the counter (and on
    names nothing rebinds) that the reversed loop recomputes from its own counter, so
    nothing is saved for it."""
    known = {loop.target.id}
    found = []
    for stmt in loop.body:
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)):
            continue
        target = stmt.targets[0].id
        operands = {n.id for n in syntax.walk(stmt.value) if isinstance(n, gast.Name)}
        # a global number (STEP = 2) never changes; parameters might hold arrays
        stable = {n for n in operands - known if n not in state.assigned_anywhere
                  and n not in state.active and queries.is_global_number(state, n)}
        if state.assign_count.get(target) == 1 and is_int(stmt.value, known | stable):
            known.add(target)
            found.append(stmt)
    return found


def _hoist_invariants(state: ReverseState, loop) -> List[ast.AST]:
    """Temporaries the loop computes from values it never changes move before it
    (``-stiffness`` in ``acc = -stiffness * x``): computed once, and never saved."""
    changed = stored_in(loop.body) | stored_names(getattr(loop, "target", None))
    hoisted = []
    kept = []
    for stmt in loop.body:
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], gast.Name) \
                and stmt.targets[0].id in state.primal_temps \
                and queries.is_pure(state, stmt.value) \
                and not (syntax.names_in(stmt.value) & changed) \
                and state.assign_count.get(stmt.targets[0].id) == 1:
            hoisted.append(stmt)
            changed.discard(stmt.targets[0].id)
            continue
        kept.append(stmt)
    loop.body = kept or [gast.Pass()]
    return hoisted


def _iteration_sources(state: ReverseState, loop) -> List[Tuple[str, str, str]]:
    """Which element of which iterable each loop variable is, for cotangents to flow."""
    target, it = loop.target, loop.iter
    fname = _call_name(it)
    if isinstance(it, gast.Name):
        pairs, order = [(target, it)], "forward"
    elif fname == "enumerate" and queries.resolves_to(state, it.func, enumerate):
        if not (isinstance(target, gast.Tuple) and len(target.elts) == 2):
            pairs, order = [(target, None)], "forward"
        else:
            pairs, order = [(target.elts[1], it.args[0])], "forward"
    elif fname == "zip" and queries.resolves_to(state, it.func, zip) \
            and isinstance(target, gast.Tuple) and len(target.elts) == len(it.args):
        pairs, order = list(zip(target.elts, it.args)), "forward"
    elif fname == "reversed" and queries.resolves_to(state, it.func, reversed):
        pairs, order = [(target, it.args[0])], "reversed"
    elif fname == "range" and queries.resolves_to(state, it.func, range):
        return []
    else:
        pairs, order = [(target, None)], "forward"
    sources = []
    for tgt, src in pairs:
        src_active = isinstance(src, gast.Name) and src.id in state.active
        tgt_names = stored_names(tgt)
        if not (tgt_names & state.active) and not src_active:
            continue
        if src is None or not isinstance(src, gast.Name) or not isinstance(tgt, gast.Name):
            if src_active or (src is None and syntax.names_in(loop.iter) & state.active):
                raise state.source.error(
                    loop, "a for loop over this kind of iterable",
                    "loop over range(...), an array, a list or tuple, zip(...), "
                    "enumerate(...) or reversed(...), with one name per item")
            continue
        sources.append((tgt.id, src.id, order))
    return sources


def private_inputs(state: ReverseState, params) -> List[ast.AST]:
    """Inputs the function updates in place are copied first: callers' arrays stay intact."""
    copies = [assign(p, gast.Call(func=name(state.bind_free("fresh_copy", runtime.fresh_copy)),
                                  args=[name(p)], keywords=[]))
              for p in params if p in state.mutated]
    state.no_save.update(id(c) for c in copies)
    return copies


def _private_copy(state: ReverseState, stmt) -> List[ast.AST]:
    """After ``y = x`` (or any value that may share memory), a copy if y is updated."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
        return []
    target = stmt.targets[0].id
    if target not in state.mutated or _certainly_new(stmt.value):
        return []
    copy_stmt = assign(target, gast.Call(
        func=name(state.bind_free("fresh_copy", runtime.fresh_copy)),
        args=[name(target)], keywords=[]))
    state.no_save.add(id(copy_stmt))
    return [copy_stmt]


def _call_name(node) -> Optional[str]:
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Name):
        return node.func.id
    return None


_ALLOCATORS = {"zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like",
               "full_like", "array", "copy", "eye", "identity", "arange", "linspace",
               "concatenate", "stack", "vstack", "hstack", "list", "dict"}


def _certainly_new(value) -> bool:
    """Does ``value`` certainly build a new object (so updating it touches nobody else's)?"""
    if isinstance(value, (gast.BinOp, gast.UnaryOp, gast.List, gast.Dict, gast.Tuple,
                          gast.Constant)):
        return True
    if isinstance(value, gast.Call):
        func = value.func
        fname = func.attr if isinstance(func, gast.Attribute) else getattr(func, "id", None)
        return fname in _ALLOCATORS
    return False
