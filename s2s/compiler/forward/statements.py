"""Forward mode of straight-line statements: each one is followed by its tangent.

    y = np.sin(x)          ->   y = np.sin(x)
                                dy = dx * np.cos(x)
    buf[i] = y             ->   buf[i] = y
                                dbuf[i] = dy
    items.append(y)        ->   items.append(y)
                                ditems.append(dy)
    return y               ->   return (y, dy)

The tangent of a right-hand side comes from the rule of its operator or call (``calls``),
folded by ``zeros``. A tangent that is not a real variable (``live``) is a symbolic zero; it is
made real (``zeros_like``) only inside control flow, or before an item store or a list method
updates it in place. A tangent updated in place is first made private (``own``), unless it
already is (``owned``). Each function takes the builder's ``TangentState`` and returns the
statements that replace one statement.
"""
from __future__ import annotations

import ast
import copy
import operator
from typing import Dict, List, Optional, Set

import gast

from s2s import rules, runtime
from s2s.compiler import syntax
from s2s.compiler.analysis.activity import STATIC_ATTRIBUTES
from s2s.compiler.forward.calls import (apply_rule, call_tangent, dynamic_call, local_call,
                                        tangent_rule, user_call)
from s2s.compiler.forward.nodes import container_of, describe, rename_everywhere
from s2s.compiler.forward.state import TangentState
from s2s.compiler.forward.zeros import DRESULT, RESULT, is_zero, symbolic_zero
from s2s.compiler.frontend.resolve import effect_call_error, getitem_primitive
from s2s.compiler.reverse.nodes import index_value
from s2s.compiler.syntax import assign, const, loaded_names, name, names_in
from s2s.errors import NotDifferentiableError

BINARY_OPERATORS = {
    gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
    gast.Div: operator.truediv, gast.Mod: operator.mod, gast.Pow: operator.pow,
    gast.MatMult: operator.matmul,
}
UNARY_OPERATORS = {gast.USub: operator.neg, gast.UAdd: operator.pos}
# list methods whose receiver's tangent is updated the same way
LIST_METHODS = {"append", "extend", "insert"}


def reject_if_varied(state: TangentState, stmt, touched: Set[str], what: str) -> List[ast.AST]:
    """``[stmt]`` unchanged if it touches no differentiated value; else a located error."""
    if touched & state.flow.varied:
        raise state.source.error(stmt, f"{what} of a differentiated value",
                                 "assign to a plain name or an item (x[i] = v) instead")
    return [stmt]


def assign_to_name(state: TangentState, target: str, value: ast.AST,
                   stmt: ast.AST) -> List[ast.AST]:
    """``target = value`` and the statements that set ``target``'s tangent.

        y = x * w      ->  y = x * w
                           dy = dx * w
        x = x * w      ->  x_new = x * w           the tangent reads the old x
                           dx = dx * w + x * dw
                           x = x_new
        y = g(x)       ->  y, dy = jvp_g(x, dx=dx) (``calls``)
    """
    if target not in state.flow.varied:
        return [stmt]
    if isinstance(value, gast.Call):
        call = (user_call(state, target, value, stmt) or local_call(state, target, value, stmt)
                or dynamic_call(state, target, value, stmt))
        if call is not None:
            return call
    tangent = tangent_statements(state, value, stmt)
    if tangent is None:
        return [stmt] + state.set_zero(target, value)
    result = target
    if target in set().union(*map(loaded_names, tangent)):
        # the tangent reads the old value of the name this statement rebinds
        result = state.fresh_temp(target + "_new")
        stmt = assign(result, value, stmt)
    tangent = rename_everywhere(tangent, {RESULT: result, DRESULT: state.tangent(target)})
    out = [stmt] + tangent
    if result != target:
        out.append(assign(target, name(result)))
    state.flow.live.add(target)
    last = tangent[-1]
    if isinstance(last, gast.Assign) and _creates_new(last.value):
        state.flow.owned.add(target)
    else:
        state.flow.owned.discard(target)
    return out


def subscript_store(state: TangentState, target: gast.Subscript, stmt) -> List[ast.AST]:
    """``x[i] = v`` also sets ``dx[i] = dv`` (after making ``dx`` private: ``own``)."""
    base = target.value
    if not isinstance(base, gast.Name) or base.id not in state.flow.varied:
        return reject_if_varied(state, stmt, container_of(target), "this item assignment")
    value = state.operand_tangent(stmt.value)
    if is_zero(value):
        if base.id not in state.flow.live:
            return [stmt]
        value = state.dense_tangent(stmt.value)
    out = state.own(base.id) + [stmt]
    store = gast.Subscript(value=name(state.tangent(base.id)),
                           slice=copy.deepcopy(target.slice), ctx=gast.Store())
    out.append(gast.Assign(targets=[store], value=value, type_comment=None))
    return out


