"""Static questions the reverse modules ask about the primal: what its calls and names are.

What a call resolves to and what kind it is (a rule, a user function, a function known only
at run time, a constant); whether it is elementwise, pure, or a reduction to one number;
which names may hold containers (their cotangents are pytrees); which are global numbers;
which active names are updated in place; and which names the adjoint reads only for their
shape (``unbroadcast(g, x)``), so that saving an overwritten one keeps just its shape.
"""
from __future__ import annotations

import ast
import inspect
from typing import Dict, Iterator, List, Optional, Set

import gast
import numpy as np

from s2s import rules
from s2s.compiler import syntax
from s2s.compiler.analysis.activity import STATIC_ATTRIBUTES
from s2s.compiler.context import is_elementwise
from s2s.compiler.frontend.parse import parse_function
from s2s.compiler.frontend.resolve import UNRESOLVED, is_readable_function, reads_behind
from s2s.compiler.frontend.resolve import is_constant_call as _constant_call, receiver_method
from s2s.compiler.reverse.state import ReverseState
from s2s.runtime import numpy_helpers

_FULL_REDUCTIONS = {np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.var, np.std,
                    np.ndarray.sum, np.ndarray.mean, np.ndarray.prod, np.ndarray.max,
                    np.ndarray.min, np.ndarray.var, np.ndarray.std}


def is_constant_call(state: ReverseState, call: gast.Call) -> bool:
    """Does ``call`` give a value with no derivative (a shape query, a comparison...)?"""
    return _constant_call(state.callee(call), call)


def is_elementwise_call(state: ReverseState, call: gast.Call) -> bool:
    """Does ``call`` apply an elementwise function (a ufunc, a math function)?"""
    func = call.func
    if isinstance(func, gast.Name) and func.id in state.injected:
        return is_elementwise(state.injected[func.id])
    return is_elementwise(state.resolver.resolve(func))


def is_full_reduction(state: ReverseState, call: gast.Call) -> bool:
    """``np.sum(x)``, ``x.mean()``...: a reduction over every axis, giving one number."""
    func = state.callee(call)
    if func is UNRESOLVED and isinstance(call.func, gast.Attribute):
        func = getattr(np.ndarray, call.func.attr, None)
        args = call.args
    else:
        args = call.args[1:]
    if func not in _FULL_REDUCTIONS:
        return False
    # axis=None and keepdims=False keep it full; axis=0 does not (0 is falsy too)
    return not args and all(k.arg not in ("axis", "keepdims") or
                            (isinstance(k.value, gast.Constant)
                             and k.value.value in (None, False)
                             and type(k.value.value) is not int)
                            for k in call.keywords)


def is_global_number(state: ReverseState, name_: str) -> bool:
    """Is ``name_`` a global holding an int or a float?"""
    if name_ in state.locals:
        return False
    value = state.source.lookup(name_)
    return type(value) in (int, float)


# builtins whose result is a list or tuple
_CONTAINER_BUILDERS = (sorted, list, tuple)


def _results_passed_on(state: ReverseState, primal: List[ast.AST]) -> Set[str]:
    """Results of calls passed whole to a function s2s differentiates from its source, in a
    parameter that function unpacks (``w_v = np.linalg.eigh(a)``, then ``eigh_tangent(da,
    w_v)`` with ``w, v = result`` inside): a tuple, whose cotangent comes back as a list."""
    results, passed = set(), set()
    for stmt in syntax.walk_statements(primal):
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Call)):
            continue
        if isinstance(stmt.targets[0], gast.Name):
            results.add(stmt.targets[0].id)
        call = stmt.value
        if call_kind(state, call) != "static":
            continue
        func = state.callee(call)
        unpacked = _unpacked_parameters(parse_function(func).node)
        if unpacked:
            params = list(inspect.signature(func).parameters)
            passed |= {a.id for p, a in zip(params, call.args)
                       if isinstance(a, gast.Name) and p in unpacked}
    return results & passed


