"""Forward mode of calls: rules of primitives, jvp functions of user functions.

A primitive with a tangent rule (``tangent_rule``) gets its rule expanded in place; any
other callee gets a jvp function:

    t = np.sin(x)       ->  t = np.sin(x)                 the rule of np.sin
                            dt = dx * np.cos(x)
    t = g(x, w)         ->  t, dt = jvp_g(x, w, da=dx)    a user function: its generated
                                                          jvp function (``jvp_of``)
    u = h(t)            ->  u, du = call_jvp(h, (t,), (dt,))
                                                          known only at run time
    u = h(x)            ->  u, du = dh(x, dx)             a local function: its tangent
                                                          closure (``closures``)
    v = lst.pop()       ->  v = lst.pop()
                            dv = dlst.pop()

The functions take the builder's ``TangentState`` and return the statements that replace one
statement, or None where they do not apply.
"""
from __future__ import annotations

import ast
import copy
import inspect
import types
from typing import Any, Callable, Dict, List, Optional, Sequence

import gast
import numpy as np

from s2s import rules, runtime
from s2s.compiler import syntax
from s2s.compiler.expand import bind_call, call_keywords, expand, template_of
from s2s.compiler.forward.nodes import source_text
from s2s.compiler.forward.state import TangentState
from s2s.compiler.forward.zeros import DRESULT, RESULT, Simplifier, is_zero
from s2s.compiler.frontend.names import Namer
from s2s.compiler.frontend.parse import Source, parse_function
from s2s.compiler.frontend.resolve import (UNRESOLVED, internal_error, is_internal,
                                           is_readable_function, is_transform, missing_rule,
                                           reads_behind, transform_error)
from s2s.compiler.syntax import assign, const, name
from s2s.errors import MissingRuleError, NotDifferentiableError, UnsupportedSyntaxError


def tangent_rule(fn: Any):
    """The forward-mode rule registered for ``fn``, or None."""
    return rules.tangent_rule(fn)


def tangent_parameters(node: gast.FunctionDef, wrt: Sequence[str]) -> List[str]:
    """The names of the tangent parameters the generated jvp function of ``node`` takes.

    They are the first names the builder makes, so a caller can know them without building.
    """
    namer = Namer.for_tree(node)
    return [namer.fresh("d" + p) for p in wrt]