def call_statement(state: TangentState, stmt: gast.Expr) -> List[ast.AST]:
    """``lst.append(v)`` also appends ``dv``; ``add_at(buf, k, v)`` also adds ``dv``."""
    call = stmt.value
    receiver, _ = state.scope.in_place_call(call)
    if (receiver is not None and state.scope.callee(call) is runtime.restore_item
            and not isinstance(call.args[2], gast.Name)):
        # restore_item(y, k, y_saved.pop()) of a gradient: pop the saved item's tangent
        # too, once (old = y_saved.pop(); dold = dy_saved.pop())
        old = state.fresh_temp(f"{receiver}_old")
        hoisted = ast.copy_location(assign(old, call.args[2]), stmt)
        before = local_call(state, old, call.args[2], hoisted)
        if before is None:
            before = [hoisted] + state.set_zero(old)
        restore = gast.Expr(value=gast.Call(func=call.func, args=call.args[:2] + [name(old)],
                                            keywords=[]))
        return before + call_statement(state, ast.copy_location(restore, stmt))
    if receiver is None or receiver not in state.flow.varied:
        if receiver is None and syntax.names_in(call) & state.flow.varied \
                and not state.scope.is_constant_call(call):
            # a call made for its effect on a differentiated value: never guess
            raise effect_call_error(state.source, call)
        return [stmt]
    if (isinstance(call.func, gast.Attribute) and isinstance(call.func.value, gast.Name)
            and call.func.value.id == receiver):
        if call.func.attr not in LIST_METHODS:
            raise effect_call_error(state.source, call, receiver=receiver)
        args = [a if (call.func.attr == "insert" and i == 0) else state.dense_tangent(a)
                for i, a in enumerate(call.args)]
        method = gast.Attribute(value=name(state.tangent(receiver)), attr=call.func.attr,
                                ctx=gast.Load())
        update = gast.Call(func=method, args=args, keywords=[])
    elif state.scope.callee(call) in (runtime.drop_last, runtime.clear_item):
        update = gast.Call(func=copy.deepcopy(call.func),
                           args=[name(state.tangent(receiver))]
                           + [copy.deepcopy(a) for a in call.args[1:]], keywords=[])
    else:
        dvalue = state.operand_tangent(call.args[2])
        if is_zero(dvalue):
            if state.scope.callee(call) is not runtime.restore_item:
                return [stmt]
            # the restored item's tangent is zero, not what the slot held before
            dvalue = state.dense_tangent(call.args[2])
        update = gast.Call(func=copy.deepcopy(call.func),
                           args=[name(state.tangent(receiver)), copy.deepcopy(call.args[1]),
                                 dvalue], keywords=[])
    return state.own(receiver) + [stmt, gast.Expr(value=update)]


def return_pair(state: TangentState, stmt: gast.Return) -> gast.Return:
    """``return y`` returns the value and its tangent: ``return (y, dy)``; with ``select``,
    the tangent of that item of the returned tuple only."""
    value = stmt.value if stmt.value is not None else const(None)
    select = state.flow.select
    if select is not None:
        if not (isinstance(value, gast.Tuple) and len(value.elts) > select):
            raise state.source.error(
                stmt, "a single return value where a tuple is expected",
                "with has_aux=True the function must return a tuple (out, aux1, ...)")
        tangent = state.dense_tangent(value.elts[select])
    elif isinstance(value, gast.Tuple):
        tangent = gast.Tuple(elts=[state.dense_tangent(e) for e in value.elts],
                             ctx=gast.Load())
    else:
        tangent = state.dense_tangent(value)
    new = gast.Return(value=gast.Tuple(elts=[value, tangent], ctx=gast.Load()))
    return ast.copy_location(new, stmt)