def _unpacked_parameters(fn: gast.FunctionDef) -> Set[str]:
    """The parameters ``fn``'s source unpacks (``w, v = result``), or passes to a call whose
    result it unpacks (``q, r = parts(a, result)``)."""
    params = {a.id for a in fn.args.posonlyargs + fn.args.args if isinstance(a, gast.Name)}
    unpacked = set()
    for stmt in syntax.walk_statements(fn.body):
        if isinstance(stmt, gast.Assign) \
                and any(isinstance(t, (gast.Tuple, gast.List)) for t in stmt.targets):
            value = stmt.value
            given = value.args if isinstance(value, gast.Call) else [value]
            unpacked |= {a.id for a in given if isinstance(a, gast.Name) and a.id in params}
    return unpacked


def tree_names(state: ReverseState, primal: List[ast.AST]) -> Set[str]:
    """Names that may hold containers (their cotangents are pytrees)."""
    trees = set(state.tree_params) | state.sequences
    args = state.source.node.args
    for extra in (args.vararg, args.kwarg):
        if extra is not None:
            trees.add(extra.id)
    trees |= state.namer.unpacked | _results_passed_on(state, primal)
    for node in syntax.walk_statements(primal):
        # a function's cotangent is a dict: one entry per value it closes over
        if isinstance(node, gast.FunctionDef):
            trees.add(node.name)
        elif isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda):
            trees |= {t.id for t in node.targets if isinstance(t, gast.Name)}
    changed = True
    while changed:
        changed = False
        for stmt in syntax.walk_statements(primal):
            if isinstance(stmt, gast.For) and isinstance(stmt.target, gast.Name) \
                    and isinstance(stmt.iter, gast.Name):
                # an item of a container may be a container
                t, v = stmt.target.id, stmt.iter
            elif isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
                t, v = stmt.targets[0].id, stmt.value
            else:
                continue
            maybe = (isinstance(v, (gast.Tuple, gast.List, gast.Dict))
                     or isinstance(v, gast.Call) and (
                         call_kind(state, v) in ("static", "dynamic")
                         # a primitive whose result holds containers or functions
                         or getattr(state.callee(v), "__s2s_pytree_result__", False)
                         or any(state.callee(v) is b for b in _CONTAINER_BUILDERS)
                         # a helper of generated code whose result is made like its
                         # arguments (zeros_like(l), add_at(dl, k, g)), given a container
                         or getattr(state.callee(v), "__s2s_like_arguments__", False)
                         and any(isinstance(a, gast.Name) and a.id in trees for a in v.args))
                     or isinstance(v, gast.Name) and v.id in trees
                     or isinstance(v, gast.Subscript) and isinstance(v.value, gast.Name)
                     and v.value.id in trees)
            if maybe and t not in trees:
                trees.add(t)
                changed = True
    return trees


def sequence_names(state: ReverseState, primal: List[ast.AST]) -> Set[str]:
    """Names that certainly hold a list or a tuple: every assignment to them is a list or
    tuple literal, or ``+`` / ``*`` with such an operand (concatenation, repetition), or a
    copy of such a name; or a differentiated argument that is a container, never rebound.
    Their ``+`` and ``*`` join and repeat items instead of adding."""
    values = _assigned_values(primal)
    args = state.source.node.args
    params = {a.id for a in args.posonlyargs + args.args + args.kwonlyargs
              if isinstance(a, gast.Name)}
    # a differentiated argument passed as a list or tuple (dicts have no + or *)
    given: Set[str] = {p for p in state.tree_params if p not in values}
    # the largest set that explains itself: acc = [...]; acc = acc * 2 holds a list though
    # its second value is one only if acc is (a name is bound before it is read)
    sequences = given | {n for n in values if n not in params}

    def certain(v) -> bool:
        # list(...) and tuple(...) of the builtins make one too
        return is_sequence(v, sequences) or (
            isinstance(v, gast.Call) and isinstance(v.func, gast.Name)
            and v.func.id in ("list", "tuple") and v.func.id not in state.locals
            and state.resolver.resolve(v.func) in (list, tuple))

    # the names whose values join each name: when it leaves, only they need another look
    # (rescanning every name until nothing changed took a pass per link of a chain)
    joiners: Dict[str, Set[str]] = {}
    for n in sequences - given:
        for v in values[n]:
            for joined in _joined_names(v):
                joiners.setdefault(joined, set()).add(n)
    pending = sorted(sequences - given)
    while pending:
        n = pending.pop()
        if n in sequences and not all(certain(v) for v in values[n]):
            sequences.discard(n)
            pending.extend(joiners.get(n, ()))
    return sequences


