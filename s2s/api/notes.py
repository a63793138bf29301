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

import contextlib
import functools
import linecache
import re
from typing import Callable, Iterator, Optional, Tuple, TypeVar

from s2s.compiler import linemap
from s2s.errors import (NotDifferentiableError, S2SError, UndefinedDerivativeError,
                        UnsupportedSyntaxError)

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
    user = _back_to_user(linemap.user_line(frame.f_code, lineno))
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


def _back_to_user(user: Optional[Tuple[str, int]]) -> Optional[Tuple[str, int]]:
    """A line of generated code that was itself differentiated (hessian's gradient) followed
    back to the user's own line."""
    for _ in range(8):
        back = None if user is None or not user[0].startswith(_GENERATED) \
            else linemap.origin(*user)
        if back is None:
            break
        user = back
    return user


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


_ARGUMENT_MISMATCH = re.compile(r"^[\w.<>]+\(\)(?= missing | takes | got )")


def argument_error(exc: BaseException, caller, name: str) -> Optional[TypeError]:
    """``exc`` with the user's function named, if it is the TypeError of generated code
    called, in ``caller`` (a function's code), with arguments that do not fit its
    parameters (``grad_f() missing 1 required positional argument`` -> ``f() ...``)."""
    if type(exc) is not TypeError or exc.__traceback__ is None:
        return None
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    if tb.tb_frame.f_code is not caller or not _ARGUMENT_MISMATCH.match(str(exc)):
        return None
    return TypeError(_ARGUMENT_MISMATCH.sub(f"{name}()", str(exc), count=1))


def _user_line_of(code, lineno: int) -> Optional[Tuple[str, int]]:
    """The user's (file, line) behind a line of generated code, if s2s knows it."""
    user = linemap.user_line(code, lineno)
    if user is None:        # a pullback: a function nested in the generated one
        written = linemap.lines_of_file(code.co_filename)
        if written is not None and lineno in written[1]:
            user = written[0], written[1][lineno]
    return _back_to_user(user)


def refusal(exc: BaseException) -> Optional[S2SError]:
    """``exc`` as a located S2SError, at the user's line behind the generated code that
    raised it: the refusal of a run-time helper of s2s (a ValueError or TypeError raised in
    ``s2s.runtime`` that says what s2s differentiates), or the NotImplementedError of a
    transform that generated code calls and cannot differentiate again (``s2s.grad(f)``
    inside a gradient, a closure's call differentiated twice)."""
    composed = type(exc) is NotImplementedError
    if not composed and (type(exc) not in (ValueError, TypeError)
                         or not str(exc).startswith("s2s ")):
        return None
    tb, frames = exc.__traceback__, []
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith(_GENERATED):
            frames.append(tb)
        last, tb = tb, tb.tb_next
    raised_in = last.tb_frame.f_globals.get("__name__", "") if frames else ""
    if not raised_in.startswith("s2s.api" if composed else "s2s.runtime"):
        return None
    filename, lineno = frames[-1].tb_frame.f_code.co_filename, frames[-1].tb_lineno
    for generated in reversed(frames):      # the innermost that says which user line
        user = _user_line_of(generated.tb_frame.f_code, generated.tb_lineno)
        if user is not None and not user[0].startswith(_GENERATED):
            filename, lineno = user
            break
    if composed:
        return UnsupportedSyntaxError(str(exc), filename=filename, lineno=lineno,
                                      construct="a transform differentiated again")
    cls = UndefinedDerivativeError if type(exc) is ValueError else NotDifferentiableError
    return cls(str(exc), filename=filename, lineno=lineno,
               construct=getattr(exc, "construct", "a value without a derivative"),
               hint=getattr(exc, "hint", None))


@contextlib.contextmanager
def reported() -> Iterator[None]:
    """Run generated code, turning a run-time helper's refusal into a located error."""
    try:
        yield
    except (ValueError, TypeError, NotImplementedError) as exc:
        located = refusal(exc)
        if located is None:
            raise
        raise located from None
