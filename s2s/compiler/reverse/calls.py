"""Reverse mode through calls to user functions, and through functions used as values.

A function s2s can read at transform time is differentiated once, on its own; the call
then returns the callee's pullback with its value, and the adjoint sweep calls it:

    t = g(x, y)                t, t_pullback = vjp_g(x, y)
    return np.sum(t)    ->     ...
                               dt_parts = t_pullback(dt)
                               dx = dt_parts[0]
                               dy = dt_parts[1]

A callee known only at run time (a parameter, a method) is called through
``call_vjp(h, spec, *args)``, which differentiates it when it runs; ``spec`` says which
arguments are active. The cotangent of a function value (a nested ``def`` or a lambda) is a
dict by closed-over name.
"""
from __future__ import annotations

import ast
import inspect
from typing import Dict, List, Set

import gast
import numpy as np

from s2s import rules, runtime
from s2s.compiler import syntax
from s2s.compiler.analysis.activity import free_names
from s2s.compiler.frontend.resolve import (internal_error, is_internal, is_transform,
                                          object_error, receiver_method, transform_error)
from s2s.compiler.reverse import cotangents, queries
from s2s.compiler.reverse.nodes import deep_copy, has_active, item_of, source_text
from s2s.compiler.reverse.state import ReverseState
from s2s.compiler.syntax import assign, const, name
from s2s.errors import NotDifferentiableError