def dict_names(primal: List[ast.AST]) -> Set[str]:
    """Names that certainly hold a dict: every assignment to them is a dict literal."""
    return {n for n, vs in _assigned_values(primal).items()
            if all(isinstance(v, gast.Dict) for v in vs)}


def _assigned_values(primal: List[ast.AST]) -> Dict[str, List[Optional[ast.AST]]]:
    """Name -> the values assigned to it (None where one is not a plain ``name = value``)."""
    values: Dict[str, List[Optional[ast.AST]]] = {}
    for stmt in syntax.walk_statements(primal):
        if isinstance(stmt, gast.Assign):
            for t in stmt.targets:
                for n in syntax.walk(t):
                    # x[i] = v changes x's items, not what x is
                    if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                        values.setdefault(n.id, []).append(
                            stmt.value if t is n else None)
        elif isinstance(stmt, (gast.AugAssign, gast.AnnAssign, gast.For)):
            for n in syntax.walk(stmt.target):
                if isinstance(n, gast.Name):
                    values.setdefault(n.id, []).append(None)
    return values


def is_sequence(node, sequences: Set[str]) -> bool:
    """Is ``node`` certainly a list or a tuple, given the names known to hold one?"""
    if isinstance(node, (gast.List, gast.Tuple)):
        return True
    if isinstance(node, gast.Name):
        return node.id in sequences
    if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Add, gast.Mult)):
        return is_sequence(node.left, sequences) or is_sequence(node.right, sequences)
    return False


def _joined_names(node) -> Iterator[str]:
    """The names whose being a sequence makes ``node`` one (see ``is_sequence``)."""
    if isinstance(node, gast.Name):
        yield node.id
    elif isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Add, gast.Mult)):
        yield from _joined_names(node.left)
        yield from _joined_names(node.right)


def read_for_shape_only(state: ReverseState, stmts) -> Set[str]:
    """Names the adjoint reads only for their shape (``unbroadcast(g, x)``)."""
    shape_fns = {state.name_of(numpy_helpers.unbroadcast),
                 state.name_of(numpy_helpers.expand_reduced)} - {None}
    shape_reads, other_reads = set(), set()
    positions = set()
    for stmt in stmts:
        for node in syntax.walk(stmt):
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
                    and node.func.id in shape_fns and len(node.args) >= 2 \
                    and isinstance(node.args[1], gast.Name):
                positions.add(id(node.args[1]))
                shape_reads.add(node.args[1].id)
    for stmt in stmts:
        for node in syntax.walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) \
                    and id(node) not in positions:
                other_reads.add(node.id)
    return shape_reads - other_reads


