"""Notes on errors raised inside generated code: where, in the generated code and in yours.

An exception raised by a generated gradient gets a note (``add_note`` on Python 3.11+, added
to its message on 3.9 and 3.10) naming the generated line that raised it, shown in full
(Python 3.11 and 3.12 print no source for code that has no file), and the user's line that
line comes from:

    ValueError: matmul: Input operand 1 has a mismatch in its core dimension 0, ...
    s2s: raised in generated code, <s2s grad_loss of loss #1>, line 7:
        pred = np.tanh(x @ w)
      which comes from model.py, line 12: pred = np.tanh(x @ w)
"""
from __future__ import annotations

import functools
import linecache
from typing import Callable, TypeVar

from s2s.compiler import linemap
from s2s.errors import S2SError

_GENERATED = "<s2s "
_F = TypeVar("_F", bound=Callable)


def explain(exc: BaseException) -> None:
    """Add the note to ``exc`` if it was raised in generated code (once); an S2SError
    already names the user's line."""
    if isinstance(exc, S2SError) or getattr(exc, "__s2s_explained__", False):
        return
    frame, lineno = None, None
    tb = exc.__traceback__
    while tb is not None:           # the innermost generated frame
        if tb.tb_frame.f_code.co_filename.startswith(_GENERATED):
            frame, lineno = tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next
    if frame is None:
        return
    filename = frame.f_code.co_filename
    note = (f"s2s: raised in generated code, {filename}, line {lineno}:\n"
            f"    {linecache.getline(filename, lineno).strip()}")
    user = linemap.user_line(frame.f_code, lineno)
    for _ in range(8):      # the gradient of generated code: back to the user's own line
        back = None if user is None or not user[0].startswith(_GENERATED) \
            else linemap.origin(*user)
        if back is None:
            break
        user = back
    if user is not None:
        text = linecache.getline(user[0], user[1]).strip()
        note += f"\n  which comes from {user[0]}, line {user[1]}" + (f": {text}" if text else "")
    try:
        exc.__s2s_explained__ = True
    except AttributeError:
        return
    if hasattr(exc, "add_note"):
        exc.add_note(note)
    elif len(exc.args) == 1 and isinstance(exc.args[0], str) and not isinstance(exc, KeyError):
        exc.args = (f"{exc.args[0]}\n{note}",) + exc.args[1:]


def explained(fn: _F) -> _F:
    """``fn`` (a transform, or a function a transform returns) whose errors raised in
    generated code carry the note; ``grad``'s functions add it in their own ``__call__``."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            explain(exc)
            raise
    return call  # type: ignore[return-value]
