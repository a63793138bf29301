"""Paste a rule template into generated code.

A rule (see ``s2s.rules``) is parsed once. At each call site its parameters are replaced by the
call's operands, ``result``/``dresult`` by the names of the primal result and its cotangent, its
locals by fresh names, and its free names by names that mean the same object in the generated
code. ``if`` tests that only involve constants are decided here, at transform time.

    rule:  def sum(a, axis=None, keepdims=False):
               dresult_full = expand_reduced(dresult, a, axis, keepdims)
               da = dresult_full
    call:  s = np.sum(v, axis=1)           ->    ds_full = expand_reduced(ds, v, 1, False)
                                                 contribution to v: ds_full
"""
from __future__ import annotations

import ast
import builtins
from ast import AST
import copy
import inspect
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import gast

from s2s import rules
from s2s.compiler import syntax
from s2s.compiler.syntax import const, name

RESULT, DRESULT = "result", "dresult"


@dataclass
class Template:
    rule: Callable
    signature: inspect.Signature
    body: List[ast.AST]
    locals: Set[str]
    differentiable: Set[str]          # parameters the body contributes to
    reads: Set[str]                   # names the body reads (parameters, result, dresult...)
    free: Dict[str, Any]              # free name -> object, from the rule's module
    given_only: bool = False          # a parameter the call leaves out is dropped from the body
    called: Set[str] = frozenset()    # the names the body calls (``unbroadcast(...)``)
    # (operands by position, keywords) -> how they bind to the parameters (bind_call)
    bindings: Dict[Tuple[int, Tuple[str, ...]], Any] = field(default_factory=dict)


_CACHE: Dict[Any, Template] = {}


def template_of(rule: Callable) -> Template:
    cached = _CACHE.get(rule)
    if cached is not None:
        return cached
    source = rules.rule_source(rule)
    fn = gast.parse(source).body[0]
    signature = inspect.signature(rule)
    params = set(signature.parameters)
    assigned, read, called = set(), set(), set()
    for node in syntax.walk(fn):
        if isinstance(node, gast.Name):
            (assigned if isinstance(node.ctx, gast.Store) else read).add(node.id)
        elif isinstance(node, gast.Call) and isinstance(node.func, gast.Name):
            called.add(node.func.id)
    contributions = {p for p in params if "d" + p in assigned}
    local_names = assigned - {"d" + p for p in contributions}
    free = {}
    for n in read - params - local_names - {RESULT, DRESULT}:
        if rule.__globals__.get(n) is rules.static:
            continue
        if n in rule.__globals__:
            free[n] = rule.__globals__[n]
        elif hasattr(builtins, n):
            free[n] = getattr(builtins, n)
    called = {n for n in called if rule.__globals__.get(n) is not rules.static}
    for stmt in syntax.walk_statements(fn.body):
        # a pasted statement takes the line of the user's statement it is the derivative
        # of (the sweeps give it), not its line in the rule's own source
        for attr in _POSITION:
            stmt.__dict__.pop(attr, None)
    template = Template(rule, signature, fn.body, local_names, contributions, read, free,
                        getattr(rule, "given_arguments_only", False), frozenset(called))
    _CACHE[rule] = template
    return template


@dataclass
class Expansion:
    statements: List[ast.AST]         # locals, in order; contributions are Assigns to markers
    contributions: Dict[str, str]     # marker name -> parameter name


def expand(template: Template, bound: Dict[str, ast.AST], result: ast.AST, dresult: ast.AST,
           fresh: Callable[[str], str], free_name: Callable[[str, Any], str]) -> Expansion:
    """Instantiate ``template`` with parameters bound to ``bound`` (AST operands)."""
    mapping: Dict[str, ast.AST] = {RESULT: result, DRESULT: dresult}
    for param, node in bound.items():
        mapping[param] = node
    for local in template.locals:
        mapping[local] = name(fresh(local))
    markers = {}
    for param in template.differentiable:
        marker = fresh("d" + param + "_contribution")
        markers[marker] = param
        mapping["d" + param] = name(marker)
    for free, obj in template.free.items():
        mapping[free] = name(free_name(free, obj))
    body = template.body
    if template.given_only:
        body = _without_keywords(body, set(template.signature.parameters) - set(bound))
    body = [clone(s, mapping) for s in body]
    body = fold_static_ifs(body)
    return Expansion(body, markers)


def clone(node, mapping: Dict[str, ast.AST]):
    """A copy of ``node`` with names replaced by copies of ``mapping``'s nodes.

    Much faster than ``copy.deepcopy`` followed by a ``NodeTransformer``: rules are pasted
    once per primitive call, and this is the transformer's inner loop. Contexts and
    operators (nodes without fields or positions) are shared, as ``ast.parse`` shares them.
    """
    if type(node) is list:
        return [clone(n, mapping) if isinstance(n, AST) else n for n in node]
    if not isinstance(node, AST):
        return node
    cls = node.__class__
    if cls is gast.Name:
        replacement = mapping.get(node.id)
        if replacement is not None:
            new = clone(replacement, _NO_NAMES)
            if isinstance(new, gast.Name):
                new.ctx = node.ctx
            return new
    plan = _PLANS.get(cls) or _plan(cls)
    if plan is _SHARED:
        return node
    leaves, children = plan
    new = cls.__new__(cls)
    attrs = new.__dict__
    given = node.__dict__
    for field in leaves:
        attrs[field] = given.get(field)
    for field in children:
        value = given.get(field)
        if type(value) is list:
            value = [clone(n, mapping) if isinstance(n, AST) else n for n in value]
        elif isinstance(value, AST):
            value = clone(value, mapping)
        attrs[field] = value
    for attr in _POSITION:
        if attr in given:
            attrs[attr] = given[attr]
    return new