# -- tangents of right-hand sides -------------------------------------------------------------
def tangent_statements(state: TangentState, value: ast.AST, stmt) -> Optional[List[ast.AST]]:
    """Statements that assign ``DRESULT`` the tangent of ``value``, or None for zero.

        x + w      ->  [DRESULT = dx + dw]
        x.T        ->  [DRESULT = dx.T]
        x[i]       ->  [DRESULT = dx[i]]
        x > 0      ->  None
    """
    if isinstance(value, gast.Name):
        return _simple(state.operand_tangent(value))
    if isinstance(value, (gast.Constant, gast.Compare)):
        return None
    if isinstance(value, gast.BinOp):
        joined = _joined_tangent(state, value)
        if joined is not None:
            return joined
        fn = BINARY_OPERATORS.get(type(value.op))
        if fn is None:          # //, bitwise operators: piecewise constant
            return None
        return apply_rule(state, fn, [value.left, value.right], {}, stmt)
    if isinstance(value, gast.UnaryOp):
        fn = UNARY_OPERATORS.get(type(value.op))
        if fn is None:
            return None
        return apply_rule(state, fn, [value.operand], {}, stmt)
    if isinstance(value, gast.Call):
        return call_tangent(state, value, stmt)
    if isinstance(value, gast.Attribute):
        if value.attr in STATIC_ATTRIBUTES:
            return None
        base = state.operand_tangent(value.value)
        if value.attr not in ("T", "real", "imag"):
            raise state.source.error(value, f"the attribute .{value.attr}",
                                     "only .T, .real, .imag and data attributes (.shape, "
                                     ".ndim, .size, .dtype) of arrays are differentiable")
        if state.holomorphic and value.attr != "T" and not is_zero(base):
            raise state.source.error(
                value, f".{value.attr} of a differentiated value in a holomorphic derivative",
                rules.not_holomorphic_hint(f".{value.attr}"), cls=NotDifferentiableError)
        # linear maps (real-linear for .real and .imag): the tangent's own attribute
        return _simple(base if is_zero(base) else gast.Attribute(
            value=base, attr=value.attr, ctx=gast.Load()))
    if isinstance(value, gast.Subscript):
        global_item = (not isinstance(value.value, gast.Name)
                       or state.scope.resolver.is_global(value.value.id))
        if global_item and names_in(value.slice) & state.flow.varied:
            # np.r_[a, b], np.c_[a, b]: the rule of the object's __getitem__, if it has one
            getitem = getitem_primitive(state.scope.resolver, value,
                                         lambda node: bool(names_in(node) & state.flow.varied))
            if getitem is not None and tangent_rule(getitem) is not None:
                return apply_rule(state, getitem, [value.value, index_value(value.slice)], {},
                                  stmt)
            raise state.source.error(
                value, f"{ast.unparse(gast.gast_to_ast(copy.deepcopy(value.value)))}[...], "
                "which builds an array from "
                "differentiated values", "join them with np.concatenate([...]) or "
                "np.hstack([...]) (np.r_), np.column_stack([...]) or np.stack([...], axis=-1) "
                "(np.c_)")
        base = (state.operand_tangent(value.value) if isinstance(value.value, gast.Name)
                else symbolic_zero())
        return _simple(base if is_zero(base) else gast.Subscript(
            value=base, slice=copy.deepcopy(value.slice), ctx=gast.Load()))
    if isinstance(value, gast.Tuple):
        return _simple(state.operand_tangent(value))
    if isinstance(value, gast.List):
        # a list may grow later (lst.append): its tangent is always a real list
        return _simple(gast.List(elts=[state.dense_tangent(e) for e in value.elts],
                                 ctx=gast.Load()))
    if isinstance(value, gast.Dict):
        if any(k is None for k in value.keys):
            raise state.source.error(value, "a ** in a dict literal", "list the items")
        return _simple(gast.Dict(keys=copy.deepcopy(value.keys),
                                 values=[state.dense_tangent(v) for v in value.values]))
    raise state.source.error(value, describe(value),
                             "rewrite it with operations that s2s has rules for")


def sequence_kind(node: ast.AST, sequences: Dict[str, type]) -> Optional[type]:
    """gast.List or gast.Tuple if ``node`` surely gives a list or a tuple, else None."""
    if isinstance(node, (gast.List, gast.Tuple)):
        return type(node)
    if isinstance(node, gast.Name):
        return sequences.get(node.id)
    if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Add, gast.Mult)):
        return sequence_kind(node.left, sequences) or sequence_kind(node.right, sequences)
    return None


def _joined_tangent(state: TangentState, value: gast.BinOp) -> Optional[List[ast.AST]]:
    """``l = a + b`` joining lists or tuples where one side has a zero tangent: that side
    still holds places in ``l``, so its zeros are joined too. None in every other case
    (both tangents zero or both set, or NumPy's ``+``), which the ``add`` rule handles.

        l = [1.0] + m      ->  dl = zeros_like([1.0]) + dm
    """
    if not isinstance(value.op, gast.Add):
        return None
    sides = [value.left, value.right]
    zero = [not state.has_tangent(side) for side in sides]
    if zero[0] == zero[1]:
        return None
    side = sides[zero.index(True)]
    kind = sequence_kind(side, state.sequences)
    if kind is None:
        return None
    zeros = state.scope.helper("zeros_like", runtime.zeros_like, [copy.deepcopy(side)])
    if kind is gast.Tuple:                      # zeros_like gives a list
        zeros = state.scope.helper("tuple", tuple, [zeros])
    tangents = [zeros if z else state.operand_tangent(s) for s, z in zip(sides, zero)]
    return _simple(gast.BinOp(left=tangents[0], op=gast.Add(), right=tangents[1]))


def _simple(tangent: ast.AST) -> Optional[List[ast.AST]]:
    if is_zero(tangent):
        return None
    return [assign(DRESULT, tangent)]


def _creates_new(value) -> bool:
    """Does ``value`` surely build a new object (one the optimizer will not fold away)?"""
    if isinstance(value, (gast.List, gast.Dict)):
        return True
    if isinstance(value, gast.UnaryOp):
        return isinstance(value.op, gast.USub) and not isinstance(value.operand, gast.UnaryOp)
    if isinstance(value, gast.BinOp):
        ones = [side for side in (value.left, value.right)
                if isinstance(side, gast.Constant) and type(side.value) in (int, float)
                and side.value == 1]
        return not ones
    return False
