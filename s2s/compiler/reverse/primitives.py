"""The adjoint of a primitive: a call or an operator that has a rule, pasted from its template.

``apply_rule`` binds the rule's parameters to the operands, pastes its body with names made
fresh, decides the shape helpers (``unbroadcast``, matrix-product adjoints) where shape
classes know the shapes, and turns each ``d<param> = ...`` of the rule into a contribution
to that operand's cotangent (``cotangents.contribute``).

    y = np.tanh(x)   (rule: dx = dresult * (1 - result * result))
                     ->     dx = dy * (1 - y * y)
"""
from __future__ import annotations

import ast
from functools import partial
from typing import Any, Dict, List, Optional

import gast
import numpy as np

from s2s import rules
from s2s.compiler import syntax
from s2s.compiler.analysis.shapes import LowerShapeHelpers
from s2s.compiler.context import Context
from s2s.compiler.expand import Expansion, bind_call, call_keywords, expand, template_of
from s2s.compiler.frontend.resolve import UNRESOLVED, missing_rule
from s2s.compiler.reverse import cotangents, queries
from s2s.compiler.reverse.nodes import has_active, source_text
from s2s.compiler.reverse.state import ReverseState
from s2s.compiler.syntax import assign, name
from s2s.errors import MissingRuleError, NotDifferentiableError, UnsupportedSyntaxError
from s2s.runtime import numpy_helpers


def call_adjoint(state: ReverseState, call: gast.Call, target: str, dresult: ast.AST,
                 stmt: ast.AST) -> List[ast.AST]:
    """The adjoint of ``target = call`` for a call with a rule (a NumPy function, an array
    method), given ``dresult``, the cotangent of ``target``. No active operand: nothing.
    A call with no rule, or one s2s cannot resolve, raises a located error.

        y = np.tanh(x)     ->     dx = dy * (1 - y * y)
    """
    operands = list(call.args) + [k.value for k in call.keywords]
    if isinstance(call.func, gast.Attribute):
        operands.append(call.func.value)
    if not any(has_active(o, state.active) for o in operands):
        return []           # nothing differentiated goes in: nothing comes back
    keywords = call_keywords(state.source, call)
    func = state.callee(call)
    for arg in call.args:
        if isinstance(arg, gast.Starred) and not _into_star_args(func, call, arg, keywords):
            raise state.source.error(arg, "a *args call to a primitive",
                                     "pass the arguments one by one")
    if func is UNRESOLVED and isinstance(call.func, gast.Attribute) \
            and isinstance(call.func.value, gast.Name):
        method = getattr(np.ndarray, call.func.attr, None)
        if method is None or rules.reverse_rule(method) is None:
            raise state.source.error(
                call, f"the method .{call.func.attr}()",
                "no rule for this array method; call the NumPy function instead, or "
                "register a rule with @s2s.adjoint(np.ndarray." + call.func.attr + ")",
                cls=MissingRuleError)
        return apply_rule(state, method, [call.func.value] + list(call.args), keywords,
                          target, dresult, stmt)
    if func is UNRESOLVED:
        raise state.source.error(call, f"a call to '{source_text(call.func)}'",
                                 "s2s resolves called functions at transform time; call a "
                                 "global or imported function", cls=UnsupportedSyntaxError)
    if rules.is_nondifferentiable(func):
        return []
    if rules.reverse_rule(func) is None:
        raise missing_rule(state.source, call, func, "reverse")
    return apply_rule(state, func, list(call.args), keywords, target, dresult, stmt)


def _into_star_args(func: Any, call: gast.Call, starred: gast.Starred,
                    keywords: Dict[str, ast.AST]) -> bool:
    """Does ``*name``, the last positional operand of ``call``, land in its rule's ``*args``
    (as ``call_vjp(f, spec, a, *rest)`` does in the rule ``call_vjp(fn, spec, *args)``)?
    Then the rule's ``dargs`` holds the cotangent of ``a``, then those of ``rest``'s items."""
    rule = rules.reverse_rule(func) if func is not UNRESOLVED else None
    if rule is None or call.args[-1] is not starred or not isinstance(starred.value, gast.Name):
        return False
    bound = bind_call(template_of(rule), list(call.args), keywords)
    return bound is not None and any(isinstance(v, gast.Tuple) and v.elts
                                     and v.elts[-1] is starred for v in bound.values())


