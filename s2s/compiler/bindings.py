"""The names that generated code gives to the objects it calls: run-time helpers, NumPy,
compiled callees. Both builders use them.

    bind_free(..., "zeros_like", runtime.zeros_like)   ->  "zeros_like"   (injected)
    bind_free(..., "np", numpy)                        ->  "np"           (the user's own np)

A name is the user's own when it means the same object in the user's function; otherwise
a fresh name is made and the object is *injected*: the compiled function gets it as a
closure cell (codegen).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Set

from s2s.compiler.frontend.names import Namer
from s2s.compiler.frontend.parse import Source


def bind_free(source: Source, locals_: Set[str], injected: Dict[str, Any], namer: Namer,
              wanted: str, obj: Any, same_stem: bool = False) -> str:
    """A name for ``obj`` in the generated code: ``wanted`` if the user's ``wanted`` means
    ``obj``, else a name already injected for it (with ``same_stem``, only one that starts
    like ``wanted``), else a fresh injected name."""
    if wanted not in locals_ and source.lookup(wanted) is obj:
        return wanted
    for existing, value in injected.items():
        if value is obj and (not same_stem or existing.split("_")[0] == wanted.split("_")[0]):
            return existing
    fresh = namer.fresh(wanted)
    injected[fresh] = obj
    return fresh


def name_of(source: Source, injected: Dict[str, Any], obj: Any) -> Optional[str]:
    """The name generated code already uses for ``obj``, or None."""
    for n, value in injected.items():
        if value is obj:
            return n
    wanted = getattr(obj, "__name__", "")
    if wanted and source.lookup(wanted) is obj:
        return wanted
    return None