def prepare_call(state: ReverseState, stmt: ast.AST) -> ast.AST:
    """``t = g(a, b)`` with active operands becomes ``t, pullback = vjp_g(a, b)``."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
            and isinstance(stmt.value, gast.Call)):
        return stmt
    target, call = stmt.targets[0].id, stmt.value
    if target not in state.active:
        return stmt
    kind = queries.call_kind(state, call)
    if kind == "dynamic":
        return _prepare_dynamic_call(state, stmt, target, call)
    if kind != "static":
        return stmt
    func = state.callee(call)
    if is_transform(func):
        raise transform_error(state.source, call)
    if is_internal(func):
        raise internal_error(state.source, call, func)
    try:
        bound = inspect.signature(func, follow_wrapped=False).bind(*call.args, **{k.arg: k.value
                                                            for k in call.keywords})
    except TypeError as exc:
        raise state.source.error(call, f"this call of {func.__name__}", str(exc))
    arguments = {}
    trees = []                              # parameters given a list, tuple or dict
    for p, v in bound.arguments.items():
        if isinstance(v, tuple):            # *args: a tuple of operands
            v = gast.Tuple(elts=list(v), ctx=gast.Load())
        elif isinstance(v, dict):           # **kwargs: a dict of operands
            v = gast.Dict(keys=[const(k) for k in v], values=list(v.values()))
        elif isinstance(v, (gast.Tuple, gast.List, gast.Dict)) or (
                isinstance(v, gast.Name) and v.id in state.sequences | state.dicts):
            trees.append(p)
        arguments[p] = v
    wrt = [(p, node) for p, node in arguments.items() if has_active(node, state.active)]
    shared = shared_cells(state, func, call)
    wrt += [(n, name(n)) for n in shared]
    trees += [n for n in shared if _holds_tree(state.source.closure[n])]
    if not wrt and not state.weights:
        return stmt
    # a holomorphic derivative checks the callee too (the command line has no such option)
    compiled = state.callee_vjp(func, tuple(p for p, _ in wrt), weights=state.weights,
                                tree_params=tuple(p for p, _ in wrt if p in trees),
                                **({"holomorphic": True} if state.holomorphic else {}))
    state.numpy_only += getattr(compiled, "__s2s_numpy_only__", ())
    vjp_name = state.bind_free("vjp_" + func.__name__.strip("_<>"), compiled)
    pullback = state.fresh_temp(f"{target}_pullback")
    call.func = name(vjp_name)
    stmt.targets = [gast.Tuple(elts=[name(target, gast.Store()), name(pullback, gast.Store())],
                               ctx=gast.Store())]
    state.calls[id(stmt)] = (pullback, [("index", i, node) for i, (_, node) in enumerate(wrt)])
    return stmt


def shared_cells(state: ReverseState, func, call) -> List[str]:
    """The differentiated free names of the function being transformed that ``func`` closes
    over too (the same cells): a local function called from another one, or from itself.
    The callee is differentiated with respect to them as well, so their gradients through
    it come back.

        def a(u): return u * x
        def b(u): return a(u) + x ** 2      (b's x and a's x are one cell)
    """
    closure = getattr(func, "__closure__", None)
    if not closure or not state.source.closure:
        return []
    mine = set(map(id, state.source.closure.values()))
    enclosing = state.source.fn.__qualname__.rpartition(".<locals>.")[0]
    for n, cell in zip(func.__code__.co_freevars, closure):
        if id(cell) not in mine and enclosing and \
                func.__qualname__.rpartition(".<locals>.")[0] == enclosing \
                and _carries_gradient(cell):
            # a cell of the enclosing function this one cannot hand a gradient back to
            raise state.source.error(
                call, f"a call of local function '{func.__name__}', which reads '{n}' of "
                      f"the enclosing function where '{state.source.name}' does not",
                f"pass '{n}' to {func.__name__} as an argument, or call {func.__name__} "
                f"in the enclosing function")
    return [n for n, cell in zip(func.__code__.co_freevars, closure)
            if n in state.active and state.source.closure.get(n) is cell]


def _holds_tree(cell) -> bool:
    """Does a closure cell hold a list, tuple or dict (its cotangent is one too)?"""
    try:
        return isinstance(cell.cell_contents, (list, tuple, dict))
    except ValueError:
        return False


def _carries_gradient(cell) -> bool:
    """Does a closure cell hold a number or an array (a value that may be differentiated)?"""
    try:
        value = cell.cell_contents
    except ValueError:
        return False
    return isinstance(value, (float, complex, np.ndarray, np.inexact))


def _prepare_dynamic_call(state: ReverseState, stmt, target, call) -> ast.AST:
    """A callee known only at run time: ``t, pullback = call_vjp(f, spec, *args)``."""
    if not isinstance(call.func, (gast.Name, gast.Attribute)) \
            and has_active(call.func, state.active):
        if isinstance(call.func, gast.Call) and queries.call_kind(state, call.func) == \
                "static" and is_transform(state.callee(call.func)):
            raise transform_error(state.source, call.func)
        # its gradient would flow through the function made, which has no name to take it
        raise state.source.error(
            call.func, f"a call of '{source_text(call.func)}', a function made from "
                       f"differentiated values",
            f"name the function first: h = {source_text(call.func)}, then call h(...)")
    positions, star_from, keywords, wrt = [], None, [], []
    free = ()
    callee_active = False
    receiver = call.func.value if isinstance(call.func, gast.Attribute) else None
    if receiver is not None and has_active(receiver, state.active) and not state.weights \
            and not (isinstance(receiver, gast.Name) and receiver.id in state.trees) \
            and receiver_method(call.func.attr) is None:
        # the object's gradient would be lost: its method is differentiated in its arguments
        raise object_error(state.source, call, source_text(call.func))
    if isinstance(call.func, gast.Name) and call.func.id in state.local_functions:
        free = tuple(sorted(state.local_functions[call.func.id]))
        wrt += [("free", n, name(n)) for n in free]
    elif isinstance(call.func, gast.Name) and call.func.id in state.active \
            and not state.weights:
        # a function value that closes over differentiated values (passed in); its
        # cotangent is a dict by closed-over name
        callee_active = True
        state.trees.add(call.func.id)
        wrt.append(("callee", None, call.func))
    for i, arg in enumerate(call.args):
        if isinstance(arg, gast.Starred):
            if i != len(call.args) - 1:
                raise state.source.error(arg, "a *args argument before other arguments",
                                         "put the starred argument last")
            if has_active(arg.value, state.active):
                star_from = i
                wrt.append(("star", i, arg.value))
        elif has_active(arg, state.active):
            positions.append(i)
            wrt.append(("pos", i, arg))
    star_keywords = False
    for kw in call.keywords:
        if kw.arg is None:
            if has_active(kw.value, state.active):
                star_keywords = True
                wrt.append(("starkw", None, kw.value))
            continue
        if has_active(kw.value, state.active):
            keywords.append(kw.arg)
            wrt.append(("kw", kw.arg, kw.value))
    if not wrt and not state.weights:
        return stmt
    if state.holomorphic:
        raise state.source.error(call, *rules.run_time_call_in_holomorphic(
            source_text(call.func)), cls=NotDifferentiableError)
    spec = const((tuple(positions), star_from, tuple(keywords), state.weights, free,
                  star_keywords, callee_active))
    call.args = [call.func, spec] + list(call.args)
    call.func = name(state.bind_free("call_vjp", state.call_vjp))
    pullback = state.fresh_temp(f"{target}_pullback")
    stmt.targets = [gast.Tuple(elts=[name(target, gast.Store()), name(pullback, gast.Store())],
                               ctx=gast.Store())]
    state.calls[id(stmt)] = (pullback, wrt)
    return stmt


def call_pullback(state: ReverseState, target: str, stmt) -> List[ast.AST]:
    """Call the pullback, then hand each active argument its cotangent."""
    pullback, wrt = state.calls[id(stmt)]
    grads = gast.Call(func=name(pullback), args=[name(state.cotangent(target))], keywords=[])
    parts = state.fresh_temp(f"d{target}_parts")
    state.kill(target)          # before the contributions: f(x) may be assigned to x
    contributions = _argument_cotangents(state, parts, wrt)
    if not contributions:       # it still reports parameter gradients
        return [gast.Expr(value=grads)]
    return [assign(parts, grads)] + contributions


def _argument_cotangents(state: ReverseState, parts: str, wrt) -> List[ast.AST]:
    out: List[ast.AST] = []
    positional = item_of(name(parts), const(0))
    for kind, where, node in wrt:
        if kind == "index":
            value = item_of(name(parts), const(where))
        elif kind == "pos":
            value = item_of(positional, const(where))
        elif kind == "star":
            value = item_of(positional, gast.Slice(lower=const(where), upper=None, step=None))
        elif kind == "free":
            value = item_of(item_of(name(parts), const(2)), const(where))
        elif kind == "starkw":
            value = item_of(name(parts), const(1))
        elif kind == "callee":
            value = item_of(name(parts), const(2))
        else:
            value = item_of(item_of(name(parts), const(1)), const(where))
        out += cotangents.contribute_to_operand(state, node, value)
    return out


def closure_adjoint(state: ReverseState, free: Set[str], dresult: ast.AST) -> List[ast.AST]:
    """A function's cotangent (a dict by closed-over name) goes to those names."""
    out: List[ast.AST] = []
    for n in sorted(free & state.active):
        out += cotangents.contribute(state, n, state.call_helper(
            "item_or_zero", runtime.item_or_zero, [deep_copy(dresult), const(n)]))
    return out


