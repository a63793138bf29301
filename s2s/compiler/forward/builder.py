"""Forward mode: each statement is followed by its tangent, taken from tangent rule templates.

In: a user function and the names of the parameters to differentiate.
Out: ``jvp_f(x, ..., dx, ...) -> (value, tangent)``: the function itself, with one tangent
statement after every primal statement that computes with a differentiated value. Control
flow keeps its shape: a tangent sits next to its primal in the same if/for/while block, so
loop-carried tangents, ``break``, ``continue`` and early returns need nothing special.

    def f(x, w):                        def jvp_f(x, w, dx):
        y = np.sin(x) * w                   y_sin = np.sin(x)
        return np.sum(y)           ->       dy_sin = dx * np.cos(x)
                                            y = y_sin * w
                                            dy = dy_sin * w
                                            out = np.sum(y)
                                            dout = np.sum(dy)
                                            return (out, dout)

The tangent of a value that does not depend on a differentiated input is a *symbolic zero*:
it is never computed, a term it would contribute is dropped at transform time (``dx * w +
x * 0`` becomes ``dx * w``), and it is materialized (``dy = zeros_like(y)``) only where
control flow needs a real variable. Where a dropped term could have given the sum its shape,
``broadcast_like`` restores it, unless shape classes prove it unnecessary.

Calls to user functions get their own generated jvp function (``callee_jvp``: the
pipeline's cached ``jvp_of``). A callee known only at run time (a function passed in, a
method of a local object, a callable object, a call with ``*args``) goes through
``call_jvp(f, args, tangents)``, which finds the function behind the value and calls its jvp
function. The pipeline gives the builder both. A lambda becomes a local
def with a tangent closure beside it; a list comprehension becomes a loop (normalize).

The builder is a visitor over an explicit state, split by idea: ``state`` (which tangents
exist at a point), ``scope`` (what names mean), ``visitor`` (one ``visit_<Node>`` per statement
kind), ``statements`` (straight-line statements), ``calls`` (calls: rules, jvp functions,
run-time dispatch), ``closures`` (local functions), ``flow`` (if/for/while), ``zeros``
(folding symbolic zeros out of expanded rules), ``prepare`` (the syntax check and rewrites
before normalization), ``tidy`` (passes over the finished function) and ``nodes`` (small
syntax helpers). This module holds the builder's entry point.
"""
from __future__ import annotations

import ast
from typing import Any, Callable, Dict, Optional, Sequence

import gast

from s2s.compiler.analysis.activity import varied_names
from s2s.compiler.analysis.shapes import shape_classes
from s2s.compiler.context import Context
from s2s.compiler.forward.nodes import with_parameters
from s2s.compiler.forward.prepare import Prepare, check_supported
from s2s.compiler.forward.scope import Scope
from s2s.compiler.forward.state import FlowState, TangentState
from s2s.compiler.forward.tidy import (DropShaping, SpliceStarred, drop_self_assignments,
                                       drop_unused_functions)
from s2s.compiler.forward.visitor import TangentVisitor
from s2s.compiler.frontend.aliasing import check_aliasing
from s2s.compiler.frontend.names import Namer
from s2s.compiler.frontend.normalize import normalize
from s2s.compiler.frontend.parse import Source
from s2s.compiler.frontend.resolve import local_names
from s2s.compiler.optimize import optimize
from s2s.compiler.reverse.nodes import parameter_names
from s2s.compiler.syntax import const
from s2s.runtime import broadcast_like
from s2s.runtime.numpy_helpers import unbroadcast


class ForwardBuilder:
    """Builds the jvp function of one user function.

    ``select``: when the function returns a tuple, return the tangent of that item only
    (``has_aux`` is ``select=0``; a generated gradient ``(value, grads)`` uses ``select=1``).
    ``callee_jvp(fn, wrt)`` gives the jvp function of a user function it calls;
    ``call_jvp`` is the run-time dispatch that generated code calls where a callee is only
    known at run time (both from ``s2s.compiler.pipeline``).
    """

    def __init__(self, source: Source, wrt: Sequence[str], select: Optional[int] = None, *,
                 callee_jvp: Callable, call_jvp: Callable, holomorphic: bool = False):
        self.source = source
        self.holomorphic = holomorphic
        self.wrt = list(wrt)
        self.select = select
        self.callee_jvp = callee_jvp
        self.call_jvp = call_jvp
        self.namer = Namer.for_tree(source.node)
        self.state: Optional[TangentState] = None

    @property
    def tangents(self) -> Dict[str, str]:
        """Primal name -> tangent name, of every tangent the built function has."""
        return self.state.tangents

    @property
    def injected(self) -> Dict[str, Any]:
        """Name -> object, of every object the built function reads that the user's did not."""
        return self.state.scope.injected

    def build(self) -> gast.FunctionDef:
        """The jvp function: checked, prepared, normalized, visited, then optimized.

        In: ``def f(x, w): ...``. Out: ``def jvp_f(x, w, dx): ... return (value, tangent)``.
        """
        fn = self.source.node
        check_supported(self.source, fn)
        check_aliasing(self.source, fn)
        params = parameter_names(fn)
        for p in self.wrt:
            if p not in params:
                raise TypeError(f"'{fn.name}' has no parameter '{p}'")
        scope = Scope(self.source, self.namer, local_names(fn))
        state = self.state = TangentState(self.source, self.namer, scope, self.callee_jvp,
                                          self.call_jvp, holomorphic=self.holomorphic)
        tangent_params = [state.tangent(p) for p in self.wrt]
        prepared = Prepare(scope, self.namer).function(fn)
        normalized = normalize(self.source, prepared, self.namer)
        # normalization names new locals: the lists that list comprehensions become
        scope.locals.update(local_names(normalized))
        primal_temps = set(self.namer.made) - set(tangent_params)
        state.flow = FlowState(varied=varied_names(scope.edges(normalized.body), self.wrt),
                               live=set(self.wrt), defined=set(params), select=self.select)
        body = TangentVisitor(state).block(normalized.body)
        if not body or not isinstance(body[-1], gast.Return):
            body.append(gast.Return(value=gast.Tuple(elts=[const(None), const(None)],
                                                     ctx=gast.Load())))
        new = gast.FunctionDef(
            name=self.namer.fresh("jvp_" + fn.name.strip("_<>")),
            args=with_parameters(fn.args, tangent_params), body=body, decorator_list=[],
            returns=None, type_comment=None, type_params=[])
        ast.copy_location(new, fn)
        return self._optimize(new, primal_temps, tangent_params)

    def _optimize(self, new, primal_temps, tangent_params):
        """The finished function through ``optimize``, with the ``tidy`` passes around it."""
        state = self.state
        cotangent_of = {d: p for p, d in state.tangents.items()}
        ctx = Context(generated=(set(state.tangents.values()) - set(tangent_params))
                      | state.temps,
                      primal_temps=primal_temps, cotangent_of=cotangent_of,
                      elementwise=state.scope.is_elementwise_call, unbroadcast=None)
        classes = shape_classes(new, ctx)
        shapers = {state.scope.name_of(broadcast_like), state.scope.name_of(unbroadcast)} - {None}
        if shapers:
            dropping = DropShaping(classes, ctx, shapers)
            dropping.visit(new)
            if dropping.dropped:
                classes = None          # the function changed: optimize finds them again
        new = optimize(new, ctx, classes)
        new = SpliceStarred().visit(new)
        new.body = drop_unused_functions(drop_self_assignments(new.body))
        return new
