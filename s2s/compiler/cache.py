"""The one cache of generated code.

One entry per function definition (per code object) holds every variant made from it: each
mode and set of options, and each set of argument shapes (at most ``MAX_SHAPE_SETS`` per set
of options; past that, one unspecialized variant serves every other shape), and the plans of
run-time calls of it. Generated code is reused for a function only when everything it baked
in is unchanged: the code object, the free names it resolved (each still the same object, or
for numbers and arrays a value of the same type, dtype and shape: generated code reads those
at run time), and it is rebound to the function's own closure cells and defaults. So
closures of one ``def`` share one transform, however many there are.

The cache holds user functions weakly. An entry is kept alive by the functions it serves
(through an attribute in their ``__dict__``), never by the cache itself: a function that is
dropped frees its generated code, its module and its ``linecache`` source. It is bounded: past
``cache_limit()`` compiled functions the least recently used entries are forgotten.
``clear_cache()`` empties everything.
"""
from __future__ import annotations

import builtins
import linecache
import threading
import types
import weakref
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from s2s.compiler import expand
from s2s.errors import recursion_too_deep

MAX_SHAPE_SETS = 16         # shape-specialized variants of one function, per set of options
_ANCHOR = "__s2s_generated__"   # where a user function keeps its cache entry alive

_lock = threading.RLock()


class _Entry:
    """The generated code of one function definition: ``variants`` maps a key (mode,
    options, shapes) to the compiled functions made for it (one per distinct set of
    resolved globals); ``plans`` holds how run-time calls of it map their arguments."""

    __slots__ = ("variants", "shape_sets", "plans", "owners", "size", "__weakref__")

    def __init__(self):
        self.variants: Dict[tuple, List[Callable]] = {}
        self.shape_sets: Dict[tuple, set] = {}
        self.plans: Dict[tuple, tuple] = {}
        self.owners = weakref.WeakSet()
        self.size = 0


# code object (or a primitive) -> weak reference to its entry, least recently used first
_recent: "OrderedDict[Any, weakref.ref]" = OrderedDict()
_sizes: Dict[Any, int] = {}         # code object -> compiled functions in its entry
_total = [0]                        # compiled functions in all live entries
_immortal: Dict[Any, _Entry] = {}   # entries of primitives and callables without __dict__
_limit = [1024]


def cache_limit(limit: Optional[int] = None) -> int:
    """The most compiled functions the cache keeps (default 1024); with ``limit``, set it
    and return the previous one. Past the limit, the least recently used functions'
    generated code is forgotten (``grad`` objects already holding it keep it)."""
    previous = _limit[0]
    if limit is not None:
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"cache_limit takes a positive int, not {limit!r}")
        with _lock:
            _limit[0] = limit
            _evict()
    return previous


def _key_of(fn: Any) -> Any:
    code = getattr(fn, "__code__", None)
    return code if code is not None else fn


def _entry(fn: Any, create: bool) -> Optional[_Entry]:
    """The cache entry of ``fn``'s definition, anchored on ``fn`` (None if none yet)."""
    key = _key_of(fn)
    ref = _recent.get(key)
    entry = ref() if ref is not None else None
    if entry is None:
        if not create:
            return None
        entry = _Entry()
        _recent[key] = weakref.ref(entry, lambda _, key=key: _forget(key))
        _sizes[key] = 0
    else:
        _recent.move_to_end(key)
    _anchor(fn, entry, key)
    return entry


def _anchor(fn: Any, entry: _Entry, key: Any) -> None:
    holder = getattr(fn, "__dict__", None)
    if type(fn) is types.FunctionType and holder is not None:
        if holder.get(_ANCHOR) is not entry:
            holder[_ANCHOR] = entry
            entry.owners.add(fn)
    else:
        _immortal[key] = entry


def _forget(key: Any) -> None:
    """An entry died (its functions were dropped): forget its key and its size."""
    with _lock:
        ref = _recent.get(key)
        if ref is not None and ref() is None:
            del _recent[key]
        _total[0] -= _sizes.pop(key, 0)


