"""Stage 2: what do the names in a function mean?

Free names are looked up in the function's closure, then its globals, then builtins, at
transform time, so that ``np.sin``, ``numpy.sin`` and ``from numpy import sin`` all lead to the
same rule. Names the function assigns itself are locals and resolve to nothing.
"""
from __future__ import annotations

import ast
from typing import Any, Set

import gast

from s2s.compiler import syntax
from s2s.compiler.frontend.parse import MISSING, Source

UNRESOLVED = MISSING


def local_names(fn: gast.FunctionDef) -> Set[str]:
    """Parameters and every name the function body stores to."""
    names = set()
    args = fn.args
    for a in list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs):
        names.add(a.id if isinstance(a, gast.Name) else a.arg)
    for a in (args.vararg, args.kwarg):
        if a is not None:
            names.add(a.id if isinstance(a, gast.Name) else a.arg)
    for node in syntax.walk(fn):
        if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Del)):
            names.add(node.id)
        elif isinstance(node, (gast.FunctionDef, gast.ClassDef)) and node is not fn:
            names.add(node.name)
    return names


class Resolver:
    """Resolves expressions of a function to the objects they denote at transform time."""

    def __init__(self, source: Source, locals_: Set[str]):
        self.source = source
        self.locals = locals_

    def resolve(self, node: ast.AST) -> Any:
        """The object ``node`` (a name or attribute chain) stands for, or ``UNRESOLVED``."""
        if isinstance(node, gast.Name):
            if node.id in self.locals:
                return UNRESOLVED
            return self.source.lookup(node.id)
        if isinstance(node, gast.Attribute):
            base = self.resolve(node.value)
            if base is UNRESOLVED:
                return UNRESOLVED
            return getattr(base, node.attr, UNRESOLVED)
        return UNRESOLVED


def is_constant_call(func: Any, call: gast.Call) -> bool:
    """Does the call of ``func`` (as resolved; UNRESOLVED for a method on a local) give a
    value with no gradient: a nondifferentiable function, ``int()``, ``x.argmax()``...?"""
    import numpy as np
    from s2s import rules
    if func is UNRESOLVED:
        if isinstance(call.func, gast.Attribute):       # a method: x.argmax()
            method = getattr(np.ndarray, call.func.attr, None)
            return method is not None and rules.is_nondifferentiable(method)
        return False
    return rules.is_nondifferentiable(func) or isinstance(func, type) and func in (
        int, bool, str, range, type)
