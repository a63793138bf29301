"""Reverse mode through items: reading them, storing them, and growing lists.

Reading an item adds its cotangent into a buffer shaped like the container. Storing one
takes the item's cotangent out (it goes to the stored value) and puts back the value the
store overwrote. ``append`` and ``extend`` are undone by dropping the last items, whose
cotangents go to what was appended.

    y = x[1:3]          ->     dx = np.zeros_like(x)
                               dx[1:3] += dy

    x[1] = v            ->     restore_item(x, 1, x_saved.pop())
                               dv = unbroadcast(take_item(dx, 1), v)
                               clear_item(dx, 1)

    xs.append(v)        ->     dv = take_appended(dxs, 1)[0]
                               drop_last(xs, 1)
"""
from __future__ import annotations

import ast
from typing import List

import gast

from s2s import rules, runtime
from s2s.compiler.frontend.resolve import effect_call_error, getitem_primitive
from s2s.compiler.reverse import cotangents, primitives, saves
from s2s.compiler.reverse.nodes import deep_copy, has_active, index_value, item_of, source_text
from s2s.compiler.reverse.state import ReverseState
from s2s.compiler.syntax import assign, const, name
from s2s.runtime import numpy_helpers

# an item of an object that is not a local, and whose __getitem__ has no rule
JOIN_HINT = ("join them with np.concatenate([...]) or np.hstack([...]) (np.r_), "
             "np.column_stack([...]) or np.stack([...], axis=-1) (np.c_)")


def subscript_adjoint(state: ReverseState, value: gast.Subscript, target: str,
                      dresult: ast.AST, stmt: ast.AST) -> List[ast.AST]:
    """The adjoint of ``y = x[index]``: ``dy`` goes into ``dx[index]``. An index expression
    of an object whose ``__getitem__`` has a rule (``np.r_[a, 1.0, b]``) is that rule's call
    with the index as its argument."""
    base = value.value
    global_item = not isinstance(base, gast.Name) or state.resolver.is_global(base.id)
    if global_item and has_active(value.slice, state.active):
        getitem = getitem_primitive(state.resolver, value,
                                    lambda node: has_active(node, state.active))
        if getitem is None or rules.reverse_rule(getitem) is None:
            raise state.source.error(value, f"{source_text(base)}[...], which builds an array "
                                     "from differentiated values", JOIN_HINT)
        return primitives.apply_rule(state, getitem, [base, index_value(value.slice)], {},
                                     target, dresult, stmt)
    if not isinstance(base, gast.Name) or base.id not in state.active:
        return []
    return item_contribution(state, base.id, value.slice, dresult,
                             basic=_is_basic_index(value.slice))


def item_contribution(state: ReverseState, var: str, index: ast.AST, value: ast.AST,
                      basic: bool, iteration: bool = False) -> List[ast.AST]:
    """``d<var>[index] += value``, into a cotangent buffer owned by the generated code.
    ``iteration``: ``index`` counts the iterations of a loop over ``var`` (a dict's are its
    keys, which take no cotangent)."""
    if var not in state.active:
        return []
    d = state.cotangent(var)
    out: List[ast.AST] = []
    if var not in state.nonzero:
        out.append(assign(d, cotangents.zeros(state, var)))
        state.nonzero.add(var)
        state.owned.add(var)
    elif var not in state.owned:
        out.append(assign(d, state.call_helper("own", runtime.own, [name(d), name(var)])))
        state.owned.add(var)
    if var not in state.trees and basic:
        out.append(gast.AugAssign(
            target=gast.Subscript(value=name(d), slice=deep_copy(index), ctx=gast.Store()),
            op=gast.Add(), value=value))
    elif iteration:
        out.append(gast.Expr(value=state.call_helper(
            "add_at_iteration", runtime.add_at_iteration, [name(d), index_value(index), value])))
    else:
        out.append(gast.Expr(value=state.call_helper(
            "add_at", runtime.add_at, [name(d), index_value(index), value])))
    return out