def _evict() -> None:
    """Forget the least recently used entries until the cache is within its limit."""
    while _total[0] > _limit[0] and _recent:
        key, ref = _recent.popitem(last=False)
        _total[0] -= _sizes.pop(key, 0)
        entry = ref()
        if entry is not None:
            _drop_anchors(entry)
        _immortal.pop(key, None)


def _drop_anchors(entry: _Entry) -> None:
    for fn in list(entry.owners):
        if fn.__dict__.get(_ANCHOR) is entry:
            del fn.__dict__[_ANCHOR]
    entry.owners.clear()


def clear_cache() -> None:
    """Forget all generated code and its ``linecache`` source (the next call of any
    ``grad(f)`` made after this transforms again)."""
    with _lock:
        for ref in list(_recent.values()):
            entry = ref()
            if entry is not None:
                _drop_anchors(entry)
        _recent.clear()
        _sizes.clear()
        _immortal.clear()
        _total[0] = 0
        expand.clear()
        for filename in [f for f in linecache.cache if f.startswith("<s2s ")]:
            del linecache.cache[filename]


def _register(entry: _Entry, fn: Any, compiled: Callable) -> None:
    key = _key_of(fn)
    if key in _sizes:
        _sizes[key] += 1
        _total[0] += 1
    filename = compiled.__code__.co_filename
    weakref.finalize(compiled, linecache.cache.pop, filename, None)
    _evict()


# -- looking up and building ------------------------------------------------------------------
class Pending:
    """Stands in for generated code still being built, so recursive functions can call it."""

    def __init__(self, fn):
        self.fn, self.compiled = fn, None

    def __call__(self, *args, **kwargs):
        try:
            return self.compiled(*args, **kwargs)
        except RecursionError:
            raise recursion_too_deep(self.fn) from None


_in_progress: Dict[tuple, Pending] = {}


def cached(fn: Callable, key: tuple, build: Callable[[], Callable],
           shapes: tuple = ()) -> Callable:
    """The generated code for ``fn`` under ``key`` (mode and options) and ``shapes``: found
    in the cache if it still fits ``fn``, else built by ``build(shapes)`` and kept.

    Past ``MAX_SHAPE_SETS`` shape sets for one function and key, new shapes get the
    unspecialized code (``shapes=()``)."""
    with _lock:
        entry = _entry(fn, create=True)
        if shapes:
            seen = entry.shape_sets.setdefault(key, set())
            if shapes not in seen:
                if len(seen) >= MAX_SHAPE_SETS:
                    shapes = ()
                else:
                    seen.add(shapes)
        full_key = key + (shapes,)
        check = fn if getattr(fn, "__code__", None) is not None else None
        for compiled in entry.variants.get(full_key, ()):
            found = compiled if check is None else reusable(compiled, check)
            if found is not None:
                return found
        pending_key = (_key_of(fn), full_key)
        pending = _in_progress.get(pending_key)
        if pending is not None:
            return pending
        pending = _in_progress[pending_key] = Pending(fn)
        try:
            compiled = build(shapes)
        finally:
            del _in_progress[pending_key]
        compiled.__s2s_closure__ = getattr(fn, "__closure__", None)
        compiled.__s2s_defaults__ = defaults_of(fn)
        pending.compiled = compiled
        entry.variants.setdefault(full_key, []).append(compiled)
        _register(entry, fn, compiled)
        return compiled


def find(fn: Callable, key: tuple) -> Optional[Callable]:
    """Cached code for the Python function ``fn`` under ``key`` (options and shapes) that
    still fits it, else None: the quick look of a new ``grad(f)`` object, with no lock and
    no build (``cached`` does those)."""
    holder = fn.__dict__
    entry = holder.get(_ANCHOR)
    if entry is None:
        # a new closure of a definition already transformed: its entry, by the code object
        ref = _recent.get(fn.__code__)
        entry = ref() if ref is not None else None
        if entry is None:
            return None
        holder[_ANCHOR] = entry
        entry.owners.add(fn)
    for compiled in entry.variants.get(key, ()):
        found = reusable(compiled, fn)
        if found is not None:
            try:
                _recent.move_to_end(fn.__code__)
            except KeyError:        # evicted meanwhile: still right for this call
                pass
            return found
    return None


