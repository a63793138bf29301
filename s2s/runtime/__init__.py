"""Helpers that generated gradient code calls at run time.

This module is the hot path: every function here is small, does a cheap type or shape check
first, and never copies what it does not have to. The transformer only emits a call to a
helper where it could not decide the answer at transform time.
"""
from __future__ import annotations

import numpy as np

_ndarray = np.ndarray
_generic = np.generic


def ones_like(value):
    """The seed cotangent of an output: ones with its shape and dtype (a pytree of ones)."""
    kind = type(value)
    if kind is float or kind is int or kind is bool:
        return 1.0
    if isinstance(value, _generic):
        return value.dtype.type(1)
    if kind is _ndarray:
        return np.ones_like(value)
    if kind is tuple or kind is list:
        return kind(ones_like(v) for v in value)
    if kind is dict:
        return {k: ones_like(v) for k, v in value.items()}
    return np.ones_like(value)


def shape_of(value):
    """What the adjoint keeps of a value it only needs the shape of: ``(shape, dtype)``."""
    if type(value) is _ndarray:
        return value.shape, value.dtype
    return value


def zeros_like(value):
    """A zero cotangent for ``value``; containers get mutable containers of zeros."""
    kind = type(value)
    if kind is float or kind is int or kind is bool:
        return 0.0
    if kind is _ndarray:
        if value.dtype.kind in "fc":
            return np.zeros_like(value)
        return np.zeros(value.shape)
    if isinstance(value, _generic):
        return value.dtype.type(0) if value.dtype.kind in "fc" else 0.0
    if kind is tuple or kind is list:
        return [zeros_like(v) for v in value]
    if kind is dict:
        return {k: zeros_like(v) for k, v in value.items()}
    if isinstance(value, _ndarray):
        return np.zeros(value.shape, value.dtype if value.dtype.kind in "fc" else float)
    if isinstance(value, (tuple, list)):        # named tuples such as slogdet's result
        return [zeros_like(v) for v in value]
    if isinstance(value, dict):
        return {k: zeros_like(v) for k, v in value.items()}
    return 0.0


def add(a, b):
    """``a + b`` for cotangents that may be pytrees (``None`` stands for zero)."""
    if a is None or type(a) is float and a == 0.0 and type(b) is dict:
        return b
    if b is None or type(b) is float and b == 0.0 and type(a) is dict:
        return a
    kind = type(a)
    if kind is list or kind is tuple:
        return [add(x, y) for x, y in zip(a, b)]
    if kind is dict:
        out = dict(a)
        for k, v in b.items():
            out[k] = add(out.get(k), v)
        return out
    return a + b


def _is_basic_index(key) -> bool:
    kind = type(key)
    if kind is int or kind is slice or key is None or key is Ellipsis:
        return True
    if kind is tuple:
        for k in key:
            t = type(k)
            if not (t is int or t is slice or k is None or k is Ellipsis):
                return False
        return True
    return isinstance(key, (np.integer,))


def add_at(buffer, key, value):
    """``buffer[key] += value`` that also accumulates repeated indices and pytree items.

    ``buffer`` is a cotangent owned by the generated code (never a user's array).
    """
    if type(buffer) is _ndarray:
        if _is_basic_index(key):
            buffer[key] += value
        else:
            np.add.at(buffer, key, value)
    else:
        buffer[key] = add(buffer[key], value)
    return buffer


def own(cotangent, primal):
    """A private copy of a cotangent that generated code is about to update in place."""
    kind = type(cotangent)
    if kind is _ndarray:
        return cotangent.copy()
    if kind is list or kind is tuple:
        return [own(c, p) for c, p in zip(cotangent, primal)]
    if kind is dict:
        return {k: own(c, primal[k]) for k, c in cotangent.items()}
    if kind is float or isinstance(cotangent, _generic):
        # a scalar standing for a whole array's cotangent: spread it to the primal's shape
        if isinstance(primal, _ndarray):
            full = zeros_like(primal)
            full += cotangent
            return full
        if type(primal) in (list, tuple, dict):
            return zeros_like(primal)       # only a zero stands for a container
        return cotangent
    return cotangent


def restructure(cotangent, primal):
    """Give a pytree cotangent the container types of its primal (lists back to tuples)."""
    kind = type(primal)
    if kind is tuple:
        return tuple(restructure(c, p) for c, p in zip(cotangent, primal))
    if kind is list:
        return [restructure(c, p) for c, p in zip(cotangent, primal)]
    if kind is dict:
        return {k: restructure(cotangent[k], p) for k, p in primal.items()}
    return cotangent


def broadcast_like(tangent, primal):
    """``tangent`` with ``primal``'s shape (a read-only view when it had to grow).

    Forward-mode code calls it where a zero term dropped at transform time may have taken the
    shape of a sum with it: ``z = x + b`` with ``b`` constant has ``dz = dx``, smaller than
    ``z`` when ``b`` broadcast ``x``.
    """
    kind = type(primal)
    if kind is tuple or kind is list:
        return kind(broadcast_like(t, p) for t, p in zip(tangent, primal))
    if kind is dict:
        return {k: broadcast_like(tangent[k], p) for k, p in primal.items()}
    shape = np.shape(primal)
    if np.shape(tangent) == shape:
        return tangent
    return np.broadcast_to(tangent, shape)


