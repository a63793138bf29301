"""Syntax helpers shared by the reverse-mode modules: plain functions of syntax trees.

Parameter lists of a ``FunctionDef``; small expressions (``item_of(v, k)`` is ``v[k]``,
``index_value`` turns ``1:3`` into ``slice(1, 3, None)``); and two rewrites of
straight-line code, ``rename_reassigned`` before the sweeps and ``eliminate_dead_temps``
after them.
"""
from __future__ import annotations

import ast
import copy
from typing import Dict, List, Optional, Sequence, Set

import gast

from s2s.compiler import syntax
from s2s.compiler.frontend.names import Namer
from s2s.compiler.syntax import const, name


def arguments_of(names: List[str]) -> gast.arguments:
    """A parameter list of plain positional ``names`` (for the vjp's pullback)."""
    return gast.arguments(
        args=[gast.Name(id=n, ctx=gast.Param(), annotation=None, type_comment=None)
              for n in names],
        posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])


def parameter_names(fn: gast.FunctionDef) -> List[str]:
    """The names of ``fn``'s parameters, in order, ``*args`` and ``**kwargs`` included."""
    args = fn.args
    names = [a.id for a in list(args.posonlyargs) + list(args.args)]
    if args.vararg is not None:
        names.append(args.vararg.id)
    names += [a.id for a in args.kwonlyargs]
    if args.kwarg is not None:
        names.append(args.kwarg.id)
    return names


def append_parameter(args: gast.arguments, pname: str) -> gast.arguments:
    """``args`` with one more parameter ``pname`` (keyword-only after ``*args`` or defaults)."""
    new = gast.arguments(args=list(args.args), posonlyargs=list(args.posonlyargs),
                         vararg=args.vararg, kwonlyargs=list(args.kwonlyargs),
                         kw_defaults=list(args.kw_defaults), kwarg=args.kwarg,
                         defaults=list(args.defaults))
    if args.vararg is None and not args.defaults:
        new.args.append(gast.Name(id=pname, ctx=gast.Param(), annotation=None,
                                  type_comment=None))
    else:
        new.kwonlyargs.append(gast.Name(id=pname, ctx=gast.Param(), annotation=None,
                                        type_comment=None))
        new.kw_defaults.append(None)
    return new


def rename_reassigned(body: List[ast.AST], params: Sequence[str], namer: Namer
                      ) -> List[ast.AST]:
    """Give each re-assignment of a name its own name, so no value is ever overwritten.

        x = x * 2          x_2 = x * 2
        x = np.sin(x)  ->  x_3 = np.sin(x_2)
        return x           return x_3
    """
    current: Dict[str, str] = {}
    defined = set(params)
    nested = set()          # names assigned inside branches or loops keep their name
    for stmt in body:
        if not isinstance(stmt, gast.Assign):
            for node in syntax.walk(stmt):
                if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                    nested.add(node.id)
    out = []
    for stmt in body:
        syntax.rename_loads(stmt, current)
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
            t = stmt.targets[0].id
            if t in defined and t not in nested:
                new = namer.fresh(t)
                current[t] = new
                stmt.targets[0].id = new
            defined.add(t)
        out.append(stmt)
    return out


def eliminate_dead_temps(stmts: List[ast.AST], temps: Set[str]) -> List[ast.AST]:
    """Drop assignments to rule locals that nothing reads (straight-line code)."""
    live: Set[str] = set()
    kept = []
    for stmt in reversed(stmts):
        if (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and stmt.targets[0].id in temps and stmt.targets[0].id not in live):
            continue
        for node in syntax.walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                live.add(node.id)
        kept.append(stmt)
    return list(reversed(kept))


def store_counts(stmts) -> Dict[str, int]:
    """How many times ``stmts`` assign each name, at any depth."""
    counts: Dict[str, int] = {}
    for node in syntax.walk(gast.Module(body=list(stmts), type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def stored_in(stmts) -> Set[str]:
    """Every name ``stmts`` assign, at any depth."""
    out = set()
    for node in syntax.walk(gast.Module(body=list(stmts), type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            out.add(node.id)
    return out


def source_text(node) -> str:
    """``node`` as source, for error messages."""
    try:
        return ast.unparse(gast.gast_to_ast(deep_copy(node)))
    except Exception:
        return type(node).__name__


def item_of(value: ast.AST, key: ast.AST) -> gast.Subscript:
    """``value[key]``."""
    return gast.Subscript(value=value, slice=deep_copy(key), ctx=gast.Load())


def deep_copy(node):
    """A copy of ``node`` that shares no node with it."""
    return copy.deepcopy(node)


def has_active(node: Optional[ast.AST], active: Set[str]) -> bool:
    """Does ``node`` mention any of the ``active`` names?"""
    if node is None:
        return False
    return any(isinstance(n, gast.Name) and n.id in active for n in syntax.walk(node))


def index_value(index) -> ast.AST:
    """An index as an ordinary expression: ``1:3`` becomes ``slice(1, 3, None)``."""
    if isinstance(index, gast.Slice):
        parts = [deep_copy(p) if p is not None else const(None)
                 for p in (index.lower, index.upper, index.step)]
        return gast.Call(func=name("slice"), args=parts, keywords=[])
    if isinstance(index, gast.Tuple):
        return gast.Tuple(elts=[index_value(e) for e in index.elts], ctx=gast.Load())
    return deep_copy(index)
