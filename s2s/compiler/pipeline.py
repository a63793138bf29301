"""The pipeline: from a live user function to cached, compiled generated code, in both modes.

    grad_of(f, ("x",), "grad_only")      ->  grad_f(x) -> dx          (reverse mode)
    vjp_of(f, ("x",))                    ->  vjp_f(x) -> (value, pullback)
    jvp_of(f, ("x",))                    ->  jvp_f(x, dx) -> (value, tangent)   (forward mode)

Each one parses ``f`` (frontend), builds the generated function (reverse or forward builder,
which run the analyses and the optimizer), and compiles it (codegen). This module also holds
what generated code calls when a callee is only known at run time (``call_vjp``,
``call_jvp``): they come back here to compile that callee.

**The cache.** All generated code lives in one cache, with one entry per function definition
(per code object). An entry holds every variant made from that definition: each mode and
set of options, and each set of argument shapes (at most ``MAX_SHAPE_SETS`` per options; past
that, one unspecialized variant serves every other shape). Generated code is reused for a
function only when everything it baked in is unchanged: the code object, the free names it
resolved (each still the same object, or for numbers and arrays a value of the same type,
dtype and shape: generated code reads those at run time), and it is rebound to the
function's own closure cells and defaults. So closures of one ``def`` share one transform,
however many there are.

The cache holds user functions weakly. An entry is kept alive by the functions it serves
(through an attribute in their ``__dict__``), never by the cache itself: a function that is
dropped frees its generated code, its module and its ``linecache`` source. It is bounded: past
``cache_limit()`` compiled functions the least recently used entries are forgotten.
``clear_cache()`` empties everything.
"""
from __future__ import annotations

import builtins
import inspect
import linecache
import threading
import types
import weakref
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import gast
import numpy as np

from s2s import rules, runtime
from s2s.compiler import expand
from s2s.compiler.codegen import compile_function
from s2s.compiler.forward.builder import ForwardBuilder
from s2s.compiler.forward.calls import source_of, tangent_rule
from s2s.compiler.frontend.parse import Source, parse_function
from s2s.compiler.reverse.builder import ReverseBuilder

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
class _Pending:
    """Stands in for generated code still being built, so recursive functions can call it."""

    def __init__(self):
        self.compiled = None

    def __call__(self, *args, **kwargs):
        return self.compiled(*args, **kwargs)


_in_progress: Dict[tuple, _Pending] = {}


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
        pending = _in_progress[pending_key] = _Pending()
        try:
            compiled = build(shapes)
        finally:
            del _in_progress[pending_key]
        compiled.__s2s_closure__ = getattr(fn, "__closure__", None)
        compiled.__s2s_defaults__ = (getattr(fn, "__defaults__", None),
                                     getattr(fn, "__kwdefaults__", None))
        pending.compiled = compiled
        entry.variants.setdefault(full_key, []).append(compiled)
        _register(entry, fn, compiled)
        return compiled


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
    then, then_kw = compiled.__s2s_defaults__
    return then is fn.__defaults__ and then_kw is fn.__kwdefaults__


_DATA = (float, int, bool, complex, np.ndarray, np.generic)
_NOT_FOUND = object()


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


def _rebind(compiled: Callable, fn: Callable) -> Callable:
    """The same generated code over another closure of the same definition (a new instance
    of a nested def or lambda), with that function's defaults: only the user's cells and
    defaults change."""
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    own = dict(zip(compiled.__code__.co_freevars, compiled.__closure__ or ()))
    closure = tuple(cells.get(n, own[n]) for n in compiled.__code__.co_freevars)
    new = types.FunctionType(compiled.__code__, compiled.__globals__, compiled.__name__,
                             fn.__defaults__, closure or None)
    new.__kwdefaults__ = dict(fn.__kwdefaults__) if fn.__kwdefaults__ else None
    new.__doc__ = compiled.__doc__
    new.__dict__.update(compiled.__dict__)
    new.__s2s_closure__ = fn.__closure__
    new.__s2s_defaults__ = (fn.__defaults__, fn.__kwdefaults__)
    return new