# -- calls whose target is only known at run time --------------------------------------------
_vjp_cache: dict = {}


def _target(fn):
    """The Python function behind a callable, and the object it is bound to (or None)."""
    import types
    from s2s.api.grad import GradFunction, as_function
    if isinstance(fn, GradFunction):
        return as_function(fn), None        # a gradient inside a gradient: its generated code
    if isinstance(fn, types.MethodType):
        return fn.__func__, fn.__self__
    if isinstance(fn, types.FunctionType):
        return fn, None
    call = getattr(type(fn), "__call__", None)
    if isinstance(call, types.FunctionType):
        return call, fn
    return fn, None


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
    target, bound = _target(fn)
    if callee_active and getattr(target, "__closure__", None):
        # gradients also flow to the float and array values the function closes over
        free = free + tuple(n for n, c in zip(target.__code__.co_freevars, target.__closure__)
                            if n not in free and _carries_gradient(c))
    if bound is not None:
        args = (bound,) + args
        positions = tuple(p + 1 for p in positions)
    key = (getattr(target, "__code__", target), positions, keywords, len(args), weights, free)
    plan = _vjp_cache.get(key)
    if plan is None or plan[0] is not target:
        plan = _vjp_cache[key] = (target,) + _plan_vjp(target, positions, keywords, len(args),
                                                       weights, free)
    _, compiled, names, slots = plan
    value, pullback = compiled(*args, **kwargs)
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
    return type(value) is float or isinstance(value, (_ndarray, np.floating))


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


def _plan_vjp(target, positions, keywords, n_args, weights, free=()):
    import inspect
    from s2s import rules
    from s2s.api.grad import vjp_of
    rule = rules.reverse_rule(target)
    try:
        # a primitive is called through its rule, whose parameters mirror it
        signature = inspect.signature(rule if rule is not None else target)
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
    compiled = vjp_of(target, tuple(names), weights=weights)
    return compiled, tuple(names), tuple(slots)


# -- gradients of parameters reached through objects ----------------------------------------
_weight_sinks: list = []


def weight_cotangent(value, cotangent):
    """Report a cotangent for ``value`` if it is one of the weights being differentiated."""
    if _weight_sinks:
        entry = _weight_sinks[-1].get(id(value))
        if entry is not None and entry[0] is value:
            entry[1] = cotangent if entry[1] is None else entry[1] + cotangent


# -- containers and arrays updated in place ---------------------------------------------------
MISSING = object()


def fresh_copy(value):
    """A private copy of an input the generated code will update in place."""
    kind = type(value)
    if kind is list:
        return list(value)
    if kind is dict:
        return dict(value)
    if isinstance(value, _ndarray):
        return np.array(value)
    return value


def saved_item(container, key):
    """What ``container[key]`` holds before it is overwritten (a copy for arrays)."""
    if isinstance(container, _ndarray):
        item = container[key]
        return item.copy() if type(item) is _ndarray else item   # scalars are immutable
    if type(container) is dict:
        return container.get(key, MISSING)
    return container[key]


def restore_item(container, key, old):
    if old is MISSING:
        del container[key]
    else:
        container[key] = old


def item_or_zero(cotangent, key):
    """``cotangent[key]``, or zero where the cotangent has no entry for it."""
    if type(cotangent) is dict:
        value = cotangent.get(key)
        return 0.0 if value is None else value
    if type(cotangent) is float:
        return 0.0
    return cotangent[key]


def take_item(cotangent, key):
    """``cotangent[key]`` as a value of its own (zero when the cotangent is a scalar zero)."""
    if isinstance(cotangent, _ndarray):
        item = cotangent[key]
        return item.copy() if type(item) is _ndarray else item
    if type(cotangent) is float:
        return 0.0
    value = cotangent[key]
    return 0.0 if value is None else value


def clear_item(cotangent, key):
    """The overwritten slot had no effect on the output: its cotangent is zero."""
    if isinstance(cotangent, _ndarray):
        cotangent[key] = 0
    elif type(cotangent) is not float:
        cotangent[key] = 0.0


def take_appended(cotangent, count):
    """Remove and return the cotangents of a list's last ``count`` items (zeros if none).

    The cotangent list shrinks with the primal list, so indices like ``ys[-1]`` keep
    meaning the same item in both.
    """
    if type(cotangent) is list:
        taken = cotangent[len(cotangent) - count:]
        del cotangent[len(cotangent) - count:]
        return [0.0 if c is None else c for c in taken]
    return [0.0] * count


def drop_last(items, count):
    """Undo ``append``/``extend``: remove the last ``count`` items."""
    del items[len(items) - count:]