def alias(fn: Callable, key: tuple, compiled: Callable) -> None:
    """Let ``find(fn, key)`` answer with ``compiled`` too: a second key for code the entry
    already holds (a ``grad`` object's own key, cheaper to make than the pipeline's). Code
    rebound to another closure is kept as the code it was rebound from, so that the
    closure the code was built for finds it as it is."""
    compiled = compiled.__dict__.get("__s2s_rebound_from__", compiled)
    with _lock:
        _entry(fn, create=True).variants[key] = [compiled]


def reusable(compiled: Callable, fn: Callable) -> Optional[Callable]:
    """``compiled`` for ``fn`` if the names ``fn`` uses still mean what they meant when it
    was built, bound to ``fn``'s own closure cells and defaults; else None."""
    if compiled.__globals__ is not fn.__globals__ \
            or not _resolved_still(fn, compiled.__s2s_resolved__):
        return None
    if compiled.__s2s_closure__ is fn.__closure__ and _same_defaults(compiled, fn):
        return compiled
    return _rebind(compiled, fn)


def _same_defaults(compiled, fn) -> bool:
    return same_defaults(compiled.__s2s_defaults__, fn)


def defaults_of(fn: Callable) -> tuple:
    """What ``same_defaults`` compares: the default tuple, the keyword-only defaults' dict
    and the objects that dict holds (it can be changed in place)."""
    kw = getattr(fn, "__kwdefaults__", None)
    return getattr(fn, "__defaults__", None), kw, tuple(kw.values()) if kw else None


def same_defaults(then: tuple, fn: Callable) -> bool:
    """Does ``fn`` have the defaults ``defaults_of`` saw (the same objects)?"""
    defaults, kw, values = then
    if getattr(fn, "__defaults__", None) is not defaults \
            or getattr(fn, "__kwdefaults__", None) is not kw:
        return False
    return kw is None or (len(kw) == len(values)
                          and all(a is b for a, b in zip(kw.values(), values)))


_DATA = (float, int, bool, complex, np.ndarray, np.generic)
_NOT_FOUND = object()
_builtins = builtins.__dict__


def _same_meaning(now: Any, then: Any) -> bool:
    """Does a free name still mean what the generated code relied on? The same object; or,
    for a number or an array, one of the same type (and dtype and shape): generated code
    reads those at run time, and the transform only used what kind of value it was."""
    if now is then:
        return True
    kind = type(now)
    if kind is not type(then) or not isinstance(now, _DATA):
        return False
    if kind is np.ndarray or isinstance(now, np.generic):
        return now.shape == then.shape and now.dtype == then.dtype
    return True


def _resolved_still(fn: Callable, resolved: Dict[str, Any]) -> bool:
    """Do the free names the transform relied on still mean the same? This runs whenever a
    new ``grad(f)`` finds cached code, so it reads the scopes directly."""
    if not resolved:
        return True
    freevars = fn.__code__.co_freevars
    cells = dict(zip(freevars, fn.__closure__)) if freevars else None
    namespace = fn.__globals__
    for n, obj in resolved.items():
        if cells is not None and n in cells:
            try:
                value = cells[n].cell_contents
            except ValueError:
                return False
        else:
            value = namespace.get(n, _NOT_FOUND)
            if value is _NOT_FOUND:
                value = getattr(builtins, n, _NOT_FOUND)
        if value is not obj and not _same_meaning(value, obj):
            return False
    return True