# -- reverse mode ---------------------------------------------------------------------------
def _primitive_source(fn: Callable) -> Source:
    """A one-line Python function that calls a primitive, so it can go through the pipeline."""
    rule = rules.reverse_rule(fn)
    signature = inspect.signature(rule)
    params = [p.name for p in signature.parameters.values()
              if p.default is inspect.Parameter.empty
              and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    fname = getattr(fn, "__name__", "primitive")
    text = f"def {fname}({', '.join(params)}):\n    return primitive({', '.join(params)})\n"
    node = gast.parse(text).body[0]
    holder = types.FunctionType(compile(text, f"<s2s primitive {fname}>", "exec").co_consts[0],
                                {"primitive": fn})
    return Source(fn=holder, node=node, filename=f"<s2s primitive {fname}>",
                  globals={"primitive": fn})


def _reverse(fn: Callable, wrt_names: Tuple[str, ...], single: bool, has_aux: bool,
             sens_param: bool, tree_params: Tuple[str, ...], mode: str, weights: bool,
             shapes: tuple) -> types.FunctionType:
    """Build and compile the reverse-mode code of ``fn`` (no cache)."""
    rules.load_builtin_rules()
    if rules.reverse_rule(fn) is not None:      # a rule wins over the source
        source = _primitive_source(fn)
    else:
        source = parse_function(fn)
    builder = ReverseBuilder(source, wrt_names, has_aux=has_aux, sens_param=sens_param,
                             tree_params=tree_params, single=single, mode=mode,
                             callee_vjp=vjp_of, call_vjp=call_vjp, weights=weights,
                             shapes=dict(shapes))
    new = builder.build()
    grads = ", ".join("d" + n for n in wrt_names)
    where = f"{source.filename}, line {getattr(source.node, 'lineno', '?')}"
    if mode == "grad_only":
        doc = (f"Gradient of {source.name} ({where}).\n\n    Returns "
               f"{grads if single else '(' + grads + ')'}. Generated by s2s.\n    ")
    elif mode == "vjp":
        doc = (f"Forward sweep of {source.name} ({where}).\n\n    Returns (value, pullback); "
               f"pullback(cotangent) returns ({grads},). Generated by s2s.\n    ")
    else:
        doc = (f"Gradient of {source.name} ({where}).\n\n    Returns (value, "
               f"{grads if single else '(' + grads + ')'}). Generated by s2s.\n    ")
    compiled = compile_function(new, source, builder.injected, docstring=doc)
    compiled.__s2s_resolved__ = dict(source.resolved)
    return compiled


def grad_of(fn: Callable, wrt_names: Tuple[str, ...], single: bool = False,
            has_aux: bool = False, sens_param: bool = False, tree_params: Tuple[str, ...] = (),
            mode: str = "grad", weights: bool = False, shapes: tuple = ()) -> Callable:
    """The generated reverse-mode code of ``fn``, cached. ``mode``: ``"grad"`` returns
    ``(value, grads)``, ``"grad_only"`` the gradients alone, ``"vjp"`` ``(value, pullback)``.
    ``shapes`` names the argument shapes to specialize on (``(("x", (3,)),)``)."""
    key = ("reverse", tuple(wrt_names), single, has_aux, sens_param, tuple(tree_params), mode,
           weights)
    return cached(fn, key, lambda shapes: _reverse(
        fn, tuple(wrt_names), single, has_aux, sens_param, tuple(tree_params), mode, weights,
        shapes), shapes)


def vjp_of(fn: Callable, wrt_names: Tuple[str, ...], weights: bool = False) -> Callable:
    """The generated forward sweep of ``fn``: ``vjp_fn(*args) -> (value, pullback)``."""
    return grad_of(fn, tuple(wrt_names), mode="vjp", weights=weights)


# -- forward mode ---------------------------------------------------------------------------
def _forward(fn: Callable, wrt: Tuple[str, ...], select: Optional[int]) -> types.FunctionType:
    """Build and compile the jvp function of ``fn`` (no cache; see ``jvp_of``)."""
    source = source_of(fn)
    builder = ForwardBuilder(source, wrt, select=select, callee_jvp=jvp_of, call_jvp=call_jvp)
    new = builder.build()
    tangents = [builder.tangents[p] for p in wrt]
    where = f"{source.filename}, line {getattr(source.node, 'lineno', '?')}"
    which = "" if select is None else f" (of item {select})"
    doc = (f"Forward mode (jvp) of {source.name} ({where}).\n\n    Returns (value, tangent"
           f"{which}) for the tangents {', '.join(tangents)} of "
           f"{', '.join(wrt)}. Generated by s2s.\n    ")
    compiled = compile_function(new, source, builder.injected, docstring=doc)
    compiled.__s2s_resolved__ = dict(source.resolved)
    compiled.__s2s_tangents__ = tuple(tangents)
    return compiled


def jvp_of(fn: Callable, wrt: Sequence[str], select: Optional[int] = None) -> Callable:
    """The generated, cached ``jvp_fn(*args, **tangents) -> (value, tangent)`` of ``fn``.

    ``wrt`` names the differentiated parameters; their tangents are the parameters named in
    ``compiled.__s2s_tangents__`` (pass them by keyword).
    """
    return cached(fn, ("forward", tuple(wrt), select),
                  lambda shapes: _forward(fn, tuple(wrt), select))


# -- calls whose target is only known at run time ---------------------------------------------
def _plan(target: Callable, key: tuple, make: Callable[[], tuple]) -> tuple:
    """How a run-time call of ``target`` maps its arguments (``make()``), kept with the
    target's generated code."""
    with _lock:
        entry = _entry(target, create=True)
        plan = entry.plans.get(key)
        if plan is None:
            plan = entry.plans[key] = make()
        return plan


def call_vjp(fn, spec, *args, **kwargs):
    """Call ``fn`` through its generated forward sweep; returns ``(value, pullback)``.

    ``spec`` is ``(positions, star_from, keywords, weights, free, star_keywords,
    callee_active)``: which positional arguments (and from which index on, for a trailing
    ``*args``) and which keyword arguments carry gradients (all of them when ``**kwargs``
    does), whether parameters read inside report their gradients, which names a nested
    function closes over carry gradients, and whether the function itself does (a closure
    passed in: then all the numbers it closes over do). The pullback returns
    ``(positional, keyword, closed_over)`` cotangents, None where inactive.
    """
    positions, star_from, keywords, weights, free, star_keywords, callee_active = spec
    if star_from is not None:
        positions = positions + tuple(range(star_from, len(args)))
    if star_keywords:
        keywords = keywords + tuple(sorted(k for k in kwargs if k not in keywords))
    target, bound = runtime.function_behind(fn)
    if callee_active and getattr(target, "__closure__", None):
        # gradients also flow to the float and array values the function closes over
        free = free + tuple(n for n, c in zip(target.__code__.co_freevars, target.__closure__)
                            if n not in free and _carries_gradient(c))
    if bound is not None:
        args = (bound,) + args
        positions = tuple(p + 1 for p in positions)
    names, slots = _plan(target, ("vjp", positions, keywords, len(args), weights, free),
                         lambda: _plan_vjp(target, positions, keywords, free))
    value, pullback = vjp_of(target, names, weights=weights)(*args, **kwargs)
    offset = 1 if bound is not None else 0
    n_positional = len(args) - offset

    def call_pullback(cotangent):
        grads = pullback(cotangent)
        positional = [None] * n_positional
        keyword = {}
        closed_over = {}
        for grad, slot in zip(grads, slots):
            kind, where = slot
            if kind == "pos":
                if where >= offset:
                    positional[where - offset] = grad
            elif kind == "var":
                for i, g in enumerate(grad):
                    if where + i >= offset:
                        positional[where + i - offset] = g
            elif kind == "free":
                closed_over[where] = grad
            elif kind == "varkw":
                keyword.update(grad)
            else:
                keyword[where] = grad
        return positional, keyword, closed_over
    return value, call_pullback


def _carries_gradient(cell) -> bool:
    try:
        value = cell.cell_contents
    except ValueError:
        return False
    return type(value) is float or isinstance(value, (np.ndarray, np.floating))


def positional_slots(params, positions):
    """The parameters that the positional arguments at ``positions`` land in, and where each
    one's cotangent (or tangent) goes: ``("pos", i)``, or ``("var", first)`` for a ``*args``
    parameter that collects positions ``first``, ``first + 1``..."""
    fixed = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    var = next((p for p in params if p.kind is p.VAR_POSITIONAL), None)
    names, slots = [], []
    for pos in positions:
        if pos < len(fixed):
            names.append(fixed[pos].name)
            slots.append(("pos", pos))
        elif var is not None and var.name not in names:
            names.append(var.name)
            slots.append(("var", len(fixed)))
    return names, slots


def _plan_vjp(target, positions, keywords, free=()):
    """The differentiated parameter names of ``target`` for a call, and where each one's
    cotangent goes."""
    rule = rules.reverse_rule(target)
    try:
        # a primitive is called through its rule, whose parameters mirror it
        signature = inspect.signature(rule if rule is not None else target,
                                      follow_wrapped=False)
    except (TypeError, ValueError):
        signature = None
    params = list(signature.parameters.values()) if signature is not None else []
    names, slots = positional_slots(params, positions)
    var_kw = next((p for p in params if p.kind is p.VAR_KEYWORD), None)
    for kw in keywords:
        if signature is not None and kw in signature.parameters:
            names.append(kw)
            slots.append(("kw", kw))
        elif var_kw is not None and var_kw.name not in names:
            names.append(var_kw.name)
            slots.append(("varkw", None))
    for n in free:
        names.append(n)
        slots.append(("free", n))
    return tuple(names), tuple(slots)


def call_jvp(fn: Callable, args: tuple, tangents: tuple, keywords: Optional[dict] = None,
             keyword_tangents: Optional[dict] = None) -> tuple:
    """Call ``fn`` through its generated jvp function: ``(value, tangent)``.

    Generated code calls it where the callee is only known at run time: a function passed
    in as an argument, a method of a local object, a bound method or a callable object, or
    a call with ``*args``/``**kwargs``. ``tangents`` has one entry per positional argument
    and ``keyword_tangents`` one per keyword, None where the argument carries no tangent.
    """
    keywords = keywords or {}
    keyword_tangents = keyword_tangents or {}
    target, bound = runtime.function_behind(fn)
    if bound is not None:
        args, tangents = (bound,) + tuple(args), (None,) + tuple(tangents)
    positions = tuple(i for i, t in enumerate(tangents) if t is not None)
    given = tuple(sorted(k for k, t in keyword_tangents.items() if t is not None))
    if not positions and not given:
        value = target(*args, **keywords)
        return value, runtime.zeros_like(value)
    wrt, slots = _plan(target, ("jvp", positions, given, len(args), tuple(keywords)),
                       lambda: _plan_jvp(target, positions, given, keywords))
    compiled = jvp_of(target, wrt)
    tangent_args = {}
    for tname, (kind, where) in zip(compiled.__s2s_tangents__, slots):
        if kind == "pos":
            tangent_args[tname] = tangents[where]
        elif kind == "var":         # a *args parameter: a tuple of tangents
            tangent_args[tname] = tuple(runtime.zeros_like(a) if t is None else t
                                        for a, t in zip(args[where:], tangents[where:]))
        elif kind == "kw":
            tangent_args[tname] = keyword_tangents[where]
        else:                       # a **kwargs parameter: a dict of tangents
            tangent_args[tname] = {k: runtime.zeros_like(keywords[k])
                                   if keyword_tangents.get(k) is None else keyword_tangents[k]
                                   for k in where}
    return compiled(*args, **keywords, **tangent_args)


def _plan_jvp(target, positions, given, keywords):
    """The differentiated parameter names of ``target`` for a call, and where each one's
    tangent comes from."""
    rule = tangent_rule(target)
    signature = inspect.signature(rule if rule is not None else target,
                                      follow_wrapped=False)
    params = list(signature.parameters.values())
    var_kw = next((p for p in params if p.kind is p.VAR_KEYWORD), None)
    wrt, slots = positional_slots(params, positions)
    named = {p.name for p in params if p.kind is not p.VAR_POSITIONAL
             and p.kind is not p.VAR_KEYWORD}
    for k in given:
        if k in named:
            wrt.append(k)
            slots.append(("kw", k))
    extra = tuple(k for k in keywords if k not in named)
    if var_kw is not None and any(k not in named for k in given):
        wrt.append(var_kw.name)
        slots.append(("varkw", extra))
    return tuple(wrt), tuple(slots)