def source_of(fn: Callable) -> Source:
    """The parsed source of ``fn``; a primitive with a tangent rule gets a one-line wrapper."""
    rule = tangent_rule(fn)
    if rule is None:
        return parse_function(fn)
    params = [p.name for p in inspect.signature(rule).parameters.values()
              if p.default is inspect.Parameter.empty
              and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    fname = getattr(fn, "__name__", "primitive")
    text = f"def {fname}({', '.join(params)}):\n    return primitive({', '.join(params)})\n"
    filename = f"<s2s primitive {fname}>"
    holder = types.FunctionType(compile(text, filename, "exec").co_consts[0],
                                {"primitive": fn})
    return Source(fn=holder, node=gast.parse(text).body[0], filename=filename,
                  globals={"primitive": fn})


def _callee_tangents(fn: Callable, wrt: Sequence[str]) -> List[str]:
    return tangent_parameters(source_of(fn).node, wrt)


def _has_star(call: gast.Call) -> bool:
    return (any(isinstance(a, gast.Starred) for a in call.args)
            or any(kw.arg is None for kw in call.keywords))


def _is_user_function(func) -> bool:
    return (is_readable_function(func) and tangent_rule(func) is None
            and not rules.is_nondifferentiable(func))


def value_and_tangent(state: TangentState, target: str, call: gast.Call,
                      stmt) -> List[ast.AST]:
    """``target, dtarget = call``: a call that returns a value and its tangent."""
    pair = gast.Tuple(elts=[name(target, gast.Store()),
                            name(state.tangent(target), gast.Store())], ctx=gast.Store())
    state.flow.live.add(target)
    state.flow.owned.discard(target)
    return [ast.copy_location(gast.Assign(targets=[pair], value=call, type_comment=None),
                              stmt)]


def call_tangent(state: TangentState, call: gast.Call, stmt) -> Optional[List[ast.AST]]:
    """Statements that assign ``DRESULT`` the tangent of a call of a primitive or an array
    method, from its rule; None when the tangent is zero.

        np.sin(x)    ->  [DRESULT = dx * np.cos(x)]
        x.sum()      ->  [DRESULT = np.sum(dx)]         (the rule of np.ndarray.sum)
    """
    keywords = call_keywords(state.source, call)
    if state.scope.is_constant_call(call):
        return None
    func = state.scope.callee(call)
    if (func is UNRESOLVED and isinstance(call.func, gast.Attribute)
            and isinstance(call.func.value, gast.Name)):
        method = getattr(np.ndarray, call.func.attr, None)
        if method is None or tangent_rule(method) is None:
            raise state.source.error(
                call, f"the method .{call.func.attr}()",
                "no tangent rule for this array method; call the NumPy function instead, "
                "or register one with @s2s.tangent(np.ndarray." + call.func.attr + ")",
                cls=MissingRuleError)
        return apply_rule(state, method, [call.func.value] + list(call.args), keywords, stmt)
    if func is UNRESOLVED and not isinstance(call.func, (gast.Name, gast.Attribute)):
        if isinstance(call.func, gast.Call) and is_transform(state.scope.callee(call.func)):
            raise transform_error(state.source, call.func)
        raise state.source.error(
            call.func, f"a call of '{source_text(call.func)}', a function made from "
                       f"differentiated values",
            f"name the function first: h = {source_text(call.func)}, then call h(...)")
    if func is UNRESOLVED:
        raise state.source.error(
            call, f"a call to '{source_text(call.func)}'",
            "s2s resolves called functions at transform time; call a global or imported "
            "function (functions passed as arguments are not supported yet)")
    if tangent_rule(func) is None and not _is_user_function(func):
        raise missing_rule(state.source, call, func, "forward")
    return apply_rule(state, func, list(call.args), keywords, stmt)


def apply_rule(state: TangentState, fn: Any, args: List[ast.AST],
               keywords: Dict[str, ast.AST], stmt) -> Optional[List[ast.AST]]:
    """The tangent rule of ``fn`` expanded over ``args``, its zeros folded (``zeros``):
    statements that assign ``DRESULT``, or None when every tangent they read is zero.

        fn=np.multiply, args=[x, w], dw zero    ->  [DRESULT = dx * w]
    """
    rule = tangent_rule(fn)
    label = getattr(fn, "__name__", str(fn))
    if rule is None:
        if _is_user_function(fn):
            raise state.source.error(stmt, f"the call of {label}",
                                     "only plain calls `y = f(x)` of user functions are "
                                     "differentiated", cls=UnsupportedSyntaxError)
        raise state.source.error(
            stmt, f"a call to {label}",
            f"register a tangent rule: @s2s.tangent({label}) above def {label}_jvp(...): "
            f"dresult = dx * ...", cls=MissingRuleError,
            message=f"s2s has no forward-mode rule for {label} "
                    f"({getattr(fn, '__module__', None) or 'builtin'}.{label})")
    operands = list(args) + list(keywords.values())
    if not any(isinstance(a, gast.Starred) or state.has_tangent(a) for a in operands):
        return None     # no operand carries a tangent, whatever the rule's signature takes
    if state.holomorphic and not rules.is_holomorphic(fn):
        raise state.source.error(stmt, f"{label} of a differentiated value in a holomorphic "
                                 f"derivative", rules.not_holomorphic_hint(label),
                                 cls=NotDifferentiableError)
    if rules.is_numpy_only(fn):
        state.numpy_only.append((label, state.source.filename, getattr(stmt, "lineno", None),
                                 getattr(stmt, "col_offset", None), state.source.name))
    template = template_of(rule)
    bound = bind_call(template, args, keywords)
    if bound is None:
        raise state.source.error(stmt, f"this call of {label}",
                                 f"the rule supports the arguments {template.signature}",
                                 cls=MissingRuleError)
    mapping = dict(bound)
    live = False
    for param in template.signature.parameters:
        t = state.operand_tangent(bound.get(param))
        mapping["d" + param] = t
        live = live or not is_zero(t)
    if not live:
        return None
    expansion = expand(template, mapping, name(RESULT), name(DRESULT),
                       lambda base: DRESULT if base == "dresult" else state.fresh_temp(base),
                       state.scope.bind_free)
    operands = set().union(*map(syntax.names_in, bound.values()))
    body, zero = Simplifier(state.scope, state.primal_of, operands).block(expansion.statements)
    return None if zero else body


def user_call(state: TangentState, target: str, call: gast.Call,
              stmt) -> Optional[List[ast.AST]]:
    """``t = g(a, b)`` with a tangent for ``a`` becomes ``t, dt = jvp_g(a, b, da=da)``."""
    func = state.scope.callee(call)
    if not _is_user_function(func) or func is runtime.take_appended:
        return None
    if _has_star(call):
        return dynamic_call(state, target, call, stmt, force=True)
    try:
        bound = inspect.signature(func, follow_wrapped=False).bind(
            *call.args, **{k.arg: k.value for k in call.keywords if k.arg})
    except TypeError as exc:
        raise state.source.error(call, f"this call of {func.__name__}", str(exc))
    wrt = []
    for param, node in bound.arguments.items():
        if isinstance(node, (tuple, dict)):     # *args, **kwargs
            if any(n in state.flow.live for v in (node.values() if isinstance(node, dict)
                                                  else node)
                   for n in syntax.names_in(v)):
                # the tangent of a *args parameter is a tuple: call_jvp builds it
                return dynamic_call(state, target, call, stmt, force=True)
            continue
        tangent = state.operand_tangent(node)
        if not is_zero(tangent):
            wrt.append((param, tangent))
    if not wrt:
        return [stmt] + state.set_zero(target, call)
    if is_transform(func):
        raise transform_error(state.source, call)
    if is_internal(func):
        raise internal_error(state.source, call, func)
    names = tuple(p for p, _ in wrt)
    # a holomorphic derivative checks the callee too (the command line has no such option)
    compiled = state.callee_jvp(func, names,
                                **({"holomorphic": True} if state.holomorphic else {}))
    state.numpy_only += getattr(compiled, "__s2s_numpy_only__", ())
    jvp_name = state.scope.bind_free("jvp_" + func.__name__.strip("_<>"), compiled)
    new_call = gast.Call(func=name(jvp_name), args=list(call.args),
                         keywords=list(call.keywords) + [
                             gast.keyword(arg=tp, value=tangent)
                             for tp, (_, tangent) in zip(_callee_tangents(func, names), wrt)])
    return value_and_tangent(state, target, new_call, stmt)


def local_call(state: TangentState, target: str, call: gast.Call,
               stmt) -> Optional[List[ast.AST]]:
    """``y = lst.pop()`` pops the tangent too; ``y = h(a)`` for a function value ``h``
    with a tangent function ``dh`` becomes ``y, dy = dh(a, da)``."""
    func = call.func
    if (isinstance(func, gast.Attribute) and func.attr == "pop"
            and isinstance(func.value, gast.Name) and func.value.id in state.scope.locals):
        receiver = func.value.id
        if receiver not in state.flow.live:
            return [stmt] + state.set_zero(target)
        pop = gast.Call(func=gast.Attribute(value=name(state.tangent(receiver)), attr="pop",
                                            ctx=gast.Load()),
                        args=copy.deepcopy(call.args), keywords=[])
        state.flow.live.add(target)
        state.flow.owned.discard(target)
        return [stmt, assign(state.tangent(target), pop)]
    if (state.scope.callee(call) is runtime.take_appended and len(call.args) == 2
            and isinstance(call.args[0], gast.Name) and call.args[0].id in state.flow.live):
        # gradient code taking the cotangents of appended items: the tangents go too
        taken = gast.Call(func=copy.deepcopy(call.func),
                          args=[name(state.tangent(call.args[0].id)), copy.deepcopy(call.args[1])],
                          keywords=[])
        state.flow.live.add(target)
        state.flow.owned.discard(target)
        return [stmt, assign(state.tangent(target), taken)]
    if not (isinstance(func, gast.Name) and func.id in state.scope.locals
            and func.id in state.flow.live):
        return None
    if _has_star(call):
        raise state.source.error(call, "a call of a local function with starred "
                                 "arguments", "pass the arguments one by one")
    params, defaulted = state.local_params.get(func.id, (None, set()))
    if not defaulted:
        if call.keywords:
            raise state.source.error(call, "a keyword argument to a function value",
                                     "pass the arguments by position")
        # the tangent function takes one tangent per parameter, after them
        tangents = [state.dense_tangent(a) for a in call.args]
        new_call = gast.Call(func=name(state.tangent(func.id)),
                             args=list(call.args) + tangents, keywords=[])
    else:
        # a local function with defaults: its tangents are keyword-only, zero by default
        given = list(zip(params, call.args)) + [(k.arg, k.value) for k in call.keywords]
        unknown = [p for p, _ in given if p not in params]
        if unknown:
            raise state.source.error(call, f"an unknown keyword argument '{unknown[0]}'",
                                     f"the function takes {', '.join(params)}")
        tangents = [gast.keyword(arg=state.tangent(p), value=state.dense_tangent(v))
                    for p, v in given
                    if p not in defaulted or not is_zero(state.operand_tangent(v))]
        new_call = gast.Call(func=name(state.tangent(func.id)), args=list(call.args),
                             keywords=copy.deepcopy(call.keywords) + tangents)
    return value_and_tangent(state, target, new_call, stmt)


def dynamic_call(state: TangentState, target: str, call: gast.Call, stmt,
                 force: bool = False) -> Optional[List[ast.AST]]:
    """``y = f(a, b)`` where ``f`` is only known at run time (a function passed in, a
    method of a local object, a bound method or callable object) becomes
    ``y, dy = call_jvp(f, (a, b), (None, db))``."""
    if not (force or _is_dynamic(state, call)):
        return None
    args, tangents = [], []
    for a in call.args:
        if isinstance(a, gast.Starred):
            args.append(a)
            t = state.operand_tangent(a.value)
            if is_zero(t):
                t = state.scope.helper("zeros_like", runtime.zeros_like,
                                       [copy.deepcopy(a.value)])
            tangents.append(gast.Starred(value=t, ctx=gast.Load()))
        else:
            args.append(a)
            t = state.operand_tangent(a)
            tangents.append(const(None) if is_zero(t) else t)
    keys, values, dvalues = [], [], []
    for kw in call.keywords:
        keys.append(None if kw.arg is None else const(kw.arg))
        values.append(kw.value)
        t = state.operand_tangent(kw.value)
        if kw.arg is None and is_zero(t):
            t = state.scope.helper("zeros_like", runtime.zeros_like,
                                   [copy.deepcopy(kw.value)])
        dvalues.append(const(None) if is_zero(t) else t)
    if all(isinstance(t, gast.Constant) for t in tangents + dvalues):
        return [stmt] + state.set_zero(target, call)
    if state.holomorphic:
        raise state.source.error(call, *rules.run_time_call_in_holomorphic(
            source_text(call.func)), cls=NotDifferentiableError)
    call_args = [copy.deepcopy(call.func), gast.Tuple(elts=args, ctx=gast.Load()),
                 gast.Tuple(elts=tangents, ctx=gast.Load())]
    if keys:
        call_args += [gast.Dict(keys=keys, values=values),
                      gast.Dict(keys=copy.deepcopy(keys), values=dvalues)]
    new_call = state.scope.helper("call_jvp", state.call_jvp, call_args)
    return value_and_tangent(state, target, new_call, stmt)


def _is_dynamic(state: TangentState, call: gast.Call) -> bool:
    """Is the callee a function value, bound method or callable object (not a
    primitive with a rule, an array method or a plain user function)?"""
    func = state.scope.callee(call)
    if func is UNRESOLVED:
        node = call.func
        if isinstance(node, gast.Name):
            return node.id not in state.flow.live
        if not isinstance(node, gast.Attribute):
            # a function made at run time from constants: s2s.grad(f)(x)
            return not any(n in state.flow.live and n not in state.constant_functions
                           for n in syntax.names_in(node))
        if isinstance(node, gast.Attribute) and isinstance(node.value, gast.Name):
            # a method of a local object; array methods have rules
            return (node.value.id not in state.flow.live
                    and getattr(np.ndarray, node.attr, None) is None)
        return False
    if tangent_rule(func) is not None or rules.is_nondifferentiable(func):
        return False
    if isinstance(func, type) or _is_user_function(func):
        return _is_user_function(func) and _has_star(call)
    return reads_behind(func)
