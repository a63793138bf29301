"""Stage 4: activity analysis.

In: a normalized function, the names of the differentiated parameters and the names whose
cotangents are seeded (what is returned).  Out: the set of *active* names: those that depend
on a differentiated input (varied) AND reach the output through differentiable operations
(useful). Only statements that assign an active name get adjoint code.

    def f(x, n):            varied = {x, y, z}, useful = {z, y, x, n}
        y = x * n           active = {x, y, z}; `k = n + 1` is neither, and gets no adjoint
        k = n + 1
        z = np.sin(y)
        return z

The analysis is flow-insensitive (a name active anywhere is active everywhere), which is
conservative: it can only add adjoint code, never drop needed code.
"""
from __future__ import annotations

import ast
from typing import Callable, Iterable, List, Optional, Set, Tuple

import gast

from s2s.compiler import syntax
from s2s.compiler.syntax import names_in
from s2s.compiler.frontend.normalize import STATIC_ATTRIBUTES


DIFFERENTIABLE_BINOPS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Mod, gast.Pow,
                         gast.MatMult)


def differentiable_reads(value: ast.AST, is_constant_call: Callable[[ast.AST], bool],
                         is_global: Optional[Callable[[str], bool]] = None) -> Set[str]:
    """Names whose cotangent a normalized right-hand side ``value`` may contribute to.
    ``is_global(name)``: does a name stand for a global object; an item of one (``r_[a, b]``
    after ``from numpy import r_``) reads what its index holds."""
    if isinstance(value, gast.Name):
        return {value.id}
    if isinstance(value, gast.Constant):
        return set()
    if isinstance(value, (gast.Compare, gast.BoolOp)):
        return set() if isinstance(value, gast.Compare) else names_in(value)
    if isinstance(value, gast.BinOp):
        if not isinstance(value.op, DIFFERENTIABLE_BINOPS):
            return set()        # a // b, bitwise operators: piecewise constant
        return (differentiable_reads(value.left, is_constant_call, is_global)
                | differentiable_reads(value.right, is_constant_call, is_global))
    if isinstance(value, gast.UnaryOp):
        if isinstance(value.op, (gast.Not, gast.Invert)):
            return set()
        return differentiable_reads(value.operand, is_constant_call, is_global)
    if isinstance(value, gast.Attribute):
        if value.attr in STATIC_ATTRIBUTES:
            return set()
        return names_in(value.value)
    if isinstance(value, gast.Subscript):
        base = value.value
        if isinstance(base, gast.Attribute) and base.attr in STATIC_ATTRIBUTES:
            return set()            # x.shape[0]: a size, as x.shape is
        if isinstance(base, gast.Name) and (is_global is None or not is_global(base.id)):
            return names_in(base)
        # np.r_[a, b]: an item of an object that is not a local reads what its index holds
        return names_in(base) | names_in(value.slice)
    if isinstance(value, gast.Call):
        if is_constant_call(value):
            return set()
        reads = set()
        # an argument that is a size or shape of a value (np.arange(y.size)) is an integer
        for arg in value.args:
            reads |= differentiable_reads(arg, is_constant_call, is_global)
        for kw in value.keywords:
            reads |= differentiable_reads(kw.value, is_constant_call, is_global)
        if isinstance(value.func, gast.Attribute):
            reads |= names_in(value.func.value)
        elif isinstance(value.func, gast.Name):
            reads.add(value.func.id)       # a local function value may close over actives
        else:
            reads |= names_in(value.func)  # make(x)(y): a function made from actives
        return reads
    return names_in(value)