def watch(fn: Callable, compiled: Callable) -> Optional[tuple]:
    """For a ``grad`` object's memo, the quick form of ``reusable``'s check: what a call
    looks at to know that the free names the generated code relied on still mean the same
    objects: ``(globals, ((name, object), ...) in globals, ... in builtins,
    ((cell, object), ...))``, or None when there is nothing to look at."""
    resolved = getattr(compiled, "__s2s_resolved__", None)
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    # defaults given a new value (f.__defaults__ = ...) need code bound to them
    defaults = (fn, defaults_of(fn)) if fn.__defaults__ or fn.__kwdefaults__ else None
    if not resolved:
        return None if defaults is None else (None, (), (), (), defaults)
    known = compiled.__dict__.get("__s2s_watch__")
    if known is not None and known[0] is fn.__closure__ and defaults is None:
        return known[1]
    namespace = fn.__globals__
    parts = compiled.__dict__.get("__s2s_watch_parts__")
    if parts is None or parts[0] is not code:
        # where each name is found depends on the definition alone: worked out once for
        # all its closures (a later global that hides a builtin fails the builtins' look)
        index = {n: i for i, n in enumerate(code.co_freevars)}
        parts = (code,
                 tuple((n, o) for n, o in resolved.items() if n not in index
                       and n in namespace),
                 tuple((n, o) for n, o in resolved.items() if n not in index
                       and n not in namespace),
                 tuple((index[n], o) for n, o in resolved.items() if n in index))
        compiled.__s2s_watch_parts__ = parts
    cells = fn.__closure__
    watch = (namespace, parts[1], parts[2], tuple((cells[i], o) for i, o in parts[3]),
             defaults)
    if defaults is None:
        compiled.__s2s_watch__ = (fn.__closure__, watch)
    return watch


def unchanged(looks: Optional[tuple]) -> bool:
    """The check a call makes before it runs remembered generated code (a few dictionary
    lookups): rebinding a global function the gradient used makes the next call look again
    in the pipeline's cache, which transforms again if the new object needs other code."""
    if looks is None:
        return True
    namespace, in_globals, in_builtins, in_cells, defaults = looks
    if defaults is not None and not same_defaults(defaults[1], defaults[0]):
        return False
    for n, obj in in_globals:
        if namespace.get(n, _NOT_FOUND) is not obj:
            return False
    for n, obj in in_builtins:
        if n in namespace or _builtins.get(n, _NOT_FOUND) is not obj:
            return False
    for cell, obj in in_cells:
        try:
            if cell.cell_contents is not obj:
                return False
        except ValueError:
            return False
    return True


def _rebind(compiled: Callable, fn: Callable) -> Callable:
    """The same generated code over another closure of the same definition (a new instance
    of a nested def or lambda), with that function's defaults: only the user's cells and
    defaults change."""
    base = compiled.__dict__.get("__s2s_rebound_from__", compiled)
    layout = base.__dict__.get("__s2s_cell_layout__")
    if layout is None:
        # for each cell of the generated code: the index of the user's cell of that name,
        # or -1 and the generated code's own cell (worked out once for all closures)
        index = {n: i for i, n in enumerate(fn.__code__.co_freevars)}
        own = base.__closure__ or ()
        layout = base.__s2s_cell_layout__ = tuple(
            (index.get(n, -1), own[j]) for j, n in enumerate(base.__code__.co_freevars))
    cells = fn.__closure__
    closure = tuple([cells[i] if i >= 0 else cell for i, cell in layout])
    new = types.FunctionType(base.__code__, base.__globals__, base.__name__,
                             fn.__defaults__, closure or None)
    new.__kwdefaults__ = dict(fn.__kwdefaults__) if fn.__kwdefaults__ else None
    new.__doc__ = base.__doc__
    new.__dict__.update(base.__dict__)
    new.__s2s_closure__ = fn.__closure__
    new.__s2s_defaults__ = defaults_of(fn)
    new.__s2s_rebound_from__ = base
    return new


def plan(target: Callable, key: tuple, make: Callable[[], tuple]) -> tuple:
    """How a run-time call of ``target`` maps its arguments (``make()``), kept with the
    target's generated code."""
    with _lock:
        entry = _entry(target, create=True)
        plan = entry.plans.get(key)
        if plan is None:
            plan = entry.plans[key] = make()
        return plan
