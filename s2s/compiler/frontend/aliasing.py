"""Updates in place that another name would see: refused, with the line and a way out.

s2s differentiates values, not objects. ``y[i] = v`` changes the array ``y`` names, and
NumPy's ``y += v`` does too, so a second name bound to the same array (``z = y``, a view
``z = y[1:]`` or ``z = y.T``, a loop variable over ``y``, a list holding ``y``) sees the new
values. The gradient would miss that dependence, and ``y += v`` is taken as ``y = y + v``.
So when a name that shares its object with the updated one is read afterwards, the
transform stops here instead of returning a wrong gradient:

    z = y                 s2s error: y[0] = 5.0 changes the array that z refers to too
    y[0] = 5.0     ->     (z = y, line 2), and z is read afterwards; hint: copy first,
    return np.sum(z * y)  z = y.copy(), or build a new array instead of updating this one
"""
from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import gast

from s2s.compiler import syntax
from s2s.compiler.frontend.parse import Source

# NumPy functions and methods whose result may share memory with their argument
_VIEWS = {"asarray", "asanyarray", "reshape", "ravel", "transpose", "squeeze",
          "expand_dims", "broadcast_to", "atleast_1d", "atleast_2d", "atleast_3d", "moveaxis",
          "swapaxes", "diagonal", "real", "imag", "view", "T", "flat"}
_CONTAINER_METHODS = {"append", "extend", "insert"}


def check_aliasing(source: Source, fn: gast.FunctionDef, arrays: Dict[str, int] = None
                   ) -> None:
    """Raise an ``UnsupportedSyntaxError`` where an in-place update is seen through another
    name that is read afterwards. ``arrays``: parameters known to be arrays, with their
    number of dimensions (``x += v`` on a number makes a new number, so it only counts for
    names known to hold arrays; ``x[0]`` of a vector is a number, not a view)."""
    if getattr(source.fn, "__s2s_gradient_code__", False):
        # a gradient's own code (not a function of the user's that it holds), differentiated again: its reverse sweep puts every
        # overwritten item back before it reads a name bound before the update, so a view
        # read there sees the values it was bound with
        return
    steps = _linear(fn.body, ())
    shared: Dict[str, Set[str]] = {}            # name -> names bound to the same object
    origin: Dict[Tuple[str, str], gast.AST] = {}    # where two names came to share
    known = _Kinds(arrays or {})
    for at, (stmt, loops) in enumerate(steps):
        updated = _updated(stmt, known)
        if updated is not None:
            # d["b"] = v puts a new object in a slot of the list or dict d: the objects d
            # holds (other names' values) are not changed, only names bound to d itself
            slot = _slot_replaced(stmt, known)
            for other in sorted(shared.get(updated, set()) - {updated}):
                if slot and (updated, other) in known.held:
                    continue
                read = _read_later(steps, at, other, loops)
                if read is not None:
                    raise _error(source, stmt, updated, other, origin.get((updated, other)))
        _bind(stmt, shared, origin, known)
        known.update(stmt)


_CREATORS = {"zeros", "ones", "empty", "full", "array", "zeros_like", "ones_like",
             "empty_like", "full_like", "arange", "linspace", "eye", "identity", "copy",
             "asarray", "stack", "concatenate", "vstack", "hstack"}


class _Kinds:
    """Names known to hold arrays, and names known to hold lists or dicts (containers keep
    the objects stored into them; arrays copy the values)."""

    def __init__(self, arrays: Dict[str, int]):
        self.arrays = set(arrays)
        self.ndims = dict(arrays)           # parameters of known dimensions, until rebound
        self.containers: Set[str] = set()
        # (container, name): the container (a list or dict display) holds name's object
        self.held: Set[Tuple[str, str]] = set()

    def is_array(self, value) -> bool:
        if isinstance(value, gast.Name):
            return value.id in self.arrays
        if isinstance(value, gast.BinOp):
            return self.is_array(value.left) or self.is_array(value.right)
        if isinstance(value, gast.UnaryOp):
            return self.is_array(value.operand)
        if isinstance(value, gast.Call):
            func = value.func
            if isinstance(func, gast.Attribute) and _is_module(func.value):
                return func.attr in _CREATORS or any(self.is_array(a) for a in value.args)
            if isinstance(func, gast.Attribute) and func.attr in ("copy", "reshape", "T"):
                return self.is_array(func.value)
        if isinstance(value, gast.Attribute) and value.attr == "T":
            return self.is_array(value.value)
        if isinstance(value, gast.Subscript) and not (
                isinstance(value.value, gast.Name) and value.value.id in self.containers):
            # y[1:], y[:, 0], y[..., None]: a slice of anything but a list is an array view
            parts = value.slice.elts if isinstance(value.slice, gast.Tuple) else [value.slice]
            return self.is_array(value.value) or any(
                isinstance(p, gast.Slice) or isinstance(p, gast.Constant)
                and (p.value is None or p.value is Ellipsis) for p in parts)
        return False

    def update(self, stmt) -> None:
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], gast.Name):
            target, value = stmt.targets[0].id, stmt.value
            (self.arrays.add if self.is_array(value) else self.arrays.discard)(target)
            self.ndims.pop(target, None)
            container = isinstance(value, (gast.List, gast.Dict, gast.ListComp)) or (
                isinstance(value, gast.Call) and getattr(value.func, "id", None)
                in ("list", "dict"))
            (self.containers.add if container else self.containers.discard)(target)