# node class -> (fields copied as they are, fields cloned), or _SHARED for contexts and
# operators; names, numbers, flags, contexts and operators are copied as they are
_PLANS: Dict[type, Any] = {}
_SHARED = object()
_LEAVES = frozenset({"id", "attr", "arg", "kind", "type_comment", "level", "module",
                     "conversion", "is_async", "simple", "ctx", "op"})


def _plan(cls: type):
    if not cls._fields and not cls._attributes:
        plan = _SHARED
    else:
        plan = (tuple(f for f in cls._fields if f in _LEAVES),
                tuple(f for f in cls._fields if f not in _LEAVES))
    _PLANS[cls] = plan
    return plan


_NO_NAMES: Dict[str, ast.AST] = {}
_POSITION = ("lineno", "col_offset", "end_lineno", "end_col_offset")


def _without_keywords(body: List[ast.AST], omitted: Set[str]) -> List[ast.AST]:
    """A copy of ``body`` whose calls pass no keyword ``p=p`` for a parameter ``p`` in
    ``omitted``: the callee's own default applies, as in the call the rule stands for."""
    body = clone(body, {})
    for node in (n for stmt in body for n in syntax.walk(stmt)):
        if isinstance(node, gast.Call):
            node.keywords = [k for k in node.keywords
                             if not (isinstance(k.value, gast.Name) and k.value.id in omitted)]
    return body


def fold_static_ifs(body: List[ast.AST]) -> List[ast.AST]:
    out = []
    for stmt in body:
        if isinstance(stmt, gast.If):
            if _is_static_marker(stmt.test):
                decided = static_value(stmt.test.args[0])
                decided = False if decided is _UNKNOWN else bool(decided)
            else:
                decided = static_value(stmt.test)
            if decided is not _UNKNOWN:
                out.extend(fold_static_ifs(stmt.body if decided else stmt.orelse))
                continue
            stmt.body = fold_static_ifs(stmt.body) or [gast.Pass()]
            stmt.orelse = fold_static_ifs(stmt.orelse)
        out.append(stmt)
    return out


_UNKNOWN = object()


def _is_static_marker(test) -> bool:
    return (isinstance(test, gast.Call) and isinstance(test.func, gast.Name)
            and test.func.id == "static" and len(test.args) == 1)


def static_value(node: ast.AST) -> Any:
    """The value of an expression built only from constants, or ``_UNKNOWN``."""
    if any(isinstance(n, (gast.Name, gast.Call, gast.Attribute, gast.Subscript))
           for n in syntax.walk(node)):
        return _UNKNOWN
    try:
        expr = gast.gast_to_ast(gast.Expression(body=copy.deepcopy(node)))
        ast.fix_missing_locations(expr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # `1 is None` is a fine question here
            return eval(compile(expr, "<s2s-fold>", "eval"), {"__builtins__": {}})
    except Exception:
        return _UNKNOWN


def bind_call(template: Template, args: List[ast.AST], keywords: Dict[str, ast.AST]
              ) -> Optional[Dict[str, ast.AST]]:
    """Match a call's operands to the rule's parameters (None if they do not fit). How
    they match depends only on how many operands come by position and which by keyword:
    that is found once per rule (``_binding``), not once per call."""
    key = (len(args), tuple(keywords))
    plan = template.bindings.get(key, _UNPLANNED)
    if plan is _UNPLANNED:
        plan = template.bindings[key] = _binding(template, *key)
    if plan is None:
        return None
    bound: Dict[str, ast.AST] = {}
    for param, how, which in plan:
        if how is _POSITIONAL:
            bound[param] = args[which]
        elif how is _KEYWORD:
            bound[param] = keywords[which]
        elif how is _STARRED:
            bound[param] = gast.Tuple(elts=[args[i] for i in which], ctx=gast.Load())
        else:
            bound[param] = const(which)
    return bound


_UNPLANNED, _POSITIONAL, _KEYWORD, _STARRED, _DEFAULT = (object() for _ in range(5))


def _binding(template: Template, positional: int, keywords: Tuple[str, ...]):
    """How a call with ``positional`` operands by position and ``keywords`` binds to the
    rule's parameters: (parameter, how, which operand or default) each, or None."""
    try:
        ba = template.signature.bind(*range(positional), **{k: k for k in keywords})
    except TypeError:
        return None
    plan = []
    for param in template.signature.parameters.values():
        if param.name in ba.arguments:
            value = ba.arguments[param.name]
            if param.kind is inspect.Parameter.VAR_POSITIONAL:
                plan.append((param.name, _STARRED, tuple(value)))
            elif param.kind is inspect.Parameter.VAR_KEYWORD:
                return None
            else:
                plan.append((param.name, _KEYWORD if isinstance(value, str) else _POSITIONAL,
                             value))
        elif param.kind is inspect.Parameter.VAR_POSITIONAL:
            plan.append((param.name, _STARRED, ()))
        elif param.default is not inspect.Parameter.empty:
            if template.given_only:
                continue
            default = param.default
            if isinstance(default, (int, float, str, bool, type(None), tuple)):
                plan.append((param.name, _DEFAULT, default))
            else:
                return None
    return plan


def call_keywords(source: Any, call: gast.Call) -> Dict[str, ast.AST]:
    """A primitive call's keyword arguments by name, to bind to its rule; a ``**kwargs``
    call is refused at the user's line (``source`` makes the error)."""
    keywords = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise source.error(call, "a **kwargs call to a primitive",
                               "pass keyword arguments one by one")
        keywords[kw.arg] = kw.value
    return keywords


def clear() -> None:
    """Forget the parsed templates (``s2s.clear_cache()``)."""
    _CACHE.clear()
