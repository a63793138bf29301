"""The ends of the adjoint sweep: the outputs' seeds, and the gradients handed back.

The sweep starts from a seed for each output's cotangent: ones for ``grad``, the caller's
cotangent with ``sens_param`` or for a ``vjp``. It ends with each parameter's cotangent,
returned as an array of its own (``return (dz, dz)`` becomes ``return (dz,
fresh_copy(dz))``). For a ``vjp`` the adjoint sweep becomes a closure that the forward
sweep returns:

    def f(x):                    def vjp_f(x):
        y = np.sin(x)                y = np.sin(x)
        return y          ->         def pullback_f(dy):
                                         dx = dy * np.cos(x)
                                         return (dx,)
                                     return (y, pullback_f)
"""
from __future__ import annotations

import ast
from typing import Dict, List, Set, Tuple

import gast
import numpy as np

from s2s import runtime
from s2s.compiler import syntax
from s2s.compiler.context import is_elementwise
from s2s.compiler.frontend.resolve import UNRESOLVED
from s2s.compiler.reverse import queries
from s2s.compiler.reverse.nodes import arguments_of, item_of, parameter_names, stored_in
from s2s.compiler.reverse.state import ReverseState
from s2s.compiler.syntax import assign, const, name
from s2s.errors import NotDifferentiableError
from s2s.runtime import numpy_helpers

_ALLOCATING = (np.zeros_like, np.ones_like, np.zeros, np.ones, np.full, np.empty,
               np.array, np.copy, np.matmul, np.dot, np.outer, runtime.own,
               runtime.zeros_like, runtime.ones_like, numpy_helpers.matmul_adjoint_x1,
               numpy_helpers.matmul_adjoint_x2)


def output_names(state, ret: ast.AST) -> Tuple[List[str], ast.AST]:
    """The names of the differentiated outputs of ``return ...`` (None where an output is
    not a name), and the returned value."""
    value = ret.value
    if value is None:
        raise state.source.error(ret, "a function that returns None",
                                 "return the value to differentiate")
    if state.has_aux:
        if not (isinstance(value, gast.Tuple) and len(value.elts) >= 2):
            raise state.source.error(
                ret, "has_aux=True with a single return value",
                "with has_aux=True the function must return a tuple (out, aux1, ...) "
                "of at least two items; only out is differentiated")
        first = value.elts[0]
        return [first.id if isinstance(first, gast.Name) else None], value
    if isinstance(value, gast.Tuple):
        return [e.id if isinstance(e, gast.Name) else None for e in value.elts], value
    _numeric_output(state, ret, value)
    return [value.id if isinstance(value, gast.Name) else None], value


def _numeric_output(state, ret, item) -> None:
    """``return None`` or ``return "a"``: no gradient can flow from such an output."""
    if isinstance(item, gast.Constant) and (item.value is None or isinstance(
            item.value, (str, bytes))):
        raise state.source.error(ret, f"a function whose output is {item.value!r}",
                                 "return a number or an array of numbers (use has_aux=True "
                                 "to return other values beside the loss)")


def numeric_output(value, filename, lineno, function) -> None:
    """Run time: refuse an output no gradient can flow from (None, a string, an object) with
    an error at the user's return line; a number or an array passes."""
    try:
        runtime.ones_like(value)
    except TypeError as error:
        raise NotDifferentiableError(str(error), filename=filename, lineno=lineno,
                                     function=function, construct="non-numeric output") from None


def seeds(state: ReverseState, outputs, value_node):
    """Statements giving each output its cotangent, and the pullback's parameter."""
    seed_param = None
    stmts = []
    for i, out in enumerate(outputs):
        if out is not None and out not in state.active and state.mode != "vjp":
            # an output that does not depend on the input: its gradient is zero, but only
            # if it is a number; ones_like refuses None, strings and other objects
            where = [const(state.source.filename), const(getattr(value_node, "lineno", None)),
                     const(state.source.name)]
            stmts.append(gast.Expr(value=state.call_helper("numeric_output", numeric_output,
                                                           [name(out)] + where)))
        if out is None or out not in state.active:
            continue
        d = state.cotangent(out)
        if state.mode == "vjp":
            if len(outputs) == 1 and not isinstance(value_node, gast.Tuple):
                seed_param = d
                state.nonzero.add(out)
                continue
            seed_param = seed_param or state.namer.fresh("dout")
            seed = item_of(name(seed_param), const(i))
        elif state.sens_param:
            seed = name(state.sens_name)
            if isinstance(value_node, gast.Tuple) and not state.has_aux:
                seed = item_of(seed, const(i))
        else:
            seed = state.call_helper("ones_like", runtime.ones_like, [name(out)])
        stmts.append(assign(d, seed))
        state.nonzero.add(out)
    return seed_param, stmts


