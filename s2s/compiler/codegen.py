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
from typing import Any, Dict, List, Optional

import gast

from s2s.compiler import syntax
from s2s.compiler.frontend.parse import Source

_counter = itertools.count(1)


def to_source(fn: gast.FunctionDef) -> str:
    """Readable Python source of a generated function."""
    tree = gast.gast_to_ast(gast.Module(body=[fn], type_ignores=[]))
    ast.fix_missing_locations(tree)
    return _unparse(tree).rstrip() + "\n"


def _unparse(tree: ast.AST) -> str:
    unparse = getattr(ast, "unparse", None)
    if unparse is not None:
        return unparse(tree)
    import astunparse       # only on interpreters without ast.unparse
    return astunparse.unparse(tree)


def compile_function(fn: gast.FunctionDef, source: Source, injected: Dict[str, Any],
                     docstring: Optional[str] = None) -> types.FunctionType:
    """Compile ``fn`` in the user's globals, with user closure cells and injected values."""
    if docstring:
        fn.body.insert(0, gast.Expr(value=gast.Constant(value=docstring, kind=None)))
    text = to_source(fn)
    user_cells = source.closure
    free = _free_names(text, fn.name)
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
    kwdefaults = getattr(source.fn, "__kwdefaults__", None)
    if kwdefaults:
        func.__kwdefaults__ = dict(kwdefaults)
    func.__doc__ = docstring
    lines = shown.splitlines(True)
    linecache.cache[filename] = (len(shown), None, lines, filename)
    func.__s2s_source__ = text
    return func


def _free_names(text: str, fname: str) -> List[str]:
    """Names the generated function reads but never binds, in a stable order."""
    tree = ast.parse(text)
    fn = tree.body[0]
    bound = {a.arg for a in syntax.walk(fn.args) if isinstance(a, ast.arg)}
    loads: Dict[str, None] = {}     # in the order of first reads (a list would be searched)
    for node in syntax.walk(fn):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                bound.add(node.id)
            else:
                loads.setdefault(node.id, None)
    return [n for n in loads if n not in bound]


def _find_code(code: types.CodeType, fname: str) -> types.CodeType:
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            if const.co_name == fname:
                return const
            found = _find_code(const, fname)
            if found is not None:
                return found
    return None
