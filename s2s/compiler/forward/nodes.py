"""Small syntax helpers that the forward-mode modules share.

The names a target stores (``stored_names``) or the container it writes into
(``container_of``); the names a block binds or updates in place (``bound_names``) or assigns
a new object to (``rebound_names``); renaming names where read and assigned
(``rename_everywhere``); a signature with the tangent parameters added (``with_parameters``);
an expression named for an error message (``describe``).

    x[i] = v                    bound_names {x}        rebound_names {}
    lst.append(w)               bound_names {lst}      rebound_names {}
    for k, y in pairs: ...      bound_names and rebound_names {k, y, ...}
    (x, w) + [dx]               with_parameters (x, w, dx)
    (x, s=2.0) + [dx]           with_parameters (x, s=2.0, *, dx)
"""
from __future__ import annotations

import ast
import copy
from typing import Dict, List, Sequence, Set

import gast

from s2s.compiler import syntax


def walk_statements(body):
    """Statements of a block and its nested if/for/while blocks (not of nested defs)."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, gast.FunctionDef):
            continue
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                yield from walk_statements(inner)


def stored_names(target) -> Set[str]:
    """The names a target binds: ``a, (b, *c)`` -> {a, b, c}; none for ``x[i]`` or ``o.a``."""
    if isinstance(target, gast.Name):
        return {target.id}
    if isinstance(target, (gast.Tuple, gast.List)):
        return set().union(*map(stored_names, target.elts)) if target.elts else set()
    if isinstance(target, gast.Starred):
        return stored_names(target.value)
    return set()


def container_of(target) -> Set[str]:
    """The container a subscript or attribute store writes into: ``x[i].a`` -> {x}."""
    if not isinstance(target, (gast.Subscript, gast.Attribute)):
        return set()
    while isinstance(target, (gast.Subscript, gast.Attribute)):
        target = target.value
    return {target.id} if isinstance(target, gast.Name) else set()


def bound_names(stmts) -> Set[str]:
    """Names a block binds or updates in place (targets, item stores, list methods)."""
    out = set()
    for stmt in walk_statements(stmts):
        if isinstance(stmt, gast.Assign):
            for t in stmt.targets:
                out |= stored_names(t) | container_of(t)
        elif isinstance(stmt, gast.AugAssign):
            out |= stored_names(stmt.target) | container_of(stmt.target)
        elif isinstance(stmt, gast.For):
            out |= stored_names(stmt.target)
        elif isinstance(stmt, gast.FunctionDef):
            out.add(stmt.name)
            out |= {n for s in stmt.body if isinstance(s, gast.Nonlocal) for n in s.names}
        elif isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
            call = stmt.value
            if isinstance(call.func, gast.Attribute) and isinstance(call.func.value, gast.Name):
                out.add(call.func.value.id)
            elif call.args and isinstance(call.args[0], gast.Name):
                out.add(call.args[0].id)    # add_at(buffer, ...)
    return out


def rebound_names(stmts) -> Set[str]:
    """Names a block assigns a new object to (not in-place updates)."""
    out = set()
    for stmt in walk_statements(stmts):
        if isinstance(stmt, gast.Assign):
            for t in stmt.targets:
                out |= stored_names(t)
        elif isinstance(stmt, gast.For):
            out |= stored_names(stmt.target)
    return out


def rename_everywhere(stmts: List[ast.AST], mapping: Dict[str, str]) -> List[ast.AST]:
    """Rename names in ``stmts`` in place, where read and where assigned (unlike
    ``syntax.rename_loads``): a rule's ``DRESULT = ...`` becomes ``dy = ...``."""
    for stmt in stmts:
        for n in syntax.walk(stmt):
            if isinstance(n, gast.Name) and n.id in mapping:
                n.id = mapping[n.id]
    return stmts


def with_parameters(args: gast.arguments, names: Sequence[str]) -> gast.arguments:
    """``args`` plus the tangent parameters: positional, or keyword-only after defaults."""
    new = copy.deepcopy(args)
    params = [gast.Name(id=n, ctx=gast.Param(), annotation=None, type_comment=None)
              for n in names]
    if args.vararg is None and not args.defaults:
        new.args = new.args + params
    else:
        new.kwonlyargs = new.kwonlyargs + params
        new.kw_defaults = new.kw_defaults + [None] * len(params)
    return new


def source_text(node) -> str:
    """``node`` as source text, for an error message (its kind if it cannot be unparsed)."""
    try:
        return ast.unparse(gast.gast_to_ast(copy.deepcopy(node)))
    except Exception:
        return type(node).__name__


def describe(node) -> str:
    """What an error calls ``node``: "a lambda", "the expression x // 2"..."""
    return {gast.Lambda: "a lambda", gast.IfExp: "a conditional expression",
            gast.ListComp: "a list comprehension", gast.BoolOp: "a boolean operator",
            gast.JoinedStr: "an f-string"}.get(type(node), f"the expression {source_text(node)}")
