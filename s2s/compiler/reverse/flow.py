"""Reverse mode through control flow: branches, loops, and values that loops overwrite.

The adjoint of a branch is a branch on the same condition; the adjoint of a loop is a loop
that runs as many times, backwards. Values the adjoint reads but later code overwrites are
pushed on a plain list before they are overwritten and popped back in reverse, so that at
every point of the adjoint sweep each primal name holds the value it had at the matching
point of the primal sweep. Only names the adjoint really reads are saved.

    for i in range(n):                 i_range = range(n)
        y = np.sin(y)                  for i in i_range:
                                           y_stack.append(y)
                              ->           y = np.sin(y)
                                       ...
                                       for i in reversed(i_range):
                                           y_prev = y_stack.pop()
                                           dy = dy * np.cos(y_prev)
                                           y = y_prev

The static cotangent state (which cotangents may be nonzero, which are private arrays that
may be updated in place) is joined at the end of branches and iterated to a fixed point
over loop bodies; where the branches or iterations disagree a cotangent is reset to zero.
"""
from __future__ import annotations

import ast
import copy
from typing import List, Optional, Set, Tuple

import gast

from s2s import runtime

from s2s.compiler import syntax
from s2s.compiler.frontend.canonical import _contains
from s2s.compiler.analysis.activity import stored_names as _stored_target
from s2s.compiler.frontend.normalize import assign, const, name
from s2s.compiler.reverse.nodes import _index_value
from s2s.compiler.reverse.state import Loop
from s2s.compiler.analysis.shapes import is_int


def _call_name(node) -> Optional[str]:
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Name):
        return node.func.id
    return None


