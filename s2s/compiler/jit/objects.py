"""Attributes of Python objects under ``jit=True``: a model's weights (``weights=``).

Numba cannot read an attribute of a Python object, and s2s's weights report their
cotangents to the Python caller by identity (``weight_cotangent``). So each attribute read
of an object (``m.w``, ``m.inner.s``) becomes an argument of the Numba code, read by the
caller on every call (``attribute_reads``), and the cotangents the code would report are
summed and returned with its result (``returned_cotangents``); the caller reports them for
the values it passed:

    def grad_g(x):                           def grad_g(x, m_w):
        ...                                      dm_w = zeros_like(m_w)
        y_w = m.w                    ->          ...
        ...                                      y_w = m_w
        weight_cotangent(y_w, dy_w)              ...
        ...                                      dm_w = add(dm_w, dy_w)
        return (out, dx)                         return ((out, dx), (dm_w,))
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Set, Tuple

import gast

from s2s.compiler import syntax
from s2s.compiler.jit.dialect import Refused


def attribute_reads(functions: List[gast.FunctionDef],
                    is_data: Callable[[str, Tuple[str, ...]], bool],
                    used: Set[str]) -> List[Tuple[str, str, Tuple[str, ...]]]:
    """Replace each read ``root.a.b`` of an object's attributes that holds data
    (``is_data(root, (a, b))``) by a new name, in place; returns (name, root, attributes)
    for each chain read."""
    found: Dict[Tuple[str, Tuple[str, ...]], str] = {}
    for function in functions:
        for node in syntax.walk(function):
            for field, value in list(_children(node)):
                chain = _chain(value)
                if chain is None or not is_data(*chain):
                    continue
                param = found.get(chain)
                if param is None:
                    param = found[chain] = _fresh("_".join((chain[0],) + chain[1]), used)
                replacement = syntax.name(param)
                if isinstance(field, tuple):
                    getattr(node, field[0])[field[1]] = replacement
                else:
                    setattr(node, field, replacement)
    return [(param, root, attrs) for (root, attrs), param in found.items()]


def returned_cotangents(fn: gast.FunctionDef, reads: List[str], zeros_like: str,
                        add: str) -> List[str]:
    """Rewrite each ``weight_cotangent(held, dheld)`` of ``fn`` into a sum for the
    attribute read ``held`` holds (one of ``reads``), and return the sums with the result;
    the names of the reads whose sums are returned, in order. ``zeros_like`` and ``add``
    name s2s's run-time helpers in ``fn``. Raises ``Refused`` where the read behind
    ``held`` is not known."""
    sources = _sources(fn)
    used = syntax.names_in(fn)
    sums = {r: _fresh(f"d{r}", used) for r in reads}
    reported: List[str] = []
    for statement in syntax.walk_statements(fn.body):
        for field in ("body", "orelse"):
            block = getattr(statement, field, None)
            if isinstance(block, list):
                block[:] = [_summed(s, sources, sums, reported, add) for s in block]
    fn.body[:] = [_summed(s, sources, sums, reported, add) for s in fn.body]
    if not reported:
        return []
    last = fn.body[-1]
    if not isinstance(last, gast.Return) or any(
            isinstance(s, gast.Return) for s in syntax.walk_statements(fn.body[:-1])):
        raise Refused("a weight's gradient in a function with several returns", last,
                      "pass the weights as arguments")
    returned = gast.Tuple(elts=[syntax.name(sums[r]) for r in reported], ctx=gast.Load())
    last.value = gast.Tuple(elts=[last.value or syntax.const(None), returned],
                            ctx=gast.Load())
    start = 1 if isinstance(fn.body[0], gast.Expr) \
        and isinstance(fn.body[0].value, gast.Constant) else 0       # after the docstring
    fn.body[start:start] = [
        syntax.assign(sums[r], gast.Call(func=syntax.name(zeros_like),
                                         args=[syntax.name(r)], keywords=[]))
        for r in reported]
    return reported


def _summed(statement, sources: Dict[str, Set[str]], sums: Dict[str, str],
            reported: List[str], add: str):
    call = statement.value if isinstance(statement, gast.Expr) else None
    if not (isinstance(call, gast.Call) and isinstance(call.func, gast.Name)
            and call.func.id == "weight_cotangent" and len(call.args) == 2):
        return statement
    held = call.args[0]
    found = sources.get(held.id, set()) & set(sums) if isinstance(held, gast.Name) else set()
    if len(found) != 1 or not isinstance(held, gast.Name) \
            or sources[held.id] - found - {"<none>", "<pop>"}:
        raise Refused("a weight read where s2s cannot tell which attribute it is", statement,
                      "read the weight into a name of its own (w = model.w), or pass it as "
                      "an argument")
    read = found.pop()
    if read not in reported:
        reported.append(read)
    made = syntax.assign(sums[read], gast.Call(func=syntax.name(add),
                                               args=[syntax.name(sums[read]), call.args[1]],
                                               keywords=[]))
    made.user_line = getattr(statement, "user_line", None)
    return made


def _sources(fn: gast.FunctionDef) -> Dict[str, Set[str]]:
    """{name: what is assigned to it}: a name read, '<none>', '<pop>' (a stack's value back),
    or '<other>'."""
    sources: Dict[str, Set[str]] = {}
    for statement in syntax.walk_statements(fn.body):
        if not isinstance(statement, gast.Assign):
            continue
        for target in statement.targets:
            if not isinstance(target, gast.Name):
                for node in syntax.walk(target):
                    if isinstance(node, gast.Name):
                        sources.setdefault(node.id, set()).add("<other>")
                continue
            value = statement.value
            if isinstance(value, gast.Name):
                kind = value.id
            elif isinstance(value, gast.Constant) and value.value is None:
                kind = "<none>"
            elif isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) \
                    and value.func.attr == "pop" and not value.args:
                kind = "<pop>"
            else:
                kind = "<other>"
            sources.setdefault(target.id, set()).add(kind)
    return sources


def _children(node):
    """(field, value) for each expression directly below ``node``; a list's item as
    ((field, index), value)."""
    for field in syntax.child_fields(type(node)):
        value = getattr(node, field, None)
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, gast.expr):
                    yield (field, i), item
        elif isinstance(value, gast.expr):
            yield field, value


def _chain(node) -> Optional[Tuple[str, Tuple[str, ...]]]:
    """``(root, (a, b))`` for a read ``root.a.b``, else None."""
    attrs: List[str] = []
    while isinstance(node, gast.Attribute) and isinstance(node.ctx, gast.Load):
        attrs.append(node.attr)
        node = node.value
    if not attrs or not isinstance(node, gast.Name):
        return None
    return node.id, tuple(reversed(attrs))


def _fresh(base: str, used: Set[str]) -> str:
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}_{n}", n + 1
    used.add(candidate)
    return candidate
