"""Calls of user functions under ``jit=True``: pullbacks as functions of their own.

In: the gast ``FunctionDef`` of a callee's generated forward sweep (``vjp_g``), which
returns its pullback, a closure. Numba cannot return a closure, so the callee's Numba
version returns what the pullback reads of it (its residuals), and the pullback becomes a
function of its own that takes them as its last argument:

    def vjp_g(v):                          def vjp_g(v):
        cond = v > 0                           cond = v > 0
        ...                                    ...
        def pullback_g(dresult):      ->       return (result, (cond, v))
            ... cond ... v ...
            return (dv,)                   def pullback_g(dresult, residuals):
        return (result, pullback_g)            cond = residuals[0]
                                               v = residuals[1]
                                               ... cond ... v ...
                                               return (dv,)

A caller then holds the residuals where it held the pullback, and calls the pullback
function with them (``pullback_calls``):

    y, y_pullback = vjp_g(y)               y, y_pullback = vjp_g(y)
    dy = y_pullback(dy)[0]          ->     dy = pullback_g(dy, y_pullback)[0]
"""
from __future__ import annotations

from typing import Dict, List, Optional, Set

import gast

from s2s.compiler import syntax


def lift_pullback(fn: gast.FunctionDef) -> Optional[gast.FunctionDef]:
    """Take the pullback out of ``fn`` (in place) and return it as a function of its own,
    or None where ``fn`` defines none. The pullback is the ``def`` that the final
    ``return (value, pullback)`` returns."""
    body = fn.body
    if not body or not isinstance(body[-1], gast.Return):
        return None
    returned = body[-1].value
    if not (isinstance(returned, gast.Tuple) and len(returned.elts) == 2
            and isinstance(returned.elts[1], gast.Name)):
        return None
    pullback_name = returned.elts[1].id
    found = [s for s in body if isinstance(s, gast.FunctionDef) and s.name == pullback_name]
    if len(found) != 1:
        return None
    pullback = found[0]
    body.remove(pullback)
    bound_before = _bound_names(fn)
    # a name the pullback declares nonlocal starts from the forward sweep's value too
    shared = [n for s in syntax.walk_statements(pullback.body) if isinstance(s, gast.Nonlocal)
              for n in s.names]
    _drop_nonlocal(pullback)
    residuals = [n for n in _free_loads(pullback) + shared if n in bound_before]
    residuals = list(dict.fromkeys(residuals))
    certain = set(_params(fn)) | {n for s in body if isinstance(s, gast.Assign)
                                  for t in s.targets for n in _stored(t)}
    # a residual bound on one branch only: None on the others (the pullback reads it on
    # the branch that bound it), as the closure's cell would be empty
    start = 1 if body and isinstance(body[0], gast.Expr) \
        and isinstance(body[0].value, gast.Constant) else 0       # after the docstring
    body[start:start] = [syntax.assign(n, syntax.const(None))
                         for n in residuals if n not in certain]
    returned.elts[1] = gast.Tuple(elts=[syntax.name(n) for n in residuals], ctx=gast.Load())
    holder = _fresh("residuals", syntax.names_in(pullback) | bound_before)
    pullback.args.args.append(syntax.name(holder, gast.Param()))
    if residuals:
        # unpacked whole: Numba lowers no item read of the Optional a stack's None makes
        unpack = gast.Assign(targets=[gast.Tuple(elts=[syntax.name(n, gast.Store())
                                                       for n in residuals],
                                                 ctx=gast.Store())],
                             value=syntax.name(holder), type_comment=None)
        unpack.user_line = getattr(pullback, "user_line", None)
        pullback.body.insert(0, unpack)
    return pullback