def store_adjoint(state: ReverseState, stmt) -> List[ast.AST]:
    """``x[i] = v`` reversed: v gets ``dx[i]``, which then goes to zero; x[i] is restored."""
    target = stmt.targets[0]
    var = target.value.id
    if var not in state.active:
        return []
    index = index_value(target.slice)
    out: List[ast.AST] = [gast.Expr(value=state.call_helper(
        "restore_item", runtime.restore_item,
        [name(var), index, saves.pop(state, f"{var}[]")]))]
    if var not in state.nonzero:
        return out
    value = stmt.value
    if has_active(value, state.active):
        taken = state.fresh_temp(f"d{var}_item")
        item = state.call_helper("take_item", runtime.take_item,
                                 [name(state.cotangent(var)), deep_copy(index)])
        out.append(assign(taken, item))
        taken_value: ast.AST = name(taken)
        if isinstance(value, gast.Name) and (value.id not in state.trees
                                             or var not in state.trees):
            # (a value stored into an array is an array or a number, even when it is read
            # from a container) kept only where shapes do not prove dx[i] has v's shape
            check = state.call_helper("unbroadcast", numpy_helpers.unbroadcast,
                                      [deep_copy(item), name(value.id)])
            if primitives.shape_lowering(state, value.id, None).visit(check) is not check.args[0]:
                taken_value = state.call_helper(
                    "unbroadcast", numpy_helpers.unbroadcast, [name(taken), name(value.id)])
        out += cotangents.contribute_to_operand(state, value, taken_value)
    if var not in state.owned:
        out.append(assign(state.cotangent(var), state.call_helper(
            "own", runtime.own, [name(state.cotangent(var)), name(var)])))
        state.owned.add(var)
    # a list's or dict's slot restarts as zeros of the value it held before (restored)
    container = [name(var)] if var in state.trees or var in state.dicts else []
    out.append(gast.Expr(value=state.call_helper(
        "clear_item", runtime.clear_item,
        [name(state.cotangent(var)), deep_copy(index)] + container)))
    return out


def container_adjoint(state: ReverseState, stmt, call) -> List[ast.AST]:
    """``xs.append(v)`` / ``xs.extend(vs)`` reversed: v gets the last items' cotangents."""
    items, method = call.func.value.id, call.func.attr
    if method not in ("append", "extend"):
        raise effect_call_error(state.source, call, receiver=items)
    if method == "append":
        count: ast.AST = const(1)
    else:
        count = gast.Call(func=name(state.bind_free("len", len)), args=[deep_copy(call.args[0])],
                          keywords=[])
    out: List[ast.AST] = []
    if items in state.nonzero:
        parts = state.fresh_temp(f"d{items}_last")
        contributions = (cotangents.contribute_to_operand(state, call.args[0], item_of(name(parts),
                                                                                     const(0)))
                         if method == "append" else
                         cotangents.contribute_to_operand(state, call.args[0], name(parts)))
        if items not in state.owned:
            out.append(assign(state.cotangent(items), state.call_helper(
                "own", runtime.own, [name(state.cotangent(items)), name(items)])))
            state.owned.add(items)
        taken = state.call_helper("take_appended", runtime.take_appended,
                                  [name(state.cotangent(items)), deep_copy(count)])
        if contributions:
            out.append(assign(parts, taken))
            out += contributions
        else:
            out.append(gast.Expr(value=taken))
    out.append(gast.Expr(value=state.call_helper("drop_last", runtime.drop_last,
                                                 [name(items), count])))
    return out


def is_pop(state: ReverseState, value) -> bool:
    """Is ``value`` ``xs.pop()`` of a differentiated local list (generated gradient code pops
    what its forward sweep pushed)?"""
    return (isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute)
            and value.func.attr == "pop" and not value.args and not value.keywords
            and isinstance(value.func.value, gast.Name) and value.func.value.id in state.active
            and value.func.value.id in state.locals)


