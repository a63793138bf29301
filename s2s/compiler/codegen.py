"""Stage 7: turn a generated gast function into a live Python function.

In: a gast ``FunctionDef``, the user's ``Source`` and the objects the generated code needs that
the user's namespace does not provide.  Out: a function whose globals are the user's module
globals (live, not a copy), whose closure shares the user function's cells, and whose source is
registered with ``linecache`` so that ``inspect.getsource``, tracebacks and pdb show it.

    gast FunctionDef grad_f  ->  '<s2s grad_f of f at model.py:12>' in linecache
                                 grad_f.__code__.co_filename == that name
"""
from __future__ import annotations

import ast
import itertools
import linecache
import types
from ast import AST
from typing import Any, Dict, List, Optional, Tuple

import gast

from s2s.compiler import linemap, syntax
from s2s.compiler.frontend.parse import Source
from s2s.compiler.unparse import Unsupported, unparse

_counter = itertools.count(1)


def to_source(fn: gast.FunctionDef) -> str:
    """Readable Python source of a generated function, as ``ast.unparse`` writes it."""
    global _last_written
    text, free, lines = _written(fn)
    _last_written = (fn, text, free, lines)
    return text


# what the last to_source learnt besides the text: compile_function calls to_source (tools
# that record generated code wrap it) and takes the rest from here, when it is still that
# function's (another thread may have written since: then it walks the function again)
_NOTHING_WRITTEN = (None, None, None, None)
_last_written: tuple = _NOTHING_WRITTEN


def _written(fn: gast.FunctionDef) -> Tuple[str, List[str], Optional[Dict[int, int]]]:
    """The source of ``fn``, the names it reads but never binds, and the line each statement
    starts on (see ``unparse``); code ``unparse`` does not write goes through ``ast.unparse``
    (and its lines are not known)."""
    try:
        text, lines, free = unparse(fn)
    except Unsupported:
        text = _unparse(ast.Module(body=[_to_ast(fn)], type_ignores=[]))
        free, lines = _free_names(fn), None
    return text.rstrip() + "\n", free, lines


def _free_names(fn: gast.FunctionDef) -> List[str]:
    """Names the generated function reads but never binds, in a stable order."""
    bound = {n.id for n in syntax.walk(fn.args) if isinstance(n, gast.Name)
             and isinstance(n.ctx, gast.Param)}
    loads: Dict[str, None] = {}     # in the order of first reads (a list would be searched)
    # a statement at a time: faster than one walk of all (a statement's nodes lie close
    # together in memory), and the order of first reads decides nothing
    for part in [fn.args, *fn.body, *fn.decorator_list, fn.returns]:
        if part is None:
            continue
        for node in syntax.walk(part):
            if isinstance(node, gast.Name):
                if isinstance(node.ctx, gast.Store):
                    bound.add(node.id)
                elif not isinstance(node.ctx, gast.Param):
                    loads.setdefault(node.id, None)
    return [n for n in loads if n not in bound]


def _unparse(tree: ast.AST) -> str:
    unparse = getattr(ast, "unparse", None)
    if unparse is not None:
        return unparse(tree)
    import astunparse       # only on interpreters without ast.unparse
    return astunparse.unparse(tree)


def _to_ast(node: AST) -> ast.AST:
    """gast to ast, for ``ast.unparse``.

    ``gast.gast_to_ast`` does the same in general, at several times the cost: it looks up
    its conversion of each node by name and copies positions, which unparsing never reads.
    Here most nodes keep their class name and fields; a parameter (a gast ``Name``) becomes
    an ``ast.arg`` and an exception handler's name a string.
    """
    cls = node.__class__
    if cls is gast.Name:
        return ast.Name(id=node.id, ctx=_to_ast(node.ctx))
    if cls is gast.arguments:
        return ast.arguments(
            posonlyargs=[_arg(a) for a in node.posonlyargs], args=[_arg(a) for a in node.args],
            vararg=_arg(node.vararg), kwonlyargs=[_arg(a) for a in node.kwonlyargs],
            kw_defaults=[_optional(d) for d in node.kw_defaults], kwarg=_arg(node.kwarg),
            defaults=[_to_ast(d) for d in node.defaults])
    if cls is gast.ExceptHandler:
        return ast.ExceptHandler(type=_optional(node.type),
                                 name=node.name.id if node.name is not None else None,
                                 body=_block(node.body))
    target, fields = _TARGETS.get(cls) or _target(cls)
    if not fields:
        return target
    given = node.__dict__
    new = target.__new__(target)
    attrs = new.__dict__
    for field in fields:
        value = given.get(field)
        if field == "body" and type(value) is list:
            value = _block(value)
        elif type(value) is list:
            value = [_to_ast(v) if isinstance(v, AST) else v for v in value]
        elif isinstance(value, AST):
            value = _to_ast(value)
        attrs[field] = value
    if "type_comment" in attrs:
        attrs["lineno"] = 0     # unparsing looks a type comment up by line number
    return new