def add_residuals(fn: gast.FunctionDef, pullback: gast.FunctionDef, names: List[str]) -> None:
    """The forward sweep ``fn`` also hands ``names`` (its own parameters) to its lifted
    ``pullback``, which reads them."""
    residuals = fn.body[-1].value.elts[1]
    holder = pullback.args.args[-1].id
    first = pullback.body[0] if pullback.body else None
    if not (isinstance(first, gast.Assign) and isinstance(first.value, gast.Name)
            and first.value.id == holder):
        first = gast.Assign(targets=[gast.Tuple(elts=[], ctx=gast.Store())],
                            value=syntax.name(holder), type_comment=None)
        first.user_line = getattr(pullback, "user_line", None)
        pullback.body.insert(0, first)
    for n in names:
        residuals.elts.append(syntax.name(n))
        first.targets[0].elts.append(syntax.name(n, gast.Store()))


def _drop_nonlocal(fn: gast.FunctionDef) -> None:
    for statement in [fn] + list(syntax.walk_statements(fn.body)):
        for field in ("body", "orelse"):
            block = getattr(statement, field, None)
            if isinstance(block, list) and block:
                block[:] = [s for s in block if not isinstance(s, gast.Nonlocal)] \
                    or [gast.Pass()]


def range_names(fn: gast.FunctionDef) -> Set[str]:
    """The names ``fn`` binds to ``range(...)``."""
    return {s.targets[0].id for s in syntax.walk_statements(fn.body)
            if isinstance(s, gast.Assign) and len(s.targets) == 1
            and isinstance(s.targets[0], gast.Name) and isinstance(s.value, gast.Call)
            and isinstance(s.value.func, gast.Name) and s.value.func.id == "range"}


def pullback_variables(fn: gast.FunctionDef, lifted: Dict[str, str]) -> Dict[str, str]:
    """{name that holds a callee's residuals: its pullback function}, for the calls
    ``value, name = callee(...)`` of ``fn`` whose callee's pullback was lifted (``lifted``:
    {callee's name in ``fn``: its pullback's name})."""
    found: Dict[str, str] = {}
    for statement in syntax.walk_statements(fn.body):
        if isinstance(statement, gast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], gast.Tuple) \
                and len(statement.targets[0].elts) == 2 \
                and isinstance(statement.targets[0].elts[1], gast.Name) \
                and isinstance(statement.value, gast.Call) \
                and isinstance(statement.value.func, gast.Name) \
                and statement.value.func.id in lifted:
            found[statement.targets[0].elts[1].id] = lifted[statement.value.func.id]
    return found


def pullback_calls(fn: gast.FunctionDef, variables: Dict[str, str]) -> None:
    """``held(cotangent)`` becomes ``pullback(cotangent, held)`` for each name ``held`` of
    ``variables`` ({name: pullback function}), in place."""
    for node in syntax.walk(fn):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
                and node.func.id in variables:
            held = node.func.id
            node.func = syntax.name(variables[held])
            node.args = list(node.args) + [syntax.name(held)]


def _params(fn: gast.FunctionDef) -> List[str]:
    args = fn.args
    return [a.id for a in args.posonlyargs + args.args + args.kwonlyargs]


def _stored(target) -> List[str]:
    return [n.id for n in syntax.walk(target)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)]


def _bound_names(fn: gast.FunctionDef) -> Set[str]:
    """The parameters of ``fn`` and the names its body binds (not inside nested defs)."""
    bound = set(_params(fn))
    for statement in syntax.walk_statements(fn.body):
        if isinstance(statement, gast.FunctionDef):
            bound.add(statement.name)
            continue
        for field in ("targets", "target"):
            value = getattr(statement, field, None)
            for target in (value if isinstance(value, list) else [value] if value else []):
                bound.update(_stored(target))
    return bound


def _free_loads(fn: gast.FunctionDef) -> List[str]:
    """The names ``fn`` reads and does not bind itself, in the order first read."""
    own = set(_params(fn))
    for node in syntax.walk(fn):
        if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Del)):
            own.add(node.id)
    loads: Dict[str, None] = {}
    for node in syntax.walk(fn):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) \
                and node.id not in own:
            loads.setdefault(node.id, None)
    return list(loads)


def _fresh(base: str, used: Set[str]) -> str:
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}_{n}", n + 1
    return candidate