def apply_rule(state: ReverseState, fn: Any, args: List[ast.AST], keywords: Dict[str, ast.AST],
               target: str, dresult: ast.AST, stmt: ast.AST) -> List[ast.AST]:
    """The reverse rule of ``fn``, pasted with its parameters bound to ``args`` and
    ``keywords``, its result to ``target`` and its ``dresult`` to ``dresult``; each
    ``d<param> = ...`` of the rule becomes a contribution to that operand's cotangent.

        z = x * w    (rule: dx = unbroadcast(dresult * w, x); dw = ...)
                     ->     dx = dz * w
                            dw = dz * x
    """
    rule = rules.reverse_rule(fn)
    if rule is None:
        raise state.source.error(stmt, f"the operation {getattr(fn, '__name__', fn)}",
                                 "no rule is registered for it", cls=MissingRuleError)
    if not any(has_active(a, state.active) for a in list(args) + list(keywords.values())):
        return []       # no operand is active, whatever the rule's signature takes
    template = template_of(rule)
    bound = bind_call(template, args, keywords)
    if bound is None:
        raise state.source.error(
            stmt, f"this call of {getattr(fn, '__name__', fn)}",
            f"the rule supports the arguments {template.signature}", cls=MissingRuleError)
    # only expand when some differentiable operand is active
    wanted = [p for p in template.differentiable if has_active(bound.get(p), state.active)]
    if not wanted:
        return []
    if rules.is_numpy_only(fn):
        source = state.source
        state.numpy_only.append((getattr(fn, "__name__", str(fn)), source.filename,
                                 getattr(stmt, "lineno", None),
                                 getattr(stmt, "col_offset", None), source.name))
    if state.holomorphic and not rules.is_holomorphic(fn):
        raise state.source.error(
            stmt, f"{getattr(fn, '__name__', fn)} of a differentiated value in a holomorphic "
            f"derivative", rules.not_holomorphic_hint(getattr(fn, '__name__', str(fn))),
            cls=NotDifferentiableError)
    # the operand's old value was set aside (read_alias) when the statement assigns the name
    # it reads: its reads are renamed after the expansion, but the result keeps its own name
    placeholder = "__s2s_result__" if state.read_alias else target
    expansion = expand(template, bound, name(placeholder), dresult,
                       state.fresh_temp, state.bind_free)
    if state.read_alias:
        renames = {**state.read_alias, placeholder: target}
        for stmt_ in expansion.statements:
            syntax.rename_loads(stmt_, renames)
    if _may_lower(template, bound, dresult):
        lower = shape_lowering(state, target, dresult)
        expansion.statements = [lower.visit(stmt_) for stmt_ in expansion.statements]
    return lower_contributions(state, expansion, bound)


_SHAPE_HELPERS = (numpy_helpers.unbroadcast, numpy_helpers.matmul_adjoint_x1,
                  numpy_helpers.matmul_adjoint_x2)
_MISSING = object()


def _may_lower(template, bound: Dict[str, ast.AST], dresult: ast.AST) -> bool:
    """Whether a rule's expansion may call a shape helper that ``shape_lowering`` decides:
    the rule calls one (or a name that is not a known function), or an operand holds a
    call. Most rules (``dx = dresult * np.cos(x)``) do not, and skip the lowering walk."""
    for called in template.called:
        obj = template.free.get(called, _MISSING)
        if obj is _MISSING or any(obj is helper for helper in _SHAPE_HELPERS):
            return True
    return any(isinstance(n, gast.Call) for operand in [dresult, *bound.values()]
               for n in syntax.walk(operand))


