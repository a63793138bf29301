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
from typing import Dict, List, Set

import gast
import numpy as np

from s2s import rules

from s2s import runtime

from s2s.compiler import syntax
from s2s.compiler.analysis.activity import STATIC_ATTRIBUTES, free_names
from s2s.compiler.frontend.normalize import assign, const, name
from s2s.compiler.frontend.resolve import UNRESOLVED
from s2s.compiler.reverse.nodes import _copy, _has_active, _item


class UserCalls:
    """Mixin of ``ReverseBuilder``: calls to user functions, and cotangents of functions."""

    def call_kind(self, call: gast.Call) -> str:
        """'rule', 'static' (a known Python function), 'dynamic' (known at run time only),
        or 'constant'."""
        func = self.state.callee(call)
        starred = any(isinstance(a, gast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords)
        if func is UNRESOLVED:
            f = call.func
            if isinstance(f, gast.Attribute) and isinstance(f.value, gast.Name) \
                    and f.value.id != "self":
                method = getattr(np.ndarray, f.attr, None)
                if method is not None and (rules.reverse_rule(method) is not None
                                           or rules.is_nondifferentiable(method)):
                    return "constant" if rules.is_nondifferentiable(method) else "rule"
            return "dynamic"
        if rules.is_nondifferentiable(func) or isinstance(func, type) and func in (
                int, bool, str, range, type, len):
            return "constant"
        if rules.reverse_rule(func) is not None:
            return "rule"
        if _is_user_function(func) and not starred:
            return "static"
        if callable(func) and not isinstance(func, type) and not _is_builtin(func):
            return "dynamic"
        return "rule"       # no rule: call_adjoint reports it

    def _is_source(self, value: ast.AST) -> bool:
        """In weights mode: values that may hold or depend on parameters read via objects."""
        if isinstance(value, gast.Attribute):
            return value.attr not in STATIC_ATTRIBUTES
        if isinstance(value, gast.Call):
            return self.call_kind(value) in ("static", "dynamic")
        return False

    def prepare_call(self, stmt: ast.AST) -> ast.AST:
        """``t = g(a, b)`` with active operands becomes ``t, pullback = vjp_g(a, b)``."""
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and isinstance(stmt.value, gast.Call)):
            return stmt
        target, call = stmt.targets[0].id, stmt.value
        if target not in self.state.active:
            return stmt
        kind = self.call_kind(call)
        if kind == "dynamic":
            return self.prepare_dynamic_call(stmt, target, call)
        if kind != "static":
            return stmt
        func = self.state.callee(call)
        import inspect
        try:
            bound = inspect.signature(func).bind(*call.args, **{k.arg: k.value
                                                                 for k in call.keywords})
        except TypeError as exc:
            raise self.state.source.error(call, f"this call of {func.__name__}", str(exc))
        arguments = {}
        for p, v in bound.arguments.items():
            if isinstance(v, tuple):            # *args: a tuple of operands
                v = gast.Tuple(elts=list(v), ctx=gast.Load())
            elif isinstance(v, dict):           # **kwargs: a dict of operands
                v = gast.Dict(keys=[const(k) for k in v], values=list(v.values()))
            arguments[p] = v
        wrt = [(p, node) for p, node in arguments.items() if _has_active(node, self.state.active)]
        if not wrt and not self.state.weights:
            return stmt
        compiled = self.state.callee_vjp(func, tuple(p for p, _ in wrt), weights=self.state.weights)
        vjp_name = self.state.bind_free("vjp_" + func.__name__.strip("_<>"), compiled)
        pullback = self.state.fresh_temp(f"{target}_pullback")
        call.func = name(vjp_name)
        stmt.targets = [gast.Tuple(elts=[name(target, gast.Store()), name(pullback, gast.Store())],
                                   ctx=gast.Store())]
        self.state.calls[id(stmt)] = (pullback, [("index", i, node) for i, (_, node) in enumerate(wrt)])
        return stmt

    def _local_functions(self, primal) -> Dict[str, Set[str]]:
        """Nested defs and lambdas bound to names, with the active names they close over.

        Such a function may only be called directly: passed elsewhere, the gradients of
        what it closes over would be lost, so that is an error.
        """
        found: Dict[str, Set[str]] = {}
        nodes: Dict[str, ast.AST] = {}
        for node in syntax.walk(gast.Module(body=list(primal), type_ignores=[])):
            if isinstance(node, gast.FunctionDef):
                found[node.name], nodes[node.name] = free_names(node) & self.state.active, node
            elif (isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda)
                  and isinstance(node.targets[0], gast.Name)):
                found[node.targets[0].id] = free_names(node.value) & self.state.active
                nodes[node.targets[0].id] = node
        escaping = {n for n, free in found.items() if free}
        callees = set()
        for node in syntax.walk(gast.Module(body=list(primal), type_ignores=[])):
            if isinstance(node, gast.Call):
                # called here, or passed to a call: its cotangent comes back from the call
                callees |= {id(a) for a in [node.func] + list(node.args)
                            + [k.value for k in node.keywords] if isinstance(a, gast.Name)}
        for node in syntax.walk(gast.Module(body=list(primal), type_ignores=[])):
            if isinstance(node, gast.Name) and node.id in escaping \
                    and isinstance(node.ctx, gast.Load) and id(node) not in callees:
                raise self.state.source.error(
                    node, f"passing '{node.id}', which closes over differentiated values, "
                          f"as a value",
                    f"call {node.id} directly here, or pass the values it uses as arguments")
        return found

    def prepare_dynamic_call(self, stmt, target, call) -> ast.AST:
        """A callee known only at run time: ``t, pullback = call_vjp(f, spec, *args)``."""
        positions, star_from, keywords, wrt = [], None, [], []
        free = ()
        callee_active = False
        if isinstance(call.func, gast.Name) and call.func.id in self.state.local_functions:
            free = tuple(sorted(self.state.local_functions[call.func.id]))
            wrt += [("free", n, name(n)) for n in free]
        elif isinstance(call.func, gast.Name) and call.func.id in self.state.active \
                and not self.state.weights:
            # a function value that closes over differentiated values (passed in); its
            # cotangent is a dict by closed-over name
            callee_active = True
            self.state.trees.add(call.func.id)
            wrt.append(("callee", None, call.func))
        for i, arg in enumerate(call.args):
            if isinstance(arg, gast.Starred):
                if i != len(call.args) - 1:
                    raise self.state.source.error(arg, "a *args argument before other arguments",
                                            "put the starred argument last")
                if _has_active(arg.value, self.state.active):
                    star_from = i
                    wrt.append(("star", i, arg.value))
            elif _has_active(arg, self.state.active):
                positions.append(i)
                wrt.append(("pos", i, arg))
        star_keywords = False
        for kw in call.keywords:
            if kw.arg is None:
                if _has_active(kw.value, self.state.active):
                    star_keywords = True
                    wrt.append(("starkw", None, kw.value))
                continue
            if _has_active(kw.value, self.state.active):
                keywords.append(kw.arg)
                wrt.append(("kw", kw.arg, kw.value))
        if not wrt and not self.state.weights:
            return stmt
        spec = const((tuple(positions), star_from, tuple(keywords), self.state.weights, free,
                      star_keywords, callee_active))
        call.args = [call.func, spec] + list(call.args)
        call.func = name(self.state.bind_free("call_vjp", self.state.call_vjp))
        pullback = self.state.fresh_temp(f"{target}_pullback")
        stmt.targets = [gast.Tuple(elts=[name(target, gast.Store()), name(pullback, gast.Store())],
                                   ctx=gast.Store())]
        self.state.calls[id(stmt)] = (pullback, wrt)
        return stmt

    def call_pullback(self, target: str, stmt) -> List[ast.AST]:
        """Call the pullback, then hand each active argument its cotangent."""
        pullback, wrt = self.state.calls[id(stmt)]
        grads = gast.Call(func=name(pullback), args=[name(self.state.cotangent(target))], keywords=[])
        parts = self.state.fresh_temp(f"d{target}_parts")
        self.state.kill(target)          # before the contributions: f(x) may be assigned to x
        contributions = self._argument_cotangents(parts, wrt)
        if not contributions:       # it still reports parameter gradients
            return [gast.Expr(value=grads)]
        return [assign(parts, grads)] + contributions

    def _argument_cotangents(self, parts: str, wrt) -> List[ast.AST]:
        out: List[ast.AST] = []
        positional = _item(name(parts), const(0))
        for kind, where, node in wrt:
            if kind == "index":
                value = _item(name(parts), const(where))
            elif kind == "pos":
                value = _item(positional, const(where))
            elif kind == "star":
                value = _item(positional, gast.Slice(lower=const(where), upper=None, step=None))
            elif kind == "free":
                value = _item(_item(name(parts), const(2)), const(where))
            elif kind == "starkw":
                value = _item(name(parts), const(1))
            elif kind == "callee":
                value = _item(name(parts), const(2))
            else:
                value = _item(_item(name(parts), const(1)), const(where))
            out += self.contribute_to_operand(node, value)
        return out

    def closure_adjoint(self, free: Set[str], dresult: ast.AST) -> List[ast.AST]:
        """A function's cotangent (a dict by closed-over name) goes to those names."""
        out: List[ast.AST] = []
        for n in sorted(free & self.state.active):
            out += self.contribute(n, self.state.call_helper(
                "item_or_zero", runtime.item_or_zero, [_copy(dresult), const(n)]))
        return out


def _is_builtin(func) -> bool:
    import types
    return isinstance(func, (types.BuiltinFunctionType, types.BuiltinMethodType, np.ufunc))


def _is_user_function(func) -> bool:
    import types
    return (isinstance(func, types.FunctionType) and rules.reverse_rule(func) is None
            and not rules.is_nondifferentiable(func))
