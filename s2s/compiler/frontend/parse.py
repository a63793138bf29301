"""Stage 1: read a live function's source and parse it with gast.

In: a Python function object.  Out: a ``Source`` holding the gast ``FunctionDef`` (decorators
dropped, line numbers as in the user's file) and the scopes its free names resolve in.

    @some_decorator                      FunctionDef(name='f', decorator_list=[],
    def f(x):                    ->          body=[Return(BinOp(Name('x'), Mult, Constant(2)))],
        return x * 2                         lineno=<line in the user's file>)
"""
from __future__ import annotations

import ast
import copy
import builtins
import inspect
import linecache
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import gast

from s2s.compiler import linemap, syntax
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
    # for a function read from generated code: (user file, {generated line: user line})
    user_lines: Optional[Tuple[str, Dict[int, int]]] = None

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
        filename = self.filename
        line, col = getattr(node, "lineno", None), getattr(node, "col_offset", None)
        if self.user_lines is not None and line is not None:
            filename, line, col = _user_location(filename, line, col, self.user_lines)
        return cls(message or f"s2s cannot differentiate {construct} in '{self.name}'",
                   filename=filename, lineno=line, col_offset=col, construct=construct,
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
    found = _def_lines(code)      # (lines, first line number)
    try:
        parsed = _parse_lines(*found) if found is not None else None
    except SyntaxError:
        parsed = None           # the quick look misplaced the end of the def
    try:
        if parsed is None:
            # the code object's own lines: for a function made by functools.wraps, inspect
            # would follow __wrapped__ to the undecorated function, whose source is not
            # what runs
            found = inspect.getsourcelines(code)
    except (OSError, TypeError) as exc:
        raise _unavailable(
            code, f"s2s cannot read the source of '{name}' ({code.co_filename}): {exc}",
            "function without source",
            "define the function in a .py file (source typed into a REPL or built with exec "
            "cannot be read), or register a rule with @s2s.adjoint") from None
    try:
        module = parsed or _parse_lines(*found)
    except SyntaxError as exc:
        # a lambda inside a larger expression ({"f": (lambda v: v * 2, x)}): its lines alone
        # do not parse, the file does
        module = _lambdas_of_file(code) if code.co_name == "<lambda>" else None
        if module is None:
            raise _unavailable(
                code, f"s2s could not parse the source of '{name}': {exc.msg}",
                "unparsable source",
                "lambdas sharing a line with other code cannot be isolated; use a def") from None
        found = ([""], code.co_firstlineno)     # the file's own columns: no shift
    node = _find_function(module, fn, code)
    if node is None:
        raise _unavailable(code, f"s2s could not find the definition of '{name}' in its source",
                           "function without source", "define the function with def")
    first = found[0][0]
    col_shift = len(first) - len(first.lstrip())
    if col_shift:
        for sub in syntax.walk(node):
            if hasattr(sub, "col_offset") and sub.col_offset is not None:
                sub.col_offset += col_shift
    node.decorator_list = []
    closure = {}
    if fn.__closure__:
        closure = dict(zip(code.co_freevars, fn.__closure__))
    if "__class__" in closure:
        _explicit_super(node)
    _consumed_generators_as_lists(node, fn.__globals__, closure)
    _ItemHelpersAsStores(lambda n: _cell_or_global(n, closure, fn.__globals__)).visit(node)
    # a local function of generated code: its errors point at the user's own lines
    return Source(fn=fn, node=node, filename=code.co_filename,
                  globals=fn.__globals__, closure=closure,
                  user_lines=linemap.lines_of_file(code.co_filename))


def _explicit_super(node: gast.FunctionDef) -> None:
    """``super()`` in a method -> ``super(__class__, self)``: the zero-argument form finds
    its class in a cell Python makes only for functions defined in a class body, which the
    generated code is not; spelled out, ``__class__`` is a closure name like any other."""
    params = node.args.posonlyargs + node.args.args
    if not params:
        return
    for sub in syntax.walk(node):
        if isinstance(sub, gast.Call) and isinstance(sub.func, gast.Name) \
                and sub.func.id == "super" and not sub.args and not sub.keywords:
            sub.args = [ast.copy_location(gast.Name(id="__class__", ctx=gast.Load(),
                                                    annotation=None, type_comment=None), sub),
                        ast.copy_location(gast.Name(id=params[0].id, ctx=gast.Load(),
                                                    annotation=None, type_comment=None), sub)]


#: Builtins that consume an iterable whole and keep nothing of it but the items: a generator
#: expression handed to one of them means the same as a list comprehension, which s2s reads.
_CONSUMERS = ("sum", "min", "max", "any", "all", "list", "tuple", "sorted")


def _consumed_generators_as_lists(node: gast.FunctionDef, globals_: Dict[str, Any],
                                  closure: Dict[str, Any]) -> None:
    """``sum(f(x) for x in xs)`` -> ``sum([f(x) for x in xs])``, for the builtins in
    ``_CONSUMERS`` (not shadowed by a name of the function, its closure or its module). The
    only difference is that the list holds every item at once (and ``any``/``all`` no longer
    stop at the first deciding item); a generator expression anywhere else stays, and is
    refused with a located error."""
    bound, consumed = set(), []
    for sub in syntax.walk(node):       # one walk: this runs on every function s2s reads
        if isinstance(sub, gast.Name):
            if not isinstance(sub.ctx, gast.Load):
                bound.add(sub.id)
        elif isinstance(sub, (gast.FunctionDef, gast.ClassDef)):
            bound.add(sub.name)
        elif (isinstance(sub, gast.Call) and isinstance(sub.func, gast.Name)
              and sub.func.id in _CONSUMERS and sub.args
              and isinstance(sub.args[0], gast.GeneratorExp)):
            consumed.append(sub)
    for sub in consumed:
        fname = sub.func.id
        if fname in bound or fname in closure \
                or globals_.get(fname, getattr(builtins, fname)) is not getattr(builtins, fname):
            continue
        gen = sub.args[0]
        sub.args[0] = ast.copy_location(gast.ListComp(elt=gen.elt, generators=gen.generators),
                                        gen)


def _cell_or_global(name: str, closure: Dict[str, Any], globals_: Dict[str, Any]) -> Any:
    cell = closure.get(name)
    if cell is not None:
        try:
            return cell.cell_contents
        except ValueError:
            return None
    return globals_.get(name)


class _ItemHelpersAsStores(gast.NodeTransformer):
    """In a gradient's own code, differentiated again: the run-time helpers that put an
    item back (``restore_item(x, k, old)``) or zero a cotangent's item (``clear_item(dx, k,
    x)``) read as the stores they make, which both modes differentiate like a user's:

        restore_item(x, k, old)   ->   x[k] = old
        clear_item(dx, k, x)      ->   dx[k] = clear_item.cleared(dx, k, x)
    """

    def __init__(self, lookup: Callable[[str], Any]):
        from s2s import runtime         # the helpers' own objects, to recognize them by
        self.lookup = lookup
        self.runtime = runtime

    def visit_Expr(self, node):
        call = node.value
        if not (isinstance(call, gast.Call) and isinstance(call.func, gast.Name)
                and not call.keywords and len(call.args) in (2, 3)
                and isinstance(call.args[0], gast.Name)
                and not any(isinstance(a, gast.Starred) for a in call.args)):
            return node
        helper = self.lookup(call.func.id)
        if helper is self.runtime.restore_item and len(call.args) == 3:
            stored = call.args[2]
        elif helper is self.runtime.clear_item:
            stored = gast.Call(func=gast.Attribute(value=copy.deepcopy(call.func),
                                                   attr="cleared", ctx=gast.Load()),
                               args=[copy.deepcopy(a) for a in call.args], keywords=[])
        else:
            return node
        target = gast.Subscript(value=copy.deepcopy(call.args[0]), slice=call.args[1],
                                ctx=gast.Store())
        target.value.ctx = gast.Load()
        return ast.copy_location(gast.Assign(targets=[target], value=stored,
                                             type_comment=None), node)


def _user_location(generated_file: str, line: int, col: Optional[int],
                   user_lines: Tuple[str, Dict[int, int]]):
    """(file, line, column) in the user's file of a place in generated code: the line of
    the statement it belongs to, and the column where that line reads the same in both
    files (else the start of the user's line)."""
    user_file, lines = user_lines
    statement = max((n for n in lines if n <= line), default=None)
    if statement is None:
        return generated_file, line, col
    user = lines[statement]
    made = linecache.getline(generated_file, line)
    mine = linecache.getline(user_file, user)
    indent = len(mine) - len(mine.lstrip())
    if col is not None and line == statement and made.strip() == mine.strip():
        col += indent - (len(made) - len(made.lstrip()))
    else:
        col = indent
    return user_file, user, col


def _parse_lines(lines: List[str], first_line: int) -> gast.Module:
    """The gast module of a def's ``lines``, which start at line ``first_line`` of their
    file; parsed below blank lines, its nodes have the line numbers of that file."""
    return syntax.to_gast(ast.parse("\n" * (first_line - 1) + textwrap.dedent("".join(lines))))


_HEADER = re.compile(r"[ ]*(@|def\s|async\s+def\s)")


def _def_lines(code: Any) -> Optional[Tuple[List[str], int]]:
    """``inspect.getsourcelines(code)`` for a ``def`` that starts a line, without reading
    the source a token at a time (which takes longer than parsing it): the lines from its
    decorators to its last line of code, and its first line number. The body ends at the
    first line of code indented no deeper than the ``def``; a line that only a tokenizer
    would place (in a string or in brackets) makes the lines fail to parse. None when
    unsure (lambdas, tabs, odd layouts): then ask ``inspect``."""
    first = code.co_firstlineno
    if code.co_name == "<lambda>":
        return None
    linecache.checkcache(code.co_filename)
    lines = linecache.getlines(code.co_filename)
    if not 0 < first <= len(lines) or not _HEADER.match(lines[first - 1]):
        return None
    base = len(lines[first - 1]) - len(lines[first - 1].lstrip(" "))
    last = None         # the def's line, once found; then its last line of code
    for i in range(first - 1, len(lines)):
        line = lines[i]
        code_text = line.lstrip(" ")
        if code_text.startswith("\t"):
            return None
        if not code_text.strip() or code_text.startswith("#"):
            continue
        indent = len(line) - len(code_text)
        if last is None:        # decorators, until the def
            if indent == base and (code_text.startswith("def ") or
                                   _HEADER.match(code_text) and not code_text.startswith("@")):
                last = i
            elif indent < base or indent == base and not code_text.startswith("@"):
                return None
        elif indent > base or code_text[0] in ")]}":    # ) -> float: closes the header
            last = i
        else:
            break
    if last is None:
        return None
    return lines[first - 1:last + 1], first


def _unavailable(code: Any, message: str, construct: str, hint: str) -> SourceUnavailableError:
    """The error for a function whose source cannot be used, at its ``def`` line."""
    return SourceUnavailableError(message, filename=code.co_filename,
                                  lineno=code.co_firstlineno, construct=construct, hint=hint)


def _lambdas_of_file(code: Any) -> Optional[gast.Module]:
    """The lambdas that start on ``code``'s first line, parsed with the whole file (as
    expressions of a module), the one ``code`` was made from first where the interpreter
    tells its column; None where the file does not parse or holds none there."""
    linecache.checkcache(code.co_filename)
    lines = linecache.getlines(code.co_filename)
    try:
        tree = syntax.to_gast(ast.parse("".join(lines)))
    except (SyntaxError, ValueError):
        return None
    lambdas = [n for n in syntax.walk(tree)
               if isinstance(n, gast.Lambda) and n.lineno == code.co_firstlineno]
    lambdas = _by_column(lambdas, code, 0)
    if not lambdas:
        return None
    return gast.Module(body=[gast.Expr(value=lam) for lam in lambdas], type_ignores=[])


def _by_column(lambdas: list, code: Any, shift: int) -> list:
    """Of several lambdas on ``code``'s first line, the innermost one holding the column
    where the interpreter says ``code``'s body starts (Python 3.11 and newer tell it);
    ``shift``: how far left of the file's columns the lambdas' columns are. All of them
    where that cannot be told."""
    positions = getattr(code, "co_positions", None)
    if len(lambdas) < 2 or positions is None:
        return lambdas
    # the first instruction with a span (the one before it, RESUME, has none)
    column = next((col for line, _, col, end in positions() if line == code.co_firstlineno
                   and col is not None and end is not None and end > col), None)
    if column is None:
        return lambdas
    column -= shift
    inside = [lam for lam in lambdas if lam.body.col_offset <= column
              and (lam.end_lineno > code.co_firstlineno or column < lam.end_col_offset)]
    return sorted(inside, key=lambda lam: -lam.col_offset)[:1] or lambdas


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
    if code.co_name == "<lambda>" and len(lambdas) > 1:
        first = linecache.getline(code.co_filename, code.co_firstlineno)
        lambdas = _by_column(lambdas, code, len(first) - len(first.lstrip()))
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
