"""Forward mode of the functions a function defines: each local def gets a tangent closure.

    def h(a):           ->  def h(a):                     kept (dropped later if
        return a * w            return a * w              nothing reads it)
                            def dh(a, da):                its tangent closure reads the
                                out = a * w               tangents of what it closes
                                dout = da * w + a * dw    over (a pullback made by reverse
                                return (out, dout)        mode is one such ``h``)

A call ``u = h(x)`` then becomes ``u, du = dh(x, dx)`` (``calls.local_call``). A closure reads
its variables when it runs, so none it reads may change after its def, unless updated in
place with their tangents (``check_closure``).
"""
from __future__ import annotations

import ast
from typing import Callable, List

import gast

from s2s.compiler.analysis.activity import free_names, varied_names
from s2s.compiler.forward.nodes import bound_names, rebound_names, with_parameters
from s2s.compiler.forward.prepare import Prepare
from s2s.compiler.forward.state import FlowState, TangentState
from s2s.compiler.frontend.normalize import normalize
from s2s.compiler.frontend.resolve import local_names
from s2s.compiler.reverse.nodes import parameter_names
from s2s.compiler.syntax import const

Block = Callable[[List[ast.AST]], List[ast.AST]]


def nested_function(state: TangentState, stmt: gast.FunctionDef,
                    block: Block) -> List[ast.AST]:
    """``def h(a): ...`` is kept, and followed by its tangent closure
    ``def dh(a, da): ... return (value, tangent)``; ``block`` writes the closure's body.

    The body is built in a flow state of its own: its parameters have tangents, and it may
    rebind only the variables it declares ``nonlocal`` (their tangents become nonlocal too).
    """
    if stmt.args.vararg or stmt.args.kwarg or stmt.args.kwonlyargs:
        raise state.source.error(stmt, "a local function with *args or keyword-only "
                                 "parameters", "give the local function plain parameters")
    node = normalize(state.source, Prepare(state.scope, state.namer).function(stmt),
                     state.namer)
    state.scope.locals.update(local_names(node))
    params = parameter_names(node)
    defaulted = set(params[len(params) - len(node.args.defaults):]
                    if node.args.defaults else ())
    state.local_params[node.name] = (params, defaulted)
    if free_names(node) & (state.flow.live | state.flow.varied):
        state.constant_functions.discard(node.name)
    else:
        state.constant_functions.add(node.name)
    nonlocals = {n for s in node.body if isinstance(s, gast.Nonlocal) for n in s.names}
    before = state.materialize(nonlocals)
    outer = state.flow
    state.flow = FlowState(
        varied=varied_names(state.scope.edges(node.body), outer.varied | set(params)),
        live=outer.live | set(params), owned=set(), defined=outer.defined | set(params),
        numbers=set(), depth=0, select=None)
    body = []
    for s in node.body:
        if isinstance(s, gast.Nonlocal):
            varied = [n for n in s.names if n in state.flow.varied]
            body.append(gast.Nonlocal(names=list(s.names) + [state.tangent(n) for n in varied]))
    body += block([s for s in node.body if not isinstance(s, gast.Nonlocal)])
    state.flow = outer
    args = with_parameters(node.args, [state.tangent(p) for p in params])
    if defaulted:
        # a parameter left at its default has a zero tangent
        args.kw_defaults = [const(0.0) if p in defaulted else None for p in params]
    tangent_fn = gast.FunctionDef(
        name=state.tangent(node.name), args=args, body=body,
        decorator_list=[], returns=None, type_comment=None, type_params=[])
    outer.live.add(node.name)
    outer.varied.add(node.name)
    return before + [node, ast.copy_location(tangent_fn, stmt)]


def check_closure(state: TangentState, stmt: gast.FunctionDef,
                  following: List[ast.AST]) -> None:
    """A closure reads variables when it runs: none may change after its def, but for a
    list or array updated in place (``l.append(v)``, ``l[0] = v``) whose tangent is already
    set: its tangent is updated the same way, and the tangent closure reads it when it runs."""
    later = bound_names(following)
    in_place = state.flow.live - rebound_names(following)
    changed = sorted((free_names(stmt) & later & state.flow.varied) - in_place)
    if changed:
        raise state.source.error(stmt, "a local function over variables that change after "
                                 "its def", f"'{changed[0]}' is rebound later; define the "
                                 "function after the last assignment it depends on")