def shape_lowering(state: ReverseState, target: str, dresult: ast.AST):
    """Decides ``unbroadcast`` and the matrix-product adjoints of a rule's expansion
    where shape classes know the shapes (see ``shapes.LowerShapeHelpers``)."""
    overrides = {}
    if isinstance(dresult, gast.Name) and target in state.classes:
        overrides[dresult.id] = state.classes[target]
    for old, new in state.read_alias.items():
        if old in state.classes:
            overrides[new] = state.classes[old]
    classes = _AdjointClasses(state.classes, overrides, state.primal_of)
    unbroadcast = state.name_of(numpy_helpers.unbroadcast)
    ctx = Context(set(), set(), {}, partial(queries.is_elementwise_call, state), unbroadcast,
                  is_number=partial(queries.is_global_number, state), callee=state.callee,
                  numpy=lambda: state.bind_free("np", np))
    return LowerShapeHelpers(classes, ctx)


def lower_contributions(state: ReverseState, expansion: Expansion, bound: Dict[str, ast.AST]
                        ) -> List[ast.AST]:
    """Turn the rule's ``d<param> = ...`` markers into assignments or accumulations."""
    out: List[ast.AST] = []
    for stmt in expansion.statements:
        marker = _assigned_marker(stmt, expansion.contributions)
        if marker is None:
            if isinstance(stmt, gast.If):
                out += _dynamic_branch(state, stmt, expansion, bound)
            else:
                out.append(stmt)
            continue
        param = expansion.contributions[marker]
        out += cotangents.contribute_to_operand(state, bound.get(param), stmt.value)
    return out


def _dynamic_branch(state: ReverseState, stmt, expansion, bound):
    """A rule ``if`` decided at run time: accumulate into materialized cotangents."""
    before = []
    for inner in syntax.walk(stmt):
        marker = _assigned_marker(inner, expansion.contributions)
        if marker is None:
            continue
        for var in _operand_names(bound.get(expansion.contributions[marker])):
            if var in state.active and var not in state.nonzero:
                before.append(assign(state.cotangent(var), cotangents.zeros(state, var)))
                state.nonzero.add(var)
                state.owned.add(var)

    def lower(block):
        result = []
        for s in block:
            marker = _assigned_marker(s, expansion.contributions)
            if marker is not None:
                param = expansion.contributions[marker]
                result += cotangents.contribute_to_operand(state, bound.get(param), s.value)
            elif isinstance(s, gast.If):
                result.append(branches(s))
            else:
                result.append(s)
        return result

    def branches(s):
        # each branch starts from what is owned before the if (one runs, never both), and
        # what either branch shares stays shared after it: no `+=` on an array we do not own
        owned = set(state.owned)
        s.body = lower(s.body) or [gast.Pass()]
        after_body = set(state.owned)
        state.owned.clear()
        state.owned.update(owned)
        s.orelse = lower(s.orelse)
        state.owned.intersection_update(after_body)
        return s
    return before + [branches(stmt)]


def _operand_names(node) -> List[str]:
    if node is None:
        return []
    return [n.id for n in syntax.walk(node) if isinstance(n, gast.Name)]


def _assigned_marker(stmt, markers) -> Optional[str]:
    if (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id in markers):
        return stmt.targets[0].id
    return None


class _AdjointClasses:
    """Shape classes as a rule's expansion sees them: a cotangent is in its primal's class,
    and ``overrides`` (the rule's result cotangent, old values set aside) come first. Looked
    up name by name, so that no statement copies the classes of the whole function."""

    def __init__(self, classes, overrides, primal_of):
        self.classes, self.overrides, self.primal_of = classes, overrides, primal_of

    def __getitem__(self, name):
        if name in self.overrides:
            return self.overrides[name]
        primal = self.primal_of(name) if isinstance(name, str) else None
        if primal is not None and primal in self.classes:
            return self.classes[primal]
        return self.classes[name]

    def __contains__(self, name) -> bool:
        try:
            self[name]
        except KeyError:
            return False
        return True

    def get(self, name, default=None):
        try:
            return self[name]
        except KeyError:
            return default