class ControlFlow:
    """Mixin of ``ReverseBuilder``: preparation of the primal and reversal of compound code."""

    # -- primal preparation ----------------------------------------------------------------
    def prepare_block(self, stmts: List[ast.AST]) -> List[ast.AST]:
        out: List[ast.AST] = []
        for stmt in stmts:
            out += self.prepare_statement(stmt)
        return out

    def prepare_statement(self, stmt: ast.AST) -> List[ast.AST]:
        if isinstance(stmt, gast.Delete):
            for target in stmt.targets:
                if _names(target) & self.state.active:
                    raise self.state.source.error(
                        stmt, "del of a differentiated value",
                        "let the name go out of scope; the gradient needs its value")
            return []           # the adjoint may still read it; the name just lives longer
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript) \
                and isinstance(stmt.targets[0].value, gast.Name) \
                and stmt.targets[0].value.id in self.state.active:
            # x[i] = v: keep what x[i] held, to put it back in the reverse sweep
            var = stmt.targets[0].value.id
            index = _index_value(stmt.targets[0].slice)
            saved = gast.Call(func=name(self.state.bind_free("saved_item", runtime.saved_item)),
                              args=[name(var), index], keywords=[])
            push = gast.Expr(value=gast.Call(
                func=gast.Attribute(value=name(self._stack(f"{var}[]")), attr="append",
                                    ctx=gast.Load()), args=[saved], keywords=[]))
            return [push, stmt]
        if isinstance(stmt, gast.Assign):
            stmt = self.prepare_call(stmt)
            copy_ = self._private_copy(stmt)
            return [stmt] + copy_
        if isinstance(stmt, gast.If):
            if not self.is_active_code([stmt]):
                return [stmt]
            before = []
            if not isinstance(stmt.test, gast.Name):
                cond = self.state.namer.fresh("cond")
                before.append(ast.copy_location(assign(cond, stmt.test), stmt))
                stmt.test = name(cond)
            stmt.body = self.prepare_block(stmt.body) or [gast.Pass()]
            stmt.orelse = self.prepare_block(stmt.orelse)
            return before + [stmt]
        if isinstance(stmt, (gast.For, gast.While)):
            return self.prepare_loop(stmt)
        return [stmt]

    def prepare_loop(self, loop) -> List[ast.AST]:
        iter_names = set()
        if isinstance(loop, gast.For):
            iter_names = {n.id for n in syntax.walk(loop.iter) if isinstance(n, gast.Name)}
        if not self.is_active_code(loop.body) and not (iter_names & self.state.active):
            return [loop]
        before: List[ast.AST] = []
        target = getattr(loop, "target", None)
        if (isinstance(loop, gast.For) and _call_name(loop.iter) == "range"
                and self._is_builtin(loop.iter.func, range)
                and isinstance(target, gast.Name)
                and not _contains(loop.body, (gast.Break,), False)
                and target.id not in _stored(loop.body)):
            rng = self.state.namer.fresh(f"{target.id}_range")
            before.append(ast.copy_location(assign(rng, loop.iter), loop))
            loop.iter = name(rng)
            info = Loop("range", rng=rng)
        else:
            steps = self.state.namer.fresh("steps")
            before.append(ast.copy_location(assign(steps, const(0)), loop))
            increment = assign(steps, gast.BinOp(left=name(steps), op=gast.Add(),
                                                 right=const(1)))
            self.state.no_save.add(id(increment))
            loop.body = [increment] + list(loop.body)
            info = Loop("counter", steps=steps)
            if isinstance(loop, gast.For):
                info.sources = self._iteration_sources(loop)
                info.targets = sorted(_stored_target(loop.target))
        self.state.loops[id(loop)] = info
        before += self._hoist_invariants(loop)
        loop.body = self.prepare_block(loop.body) or [gast.Pass()]
        if info.kind == "range":
            info.recompute = self._recomputable(loop)
            self.state.recomputed.update(id(stmt) for stmt in info.recompute)
        return before + [loop]

    def _recomputable(self, loop) -> List[ast.AST]:
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
            stable = {n for n in operands - known if n not in self.state.assigned_anywhere
                      and n not in self.state.active and self._is_global_number(n)}
            if self.state.assign_count.get(target) == 1 and is_int(stmt.value, known | stable):
                known.add(target)
                found.append(stmt)
        return found

    def _hoist_invariants(self, loop) -> List[ast.AST]:
        """Temporaries the loop computes from values it never changes move before it
        (``-stiffness`` in ``acc = -stiffness * x``): computed once, and never saved."""
        changed = _stored(loop.body) | _stored_target(getattr(loop, "target", None))
        hoisted = []
        kept = []
        for stmt in loop.body:
            if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
                    and isinstance(stmt.targets[0], gast.Name) \
                    and stmt.targets[0].id in self.state.primal_temps \
                    and self._pure(stmt.value) and not (_names(stmt.value) & changed) \
                    and self.state.assign_count.get(stmt.targets[0].id) == 1:
                hoisted.append(stmt)
                changed.discard(stmt.targets[0].id)
                continue
            kept.append(stmt)
        loop.body = kept or [gast.Pass()]
        return hoisted

    def _pure(self, value) -> bool:
        if isinstance(value, (gast.BinOp, gast.UnaryOp)):
            return True
        if isinstance(value, gast.Call):
            import numpy as np
            func = self.state.callee(value)
            return isinstance(func, np.ufunc) or getattr(func, "__module__", None) == "math"
        return False

    def _is_builtin(self, func, obj) -> bool:
        return self.state.resolver.resolve(func) is obj

    def _iteration_sources(self, loop) -> List[Tuple[str, str, str]]:
        """Which element of which iterable each loop variable is, for cotangents to flow."""
        target, it = loop.target, loop.iter
        fname = _call_name(it)
        if isinstance(it, gast.Name):
            pairs, order = [(target, it)], "forward"
        elif fname == "enumerate" and self._is_builtin(it.func, enumerate):
            if not (isinstance(target, gast.Tuple) and len(target.elts) == 2):
                pairs, order = [(target, None)], "forward"
            else:
                pairs, order = [(target.elts[1], it.args[0])], "forward"
        elif fname == "zip" and self._is_builtin(it.func, zip) \
                and isinstance(target, gast.Tuple) and len(target.elts) == len(it.args):
            pairs, order = list(zip(target.elts, it.args)), "forward"
        elif fname == "reversed" and self._is_builtin(it.func, reversed):
            pairs, order = [(target, it.args[0])], "reversed"
        elif fname == "range" and self._is_builtin(it.func, range):
            return []
        else:
            pairs, order = [(target, None)], "forward"
        sources = []
        for tgt, src in pairs:
            src_active = isinstance(src, gast.Name) and src.id in self.state.active
            tgt_names = _stored_target(tgt)
            if not (tgt_names & self.state.active) and not src_active:
                continue
            if src is None or not isinstance(src, gast.Name) or not isinstance(tgt, gast.Name):
                if src_active or (src is None and _names(loop.iter) & self.state.active):
                    raise self.state.source.error(
                        loop, "a for loop over this kind of iterable",
                        "loop over range(...), an array, a list or tuple, zip(...), "
                        "enumerate(...) or reversed(...), with one name per item")
                continue
            sources.append((tgt.id, src.id, order))
        return sources

    def is_active_code(self, stmts) -> bool:
        """Does ``stmts`` assign or update any active name?"""
        for node in syntax.walk(gast.Module(body=list(stmts), type_ignores=[])):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store) \
                    and node.id in self.state.active:
                return True
            if isinstance(node, gast.Expr) and isinstance(node.value, gast.Call):
                func = node.value.func
                if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
                        and func.value.id in self.state.active:
                    return True
        return False

    # -- saving what loops overwrite -------------------------------------------------------
    def plan_saves(self, primal: List[ast.AST], params) -> Set[str]:
        """Find assignments that may overwrite a value; return the names they overwrite.

        An assignment overwrites when its name may already hold a value on some path:
        re-assignment in straight-line code or after a branch, or any assignment in a loop.
        Names that may still be unbound when they are saved are set to None up front.
        """
        self.state.overwrites = set()
        self.state.maybe_unbound = set()

        def walk(stmts, may: Set[str], must: Set[str]):
            for stmt in stmts:
                if isinstance(stmt, gast.Assign):
                    if id(stmt) in self.state.no_save:
                        continue
                    for t in stmt.targets:
                        for n in _stored_target(t):
                            if n in may:
                                self.state.overwrites.add((id(stmt), n))
                                if n not in must:
                                    self.state.maybe_unbound.add(n)
                            may.add(n)
                            must.add(n)
                elif isinstance(stmt, gast.If):
                    may_b, must_b = walk(stmt.body, set(may), set(must))
                    may_e, must_e = walk(stmt.orelse, set(may), set(must))
                    may, must = may_b | may_e, must_b & must_e
                elif isinstance(stmt, (gast.For, gast.While)):
                    inner = _stored(stmt.body)
                    targets = _stored_target(getattr(stmt, "target", None))
                    walk(stmt.body, may | inner | targets, must | targets)
                    may = may | inner | targets
            return may, must
        walk(primal, set(params), set(params))
        loop_targets = set()
        for info in self.state.loops.values():
            loop_targets |= set(info.targets)
        return {n for _, n in self.state.overwrites} | loop_targets

    def saved(self, stmt, var: str) -> bool:
        return ((id(stmt), var) in self.state.overwrites and var in self.state.restores
                and id(stmt) not in self.state.recomputed)

    def insert_saves(self, primal: List[ast.AST], params) -> List[ast.AST]:
        """Push each saved name before it is overwritten; give each saved name a stack."""
        body = self._insert_saves(primal)
        setup = [assign(stack, gast.List(elts=[], ctx=gast.Load()))
                 for stack in self.state.stacks.values()]
        setup += [assign(n, const(None)) for n in sorted(self.state.maybe_unbound)
                  if n in self.state.stacks]
        for stmt in setup:
            self.state.no_save.add(id(stmt))
        return setup + body

    def _stack_names(self):
        return set(self.state.stacks.values())

    def _stack(self, var: str) -> str:
        stack = self.state.stacks.get(var)
        if stack is None:
            base = f"{var[:-2]}_saved" if var.endswith("[]") else f"{var}_stack"
            stack = self.state.stacks[var] = self.state.namer.fresh(base)
        return stack

    # -- values updated in place -----------------------------------------------------------
    def mutated_names(self, primal) -> Set[str]:
        """Active names updated in place: ``x[i] = v``, ``xs.append(v)``."""
        names = set()
        for node in syntax.walk(gast.Module(body=list(primal), type_ignores=[])):
            if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Subscript) \
                    and isinstance(node.targets[0].value, gast.Name):
                names.add(node.targets[0].value.id)
            elif isinstance(node, gast.Expr) and isinstance(node.value, gast.Call) \
                    and isinstance(node.value.func, gast.Attribute) \
                    and isinstance(node.value.func.value, gast.Name) \
                    and node.value.func.attr in ("append", "extend"):
                names.add(node.value.func.value.id)
        return names & self.state.active

    def private_inputs(self, params) -> List[ast.AST]:
        """Inputs the function updates in place are copied first: callers' arrays stay intact."""
        copies = [assign(p, gast.Call(func=name(self.state.bind_free("fresh_copy", runtime.fresh_copy)),
                                      args=[name(p)], keywords=[]))
                  for p in params if p in self.state.mutated]
        self.state.no_save.update(id(c) for c in copies)
        return copies

    def _private_copy(self, stmt) -> List[ast.AST]:
        """After ``y = x`` (or any value that may share memory), a copy if y is updated."""
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
            return []
        target = stmt.targets[0].id
        if target not in self.state.mutated or _allocates(stmt.value):
            return []
        copy_stmt = assign(target, gast.Call(
            func=name(self.state.bind_free("fresh_copy", runtime.fresh_copy)),
            args=[name(target)], keywords=[]))
        self.state.no_save.add(id(copy_stmt))
        return [copy_stmt]

    def _push(self, var: str) -> ast.AST:
        value: ast.AST = name(var)
        if var in self.state.shape_only:
            # the adjoint only needs its shape: keep that, not the array
            value = gast.Call(func=name(self.state.bind_free("shape_of", runtime.shape_of)),
                              args=[value], keywords=[])
        push = gast.Expr(value=gast.Call(
            func=gast.Attribute(value=name(self._stack(var)), attr="append", ctx=gast.Load()),
            args=[value], keywords=[]))
        push.s2s_var = var
        return push

    def _pop(self, var: str) -> ast.AST:
        return gast.Call(func=gast.Attribute(value=name(self._stack(var)), attr="pop",
                                             ctx=gast.Load()), args=[], keywords=[])

    def _insert_saves(self, stmts):
        out = []
        for stmt in stmts:
            if isinstance(stmt, gast.Assign):
                pushes = [self._push(n) for t in stmt.targets
                          for n in sorted(_stored_target(t)) if self.saved(stmt, n)]
                if pushes:
                    # before the temporaries that compute this value, so they can fuse
                    at = len(out)
                    while at and self._is_feeding_temp(out[at - 1], pushes):
                        at -= 1
                    out[at:at] = pushes
            if isinstance(stmt, gast.If):
                stmt.body = self._insert_saves(stmt.body)
                stmt.orelse = self._insert_saves(stmt.orelse)
            elif isinstance(stmt, (gast.For, gast.While)):
                stmt.body = self._insert_saves(stmt.body)
                info = self.state.loops.get(id(stmt))
                if info is not None and info.kind == "counter":
                    saves = [self._push(n) for n in info.targets if n in self.state.restores]
                    stmt.body = stmt.body[:1] + saves + stmt.body[1:]
            out.append(stmt)
        return out

    def _is_feeding_temp(self, stmt, pushes) -> bool:
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)):
            return False
        target = stmt.targets[0].id
        pushed = {p.s2s_var for p in pushes}
        return target in self.state.primal_temps and target not in pushed

    def restore_after(self, stmt) -> List[ast.AST]:
        """Pops that undo ``stmt``'s assignments, in the reverse sweep."""
        if not isinstance(stmt, gast.Assign):
            return []
        names = []
        for t in stmt.targets:
            names += sorted(_stored_target(t))
        return [assign(n, self._pop(n)) for n in reversed(names) if self.saved(stmt, n)]

    def _reset(self, var: str) -> ast.AST:
        return assign(self.state.cotangent(var), const(0.0))

    # -- reversal of compound statements ---------------------------------------------------
    def reverse_block(self, stmts: List[ast.AST]) -> List[ast.AST]:
        out: List[ast.AST] = []
        for stmt in reversed(stmts):
            adjoint = self.statement_adjoint(stmt)
            line = getattr(stmt, "lineno", None)
            if line is not None:
                # the user's line each adjoint statement comes from (for comments in output)
                for new in adjoint:
                    if getattr(new, "lineno", None) is None:
                        new.lineno, new.col_offset = line, getattr(stmt, "col_offset", 0)
            out += adjoint
        return out

    def reverse_if(self, stmt: gast.If) -> List[ast.AST]:
        if not self.is_active_code([stmt]):
            return []
        start = (set(self.state.nonzero), set(self.state.owned))
        body = self.reverse_block(stmt.body)
        after_body = (set(self.state.nonzero), set(self.state.owned))
        self.state.nonzero, self.state.owned = set(start[0]), set(start[1])
        orelse = self.reverse_block(stmt.orelse)
        after_else = (set(self.state.nonzero), set(self.state.owned))
        body += [self._reset(v) for v in sorted(after_else[0] - after_body[0])]
        orelse += [self._reset(v) for v in sorted(after_body[0] - after_else[0])]
        self.state.nonzero = after_body[0] | after_else[0]
        self.state.owned = after_body[1] & after_else[1]
        if not _has_code(body) and not _has_code(orelse):
            return []
        return [gast.If(test=copy.deepcopy(stmt.test), body=body or [gast.Pass()],
                        orelse=orelse)]

    def reverse_loop(self, loop) -> List[ast.AST]:
        info = self.state.loops.get(id(loop))
        if info is None:
            return []
        before = (set(self.state.nonzero), set(self.state.owned))
        entry = before
        shared: Set[str] = set()
        for _ in range(8):                      # joins only grow nonzero / shrink owned
            cp = self.state.checkpoint()
            self.state.nonzero, self.state.owned = set(entry[0]), set(entry[1])
            body, index = self._loop_body(loop, info)
            end = (set(self.state.nonzero), set(self.state.owned))
            # a cotangent first materialized before the loop is a fresh buffer: owned
            fresh = {v for v in end[1] - before[0] if self._bound_outside(v, loop)}
            # one shared before the loop that the body copies to update in place: copy it
            # once, before the loop
            shared |= {v for v in self._copied_in(body) if v in before[0] - before[1]
                       and self._bound_outside(v, loop)}
            joined = (before[0] | end[0], (before[1] | fresh | shared) & end[1])
            if joined == entry:
                break                           # this sweep saw the fixed point: keep it
            self.state.rollback(cp)
            entry = joined
        end_nonzero = set(self.state.nonzero)
        body += [self._reset(v) for v in sorted(entry[0] - end_nonzero)]
        self.state.nonzero, self.state.owned = set(entry[0]), set(entry[1])
        pre = [assign(self.state.cotangent(v), self._zeros(v)) if v in entry[1] else self._reset(v)
               for v in sorted(entry[0] - before[0])]
        pre += [assign(self.state.cotangent(v), self.state.call_helper("own", runtime.own,
                                                            [name(self.state.cotangent(v)), name(v)]))
                for v in sorted((entry[1] & before[0]) - before[1])]
        if not _has_code(body):
            return pre
        if info.kind == "range":
            header = gast.For(target=copy.deepcopy(loop.target),
                              iter=gast.Call(func=name(self.state.bind_free("reversed", reversed)),
                                             args=[name(info.rng)], keywords=[]),
                              body=body, orelse=[], type_comment=None)
        else:
            steps_range = gast.Call(func=name(self.state.bind_free("range", range)),
                                    args=[name(info.steps)], keywords=[])
            if index is not None:
                it = gast.Call(func=name(self.state.bind_free("reversed", reversed)),
                               args=[steps_range], keywords=[])
                target = name(index, gast.Store())
            else:
                it, target = steps_range, name("_", gast.Store())
            header = gast.For(target=target, iter=it, body=body, orelse=[], type_comment=None)
        return pre + [header]

    def _copied_in(self, body) -> Set[str]:
        """Primal names whose cotangent ``body`` copies with ``own`` before an update."""
        own_name = self.state.injected and next((n for n, v in self.state.injected.items()
                                           if v is runtime.own), None)
        names = set()
        for node in syntax.walk(gast.Module(body=list(body), type_ignores=[])):
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
                    and node.func.id == own_name and len(node.args) == 2 \
                    and isinstance(node.args[1], gast.Name):
                names.add(node.args[1].id)
        return names

    def _bound_outside(self, var: str, loop) -> bool:
        """Is ``var`` a parameter, or assigned somewhere other than inside ``loop``? Then it
        holds a value when the reversed loop starts, and its cotangent can be made there."""
        if var in self.state.wrt or var in self.state.params:
            return True
        inside = _stored(loop.body) | _stored_target(getattr(loop, "target", None))
        return var in self.state.assigned_anywhere and var not in inside

    def _loop_body(self, loop, info: Loop):
        """The reversed body of one iteration, and the name of the iteration index if used."""
        body: List[ast.AST] = []
        index = None
        if info.kind == "counter":
            body += [assign(n, self._pop(n)) for n in reversed(info.targets)
                     if n in self.state.restores]
        body += self.reverse_block(loop.body)
        if info.recompute:
            read = {n.id for stmt in body for n in syntax.walk(stmt)
                    if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
            body = [copy.deepcopy(stmt) for stmt in info.recompute
                    if stmt.targets[0].id in read] + body
        for target, iterable, order in info.sources:
            if target not in self.state.nonzero or iterable not in self.state.active:
                self.state.nonzero.discard(target)
                self.state.owned.discard(target)
                continue
            if index is None:
                index = self._loop_index(loop)
            key: ast.AST = name(index)
            if order == "reversed":
                key = gast.BinOp(
                    left=gast.BinOp(left=gast.Call(func=name(self.state.bind_free("len", len)),
                                                   args=[name(iterable)], keywords=[]),
                                    op=gast.Sub(), right=const(1)),
                    op=gast.Sub(), right=name(index))
            body += self.item_contribution(iterable, key, name(self.state.cotangent(target)),
                                           basic=True)
            self.state.nonzero.discard(target)
            self.state.owned.discard(target)
        return body, index

    def _loop_index(self, loop) -> str:
        key = ("index", id(loop))
        if key not in self.state.loop_names:
            self.state.loop_names[key] = self.state.namer.fresh("k")
        return self.state.loop_names[key]


_ALLOCATORS = {"zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like",
               "full_like", "array", "copy", "eye", "identity", "arange", "linspace",
               "concatenate", "stack", "vstack", "hstack", "list", "dict"}


def _allocates(value) -> bool:
    """Does ``value`` certainly build a new object (so updating it touches nobody else's)?"""
    if isinstance(value, (gast.BinOp, gast.UnaryOp, gast.List, gast.Dict, gast.Tuple,
                          gast.Constant)):
        return True
    if isinstance(value, gast.Call):
        func = value.func
        fname = func.attr if isinstance(func, gast.Attribute) else getattr(func, "id", None)
        return fname in _ALLOCATORS
    return False


def _has_code(stmts) -> bool:
    return any(not isinstance(s, gast.Pass) for s in stmts)


def _stored(stmts) -> Set[str]:
    out = set()
    for node in syntax.walk(gast.Module(body=list(stmts), type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            out.add(node.id)
    return out


def _names(node) -> Set[str]:
    return {n.id for n in syntax.walk(node) if isinstance(n, gast.Name)}