def _block(body: List[AST]) -> List[ast.AST]:
    """A body of statements (a ``body`` field is one wherever it is a list); ``pass`` for an
    empty one, as ``unparse`` writes it."""
    return [_to_ast(s) for s in body] or [ast.Pass()]


def _optional(node: Optional[AST]) -> Optional[ast.AST]:
    return None if node is None else _to_ast(node)


def _arg(node: Optional[gast.Name]) -> Optional[ast.arg]:
    if node is None:
        return None
    return ast.arg(arg=node.id, annotation=_optional(node.annotation),
                   type_comment=node.type_comment, lineno=0)


_TARGETS: Dict[type, Tuple[Any, Tuple[str, ...]]] = {}


def _target(cls: type) -> Tuple[Any, Tuple[str, ...]]:
    """The ast class of gast nodes of class ``cls`` and the fields to copy; a node without
    fields (``Load``, ``Add``, ``Pass``) maps to one shared ast instance: unparsing only
    reads it."""
    target = getattr(ast, cls.__name__)
    _TARGETS[cls] = (target(), ()) if not target._fields else (target, target._fields)
    return _TARGETS[cls]


def compile_function(fn: gast.FunctionDef, source: Source, injected: Dict[str, Any],
                     docstring: Optional[str] = None,
                     line_map: bool = False) -> types.FunctionType:
    """Compile ``fn`` in the user's globals, with user closure cells and injected values.
    With ``line_map``, ``linemap`` learns which user line each generated line comes from."""
    if docstring:
        fn.body.insert(0, gast.Expr(value=gast.Constant(value=docstring, kind=None)))
    global _last_written
    text = to_source(fn)
    last, _last_written = _last_written, _NOTHING_WRITTEN     # the tree is not kept alive
    if last[0] is fn and last[1] is text:
        free, written = last[2], last[3]
    else:
        free, written = _free_names(fn), None
    user_cells = source.closure
    cell_names = [n for n in free if n in injected or n in user_cells]
    filename = f"<s2s {fn.name} of {source.name} #{next(_counter)}>"
    if cell_names:
        # A factory gives the function real free variables; lines stay aligned with `text`.
        header = f"def __s2s_factory__({', '.join(cell_names)}):"
        body = "".join("    " + line if line.strip() else line
                       for line in text.splitlines(True))
        module_text = header + "\n" + body + f"    return {fn.name}\n"
        shown = "\n" + text     # line 1 is the factory's header in the compiled text
    else:
        module_text = text
        shown = text
    code = compile(module_text, filename, "exec")
    inner = _find_code(code, fn.name)
    closure = tuple(user_cells[n] if n not in injected and n in user_cells
                    else types.CellType(injected[n]) for n in inner.co_freevars)
    func = types.FunctionType(inner, source.globals, fn.name,
                              source.fn.__defaults__ if hasattr(source.fn, "__defaults__") else None,
                              closure or None)
    # the generated function reads the cells of the function it was made from, so it sits
    # where that one does (not in the factory): reverse/calls.py's shared_cells compares
    # enclosing functions by qualified name
    owner = getattr(source.fn, "__qualname__", "").rpartition(".")[0]
    func.__qualname__ = f"{owner}.{fn.name}" if owner else fn.name
    kwdefaults = getattr(source.fn, "__kwdefaults__", None)
    if kwdefaults:
        func.__kwdefaults__ = dict(kwdefaults)
    func.__doc__ = docstring
    linecache.cache[filename] = (len(shown), None, shown.splitlines(True), filename)
    func.__s2s_source__ = text
    func.__s2s_gradient_code__ = True
    if line_map:
        linemap.remember(fn, func, text, source.filename, written)
    return func


def _find_code(code: types.CodeType, fname: str) -> types.CodeType:
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            if const.co_name == fname:
                return const
            found = _find_code(const, fname)
            if found is not None:
                return found
    return None
