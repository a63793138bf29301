"""What the names of the function being built mean: user names resolved to the objects they
denote, and objects bound to names in the generated code.

``Scope`` answers the questions the builder asks of a call, a loop or a block:

    y = np.sin(x)               callee: np.sin
    for i, v in enumerate(vs)   iteration: ('enumerate', [vs])
    lst.append(v)               in_place_call: ('lst', [v])
    y = x * w                   edges: ({y}, {x, w})    (y depends on x and w)

and gives names to the objects that generated code calls (``bind_free``): the user's own name
where it means the same object, a fresh one otherwise, kept in ``injected``.
"""
from __future__ import annotations

import ast
import builtins
from typing import Any, Dict, List, Optional, Set, Tuple

import gast
import numpy as np

from s2s import runtime
from s2s.compiler import bindings
from s2s.compiler.analysis.activity import STATIC_ATTRIBUTES, differentiable_reads
from s2s.compiler.context import is_elementwise
from s2s.compiler.forward.nodes import bound_names, container_of, stored_names, walk_statements
from s2s.compiler.frontend.names import Namer
from s2s.compiler.frontend.parse import Source
from s2s.compiler.frontend.resolve import Resolver, is_constant_call
from s2s.compiler.syntax import name, names_in


class Scope:
    """Names of one function: what the user's mean, and those the generated code adds.

    ``resolver.locals`` are the function's local names (they resolve to nothing); ``injected``
    maps each name the builder added to the object it stands for.
    """

    def __init__(self, source: Source, namer: Namer, locals_: Set[str]):
        self.source = source
        self.namer = namer
        self.resolver = Resolver(source, locals_)
        self.injected: Dict[str, Any] = {}

    @property
    def locals(self) -> Set[str]:
        """The function's local names (normalization and local defs add to them)."""
        return self.resolver.locals

    # -- objects to names -----------------------------------------------------------------
    def bind_free(self, wanted: str, obj: Any) -> str:
        """A name for ``obj`` in the generated code: the user's own if it means the same."""
        return bindings.bind_free(self.source, self.resolver.locals, self.injected, self.namer,
                                  wanted, obj)

    def name_of(self, obj: Any) -> Optional[str]:
        """The name generated code already uses for ``obj``, or None."""
        return bindings.name_of(self.source, self.injected, obj)

    def helper(self, wanted: str, obj: Any, args: List[ast.AST]) -> gast.Call:
        """A call of ``obj`` (a run-time helper) on ``args``: ``zeros_like(x)``."""
        return gast.Call(func=name(self.bind_free(wanted, obj)), args=args, keywords=[])

    # -- names to objects -----------------------------------------------------------------
    def callee(self, call: gast.Call) -> Any:
        """The object a call calls, or ``UNRESOLVED`` (a local, a method of a local...)."""
        return self.resolver.resolve(call.func)

    def is_constant_call(self, call: gast.Call) -> bool:
        """Does the call give a value with no tangent (``int(n)``, ``x.argmax()``...)?"""
        return is_constant_call(self.callee(call), call)

    def is_elementwise_call(self, call: gast.Call) -> bool:
        """Is the callee, user-named or injected, an elementwise NumPy function?"""
        func = call.func
        if isinstance(func, gast.Name) and func.id in self.injected:
            return is_elementwise(self.injected[func.id])
        return is_elementwise(self.resolver.resolve(func))

    def iteration(self, stmt: gast.For):
        """How a for loop iterates: ('range'|'enumerate'|'zip'|'plain', arguments).

            for i in range(n)              ('range', [n])
            for i, v in enumerate(vs)      ('enumerate', [vs])
            for a, b in zip(xs, ys)        ('zip', [xs, ys])
            for v in vs                    ('plain', [vs])
        """
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

    def in_place_call(self, call: gast.Call):
        """(receiver name, operand nodes) of ``lst.append(v)`` or ``add_at(buf, k, v)``
        (``np.add.at(y, k, v)`` and ``add_at_iteration(buf, i, v)`` add the same way: ``dy``
        gets ``dv`` added at ``k``; a gradient's ``restore_item(y, k, old)`` puts ``dold``
        back at ``k``, and ``clear_item(dy, k)`` clears ``ddy[k]``) on a local name; (None, []) for any other call."""
        func = call.func
        if (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)
                and func.value.id in self.resolver.locals):
            return func.value.id, list(call.args)
        if (self.callee(call) in (runtime.drop_last, runtime.clear_item)
                and len(call.args) in (2, 3)
                and isinstance(call.args[0], gast.Name) and call.args[0].id in self.locals):
            return call.args[0].id, []
        if (self.callee(call) in (runtime.add_at, runtime.add_at_iteration, np.add.at,
                                  runtime.restore_item)
                and len(call.args) == 3
                and isinstance(call.args[0], gast.Name) and call.args[0].id in self.locals):
            return call.args[0].id, [call.args[2]]
        return None, []

    # -- dependencies -----------------------------------------------------------------------
    def edges(self, body) -> List[Tuple[Set[str], Set[str]]]:
        """(names written, names they depend on) for every statement, nested ones included:
        the input of ``varied_names``."""
        edges = []
        for stmt in walk_statements(body):
            if isinstance(stmt, gast.Assign):
                reads = self._reads(stmt.value)
                for t in stmt.targets:
                    edges.append((stored_names(t) | container_of(t), reads | container_of(t)))
            elif isinstance(stmt, gast.AugAssign):
                written = container_of(stmt.target)
                edges.append((written, names_in(stmt.value) | written))
            elif isinstance(stmt, gast.For):
                edges += self._loop_edges(stmt)
            elif isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
                receiver, args = self.in_place_call(stmt.value)
                if receiver is not None:
                    edges.append(({receiver}, set().union(*map(names_in, args))))
            elif isinstance(stmt, gast.FunctionDef):
                # a closure depends on what it reads; so do the variables it rebinds
                edges.append((bound_names([stmt]), names_in(stmt)))
        return edges

    def _reads(self, value) -> Set[str]:
        if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Attribute) \
                and value.value.attr in STATIC_ATTRIBUTES:
            return set()                    # x.shape[0]: the attribute decides
        if isinstance(value, gast.Attribute) and value.attr in STATIC_ATTRIBUTES:
            return set()
        return differentiable_reads(value, self.is_constant_call, self.resolver.is_global)

    def _loop_edges(self, stmt: gast.For):
        kind, args = self.iteration(stmt)
        if kind == "range":
            return []
        if kind == "enumerate":
            return [(stored_names(stmt.target.elts[1]), names_in(args[0]))]
        if kind == "zip":
            return [(stored_names(t), names_in(a)) for t, a in zip(stmt.target.elts, args)]
        return [(stored_names(stmt.target), names_in(stmt.iter))]