def flows(body: List[ast.AST], is_constant_call, is_global=None
          ) -> List[Tuple[Set[str], Set[str]]]:
    """(targets, differentiable reads) of every data-flow edge in ``body``, nested included."""
    edges = []
    for node in _statements(body):
        if isinstance(node, gast.Assign):
            targets = set()
            for t in node.targets:
                targets |= stored_names(t)
            reads = differentiable_reads(node.value, is_constant_call, is_global)
            for t in node.targets:
                if isinstance(t, (gast.Subscript, gast.Attribute)):
                    # x[i] = v: x now depends on v as well as on what it held
                    targets |= _base_names(t)
                    reads = reads | _base_names(t)
            edges.append((targets, reads))
        elif isinstance(node, gast.AugAssign):
            targets = stored_names(node.target) | _base_names(node.target)
            edges.append((targets, names_in(node.value) | targets))
        elif isinstance(node, gast.FunctionDef):
            # a nested function's value depends on the outer names it closes over
            edges.append(({node.name}, free_names(node)))
        elif isinstance(node, (gast.For, gast.comprehension)):
            edges.append((stored_names(node.target), names_in(node.iter)))
        elif isinstance(node, gast.Expr) and isinstance(node.value, gast.Call):
            func = node.value.func
            if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name):
                # lst.append(v) and friends: the container now depends on v
                reads = set()
                for arg in node.value.args:
                    reads |= names_in(arg)
                edges.append(({func.value.id}, reads))
            else:
                # np.add.at(y, i, v), np.copyto(y, v), f(a, out=y): a call made for its
                # effect may write into its first argument or its out=; they depend on all
                # it reads, so an update of a differentiated value is seen (and refused)
                call = node.value
                written = set()
                for target in call.args[:1] + [k.value for k in call.keywords
                                                if k.arg == "out"]:
                    written |= _base_names(target)      # y, or d in np.add.at(d["y"], ...)
                reads = set()
                for arg in list(call.args) + [k.value for k in call.keywords]:
                    reads |= names_in(arg)
                if written and not is_constant_call(call):
                    edges.append((written, reads))
    return edges


def free_names(fn) -> Set[str]:
    """Names a nested def or lambda reads from the scopes around it."""
    params = names_in(fn.args)
    body = fn.body if isinstance(fn.body, list) else [fn.body]
    stored, loaded = set(), set()
    for stmt in body:
        for n in syntax.walk(stmt):
            if isinstance(n, gast.Name):
                (stored if isinstance(n.ctx, gast.Store) else loaded).add(n.id)
    return loaded - stored - params


def _statements(body):
    for stmt in body:
        yield stmt
        if isinstance(stmt, (gast.FunctionDef, gast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                yield from _statements(inner)


def stored_names(target) -> Set[str]:
    """The names an assignment target binds: ``x``, ``a, (b, *c)``; none for ``x[i]``."""
    if target is None:
        return set()
    if isinstance(target, gast.Name):
        return {target.id}
    if isinstance(target, (gast.Tuple, gast.List)):
        out = set()
        for e in target.elts:
            out |= stored_names(e)
        return out
    if isinstance(target, gast.Starred):
        return stored_names(target.value)
    return set()


def _base_names(target) -> Set[str]:
    """The container a subscript or attribute store writes into."""
    while isinstance(target, (gast.Subscript, gast.Attribute)):
        target = target.value
    return {target.id} if isinstance(target, gast.Name) else set()


def _reached(steps: List[Tuple[Set[str], Set[str]]], start: Iterable[str]) -> Set[str]:
    """``start`` and every name reached from it by ``steps``: a step ``(names, more)`` adds
    ``more`` once any of ``names`` is reached (a flow-insensitive fixed point)."""
    reached = set(start)
    changed = True
    while changed:
        changed = False
        for names, more in steps:
            if names & reached and not more <= reached:
                reached |= more
                changed = True
    return reached


def varied_names(edges, inputs: Iterable[str]) -> Set[str]:
    """Names that depend on a differentiated input: reached from the inputs by reads."""
    return _reached([(reads, targets) for targets, reads in edges], inputs)


def active_names(body: List[ast.AST], inputs: Iterable[str], outputs: Iterable[str],
                 is_constant_call, is_source=None, is_global=None) -> Set[str]:
    """Names that are varied and useful. ``is_source(value)`` marks right-hand sides that
    vary whatever their operands (parameters read through objects, in weights mode)."""
    edges = flows(body, is_constant_call, is_global)
    sources = set(inputs)
    if is_source is not None:
        for node in _statements(body):
            if isinstance(node, gast.Assign) and is_source(node.value):
                for t in node.targets:
                    sources |= stored_names(t)
    varied = varied_names(edges, sources)
    # what the outputs read, back to the inputs; walking the statements from the last one,
    # one pass settles straight-line code
    useful = _reached(edges[::-1], outputs)
    return varied & useful
