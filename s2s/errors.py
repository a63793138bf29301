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