def local_functions(state: ReverseState, primal) -> Dict[str, Set[str]]:
    """Nested defs and lambdas bound to names, with the active names they close over.

    Such a function may only be called directly: passed elsewhere, the gradients of
    what it closes over would be lost, so that is an error.
    """
    found: Dict[str, Set[str]] = {}
    nodes: Dict[str, ast.AST] = {}
    for node in syntax.walk_statements(primal):
        if isinstance(node, gast.FunctionDef):
            found[node.name], nodes[node.name] = free_names(node) & state.active, node
        elif (isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda)
              and isinstance(node.targets[0], gast.Name)):
            found[node.targets[0].id] = free_names(node.value) & state.active
            nodes[node.targets[0].id] = node
    escaping = {n for n, free in found.items() if free}
    if not escaping:
        return found
    callees = set()
    for node in syntax.walk(gast.Module(body=list(primal), type_ignores=[])):
        if isinstance(node, gast.Call):
            # called here, or passed to a call: its cotangent comes back from the call
            callees |= {id(a) for a in [node.func] + list(node.args)
                        + [k.value for k in node.keywords] if isinstance(a, gast.Name)}
    for node in syntax.walk(gast.Module(body=list(primal), type_ignores=[])):
        if isinstance(node, gast.Name) and node.id in escaping \
                and isinstance(node.ctx, gast.Load) and id(node) not in callees:
            raise state.source.error(
                node, f"passing '{node.id}', which closes over differentiated values, "
                      f"as a value",
                f"call {node.id} directly here, or pass the values it uses as arguments")
    return found
