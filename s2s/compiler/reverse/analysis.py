"""Static questions the reverse builder asks about the code it differentiates.

What a call resolves to, and whether it is constant, elementwise, or a reduction to one
number; which names may hold containers (their cotangents are pytrees); which names are
global numbers; and which names the adjoint sweep reads only for their shape
(``unbroadcast(g, x)``), so that saving an overwritten one keeps just its shape.
"""
from __future__ import annotations

import ast
from typing import List, Set

import gast
import numpy as np

from s2s.runtime import numpy_helpers

from s2s.compiler import syntax
from s2s.compiler.optimize import is_elementwise
from s2s.compiler.frontend.resolve import UNRESOLVED, is_constant_call

_FULL_REDUCTIONS = {np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.var, np.std,
                    np.ndarray.sum, np.ndarray.mean, np.ndarray.prod, np.ndarray.max,
                    np.ndarray.min, np.ndarray.var, np.ndarray.std}


class Analysis:
    """Mixin of ``ReverseBuilder``: what the primal's calls and names are."""

    def _is_constant_call(self, call: gast.Call) -> bool:
        return is_constant_call(self.state.callee(call), call)

    def _is_elementwise_call(self, call: gast.Call) -> bool:
        func = call.func
        if isinstance(func, gast.Name) and func.id in self.state.injected:
            return is_elementwise(self.state.injected[func.id])
        return is_elementwise(self.state.resolver.resolve(func))

    def _is_full_reduction(self, call: gast.Call) -> bool:
        """``np.sum(x)``, ``x.mean()``...: a reduction over every axis, giving one number."""
        func = self.state.callee(call)
        if func is UNRESOLVED and isinstance(call.func, gast.Attribute):
            func = getattr(np.ndarray, call.func.attr, None)
            args = call.args
        else:
            args = call.args[1:]
        if func not in _FULL_REDUCTIONS:
            return False
        # axis=None and keepdims=False keep it full; axis=0 does not (0 is falsy too)
        return not args and all(k.arg not in ("axis", "keepdims") or
                                (isinstance(k.value, gast.Constant)
                                 and k.value.value in (None, False)
                                 and type(k.value.value) is not int)
                                for k in call.keywords)

    def _is_global_number(self, name_: str) -> bool:
        if name_ in self.state.locals:
            return False
        value = self.state.source.lookup(name_)
        return type(value) in (int, float)

    def _tree_names(self, primal: List[ast.AST]) -> Set[str]:
        """Names that may hold containers (their cotangents are pytrees)."""
        trees = set(self.state.tree_params)
        args = self.state.source.node.args
        for extra in (args.vararg, args.kwarg):
            if extra is not None:
                trees.add(extra.id)
        for node in syntax.walk(gast.Module(body=list(primal), type_ignores=[])):
            # a function's cotangent is a dict: one entry per value it closes over
            if isinstance(node, gast.FunctionDef):
                trees.add(node.name)
            elif isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda):
                trees |= {t.id for t in node.targets if isinstance(t, gast.Name)}
        changed = True
        while changed:
            changed = False
            for stmt in syntax.walk(gast.Module(body=list(primal), type_ignores=[])):
                if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
                    continue
                t, v = stmt.targets[0].id, stmt.value
                maybe = (isinstance(v, (gast.Tuple, gast.List, gast.Dict))
                         or isinstance(v, gast.Call) and self.call_kind(v) in ("static",
                                                                               "dynamic")
                         or isinstance(v, gast.Name) and v.id in trees
                         or isinstance(v, gast.Subscript) and isinstance(v.value, gast.Name)
                         and v.value.id in trees)
                if maybe and t not in trees:
                    trees.add(t)
                    changed = True
        return trees

    def _read_for_shape_only(self, stmts) -> Set[str]:
        """Names the adjoint reads only for their shape (``unbroadcast(g, x)``)."""
        shape_fns = {self.state.name_of(numpy_helpers.unbroadcast),
                     self.state.name_of(numpy_helpers.expand_reduced)} - {None}
        shape_reads, other_reads = set(), set()
        positions = set()
        for stmt in stmts:
            for node in syntax.walk(stmt):
                if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
                        and node.func.id in shape_fns and len(node.args) >= 2 \
                        and isinstance(node.args[1], gast.Name):
                    positions.add(id(node.args[1]))
                    shape_reads.add(node.args[1].id)
        for stmt in stmts:
            for node in syntax.walk(stmt):
                if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) \
                        and id(node) not in positions:
                    other_reads.add(node.id)
        return shape_reads - other_reads
