"""Stage 1: read a live function's source and parse it with gast.

In: a Python function object.  Out: a ``Source`` holding the gast ``FunctionDef`` (decorators
dropped, line numbers as in the user's file) and the scopes its free names resolve in.

    @some_decorator                      FunctionDef(name='f', decorator_list=[],
    def f(x):                    ->          body=[Return(BinOp(Name('x'), Mult, Constant(2)))],
        return x * 2                         lineno=<line in the user's file>)
"""
from __future__ import annotations

import ast
import builtins
import inspect
import textwrap
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import gast

from s2s.compiler import syntax
from s2s.errors import SourceUnavailableError, UnsupportedSyntaxError

_MISSING = object()


@dataclass
class Source:
    """A parsed user function and what its free names mean."""

    fn: Any
    node: gast.FunctionDef
    filename: str
    globals: Dict[str, Any]
    closure: Dict[str, Any] = field(default_factory=dict)   # free name -> cell
    # every free name looked up while transforming, with what it meant (for the cache)
    resolved: Dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.node.name

    def lookup(self, name: str) -> Any:
        """The object a free name refers to now, or ``MISSING``."""
        value = self._lookup(name)
        if value is not _MISSING:       # only what the generated code relies on
            self.resolved[name] = value
        return value

    def _lookup(self, name: str) -> Any:
        cell = self.closure.get(name)
        if cell is not None:
            try:
                return cell.cell_contents
            except ValueError:           # an empty cell: the closure variable is unbound
                return _MISSING
        if name in self.globals:
            return self.globals[name]
        return getattr(builtins, name, _MISSING)

    def error(self, node: Any, construct: str, hint: str,
              cls: type = UnsupportedSyntaxError, message: Optional[str] = None):
        """An error that points at ``node`` in the user's file."""
        return cls(message or f"s2s cannot differentiate {construct} in '{self.name}'",
                   filename=self.filename, lineno=getattr(node, "lineno", None),
                   col_offset=getattr(node, "col_offset", None), construct=construct,
                   hint=hint, function=self.name)


MISSING = _MISSING


def parse_function(fn: Any) -> Source:
    """Parse ``fn``'s source into a gast ``FunctionDef`` with the user's line numbers."""
    code = getattr(fn, "__code__", None)
    name = getattr(fn, "__qualname__", getattr(fn, "__name__", repr(fn)))
    if code is None:
        raise SourceUnavailableError(
            f"s2s cannot read the source of {name}: it is not a Python function",
            construct="function without source",
            hint="register a rule for it with @s2s.adjoint(...) (see the README), "
                 "or wrap it in a Python function")
    try:
        # the code object's own lines: for a function made by functools.wraps, inspect would
        # follow __wrapped__ to the undecorated function, whose source is not what runs
        lines, first_line = inspect.getsourcelines(code)
    except (OSError, TypeError) as exc:
        raise _unavailable(
            code, f"s2s cannot read the source of '{name}' ({code.co_filename}): {exc}",
            "function without source",
            "define the function in a .py file (source typed into a REPL or built with exec "
            "cannot be read), or register a rule with @s2s.adjoint") from None
    source = textwrap.dedent("".join(lines))
    try:
        module = syntax.to_gast(ast.parse(source))
    except SyntaxError as exc:
        raise _unavailable(
            code, f"s2s could not parse the source of '{name}': {exc.msg}", "unparsable source",
            "lambdas sharing a line with other code cannot be isolated; use a def") from None
    node = _find_function(module, fn, code)
    if node is None:
        raise _unavailable(code, f"s2s could not find the definition of '{name}' in its source",
                           "function without source", "define the function with def")
    for sub in syntax.walk(node):   # ast.increment_lineno, without its walk of contexts
        if "lineno" in sub._attributes:
            sub.lineno = getattr(sub, "lineno", 0) + first_line - 1
            end = getattr(sub, "end_lineno", 0)
            if end is not None:
                sub.end_lineno = end + first_line - 1
    col_shift = len(lines[0]) - len(lines[0].lstrip())
    if col_shift:
        for sub in syntax.walk(node):
            if hasattr(sub, "col_offset") and sub.col_offset is not None:
                sub.col_offset += col_shift
    node.decorator_list = []
    closure = {}
    if fn.__closure__:
        closure = dict(zip(code.co_freevars, fn.__closure__))
    return Source(fn=fn, node=node, filename=code.co_filename,
                  globals=fn.__globals__, closure=closure)


def _unavailable(code: Any, message: str, construct: str, hint: str) -> SourceUnavailableError:
    """The error for a function whose source cannot be used, at its ``def`` line."""
    return SourceUnavailableError(message, filename=code.co_filename,
                                  lineno=code.co_firstlineno, construct=construct, hint=hint)


def _find_function(module: gast.Module, fn: Any, code: Any):
    """The def (or lambda, turned into a def) in ``module`` that ``fn`` was made from."""
    for stmt in module.body:
        if isinstance(stmt, (gast.FunctionDef, gast.AsyncFunctionDef)) and stmt.name == code.co_name:
            return stmt
    lambdas = [n for n in syntax.walk(module) if isinstance(n, gast.Lambda)]
    if len(lambdas) > 1:
        # nested lambdas on one line (lambda y: lambda x: x ** y): the one with fn's parameters
        params = list(code.co_varnames[:code.co_argcount])
        lambdas = [lam for lam in lambdas
                   if [a.id for a in lam.args.posonlyargs + lam.args.args] == params]
    if code.co_name == "<lambda>" and len(lambdas) == 1:
        lam = lambdas[0]
        ret = gast.Return(value=lam.body)
        ast.copy_location(ret, lam.body)
        node = gast.FunctionDef(name="lambda_", args=lam.args, body=[ret], decorator_list=[],
                                returns=None, type_comment=None, type_params=[])
        return ast.copy_location(node, lam)
    for stmt in module.body:
        if isinstance(stmt, (gast.FunctionDef, gast.AsyncFunctionDef)):
            return stmt
    return None
