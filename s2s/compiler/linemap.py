"""Which user line each line of generated code comes from, for the notes on errors.

The builders keep the user's line numbers on the statements they write (a primal statement
and the adjoint work of a user line carry that line). Once a generated function is compiled,
``remember`` pairs its statements with those of its source text and keeps, for its code
object, ``{generated line: user line}``; ``user_line`` answers for a frame of that code.
Nothing here runs on a call that succeeds.

    def loss(w, x):                        def grad_loss(w, x):       # line 1
        pred = np.tanh(x @ w)      ->          ...
        return np.sum(pred ** 2)               pred = np.tanh(x @ w)  # line 6 -> user line 9
"""
from __future__ import annotations

import ast
import types
import weakref
from typing import Dict, Iterator, Optional, Tuple

import gast

from s2s.compiler import syntax

# code object of a generated function -> (user file, {generated line: user line})
_LINES: "weakref.WeakKeyDictionary[types.CodeType, Tuple[str, Dict[int, int]]]" = \
    weakref.WeakKeyDictionary()
_BLOCKS = ("body", "orelse", "finalbody", "handlers")


def remember(generated: gast.FunctionDef, compiled: types.FunctionType, text: str,
             filename: str, written: Optional[Dict[int, int]] = None) -> None:
    """Keep the line map of ``compiled``, written from ``generated`` as ``text`` (the
    function alone, its def on line 1) for the user file ``filename``. ``written``: the
    line of ``text`` each statement of ``generated`` starts on, by ``id``, when the writer
    said (else ``text`` is parsed to find out)."""
    shift = compiled.__code__.co_firstlineno - 1      # the text may sit inside a factory
    lines: Dict[int, int] = {}
    if written is not None:
        pairs = ((made, written[id(made)]) for made in syntax.walk_statements(generated.body)
                 if id(made) in written)
    else:
        try:
            parsed = ast.parse(text).body[0]
        except SyntaxError:
            return
        pairs = ((made, stmt.lineno) for made, stmt in _pairs(generated.body, parsed.body))
    for made, at in pairs:
        line = getattr(made, "lineno", None)
        if isinstance(line, int):
            lines[at + shift] = line
    _LINES[compiled.__code__] = (filename, lines)


def user_line(code: types.CodeType, lineno: int) -> Optional[Tuple[str, int]]:
    """(user file, user line) behind line ``lineno`` of generated code, if known."""
    found = _LINES.get(code)
    if found is None or lineno not in found[1]:
        return None
    return found[0], found[1][lineno]


def origin(filename: str, lineno: int) -> Optional[Tuple[str, int]]:
    """(user file, user line) behind line ``lineno`` of the generated file ``filename``, if
    known: for generated code that was itself differentiated (``hessian``'s gradient)."""
    for code, (user_file, lines) in list(_LINES.items()):
        if code.co_filename == filename and lineno in lines:
            return user_file, lines[lineno]
    return None


def lines_of_file(filename: str) -> Optional[Tuple[str, Dict[int, int]]]:
    """(user file, {generated line: user line}) of the generated file ``filename``, or None
    for a file s2s did not write. A local function of generated code (a ``def`` the user
    wrote inside a differentiated function) is read from there when it is differentiated."""
    if not filename.startswith("<s2s "):
        return None
    for code, (user_file, lines) in list(_LINES.items()):
        if code.co_filename == filename:
            return user_file, lines
    return None


def _pairs(made, written) -> Iterator[Tuple[object, ast.stmt]]:
    """The statements of two trees of the same shape, side by side."""
    for a, b in zip(made, written):
        yield a, b
        for field in _BLOCKS:
            left, right = getattr(a, field, None), getattr(b, field, None)
            if isinstance(left, list) and isinstance(right, list):
                yield from _pairs(left, right)


def rewritten(new: types.CodeType, new_text: str, old: types.CodeType, old_text: str) -> None:
    """Keep the line map of ``new``, compiled from ``new_text``: ``old_text`` (the source
    of ``old``) parsed, changed within its statements and written again, so its statements
    pair one to one (``grad(f)``'s code returning the gradient alone, for a second order)."""
    found = _LINES.get(old)
    if found is None:
        return
    try:
        before, after = ast.parse(old_text).body[0], ast.parse(new_text).body[0]
    except SyntaxError:
        return
    old_shift, new_shift = old.co_firstlineno - 1, new.co_firstlineno - 1
    lines: Dict[int, int] = {}
    for a, b in _pairs([before], [after]):
        user = found[1].get(a.lineno + old_shift)
        if user is not None:
            lines[b.lineno + new_shift] = user
    _LINES[new] = (found[0], lines)
