"""Stage 5: reverse mode. Emit the primal sweep, then the adjoint sweep, from rule templates.

In: a normalized function, the differentiated parameters, the active names.
Out: a new ``FunctionDef`` that runs the primal, seeds the output's cotangent and walks the
statements backwards, pasting each primitive's rule with names substituted.

    def f(x):                         def grad_f(x):
        y = np.sin(x)                     y = np.sin(x)
        out = y * 3.0           ->        out = y * 3.0
        return out                        dout = ones_like(out)
                                          dy = dout * 3.0
                                          dx = dy * np.cos(x)
                                          return out, dx

The sweep tracks, statically, which cotangents are still zero: the first contribution to a
cotangent is a plain assignment, later ones add to it, and the adjoint of a statement whose
result has no cotangent is skipped altogether.

The work is split by idea over the modules of this package, all functions of one explicit
``ReverseState`` (state.py): ``prepare`` readies the primal, ``saves`` keeps what it
overwrites, ``sweep`` walks the statements backwards and dispatches each to its adjoint
(``primitives`` for rules, ``calls`` for user functions, ``items`` for subscripts, ``flow``
for branches and loops, ``cotangents`` for accumulation), ``outputs`` seeds and returns.
``queries`` answers static questions about the primal; ``nodes`` holds syntax helpers.
"""
from __future__ import annotations

import ast
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence, Set

import gast
import numpy as np

from s2s import runtime
from s2s.compiler import syntax
from s2s.compiler.analysis.activity import active_names, stored_names
from s2s.compiler.analysis.shapes import shape_classes
from s2s.compiler.context import Context
from s2s.compiler.frontend.aliasing import check_aliasing
from s2s.compiler.frontend.canonical import canonicalize
from s2s.compiler.frontend.checks import check_supported
from s2s.compiler.frontend.names import Namer
from s2s.compiler.frontend.normalize import normalize
from s2s.compiler.frontend.parse import Source
from s2s.compiler.frontend.resolve import Resolver, local_names
from s2s.compiler.optimize import optimize
from s2s.compiler.reverse import calls, outputs, prepare, queries, saves
from s2s.compiler.reverse.nodes import (append_parameter, store_counts, eliminate_dead_temps,
                                        parameter_names, rename_reassigned, stored_in)
from s2s.compiler.reverse.state import ReverseState
from s2s.compiler.reverse.sweep import AdjointSweep
from s2s.compiler.syntax import assign, const, name
from s2s.runtime import numpy_helpers


class _BufferUpdates(syntax.Transformer):
    """Adding into an array in place, followed as the assignment of a new array. Generated
    code differentiated again adds into a cotangent buffer, which is its own; the user's
    ``np.add.at`` adds into a copy, so that the values the adjoint reads before the update
    stay as they were (a second name bound to ``y`` is refused by ``check_aliasing``):

        add_at(dx, rows, g)         ->      dx = add_at(dx, rows, g)     (add_at_iteration too)
        np.add.at(y, rows, v)       ->      y_copy = fresh_copy(y)
                                            y = add_at(y_copy, rows, v)
    """

    def __init__(self, state: ReverseState):
        self.state = state
        self.depth = 0          # of defs: a closure's y may be the enclosing function's

    def visit_FunctionDef(self, fn: gast.FunctionDef) -> ast.AST:
        self.depth += 1
        self.generic_visit(fn)
        self.depth -= 1
        return fn

    def visit_Expr(self, stmt: gast.Expr):
        call = stmt.value
        if not (isinstance(call, gast.Call) and len(call.args) == 3 and not call.keywords
                and isinstance(call.args[0], gast.Name)):
            return stmt
        state = self.state
        callee = state.resolver.resolve(call.func)
        if callee is runtime.add_at or callee is runtime.add_at_iteration:
            return ast.copy_location(assign(call.args[0].id, call), stmt)
        buffer = call.args[0].id
        if callee == np.add.at and buffer in state.locals and self.depth == 1:
            copied = state.namer.fresh(f"{buffer}_copy")
            added = state.call_helper("add_at", runtime.add_at,
                                      [name(copied), call.args[1], call.args[2]])
            return [ast.copy_location(assign(copied, state.call_helper(
                        "fresh_copy", runtime.fresh_copy, [name(buffer)])), stmt),
                    ast.copy_location(assign(buffer, added), stmt)]
        return stmt


