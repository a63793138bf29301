"""One error family for everything s2s rejects.

Every error that concerns user code points at it: file, line and column, the source line
with a caret under the construct, the construct's name, and a hint saying what to do instead.
"""
from __future__ import annotations

import linecache
import sys
from typing import Optional


class S2SError(Exception):
    """Base class of all s2s errors."""

    def __init__(self, message: str, *, filename: Optional[str] = None,
                 lineno: Optional[int] = None, col_offset: Optional[int] = None,
                 construct: Optional[str] = None, hint: Optional[str] = None,
                 function: Optional[str] = None):
        self.message = message
        self.filename = filename
        self.lineno = lineno
        self.col_offset = col_offset
        self.construct = construct
        self.hint = hint
        self.function = function
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        if self.filename is not None and self.lineno is not None:
            where = f'  File "{self.filename}", line {self.lineno}'
            if self.col_offset is not None:
                where += f", column {self.col_offset + 1}"
            if self.function:
                where += f", in {self.function}"
            parts.append(where)
            line = linecache.getline(self.filename, self.lineno)
            if line:
                stripped = line.rstrip("\n")
                indent = len(stripped) - len(stripped.lstrip())
                parts.append("    " + stripped.strip())
                if self.col_offset is not None and self.col_offset >= indent:
                    parts.append("    " + " " * (self.col_offset - indent) + "^")
        if self.hint:
            parts.append(f"  hint: {self.hint}")
        return "\n".join(parts)


class SourceUnavailableError(S2SError):
    """The function's source cannot be read (a builtin, or code typed into a REPL)."""


class UnsupportedSyntaxError(S2SError):
    """The function uses a construct that s2s cannot differentiate."""


class MissingRuleError(S2SError):
    """A called function has no differentiation rule and no readable source."""


class NotDifferentiableError(S2SError, TypeError):
    """An argument at a differentiated position cannot carry a gradient."""


class JitError(S2SError):
    """A gradient that ``jit=True`` cannot compile with Numba (or Numba is missing)."""


class UndefinedDerivativeError(S2SError, ValueError):
    """A rule has no derivative at the values of this call (the complete q of a tall
    matrix, full matrices of a non-square svd): raised when the generated code runs, at the
    user's line."""


def recursion_too_deep(fn) -> UnsupportedSyntaxError:
    """The error for a recursion that reached Python's limit inside differentiated calls
    (each level of a differentiated call takes two or three frames of the plain call's
    one), at the recursive function's ``def``."""
    code = getattr(fn, "__code__", None)
    name = getattr(fn, "__name__", repr(fn))
    return UnsupportedSyntaxError(
        f"s2s cannot differentiate '{name}' at this depth of recursion: differentiated "
        f"calls reached Python's recursion limit ({sys.getrecursionlimit()})",
        filename=getattr(code, "co_filename", None),
        lineno=getattr(code, "co_firstlineno", None), construct="a recursion too deep",
        function=name,
        hint="write the recursion as a loop, or raise the limit with sys.setrecursionlimit")


def jacobian_in_reverse(jacobian, filename: Optional[str] = None,
                        lineno: Optional[int] = None) -> UnsupportedSyntaxError:
    """The error for reverse mode over a function made by ``jacfwd``, ``jacrev`` or
    ``hessian`` (its loop over basis vectors is not code s2s reads), or for such a function
    called inside a differentiated one: at the line of that call, else at the ``def`` of
    the function the Jacobian is of."""
    name = getattr(jacobian, "__name__", "jacobian")
    inner = getattr(jacobian, "__s2s_forward__", jacobian)
    while getattr(inner, "__code__", None) is None and getattr(inner, "fn", None) is not None:
        inner = inner.fn
    code = getattr(inner, "__code__", None)
    function = None
    if filename is None and code is not None:
        filename, lineno = code.co_filename, code.co_firstlineno
        function = getattr(inner, "__name__", None)
    return UnsupportedSyntaxError(
        f"s2s cannot differentiate the Jacobian function '{name}' (made by s2s.jacfwd, "
        f"s2s.jacrev or s2s.hessian) by reverse mode, nor inside a differentiated function",
        filename=filename, lineno=lineno, construct="a Jacobian function differentiated",
        function=function,
        hint="differentiate the Jacobian function itself with s2s.jacfwd or s2s.jacrev "
             "(s2s.jacrev(s2s.jacfwd(f)) gives its derivative by forward mode), or call "
             "s2s.grad or s2s.jvp of the original function inside instead")