def call_kind(state: ReverseState, call: gast.Call) -> str:
    """'rule', 'static' (a known Python function), 'dynamic' (known at run time only),
    or 'constant'."""
    func = state.callee(call)
    starred = any(isinstance(a, gast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords)
    if func is UNRESOLVED:
        f = call.func
        if isinstance(f, gast.Attribute) and isinstance(f.value, gast.Name) \
                and f.value.id != "self":
            method = receiver_method(f.attr)
            if method is not None and (rules.reverse_rule(method) is not None
                                       or rules.is_nondifferentiable(method)):
                return "constant" if rules.is_nondifferentiable(method) else "rule"
        return "dynamic"
    if rules.is_nondifferentiable(func):
        return "constant"
    if rules.reverse_rule(func) is not None:
        return "rule"
    if getattr(func, "__s2s_function__", None) is not None or (
            isinstance(call.func, gast.Name) and call.func.id in state.active
            and _closes_over_others(state, func)):
        # a function value read from a closure cell: call_vjp's pullback stands for plain
        # code built at run time; generated code's pullback closes over differentiated
        # values of its own (not cells of the function transformed): its cotangent, a dict
        # by closed-over name, comes from the run-time dispatch
        return "dynamic"
    if _is_user_function(func) and not starred:
        return "static"
    if callable(func) and not isinstance(func, type) and reads_behind(func):
        return "dynamic"
    return "rule"       # no rule, and no Python function behind it: call_adjoint reports it


def _closes_over_others(state: ReverseState, func) -> bool:
    """Does the function ``func`` close over arrays or numbers in cells that the function
    being transformed does not share (a local function calling itself shares them all)?"""
    closure = getattr(func, "__closure__", None)
    if not closure:
        return False
    mine = set(map(id, (state.source.closure or {}).values()))
    for cell in closure:
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if id(cell) not in mine and (type(value) is float
                                     or isinstance(value, (np.ndarray, np.floating))):
            return True
    return False


def is_source(state: ReverseState, value: ast.AST) -> bool:
    """In weights mode: values that may hold or depend on parameters read via objects."""
    if isinstance(value, gast.Attribute):
        return value.attr not in STATIC_ATTRIBUTES
    if isinstance(value, gast.Call):
        return call_kind(state, value) in ("static", "dynamic")
    return is_global_array(state, value)


def is_global_array(state: ReverseState, value: ast.AST) -> bool:
    """A name of an array that is not the function's own (a Parameter read by name)."""
    return isinstance(value, gast.Name) and value.id not in state.locals \
        and isinstance(state.resolver.resolve(value), np.ndarray)


def is_pure(state: ReverseState, value) -> bool:
    """Arithmetic, comparisons and NumPy/math functions of names: no side effects."""
    if isinstance(value, (gast.Name, gast.Constant)):
        return True
    if isinstance(value, (gast.BinOp, gast.UnaryOp, gast.Compare)):
        return all(isinstance(n, (gast.Name, gast.Constant, gast.BinOp, gast.UnaryOp,
                                  gast.Compare)) or not isinstance(n, ast.expr)
                   for n in syntax.walk(value))
    if isinstance(value, gast.Call):
        func = state.callee(value)
        module = getattr(func, "__module__", None) or ""
        if isinstance(func, np.ufunc) or module == "math":
            return True
        return module.startswith("numpy") and not module.startswith("numpy.random") \
            and all(isinstance(a, (gast.Name, gast.Constant)) for a in value.args)
    return False


def resolves_to(state: ReverseState, func, obj) -> bool:
    """Does the expression ``func`` mean ``obj`` (``range``, ``zip``...)?"""
    return state.resolver.resolve(func) is obj


def is_active_code(state: ReverseState, stmts) -> bool:
    """Does ``stmts`` assign or update any active name? A store into an item counts
    (``y[k] = 1.0`` in a loop: the reversed loop clears ``dy[k]``)."""
    for node in syntax.walk(gast.Module(body=list(stmts), type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store) \
                and node.id in state.active:
            return True
        if isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store):
            base = node.value
            while isinstance(base, gast.Subscript):
                base = base.value
            if isinstance(base, gast.Name) and base.id in state.active:
                return True
        if isinstance(node, gast.Expr) and isinstance(node.value, gast.Call):
            func = node.value.func
            if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
                    and func.value.id in state.active:
                return True
    return False


def mutated_names(state: ReverseState, primal) -> Set[str]:
    """Active names updated in place: ``x[i] = v``, ``xs.append(v)``."""
    names = set()
    for node in syntax.walk_statements(primal):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Subscript) \
                and isinstance(node.targets[0].value, gast.Name):
            names.add(node.targets[0].value.id)
        elif isinstance(node, gast.Expr) and isinstance(node.value, gast.Call) \
                and isinstance(node.value.func, gast.Attribute) \
                and isinstance(node.value.func.value, gast.Name) \
                and node.value.func.attr in ("append", "extend"):
            names.add(node.value.func.value.id)
    return names & state.active


def _is_user_function(func) -> bool:
    return (is_readable_function(func) and rules.reverse_rule(func) is None
            and not rules.is_nondifferentiable(func))