def _linear(stmts, loops) -> List[Tuple[gast.AST, tuple]]:
    """Statements in textual order, each with the loops around it."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, (gast.For, gast.While)):
            out.append((stmt, loops))
            out += _linear(stmt.body, loops + (id(stmt),))
            out += _linear(stmt.orelse, loops)
        elif isinstance(stmt, gast.If):
            out.append((stmt, loops))
            out += _linear(stmt.body, loops)
            out += _linear(stmt.orelse, loops)
        elif not isinstance(stmt, (gast.FunctionDef, gast.Lambda)):
            out.append((stmt, loops))
    return out


def _updated(stmt, known: _Kinds) -> Optional[str]:
    """The name whose object ``stmt`` changes in place: ``y[i] = v``, ``y[i] += v``,
    ``y += v`` (in place for arrays and lists), ``np.add.at(y, i, v)``."""
    if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
        func, args = stmt.value.func, stmt.value.args
        if (isinstance(func, gast.Attribute) and func.attr == "at" and args
                and isinstance(func.value, gast.Attribute) and func.value.attr == "add"
                and _is_module(func.value.value) and isinstance(args[0], gast.Name)):
            return args[0].id
    if isinstance(stmt, gast.Assign):
        for target in stmt.targets:
            if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
                return target.value.id
    if isinstance(stmt, gast.AugAssign):
        target = stmt.target
        if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
            return target.value.id
        if isinstance(target, gast.Name) and (target.id in known.arrays
                                              or target.id in known.containers):
            return target.id
    return None


# index arrays: an item taken with one of these is a copy
_INDEX_MAKERS = {"array", "asarray", "arange", "argsort", "nonzero", "flatnonzero", "where"}


def _copies(item: gast.Subscript, known: Optional[_Kinds]) -> bool:
    """Does ``y[index]`` make a new object: a fancy index (a list, an index array, a
    mask), or one int per dimension of a parameter of known dimensions (a number)?"""
    parts = item.slice.elts if isinstance(item.slice, gast.Tuple) else [item.slice]
    for p in parts:
        if isinstance(p, (gast.List, gast.ListComp, gast.Compare)) or (
                isinstance(p, gast.Call) and isinstance(p.func, gast.Attribute)
                and _is_module(p.func.value) and p.func.attr in _INDEX_MAKERS):
            return True
    if known is None or not isinstance(item.value, gast.Name) \
            or item.value.id not in known.ndims:
        return False
    basic = all(not isinstance(p, gast.Slice) and not (
        isinstance(p, gast.Constant) and (p.value is None or p.value is Ellipsis))
        for p in parts)
    return basic and len(parts) == known.ndims[item.value.id]


def _shares_with(value, known: Optional[_Kinds] = None) -> Set[str]:
    """Names whose object the value of this expression may be, or be part of, or view."""
    if isinstance(value, gast.Name):
        return {value.id}
    if isinstance(value, gast.Subscript):
        return set() if _copies(value, known) else _shares_with(value.value)
    if isinstance(value, gast.Attribute):
        return _shares_with(value.value) if value.attr in _VIEWS else set()
    if isinstance(value, (gast.Tuple, gast.List)):
        return set().union(*(_shares_with(e) for e in value.elts)) if value.elts else set()
    if isinstance(value, gast.Dict):
        return set().union(*(_shares_with(v) for v in value.values)) if value.values else set()
    if isinstance(value, gast.Call):
        func = value.func
        label = func.attr if isinstance(func, gast.Attribute) else getattr(func, "id", None)
        if label in _VIEWS:
            names = set().union(*(_shares_with(a) for a in value.args)) if value.args else set()
            if isinstance(func, gast.Attribute) and not _is_module(func.value):
                names |= _shares_with(func.value)            # y.reshape(...)
            return names
    if isinstance(value, gast.IfExp):
        return _shares_with(value.body) | _shares_with(value.orelse)
    return set()


def _is_module(node) -> bool:
    return isinstance(node, gast.Name) and node.id in ("np", "numpy")


def _slot_replaced(stmt, known: _Kinds) -> bool:
    """``c[k] = v`` on a name known to hold a list or dict."""
    return isinstance(stmt, gast.Assign) and any(
        isinstance(t, gast.Subscript) and isinstance(t.value, gast.Name)
        and t.value.id in known.containers for t in stmt.targets)


def _bind(stmt, shared, origin, known: _Kinds) -> None:
    """Update which names share objects after ``stmt``."""
    pairs: List[Tuple[str, Set[str]]] = []
    if isinstance(stmt, gast.Assign):
        sources = _shares_with(stmt.value, known)
        for target in stmt.targets:
            if isinstance(target, gast.Name):
                pairs.append((target.id, sources))
            elif isinstance(target, (gast.Tuple, gast.List)):
                for elt in target.elts:
                    if isinstance(elt, gast.Name):
                        pairs.append((elt.id, sources))
            elif isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name) \
                    and target.value.id in known.containers:
                # a list or dict keeps the object; an array would copy the values
                _join(target.value.id, sources, shared, origin, stmt, rebind=False)
    elif isinstance(stmt, gast.For):
        targets = [n.id for n in syntax.walk(stmt.target) if isinstance(n, gast.Name)]
        pairs += [(t, _shares_with(stmt.iter)) for t in targets]
    elif isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
        func = stmt.value.func
        if isinstance(func, gast.Attribute) and func.attr in _CONTAINER_METHODS \
                and isinstance(func.value, gast.Name) and func.value.id in known.containers:
            held = set().union(*(_shares_with(a) for a in stmt.value.args)) \
                if stmt.value.args else set()
            _join(func.value.id, held, shared, origin, stmt, rebind=False)
    for target, sources in pairs:
        known.held = {pair for pair in known.held if target not in pair}
        _join(target, sources, shared, origin, stmt, rebind=True)
        if isinstance(getattr(stmt, "value", None), (gast.List, gast.Tuple, gast.Dict)):
            known.held |= {(target, other) for other in shared.get(target, ()) if other != target}


def _join(name: str, sources: Set[str], shared, origin, stmt, rebind: bool) -> None:
    if rebind:                      # the name leaves the objects it shared before
        for other in shared.pop(name, set()):
            shared.get(other, set()).discard(name)
    group = {name}
    for source in sources - {name}:
        group |= shared.get(source, {source})
    if len(group) == 1:
        return
    for member in group:
        shared.setdefault(member, {member}).update(group)
        for other in group - {member}:
            origin.setdefault((member, other), stmt)


def _read_later(steps, at: int, name: str, loops: tuple) -> Optional[gast.AST]:
    """The first statement run after ``steps[at]`` that reads ``name`` before rebinding it:
    the statements that follow, and inside a loop also the loop's statements before ``at``
    (they come again on the next pass)."""
    runs = [range(at + 1, len(steps))]
    if loops:
        outer = loops[0]
        inside = [i for i in range(len(steps)) if outer in steps[i][1]]
        runs.append([i for i in inside if i > at] + [i for i in inside if i < at])
    for run in runs:
        for i in run:
            stmt = steps[i][0]
            if any(isinstance(n, gast.Name) and n.id == name
                   and not isinstance(n.ctx, gast.Store) for n in _own_nodes(stmt)):
                return stmt
            if _rebinds(stmt, name):
                break
    return None


def _own_nodes(stmt):
    """The nodes of ``stmt`` without its nested statement bodies (they are steps too)."""
    if isinstance(stmt, gast.For):
        return list(syntax.walk(stmt.iter))
    if isinstance(stmt, (gast.While, gast.If)):
        return list(syntax.walk(stmt.test))
    return list(syntax.walk(stmt))


def _rebinds(stmt, name: str) -> bool:
    return isinstance(stmt, gast.Assign) and any(
        isinstance(t, gast.Name) and t.id == name for t in stmt.targets)


def _error(source: Source, stmt, updated: str, other: str, where: Optional[gast.AST]):
    line = getattr(where, "lineno", None)
    since = f" (since line {line})" if line is not None else ""
    return source.error(
        stmt, f"an update in place of '{updated}' while '{other}' refers to the same "
              f"object{since}",
        f"'{other}' is read afterwards and would see the new values, which the gradient "
        f"cannot follow: copy first ({other} = {updated}.copy()), or compute a new array "
        f"({updated} = {updated} + ...) instead of updating this one")