def final_cotangent(state: ReverseState, param: str) -> ast.AST:
    """The gradient returned for ``param``: its cotangent, or zeros if nothing reached it."""
    if param not in state.nonzero:
        return state.call_helper("zeros_like", runtime.zeros_like, [name(param)])
    d = name(state.cotangent(param))
    if param in state.tree_params:
        return state.call_helper("restructure", runtime.restructure, [d, name(param)])
    return d


def private_gradients(state: ReverseState, new: gast.FunctionDef) -> None:
    """Each returned gradient is an array of its own: never an input, a global, or
    another gradient (``return (dz, dz)`` becomes ``return (dz, fresh_copy(dz))``), so
    a caller may update it in place. Values made by arithmetic or by NumPy functions
    that allocate are taken as they are."""
    ret = new.body[-1]
    grads = ret.value if state.mode == "grad_only" else ret.value.elts[1]
    holder, elts = (grads, grads.elts) if isinstance(grads, gast.Tuple) and \
        not state.single else (None, [grads])
    bindings: Dict[str, List[ast.AST]] = {}
    loads: Dict[str, int] = {}
    plain: Set[int] = set()
    for node in syntax.walk(new):
        if isinstance(node, gast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], gast.Name):
            bindings.setdefault(node.targets[0].id, []).append(node.value)
            plain.add(id(node.targets[0]))
        elif isinstance(node, gast.AugAssign):
            plain.add(id(node.target))      # x += v updates the array x already holds
        elif isinstance(node, gast.Name):
            if isinstance(node.ctx, gast.Load):
                loads[node.id] = loads.get(node.id, 0) + 1
            elif isinstance(node.ctx, gast.Store) and id(node) not in plain:
                bindings.setdefault(node.id, []).append(None)   # loop targets, unpacking
    params = set(parameter_names(new))

    visiting: Set[str] = set()

    def fresh(name_: str) -> bool:
        if name_ in params or name_ in visiting or not bindings.get(name_):
            return False
        visiting.add(name_)
        try:
            return all(_allocates(state, v, fresh, loads) for v in bindings[name_])
        finally:
            visiting.discard(name_)

    seen: Set[str] = set()
    for i, elt in enumerate(elts):
        if isinstance(elt, gast.Name):
            private = elt.id not in seen and fresh(elt.id)
            seen.add(elt.id)
        else:
            private = _allocates(state, elt, fresh, loads)
        if not private:
            elts[i] = state.call_helper("fresh_copy", runtime.fresh_copy, [elt])
    if holder is None:
        if state.mode == "grad_only":
            ret.value = elts[0]
        else:
            ret.value.elts[1] = elts[0]


def _allocates(state: ReverseState, value, fresh, loads) -> bool:
    """Does ``value`` make a new array (or an immutable number)? ``unbroadcast(g, x)``
    may be g itself: it counts when g is a new array read only there."""
    if value is None:
        return False
    if isinstance(value, (gast.BinOp, gast.UnaryOp, gast.Constant)):
        return True
    if not isinstance(value, gast.Call):
        return False
    func = state.callee(value)
    if func is UNRESOLVED:
        return isinstance(value.func, gast.Attribute) and value.func.attr in (
            "sum", "mean", "prod", "copy", "dot")
    if func is numpy_helpers.unbroadcast and value.args:
        g = value.args[0]
        if isinstance(g, gast.Name):
            return loads.get(g.id) == 1 and fresh(g.id)
        return _allocates(state, g, fresh, loads)
    return (any(func is f for f in _ALLOCATING) or is_elementwise(func)
            or queries.is_full_reduction(state, value))


def as_pullback(state: ReverseState, new, forward, backward, seed_param, fn, primal_temps):
    """Split a flat gradient into a forward sweep that returns a pullback closure."""
    *backward, ret_stmt = backward
    value_node, grads_node = ret_stmt.value.elts
    pullback = state.namer.fresh("pullback_" + fn.name.strip("_<>"))
    param = seed_param or state.namer.fresh("dout")
    # names the backward sweep restores belong to the forward sweep
    restored = stored_in(backward) & (stored_in(forward)
                                      | set(parameter_names(fn)))
    # a variable fn closes over may change before the pullback runs (a def in a loop
    # closing over the loop variable): the pullback reads its value at the call
    read = {n.id for stmt in backward + [grads_node] for n in syntax.walk(stmt)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
    captured = {}
    for free in sorted((read & set(state.source.closure)) - restored - stored_in(forward)):
        captured[free] = state.namer.fresh(free + "_value")
        forward.append(assign(captured[free], name(free)))
    for stmt in backward + [grads_node]:
        syntax.rename_loads(stmt, captured)
    inner_body = ([gast.Nonlocal(names=sorted(restored))] if restored else []) + backward
    inner_body.append(gast.Return(value=grads_node))
    inner = gast.FunctionDef(
        name=pullback, args=arguments_of([param]), body=inner_body, decorator_list=[],
        returns=None, type_comment=None, type_params=[])
    new.body = forward + [inner, gast.Return(value=gast.Tuple(
        elts=[value_node, name(pullback)], ctx=gast.Load()))]
    return new