def pop_adjoint(state: ReverseState, target: str, value: gast.Call) -> List[ast.AST]:
    """``v = xs.pop()`` reversed: v goes back at the end of xs, and v's cotangent at the end
    of xs' cotangent (the list's cotangent grows with it, as ``take_appended`` shrinks it).

        v = xs.pop()    ->    dxs = put_back(dxs, xs, v, dv)
    """
    items = value.func.value.id
    given = name(state.cotangent(items)) if items in state.nonzero else const(None)
    dvalue = name(state.cotangent(target)) if target in state.nonzero else const(None)
    state.kill(target)
    state.nonzero.add(items)
    state.owned.add(items)
    return [assign(state.cotangent(items), state.call_helper(
        "put_back", runtime.put_back, [given, name(items), name(target), dvalue]))]


def is_take_appended(state: ReverseState, value) -> bool:
    """Is ``value`` ``take_appended(xs, n)`` of a differentiated list (gradient code taking
    the cotangents of what was appended)?"""
    return (isinstance(value, gast.Call) and len(value.args) == 2
            and isinstance(value.args[0], gast.Name) and value.args[0].id in state.active
            and state.callee(value) is runtime.take_appended)


def take_appended_adjoint(state: ReverseState, target: str, value: gast.Call
                          ) -> List[ast.AST]:
    """``parts = take_appended(xs, n)`` reversed: the parts go back at the end of xs, and
    their cotangents at the end of xs' cotangent.

        parts = take_appended(xs, 1)    ->    dxs = put_back_all(dxs, xs, parts, dparts)
    """
    items = value.args[0].id
    given = name(state.cotangent(items)) if items in state.nonzero else const(None)
    dvalues = name(state.cotangent(target)) if target in state.nonzero else const(None)
    state.kill(target)
    state.nonzero.add(items)
    state.owned.add(items)
    return [assign(state.cotangent(items), state.call_helper(
        "put_back_all", runtime.put_back_all, [given, name(items), name(target), dvalues]))]


def is_drop_last(state: ReverseState, call) -> bool:
    """Is ``call`` ``drop_last(xs, n)`` of a differentiated list?"""
    return (isinstance(call, gast.Call) and len(call.args) == 2
            and isinstance(call.args[0], gast.Name) and call.args[0].id in state.active
            and state.callee(call) is runtime.drop_last)


def save_dropped(state: ReverseState, stmt) -> List[ast.AST]:
    """Before ``drop_last(xs, n)`` in the primal sweep: keep the items it drops."""
    call = stmt.value
    items = call.args[0].id
    kept = state.call_helper("last_items", runtime.last_items,
                             [name(items), deep_copy(call.args[1])])
    push = gast.Expr(value=gast.Call(
        func=gast.Attribute(value=name(saves.stack_of(state, f"{items}[dropped]")),
                            attr="append", ctx=gast.Load()), args=[kept], keywords=[]))
    return [push, stmt]


def drop_last_adjoint(state: ReverseState, call) -> List[ast.AST]:
    """``drop_last(xs, n)`` reversed: the dropped items come back (saved by
    ``save_dropped``), with zero cotangents (nothing read them after the drop)."""
    items = call.args[0].id
    given = name(state.cotangent(items)) if items in state.nonzero else const(None)
    state.nonzero.add(items)
    state.owned.add(items)
    return [assign(state.cotangent(items), state.call_helper(
        "put_back_all", runtime.put_back_all,
        [given, name(items), saves.pop(state, f"{items}[dropped]"), const(None)]))]


def _is_basic_index(index) -> bool:
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    for part in parts:
        if isinstance(part, gast.Slice):
            continue
        if isinstance(part, gast.Constant) and (part.value is None or part.value is Ellipsis
                                                or type(part.value) is int):
            continue
        if (isinstance(part, gast.UnaryOp) and isinstance(part.op, gast.USub)
                and isinstance(part.operand, gast.Constant) and type(part.operand.value) is int):
            continue
        return False
    return True
