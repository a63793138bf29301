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

Calls to user functions get their own generated jvp function (cached, see ``jvp_of``).
A callee known only at run time (a function passed in, a method of a local object, a
callable object, a call with ``*args``) goes through ``call_jvp(f, args, tangents)``, which
finds the function behind the value and calls its jvp function. A lambda becomes a local
def with a tangent closure beside it; a list comprehension becomes a loop (normalize).

The builder is one class split by idea: ``forward_statements`` (straight-line statements),
``forward_flow`` (if/for/while), ``forward_calls`` (calls and local functions),
``forward_zeros`` (folding symbolic zeros out of expanded rules), ``forward_prepare`` (the
syntax check and rewrites before normalization), ``forward_tidy`` (passes over the finished
function) and ``forward_syntax`` (small helpers they share). This module holds the builder's
entry point and analysis, the cache of generated functions (``jvp_of``), and the helpers
generated code calls at run time (``call_jvp``).
"""
from __future__ import annotations

import ast
import builtins
import inspect
import types
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import gast
import numpy as np

from s2s import runtime
from s2s.runtime import broadcast_like
from s2s.runtime.numpy_helpers import unbroadcast
from s2s.compiler.analysis.activity import STATIC_ATTRIBUTES, differentiable_reads, names_in, varied_names
from s2s.compiler.codegen import compile_function
from s2s.compiler.forward.calls import Calls, source_of, tangent_rule
from s2s.compiler.forward.flow import ControlFlow
from s2s.compiler.frontend.aliasing import check_aliasing
from s2s.compiler.forward.prepare import Prepare, check_supported
from s2s.compiler.forward.statements import Statements
from s2s.compiler.forward.nodes import _base, _bound_names, _stored, _walk_statements, _with_parameters
from s2s.compiler.forward.tidy import (_DropShaping, _SpliceStarred, _drop_self_assignments,
                           _drop_unused_functions)
from s2s.compiler.frontend.names import Namer
from s2s.compiler.frontend.normalize import const, name, normalize
from s2s.compiler.optimize import Context, optimize, is_elementwise
from s2s.compiler.analysis.shapes import shape_classes
from s2s.compiler.frontend.parse import Source
from s2s.compiler.frontend.resolve import Resolver, local_names, is_constant_call
from s2s.compiler.reverse.builder import parameter_names

# Public names that moved to the forward_* modules, still importable from here.
from s2s.compiler.forward.calls import tangent_parameters  # noqa: F401
from s2s.compiler.forward.statements import BINARY_OPERATORS, LIST_METHODS, UNARY_OPERATORS  # noqa: F401
from s2s.compiler.forward.zeros import DRESULT, RESULT, ZERO, Simplifier  # noqa: F401


class ForwardBuilder(Statements, Calls, ControlFlow):
    """Builds the jvp function of one user function.

    ``select``: when the function returns a tuple, return the tangent of that item only
    (``has_aux`` is ``select=0``; a generated gradient ``(value, grads)`` uses ``select=1``).
    """

    def __init__(self, source: Source, wrt: Sequence[str], select: Optional[int] = None,
                 callee_jvp: Optional[Callable] = None, call_jvp: Optional[Callable] = None):
        self.source = source
        self.wrt = list(wrt)
        self.select = select
        self.callee_jvp = callee_jvp        # fn, wrt -> the compiled jvp function of a callee
        self.call_jvp = call_jvp            # the run-time dispatch generated code calls
        self.namer = Namer.for_tree(source.node)
        self.injected: Dict[str, Any] = {}
        self.tangents: Dict[str, str] = {}     # primal name -> tangent name
        self.temps: Set[str] = set()           # names of rule locals and helpers' results
        self.live: Set[str] = set()            # primal names whose tangent variable is set
        self.owned: Set[str] = set()           # tangents private to us (safe to update in place)
        self.defined: Set[str] = set()         # names bound by earlier statements
        self.depth = 0                         # inside how many if/for/while blocks
        self.numbers: Set[str] = set()         # names last bound to a number constant
        # local function -> (its parameters, those with a default)
        self.local_params: Dict[str, Tuple[List[str], Set[str]]] = {}

    # -- entry point ----------------------------------------------------------------------
    def build(self) -> gast.FunctionDef:
        fn = self.source.node
        check_supported(self.source, fn)
        check_aliasing(self.source, fn)
        params = parameter_names(fn)
        for p in self.wrt:
            if p not in params:
                raise TypeError(f"'{fn.name}' has no parameter '{p}'")
        tangent_params = [self.tangent(p) for p in self.wrt]
        self.resolver = Resolver(self.source, local_names(fn))
        prepared = Prepare(self).function(fn)
        normalized = normalize(self.source, prepared, self.namer)
        # normalization names new locals: the lists that list comprehensions become
        self.resolver.locals |= local_names(normalized)
        primal_temps = set(self.namer.made) - set(tangent_params)
        self.varied = varied_names(self._edges(normalized.body), self.wrt)
        self.live = set(self.wrt)
        self.defined = set(params)
        body = self.block(normalized.body)
        if not body or not isinstance(body[-1], gast.Return):
            body.append(gast.Return(value=gast.Tuple(elts=[const(None), const(None)],
                                                     ctx=gast.Load())))
        new = gast.FunctionDef(
            name=self.namer.fresh("jvp_" + fn.name.strip("_<>")),
            args=_with_parameters(fn.args, tangent_params), body=body, decorator_list=[],
            returns=None, type_comment=None, type_params=[])
        ast.copy_location(new, fn)
        return self._optimize(new, primal_temps, tangent_params)

    def _optimize(self, new, primal_temps, tangent_params):
        cotangent_of = {d: p for p, d in self.tangents.items()}
        ctx = Context(generated=(set(self.tangents.values()) - set(tangent_params)) | self.temps,
                      primal_temps=primal_temps, cotangent_of=cotangent_of,
                      elementwise=self._is_elementwise_call, unbroadcast=None)
        classes = shape_classes(new, ctx)
        shapers = {self._name_of(broadcast_like), self._name_of(unbroadcast)} - {None}
        _DropShaping(classes, ctx, shapers).visit(new)
        new = optimize(new, ctx)
        new = _SpliceStarred().visit(new)
        new.body = _drop_unused_functions(_drop_self_assignments(new.body))
        return new

    # -- names ----------------------------------------------------------------------------
    def tangent(self, primal: str) -> str:
        d = self.tangents.get(primal)
        if d is None:
            d = self.tangents[primal] = self.namer.fresh("d" + primal)
        return d

    def bind_free(self, wanted: str, obj: Any) -> str:
        """A name for ``obj`` in the generated code: the user's own if it means the same."""
        if wanted not in self.resolver.locals and self.source.lookup(wanted) is obj:
            return wanted
        for existing, value in self.injected.items():
            if value is obj:
                return existing
        fresh = self.namer.fresh(wanted)
        self.injected[fresh] = obj
        return fresh

    def _name_of(self, obj: Any) -> Optional[str]:
        for n, value in self.injected.items():
            if value is obj:
                return n
        wanted = getattr(obj, "__name__", "")
        if wanted and self.source.lookup(wanted) is obj:
            return wanted
        return None

    def _helper(self, wanted: str, obj: Any, args: List[ast.AST]) -> gast.Call:
        return gast.Call(func=name(self.bind_free(wanted, obj)), args=args, keywords=[])

    def _fresh_temp(self, base: str) -> str:
        fresh = self.namer.fresh(base)
        self.temps.add(fresh)
        return fresh

    def zeros(self, var: str, value: Optional[ast.AST] = None) -> ast.AST:
        """A zero tangent for ``var``: ``0.0`` for a number constant, else ``zeros_like``."""
        if (isinstance(value, gast.Constant) and type(value.value) in (int, float, bool)
                or value is None and var in self.numbers):
            return const(0.0)
        return self._helper("zeros_like", runtime.zeros_like, [name(var)])

    # -- analysis -------------------------------------------------------------------------
    def callee(self, call: gast.Call) -> Any:
        return self.resolver.resolve(call.func)

    def is_constant_call(self, call: gast.Call) -> bool:
        return is_constant_call(self.callee(call), call)

    def _reads(self, value) -> Set[str]:
        if isinstance(value, gast.Subscript) and not isinstance(value.value, gast.Name):
            value = value.value             # x.shape[0]: the attribute decides
        if isinstance(value, gast.Attribute) and value.attr in STATIC_ATTRIBUTES:
            return set()
        return differentiable_reads(value, self.is_constant_call)

    def _edges(self, body) -> List[Tuple[Set[str], Set[str]]]:
        """(names written, names they depend on) for every statement, nested ones included."""
        edges = []
        for stmt in _walk_statements(body):
            if isinstance(stmt, gast.Assign):
                reads = self._reads(stmt.value)
                for t in stmt.targets:
                    edges.append((_stored(t) | _base(t), reads | _base(t)))
            elif isinstance(stmt, gast.AugAssign):
                edges.append((_base(stmt.target), names_in(stmt.value) | _base(stmt.target)))
            elif isinstance(stmt, gast.For):
                edges += self._loop_edges(stmt)
            elif isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
                receiver, args = self._in_place_call(stmt.value)
                if receiver is not None:
                    edges.append(({receiver}, set().union(*map(names_in, args))))
            elif isinstance(stmt, gast.FunctionDef):
                # a closure depends on what it reads; so do the variables it rebinds
                edges.append((_bound_names([stmt]), names_in(stmt)))
        return edges

    def _loop_edges(self, stmt: gast.For):
        kind, args = self._iteration(stmt)
        if kind == "range":
            return []
        if kind == "enumerate":
            return [(_stored(stmt.target.elts[1]), names_in(args[0]))]
        if kind == "zip":
            return [(_stored(t), names_in(a)) for t, a in zip(stmt.target.elts, args)]
        return [(_stored(stmt.target), names_in(stmt.iter))]

    def _iteration(self, stmt: gast.For):
        """How a for loop iterates: ('range'|'enumerate'|'zip'|'plain', arguments)."""
        it = stmt.iter
        if isinstance(it, gast.Call) and not it.keywords:
            func = self.callee(it)
            if func is builtins.range:
                return "range", it.args
            target = stmt.target
            if (func is builtins.enumerate and len(it.args) == 1
                    and isinstance(target, gast.Tuple) and len(target.elts) == 2):
                return "enumerate", it.args
            if (func is builtins.zip and isinstance(target, gast.Tuple)
                    and len(target.elts) == len(it.args)
                    and not any(isinstance(a, gast.Starred) for a in it.args)):
                return "zip", it.args
        return "plain", [it]

    def _in_place_call(self, call: gast.Call):
        """(receiver name, operand nodes) of ``lst.append(v)`` or ``add_at(buf, k, v)``."""
        func = call.func
        if (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)
                and func.value.id in self.resolver.locals):
            return func.value.id, list(call.args)
        if (self.callee(call) is runtime.add_at and len(call.args) == 3
                and isinstance(call.args[0], gast.Name)):
            return call.args[0].id, [call.args[2]]
        return None, []

    def _is_elementwise_call(self, call: gast.Call) -> bool:
        func = call.func
        if isinstance(func, gast.Name) and func.id in self.injected:
            return is_elementwise(self.injected[func.id])
        return is_elementwise(self.resolver.resolve(func))