class ReverseBuilder:
    """Builds the gradient function of one user function."""

    def __init__(self, source: Source, wrt: Sequence[str], has_aux: bool = False,
                 sens_param: bool = False, tree_params: Sequence[str] = (),
                 single: bool = True, mode: str = "grad", callee_vjp: Any = None,
                 call_vjp: Any = None, weights: bool = False, shapes=None,
                 on_adjoint_block: Optional[Callable[[List[ast.AST]], None]] = None,
                 holomorphic: bool = False):
        self.state = ReverseState(
            source=source, wrt=list(wrt), has_aux=has_aux, sens_param=sens_param,
            tree_params=set(tree_params), single=single, mode=mode, weights=weights,
            holomorphic=holomorphic,
            shapes=shapes or {}, callee_vjp=callee_vjp, call_vjp=call_vjp,
            namer=Namer.for_tree(source.node))
        self.sweep = AdjointSweep(self.state, on_adjoint_block)

    @property
    def injected(self) -> Dict[str, Any]:
        """Generated name -> the object it stands for (closure cells, helpers)."""
        return self.state.injected

    def build(self) -> gast.FunctionDef:
        """The gradient function (see the module docstring); raises located errors for code
        it cannot differentiate."""
        state = self.state
        fn = state.source.node
        check_supported(state.source, fn)
        check_aliasing(state.source, fn, {p: len(spec) for p, spec in state.shapes.items()
                                          if isinstance(spec, tuple) and spec})
        state.locals = local_names(fn)
        state.resolver = Resolver(state.source, state.locals)
        params = parameter_names(fn)
        for p in state.wrt:
            if p not in params and p not in state.source.closure:
                raise TypeError(f"'{fn.name}' has no parameter '{p}'")
        normalized = canonicalize(normalize(state.source, fn, state.namer, state.weights),
                                  state.namer)
        _BufferUpdates(state).visit(normalized)
        primal_temps = state.primal_temps = set(state.namer.made)
        body = rename_reassigned(normalized.body, params, state.namer)
        *primal, ret = body
        out_names, value_node = outputs.output_names(state, ret)
        state.active = active_names(primal, state.wrt, out_names,
                                    partial(queries.is_constant_call, state),
                                    partial(queries.is_source, state) if state.weights else None,
                                    state.resolver.is_global)
        # l = a + a: da gathers two lists item by item, and what is made like l (its
        # cotangent's zeros_like(l), in code differentiated again) may be a list too
        state.sequences = queries.sequence_names(state, primal)
        state.trees = queries.tree_names(state, primal)
        state.dicts = queries.dict_names(primal)
        state.assign_count = store_counts(primal)
        state.params = set(params)
        state.assigned_anywhere = set(state.assign_count)
        state.mutated = queries.mutated_names(state, primal)
        state.local_functions = calls.local_functions(state, primal)
        primal = prepare.private_inputs(state, params) + prepare.prepare_block(state, primal)
        state.classes = shape_classes(
            gast.FunctionDef(name=fn.name, args=fn.args, body=primal, decorator_list=[],
                             returns=None, type_comment=None, type_params=[]),
            Context(set(), set(), {}, partial(queries.is_elementwise_call, state), None,
                    shapes=state.shapes,
                    is_number=partial(queries.is_global_number, state), callee=state.callee))

        # A first sweep finds which primal names the adjoint reads; those the primal
        # overwrites are saved before they are overwritten, and the sweep is made again.
        overwritten = saves.plan_saves(state, primal, params)
        if not overwritten:         # straight-line code: nothing is ever overwritten
            return self._finish(fn, primal, primal_temps, out_names, value_node, set(), set())
        # Restoring a value can make the sweep read more: a branch whose adjoint is only
        # restores reads its condition (if cond: v = v_stack.pop()), so the sweep is made
        # again with the restores found, until it reads no other overwritten name.
        restores: Set[str] = set()
        while True:
            checkpoint = state.checkpoint()
            state.restores = set(restores)
            _, seed_stmts = outputs.seeds(state, out_names, value_node)
            adjoint = self.sweep.reverse_block(primal)
            grads = [outputs.final_cotangent(state, p) for p in state.wrt]
            reads = {n.id for s in seed_stmts + adjoint + grads for n in syntax.walk(s)
                     if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
            shape_only = queries.read_for_shape_only(state, seed_stmts + adjoint)
            state.rollback(checkpoint)
            found = overwritten & reads
            if found <= restores:
                break
            restores |= found
        return self._finish(fn, primal, primal_temps, out_names, value_node, restores,
                            shape_only)

    def _finish(self, fn, primal, primal_temps, out_names, value_node, restores, shape_only):
        """The real sweep, once it is known which overwritten names must be saved."""
        state = self.state
        params = parameter_names(fn)
        state.restores = restores
        state.shape_only = restores & shape_only
        primal = saves.insert_saves(state, primal, params)
        for n in sorted(syntax.names_in(value_node) & state.mutated):
            # the adjoint sweep puts back what x[i] = v and xs.append(v) changed: a value
            # or aux output updated in place is copied first
            kept = state.namer.fresh(f"{n}_value")
            primal.append(assign(kept, gast.Call(
                func=name(state.bind_free("fresh_copy", runtime.fresh_copy)), args=[name(n)],
                keywords=[])))
            value_node = syntax.rename_loads(value_node, {n: kept})
        if syntax.names_in(value_node) & state.restores:
            # the adjoint sweep restores earlier values: keep the result aside first
            kept = state.namer.fresh("value")
            primal.append(assign(kept, value_node))
            value_node = name(kept)
        seed_param, seed_stmts = outputs.seeds(state, out_names, value_node)
        state.branch_resets = set()
        adjoint = eliminate_dead_temps(self.sweep.reverse_block(primal), state.temps)
        grads = [outputs.final_cotangent(state, p) for p in state.wrt]
        # a branch's adjoint restarts at zeros_like(v) the cotangent of a v that only the
        # other branch binds: v = None first (whose zero is 0.0), so that it is bound there
        unbound = sorted((state.branch_resets & stored_in(primal))
                         - _bound_on_every_path(primal, set(params)))
        primal = [assign(v, const(None)) for v in unbound] + primal

        if state.mode == "vjp":
            grads_node = gast.Tuple(elts=grads, ctx=gast.Load())
        else:
            grads_node = grads[0] if state.single else gast.Tuple(elts=grads, ctx=gast.Load())
        sentinel = gast.Expr(value=const(_SENTINEL))
        result = gast.Return(value=gast.Tuple(elts=[value_node, grads_node], ctx=gast.Load()))
        if state.mode == "grad_only":
            result = gast.Return(value=grads_node)      # the value is not wanted: not computed
        prefix = "vjp_" if state.mode == "vjp" else "grad_"
        new = gast.FunctionDef(
            name=state.namer.fresh(prefix + fn.name.strip("_<>")), args=fn.args,
            body=primal + [sentinel] + seed_stmts + adjoint + [result], decorator_list=[],
            returns=None, type_comment=None, type_params=[])
        if state.sens_param:
            new.args = append_parameter(fn.args, state.sens_name)
        ast.copy_location(new, fn)
        generated = set(state.temps) | set(state.cotangent_names.values())
        if state.mode == "grad_only":
            generated |= self._pure_primal_names(primal)
        ctx = Context(generated=generated, primal_temps=primal_temps,
                      cotangent_of={d: p for p, d in state.cotangent_names.items()},
                      elementwise=partial(queries.is_elementwise_call, state),
                      unbroadcast=state.name_of(numpy_helpers.unbroadcast),
                      reduction=partial(queries.is_full_reduction, state),
                      helpers={"ones_like": state.name_of(runtime.ones_like),
                               "expand_reduced": state.name_of(numpy_helpers.expand_reduced)},
                      shapes=state.shapes, is_number=partial(queries.is_global_number, state),
                      callee=state.callee, numpy=lambda: state.bind_free("np", np),
                      bind=state.bind_free)
        new = optimize(new, ctx)
        split = next(i for i, s in enumerate(new.body) if _is_sentinel(s))
        forward, backward = new.body[:split], new.body[split + 1:]
        if state.mode != "vjp":
            new.body = forward + backward
            outputs.private_gradients(state, new)
            return new
        return outputs.as_pullback(state, new, forward, backward, seed_param, fn, primal_temps)

    def _pure_primal_names(self, primal) -> Set[str]:
        """Primal names computed without side effects: nothing is lost if no one reads them."""
        state = self.state
        names, impure = set(), set()
        for node in syntax.walk_statements(primal):      # only statements assign
            if isinstance(node, gast.Assign):
                targets = set()
                for t in node.targets:
                    targets |= stored_names(t)
                (names if queries.is_pure(state, node.value) else impure).update(targets)
            elif isinstance(node, (gast.For, gast.AugAssign, gast.FunctionDef)):
                impure |= {n.id for n in syntax.walk(getattr(node, "target", node))
                           if isinstance(n, gast.Name)}
        return names - impure - set(state.wrt) - state.mutated


# -- small AST helpers ---------------------------------------------------------------------
_SENTINEL = "s2s: the adjoint sweep starts here"


def _is_sentinel(stmt) -> bool:
    return (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant)
            and stmt.value.value == _SENTINEL)


def _bound_on_every_path(stmts, bound: Set[str]) -> Set[str]:
    """The names ``stmts`` bind whatever branches they take (a loop may not run)."""
    for stmt in stmts:
        if isinstance(stmt, gast.Assign):
            for target in stmt.targets:
                bound = bound | stored_names(target)
        elif isinstance(stmt, gast.If):
            bound = (_bound_on_every_path(stmt.body, set(bound))
                     & _bound_on_every_path(stmt.orelse, set(bound)))
    return bound
