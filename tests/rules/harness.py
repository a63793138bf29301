"""One harness for the rules of both modes, run by hand without the transformer.

A rule is never called: its body is pasted into generated code. Here it is executed on
concrete arguments, the simplest way the transformer could:

- ``apply_rule`` (reverse): binds the call to the rule's parameters, computes ``result``,
  draws a random ``dresult`` and runs the body; it drops the contributions to parameters that
  are not differentiated, as the transformer does.
- ``apply_tangent`` (forward): draws random tangents ``d<param>`` for the differentiated
  parameters and runs the body, with the other tangents folded away as symbolic zeros.

The oracle is independent of both: central differences in float64, of
``sum(primitive(...) * dresult)`` for the cotangents (``numerical_cotangents``) and of
``primitive`` along the tangents for ``dresult`` (``numerical_tangent``). ``check_row`` checks
one table row in both modes. A row is ``case(primitive, *args, wrt="x", **kwargs)``; inputs come
from the generators below (``r``, ``pos``, ``away``, ``unit``, ``matrix``), which keep them away
from kinks and domain edges.

    >>> check_row(case(np.sin, r(3, 4)))      # vjp and jvp against finite differences
"""
from __future__ import annotations

import ast
import copy
import inspect
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pytest

from s2s import rules
from s2s.convert.supported import spelling
from s2s.rules import REVERSE, TANGENT, _key, rule_source
from s2s.runtime import broadcast_like

STEP = 1e-6
NUMPY_2_1 = np.lib.NumpyVersion(np.__version__) >= "2.1.0"

rules.load_builtin_rules()
rng = np.random.default_rng(20240601)


# --- inputs --------------------------------------------------------------------------------

def r(*shape):
    """Any sign, away from nothing in particular."""
    return rng.uniform(-2.0, 2.0, shape)


# the rows of np.r_/np.c_ draw from a generator of their own, so that adding them left the
# values of every other row (drawn in turn from ``rng``) as they were
_join_rng = np.random.default_rng(2026)


def join_values(*shape):
    """As ``r``, for the rows of np.r_[...] and np.c_[...]."""
    return _join_rng.uniform(-2.0, 2.0, shape)


def pos(*shape):
    """Positive, away from 0."""
    return rng.uniform(0.5, 2.0, shape)


def away(*shape):
    """Either sign, at least 0.5 away from 0."""
    return pos(*shape) * rng.choice([-1.0, 1.0], shape)


def unit(*shape):
    """Inside (-1, 1), away from its ends."""
    return rng.uniform(-0.8, 0.8, shape)


def matrix(*shape):
    """Well-conditioned square matrices (a stack of them when shape has more than 2 axes)."""
    n = shape[-1]
    return r(*shape) + 1.5 * n * np.eye(n)


class Row(tuple):
    """One table row: (primitive, positional args, keyword args, the parameters differentiated,
    tie). ``tie(arguments)`` recomputes arguments that are functions of others (a helper's
    ``product`` of ``x``). ``modes`` is both, except for a row about one mode only (a cast to
    integers has a zero tangent; reverse mode never makes such a result active)."""
    modes = ("reverse", "forward")


def case(primitive, *args, wrt="x", tie=None, modes="reverse forward", **kwargs):
    """One table row: ``wrt`` names the rule parameters to differentiate, space separated."""
    row = Row((primitive, args, kwargs, tuple(wrt.split()), tie))
    row.modes = tuple(modes.split())
    return row


def label(primitive):
    if isinstance(key(primitive), tuple):       # a distribution's method (rules.per_instance)
        return spelling(key(primitive))
    module = getattr(primitive, "__module__", None)
    prefix = module.lstrip("_").replace("numpy", "np") + "." if module else ""
    return prefix + getattr(primitive, "__qualname__", getattr(primitive, "__name__", "?"))


def ids(rows):
    return [f"{label(row[0])}-{i}" for i, row in enumerate(rows)]


def key(primitive: Any) -> Any:
    """The registry key of a primitive (bound methods of builtins unwrap to the function, a
    distribution's method is keyed by the distribution too)."""
    return primitive if isinstance(primitive, tuple) else _key(primitive)


def rule_for(primitive: Any) -> Callable:
    return REVERSE[key(primitive)]


def tangent_rule_for(primitive: Any) -> Callable:
    return TANGENT[key(primitive)]


def check_row(row, rtol: float = 1e-5, tangent_rtol: float = 1e-6, entrywise: bool = False
              ) -> None:
    """The row's cotangents and tangent against central differences: both modes.

    ``entrywise`` (and a row with a tie) checks the cotangents with ``check_vjp``, which
    takes results of any structure (the helpers return lists of cotangents)."""
    primitive, args, kwargs, wrt, tie = row
    if "reverse" in row.modes and tie is None and not entrywise:
        check_rule(primitive, args, kwargs, wrt, rtol=rtol)
    elif "reverse" in row.modes:
        check_vjp(primitive, args, kwargs, wrt, tie, rtol=rtol)
    if "forward" in row.modes:
        check_tangent(primitive, args, kwargs, wrt, tie, rtol=tangent_rtol)


def to_float32(tree):
    if isinstance(tree, (list, tuple)):
        return type(tree)(to_float32(item) for item in tree)
    if isinstance(tree, np.ndarray) and tree.dtype == np.float64:
        return tree.astype(np.float32)
    return tree


def check_float32_row(row) -> None:
    """A row rerun in float32: float32 inputs get float32 cotangents, and float32 results
    float32 tangents."""
    primitive, args, kwargs, wrt, tie = row
    args, kwargs = to_float32(args), {k: to_float32(v) for k, v in kwargs.items()}
    bound = bind(rule_for(primitive), args, kwargs, tie)
    with np.errstate(all="ignore"):
        if tie is None:
            cotangents, _ = apply_rule(primitive, args, kwargs, wrt)
        else:
            call = bind(rule_for(primitive), args, kwargs, tie, defaults=False)
            dresult = random_like(primitive(*call.args, **call.kwargs), np.random.default_rng(1))
            cotangents = apply_adjoint(primitive, bound, wrt, dresult)
        got, _ = apply_tangent(primitive, args, kwargs, wrt, tie)
        call = bind(tangent_rule_for(primitive), args, kwargs, tie, defaults=False)
        result = primitive(*call.args, **call.kwargs)
    for param in wrt:
        for n, (g, primal) in enumerate(zip(leaves(cotangents[param]),
                                            leaves(bound.arguments[param]))):
            if isinstance(primal, np.ndarray) and primal.dtype == np.float32:
                # a complex64 cotangent keeps float32 too: its real part is what flows
                assert getattr(g, "dtype", None) in (np.float32, np.complex64), \
                    f"d{param}[{n}] is {getattr(g, 'dtype', type(g))}, input float32"
    for n, (g, res) in enumerate(zip(leaves(got), leaves(result))):
        if getattr(res, "dtype", None) == np.float32:
            assert getattr(g, "dtype", None) == np.float32, \
                f"dresult[{n}] is {getattr(g, 'dtype', type(g))}, the result float32"


def table_tests(rows):
    """The two tests of a family's table, for its module to name ``test_...``: every row
    against central differences in both modes, and float32 inputs kept float32 by the rules
    of both modes."""
    @pytest.mark.parametrize("row", rows, ids=ids(rows))
    def rows_match_finite_differences(row):
        check_row(row)

    float32 = [row for row in rows if has_float32_variant(row)]

    @pytest.mark.parametrize("row", float32, ids=ids(float32))
    def float32_stays_float32(row):
        check_float32_row(row)
    return rows_match_finite_differences, float32_stays_float32


def has_float32_variant(row) -> bool:
    return any(isinstance(leaf, np.ndarray) for leaf in leaves(list(row[1])))


# --- the reverse mode ------------------------------------------------------------------------

def _function_node(rule: Callable) -> ast.FunctionDef:
    return ast.parse(rule_source(rule)).body[0]


def _drop_contributions(body: List[ast.stmt], dropped: set) -> List[ast.stmt]:
    """The body without assignments to the cotangents in ``dropped`` (``if`` kept valid)."""
    kept = []
    for stmt in body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id in dropped:
            continue
        if isinstance(stmt, ast.If):
            stmt.body = _drop_contributions(stmt.body, dropped) or [ast.Pass()]
            stmt.orelse = _drop_contributions(stmt.orelse, dropped)
        kept.append(stmt)
    return kept


def compile_body(rule: Callable, wrt: Sequence[str]):
    """The rule's body as a code object, keeping only the contributions to ``wrt``."""
    fn = _function_node(rule)
    params = inspect.signature(rule).parameters
    dropped = {"d" + p for p in params if p not in wrt}
    module = ast.Module(body=_drop_contributions(fn.body, dropped), type_ignores=[])
    return compile(ast.fix_missing_locations(module), f"<rule {rule.__name__}>", "exec")


def random_cotangent(result: Any, rng: np.random.Generator, parts_without: Sequence[int] = (),
                     zero: Any = None) -> Any:
    """A random cotangent shaped like ``result``: float64 unless ``result`` is inexact.

    For a tuple or list result (np.split's pieces), the parts listed in ``parts_without`` get
    ``zero`` (None or 0.0).
    """
    if isinstance(result, (tuple, list)):
        parts = [zero if i in parts_without else random_cotangent(part, rng)
                 for i, part in enumerate(result)]
        return parts if isinstance(result, list) else tuple(parts)
    if isinstance(result, float):
        return float(rng.standard_normal())
    if isinstance(result, complex):
        return complex(rng.standard_normal(), rng.standard_normal())
    return _random_values(result, rng)


def apply_rule(primitive: Any, args: Sequence[Any], kwargs: Dict[str, Any],
               wrt: Sequence[str], dresult: Any = None, seed: int = 0
               ) -> Tuple[Dict[str, Any], Any]:
    """Execute the rule of ``primitive`` on concrete arguments.

    Returns the cotangents ``{param: d<param>}`` for the parameters in ``wrt``, and the
    ``dresult`` used (drawn at random when not given).
    """
    rule = rule_for(primitive)
    bound = inspect.signature(rule).bind(*args, **kwargs)
    bound.apply_defaults()
    result = primitive(*args, **kwargs)
    if dresult is None:
        dresult = random_cotangent(result, np.random.default_rng(seed))
    namespace = dict(rule.__globals__)
    namespace.update(bound.arguments)
    namespace["result"] = result
    namespace["dresult"] = dresult
    exec(compile_body(rule, wrt), namespace)
    missing = [p for p in wrt if "d" + p not in namespace]
    if missing:
        raise AssertionError(f"rule {rule.__name__} assigned no cotangent for {missing}")
    return {p: namespace["d" + p] for p in wrt}, dresult


# --- the oracle: central finite differences ------------------------------------------------

def leaves(tree: Any) -> List[Any]:
    """The numbers and arrays inside nested lists and tuples, in order."""
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in leaves(item)]
    return [tree]


def replace_leaves(tree: Any, new: List[Any]) -> Any:
    """``tree`` with its leaves replaced, in order, by ``new`` (consumed from the front)."""
    if isinstance(tree, (list, tuple)):
        return type(tree)(replace_leaves(item, new) for item in tree)
    return new.pop(0)


def exact(value: Any) -> np.ndarray:
    """``value`` as float64, or as complex128 when it is complex: what the oracle computes in."""
    return np.asarray(value, np.complex128 if np.iscomplexobj(value) else np.float64)


def projected(cotangent: Any, primal: Any) -> np.ndarray:
    """The cotangent as the API returns it: a real primal's is the real part of what the rule
    gives (the real part of a complex cotangent is all a real input can move along)."""
    cotangent = exact(cotangent)
    return cotangent if np.iscomplexobj(primal) else cotangent.real


def _as_primal(value: np.ndarray, like: Any) -> Any:
    """A float64 (or complex128) value in the form of the original leaf (a Python number
    stays one)."""
    if isinstance(like, np.ndarray):
        return value
    return complex(value) if np.iscomplexobj(value) else float(value)


def _objective(primitive, bound, dresult) -> float:
    result = primitive(*bound.args, **bound.kwargs)
    if isinstance(result, (tuple, list)):
        pairs = [(r, g) for r, g in zip(result, dresult) if g is not None]
    else:
        pairs = [(result, dresult)]
    # Re <result, dresult>: under s2s's convention the cotangent of a complex z is
    # dL/dRe(z) - 1j dL/dIm(z) for this real L
    return float(sum(np.real(np.sum(exact(r) * exact(g))) for r, g in pairs))


def numerical_cotangents(primitive: Any, args: Sequence[Any], kwargs: Dict[str, Any],
                         wrt: Sequence[str], dresult: Any) -> Dict[str, List[np.ndarray]]:
    """Central differences of ``Re sum(primitive(...) * dresult)``, per leaf of each ``wrt``;
    for a complex leaf, along the real and the imaginary direction: dL/dRe - 1j dL/dIm."""
    rule = rule_for(primitive)
    estimates = {}
    for param in wrt:
        bound = inspect.signature(rule).bind(*args, **kwargs)
        original = bound.arguments[param]
        base = [np.array(exact(leaf)) for leaf in leaves(original)]
        grads = []
        for i, leaf in enumerate(base):
            grad = np.zeros_like(leaf)
            for index in np.ndindex(leaf.shape):
                for direction in ((1.0, -1j) if np.iscomplexobj(leaf) else (1.0,)):
                    values = []
                    for sign in (1.0, -1.0):
                        shifted = [b.copy() for b in base]
                        shifted[i][index] += sign * STEP * np.conj(direction)
                        primal_leaves = [_as_primal(s, o)
                                         for s, o in zip(shifted, leaves(original))]
                        bound.arguments[param] = replace_leaves(original, primal_leaves)
                        values.append(_objective(primitive, bound, dresult))
                    grad[index] += direction * (values[0] - values[1]) / (2 * STEP)
            grads.append(grad)
        bound.arguments[param] = original
        estimates[param] = grads
    return estimates


def check_rule(primitive: Any, args: Sequence[Any], kwargs: Dict[str, Any],
               wrt: Sequence[str], dresult: Any = None, rtol: float = 1e-5) -> None:
    """Assert that the rule's cotangents match finite differences, leaf by leaf, in value
    and in shape."""
    cotangents, dresult = apply_rule(primitive, args, kwargs, wrt, dresult)
    expected = numerical_cotangents(primitive, args, kwargs, wrt, dresult)
    bound = inspect.signature(rule_for(primitive)).bind(*args, **kwargs)
    for param in wrt:
        got = leaves(cotangents[param])
        want = expected[param]
        primal = leaves(bound.arguments[param])
        assert len(got) == len(want), f"d{param}: {len(got)} cotangents for {len(want)} inputs"
        for n, (g, w, p) in enumerate(zip(got, want, primal)):
            assert np.shape(g) == np.shape(p), \
                f"d{param}[{n}] has shape {np.shape(g)}, its input {np.shape(p)}"
            scale = max(1.0, float(np.max(np.abs(w), initial=0.0)))
            np.testing.assert_allclose(projected(g, p), w, rtol=rtol, atol=rtol * scale,
                                       err_msg=f"d{param}[{n}]")


# --- the reverse template format ---------------------------------------------------------

_REVERSE_FORBIDDEN = (ast.For, ast.AsyncFor, ast.While, ast.Return, ast.FunctionDef,
                      ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp,
                      ast.DictComp, ast.GeneratorExp, ast.IfExp, ast.Yield, ast.YieldFrom,
                      ast.Await, ast.Global, ast.Nonlocal, ast.AugAssign, ast.With, ast.Try,
                      ast.Delete, ast.Import, ast.ImportFrom)


def template_problems(rule: Callable) -> List[str]:
    """What in ``rule`` breaks the template format (an empty list when nothing does)."""
    fn = _function_node(rule)
    cotangents = {"d" + p for p in inspect.signature(rule).parameters}
    problems = []
    for node in ast.walk(ast.Module(body=fn.body, type_ignores=[])):
        if isinstance(node, _REVERSE_FORBIDDEN):
            problems.append(f"line {node.lineno}: {type(node).__name__} is not allowed")
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in cotangents:
            problems.append(f"line {node.lineno}: reads {node.id}")
        if isinstance(node, ast.Name) and node.id in ("result", "dresult") \
                and not isinstance(node.ctx, ast.Load):
            problems.append(f"line {node.lineno}: assigns {node.id}")

    def walk_paths(body, assigned):
        """Check one block; return the cotangents that may be assigned after it."""
        for stmt in body:
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    for name in (n.id for n in ast.walk(target) if isinstance(n, ast.Name)):
                        if name not in cotangents:
                            continue
                        if not isinstance(target, ast.Name):
                            problems.append(f"line {stmt.lineno}: {name} in a compound target")
                        if name in assigned:
                            problems.append(f"line {stmt.lineno}: {name} assigned twice")
                        assigned = assigned | {name}
            elif isinstance(stmt, ast.If):
                assigned = walk_paths(stmt.body, assigned) | walk_paths(stmt.orelse, assigned)
            elif not isinstance(stmt, ast.Pass):
                problems.append(f"line {stmt.lineno}: {type(stmt).__name__} statement")
        return assigned

    walk_paths(fn.body, frozenset())
    return problems


# --- the forward mode ------------------------------------------------------------------------

def random_like(value: Any, rng: np.random.Generator) -> Any:
    """A random tangent shaped like ``value``: float64 unless ``value`` is inexact; lists and
    tuples get one per item."""
    if isinstance(value, (list, tuple)):
        return type(value)(random_like(v, rng) for v in value)
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        return float(rng.standard_normal())
    if isinstance(value, complex):
        return complex(rng.standard_normal(), rng.standard_normal())
    return _random_values(value, rng)


def _random_values(value: Any, rng: np.random.Generator) -> Any:
    """Standard normal values shaped like the array or NumPy scalar ``value``, in its dtype
    when that is a float or complex type and in float64 otherwise (a complex value gets
    independent real and imaginary parts)."""
    dtype = getattr(value, "dtype", np.dtype(np.float64))
    if dtype.kind not in "fc":
        dtype = np.dtype(np.float64)
    values = rng.standard_normal(np.shape(value)).astype(dtype)
    if dtype.kind == "c":
        values += 1j * rng.standard_normal(np.shape(value))
    return values if isinstance(value, np.ndarray) else values[()]


def _body(rule: Callable) -> List[ast.stmt]:
    return _function_node(rule).body


def bind(rule: Callable, args: Sequence[Any], kwargs: Dict[str, Any],
         tie: Optional[Callable] = None, defaults: bool = True) -> inspect.BoundArguments:
    """Bind a call to ``rule``'s parameters (a fresh copy of the arguments, defaults filled
    in unless ``defaults`` is false: the primitive is called as the row calls it);
    ``tie(arguments)`` recomputes arguments that are functions of others."""
    bound = inspect.signature(rule).bind(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    if defaults:
        bound.apply_defaults()
    if tie is not None:
        tie(bound.arguments)
    return bound


ZERO = object()     # the symbolic zero tangent of a parameter that is not differentiated


class DropZeros:
    """Fold symbolic zeros out of a tangent rule's body, as the forward engine does: a product
    with a zero factor is zero, a zero term of a sum is dropped, a call whose only tangent
    arguments are zero is zero (other zero arguments become ``0.0``)."""

    def __init__(self, zero: set, live: set):
        self.zero, self.live = set(zero), set(live)

    def block(self, body: List[ast.stmt]) -> List[ast.stmt]:
        out = []
        for stmt in body:
            if isinstance(stmt, ast.If):
                stmt.body = self.block(stmt.body) or [ast.Pass()]
                stmt.orelse = self.block(stmt.orelse)
            elif isinstance(stmt, ast.Assign):
                target = stmt.targets[0].id
                value = self.expr(stmt.value)
                if value is ZERO:
                    if target == "dresult":
                        raise AssertionError("the tangent is zero for these parameters")
                    self.zero.add(target)
                    continue
                if self.mentions_live(value):
                    self.live.add(target)
                stmt.value = value
            out.append(stmt)
        return out

    def mentions_live(self, node) -> bool:
        return any(isinstance(n, ast.Name) and n.id in self.live for n in ast.walk(node))

    def expr(self, node):
        if isinstance(node, ast.Name):
            return ZERO if node.id in self.zero else node
        if isinstance(node, ast.BinOp):
            left, right = self.expr(node.left), self.expr(node.right)
            if isinstance(node.op, (ast.Add, ast.Sub)):
                if left is ZERO and right is ZERO:
                    return ZERO
                if right is ZERO:
                    return left
                if left is ZERO:
                    return right if isinstance(node.op, ast.Add) else ast.UnaryOp(ast.USub(), right)
            elif left is ZERO or right is ZERO:
                return ZERO
            node.left, node.right = left, right
            return node
        if isinstance(node, ast.UnaryOp):
            operand = self.expr(node.operand)
            if operand is ZERO:
                return ZERO
            node.operand = operand
            return node
        if isinstance(node, (ast.Subscript, ast.Attribute)):
            value = self.expr(node.value)
            if value is ZERO:
                return ZERO
            node.value = value
            return node
        if isinstance(node, ast.Call):
            args = [self.expr(a) for a in node.args]
            values = [self.expr(k.value) for k in node.keywords]
            if any(v is ZERO for v in args + values):
                if not any(self.mentions_live(v) for v in args + values if v is not ZERO):
                    return ZERO
            node.args = [ast.Constant(0.0) if a is ZERO else a for a in args]
            for keyword, value in zip(node.keywords, values):
                keyword.value = ast.Constant(0.0) if value is ZERO else value
            return node
        if isinstance(node, (ast.Tuple, ast.List)):
            parts = [self.expr(e) for e in node.elts]
            if parts and all(p is ZERO for p in parts):       # () is a constant, not a zero
                return ZERO
            node.elts = [ast.Constant(0.0) if p is ZERO else p for p in parts]
            return node
        return node


def apply_tangent(primitive: Any, args: Sequence[Any], kwargs: Dict[str, Any],
                  wrt: Sequence[str], tie: Optional[Callable] = None, seed: int = 0,
                  rule: Optional[Callable] = None, tangents: Optional[Dict[str, Any]] = None
                  ) -> Tuple[Any, Dict[str, Any]]:
    """Execute the tangent rule of ``primitive``; return ``dresult`` and the tangents used
    (``tangents``, or random ones for the parameters in ``wrt``).

    The tangents of the parameters outside ``wrt`` are symbolic zeros (see ``DropZeros``).
    """
    rule = rule or tangent_rule_for(primitive)
    bound = bind(rule, args, kwargs, tie)
    given = tangents
    if tangents is None:
        rng = np.random.default_rng(seed)
        tangents = {p: random_like(bound.arguments[p], rng) for p in wrt}
    call = bind(rule, args, kwargs, tie, defaults=False)
    result = primitive(*call.args, **call.kwargs)
    namespace = dict(rule.__globals__)
    namespace.update(bound.arguments)
    # the rule may update a tangent in place (add_at): keep ours for the oracle
    namespace.update({"d" + p: t if given else copy.deepcopy(t) for p, t in tangents.items()})
    namespace["result"] = result
    zero = {"d" + p for p in bound.arguments if p not in wrt}
    body = DropZeros(zero, {"d" + p for p in wrt}).block(_body(rule))
    if getattr(rule, "given_arguments_only", False):
        # as the engine does for linear(): a keyword the call leaves out stays out (NumPy 2.0
        # has no np.reshape(..., copy=))
        left_out = set(bound.arguments) - set(call.arguments)
        for node in ast.walk(ast.Module(body=body, type_ignores=[])):
            if isinstance(node, ast.Call):
                node.keywords = [k for k in node.keywords if k.arg not in left_out]
    module = ast.Module(body=body, type_ignores=[])
    exec(compile(ast.fix_missing_locations(module), f"<tangent {rule.__name__}>", "exec"),
         namespace)
    dresult = namespace["dresult"]
    if not isinstance(result, (tuple, list)) and not isinstance(dresult, (tuple, list)) \
            and np.shape(dresult) != np.shape(result):
        # as the engine does where a zero term dropped took the shape of a sum with it
        dresult = broadcast_like(dresult, result)
    return dresult, tangents


# --- the oracle: central differences along the tangents ---------------------------------------

def _shifted(value: Any, direction: Any, step: float) -> Any:
    """``value + step * direction`` leaf by leaf, in float64 or complex128 (a Python float
    stays one)."""
    shifted = [exact(v) + step * exact(d)
               for v, d in zip(leaves(value), leaves(direction))]
    primal = [_as_primal(s, v) for s, v in zip(shifted, leaves(value))]
    return replace_leaves(value, primal)


def numerical_tangent(primitive: Any, rule: Callable, args: Sequence[Any],
                      kwargs: Dict[str, Any], tangents: Dict[str, Any],
                      tie: Optional[Callable] = None) -> List[np.ndarray]:
    """Central differences of ``primitive`` along ``tangents``, one per leaf of the result."""
    values = []
    for step in (STEP, -STEP):
        bound = bind(rule, args, kwargs, defaults=False)
        for param, direction in tangents.items():
            bound.arguments[param] = _shifted(bound.arguments[param], direction, step)
        if tie is not None:
            tie(bound.arguments)
        out = primitive(*bound.args, **bound.kwargs)
        values.append([exact(leaf) for leaf in leaves(out)])
    return [(p - m) / (2 * STEP) for p, m in zip(*values)]


def check_tangent(primitive: Any, args: Sequence[Any], kwargs: Dict[str, Any],
                  wrt: Sequence[str], tie: Optional[Callable] = None, rtol: float = 1e-5,
                  rule: Optional[Callable] = None) -> None:
    """Assert that the rule's ``dresult`` matches central differences, leaf by leaf, in value
    and in shape."""
    rule = rule or tangent_rule_for(primitive)
    got, tangents = apply_tangent(primitive, args, kwargs, wrt, tie, rule=rule)
    want = numerical_tangent(primitive, rule, args, kwargs, tangents, tie)
    got = leaves(got)
    assert len(got) == len(want), f"dresult has {len(got)} parts, the result {len(want)}"
    for n, (g, w) in enumerate(zip(got, want)):
        assert np.shape(g) == np.shape(w), \
            f"dresult[{n}] has shape {np.shape(g)}, the result {np.shape(w)}"
        scale = max(1.0, float(np.max(np.abs(w), initial=0.0)))
        np.testing.assert_allclose(exact(g), w, rtol=rtol, atol=rtol * scale,
                                   err_msg=f"dresult[{n}]")


# --- the tangent template format -----------------------------------------------------------

_ALLOWED = (ast.Assign, ast.If, ast.Pass)
_FORBIDDEN = (ast.For, ast.While, ast.Return, ast.FunctionDef, ast.Lambda, ast.ListComp,
              ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.IfExp, ast.AugAssign,
              ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Delete, ast.With,
              ast.Try, ast.Yield)
_PRODUCTS = (ast.Mult, ast.MatMult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)


def tangent_problems(rule: Callable) -> List[str]:
    """What in ``rule`` breaks the tangent template format (an empty list when nothing does):
    assignments and ``if`` only; ``dresult`` assigned exactly once on every path; no
    ``d<param>`` or ``result`` assigned; no product of two tangents or division by one."""
    body = _body(rule)
    tangent_names = {"d" + p for p in inspect.signature(rule).parameters}
    problems = []

    def mentions(node) -> bool:
        return any(isinstance(n, ast.Name) and n.id in tangent_names for n in ast.walk(node))

    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, _FORBIDDEN):
            problems.append(f"line {node.lineno}: {type(node).__name__} is not allowed")
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load) \
                and (node.id in tangent_names or node.id == "result"):
            problems.append(f"line {node.lineno}: assigns {node.id}")
        if isinstance(node, ast.Name) and node.id == "dresult" and isinstance(node.ctx, ast.Load):
            problems.append(f"line {node.lineno}: reads dresult")
        if isinstance(node, ast.BinOp) and isinstance(node.op, _PRODUCTS):
            both = mentions(node.left) and mentions(node.right)
            divisor = not isinstance(node.op, (ast.Mult, ast.MatMult)) and mentions(node.right)
            power = isinstance(node.op, ast.Pow) and mentions(node.left)
            if both or divisor or power:
                problems.append(f"line {node.lineno}: not linear in the tangents")

    def assigns_dresult(body) -> int:
        """How many times ``dresult`` is assigned on every path (99 when paths differ)."""
        count = 0
        for stmt in body:
            if not isinstance(stmt, _ALLOWED):
                problems.append(f"line {stmt.lineno}: {type(stmt).__name__} statement")
            elif isinstance(stmt, ast.Assign):
                count += sum(isinstance(t, ast.Name) and t.id == "dresult" for t in stmt.targets)
            elif isinstance(stmt, ast.If):
                branches = {assigns_dresult(stmt.body), assigns_dresult(stmt.orelse)}
                count += branches.pop() if len(branches) == 1 else 99
        return count

    if assigns_dresult(body) != 1:
        problems.append("dresult is not assigned exactly once on every path")
    return problems




# --- the reverse mode with ties ------------------------------------------------------------

def apply_adjoint(helper: Any, bound: inspect.BoundArguments, wrt: Sequence[str],
                  dresult: Any) -> Dict[str, Any]:
    """Execute the reverse rule of ``helper`` on bound arguments: the cotangents of ``wrt``."""
    rule = rule_for(helper)
    namespace = dict(rule.__globals__, **copy.deepcopy(bound.arguments))
    namespace["result"] = helper(*copy.deepcopy(bound.args), **copy.deepcopy(bound.kwargs))
    namespace["dresult"] = copy.deepcopy(dresult)
    exec(compile_body(rule, wrt), namespace)
    return {p: namespace["d" + p] for p in wrt}


def check_vjp(helper: Any, args: Sequence[Any], kwargs: Dict[str, Any], wrt: Sequence[str],
              tie: Optional[Callable] = None, rtol: float = 1e-5) -> None:
    """Assert that the reverse rule's cotangents match the central-difference gradient of
    ``<helper(...), dresult>`` for a random ``dresult``, leaf by leaf, in value and shape."""
    rule = rule_for(helper)
    bound = bind(rule, args, kwargs, tie)
    result = helper(*copy.deepcopy(bound.args), **copy.deepcopy(bound.kwargs))
    dresult = random_like(result, np.random.default_rng(1))
    got = apply_adjoint(helper, bound, wrt, dresult)

    def objective(arguments) -> float:
        shifted = bind(rule, (), arguments, tie)
        out = helper(*shifted.args, **shifted.kwargs)
        return float(sum(np.real(np.sum(exact(o) * exact(d)))
                         for o, d in zip(leaves(out), leaves(dresult))))

    for param in wrt:
        original = bound.arguments[param]
        base = [np.array(exact(leaf)) for leaf in leaves(original)]
        cotangents = leaves(got[param])
        assert len(cotangents) == len(base), f"d{param}: {len(cotangents)} parts for {len(base)}"
        for n, (leaf, cotangent) in enumerate(zip(base, cotangents)):
            want = np.zeros_like(leaf)
            for index in np.ndindex(leaf.shape):
                for direction in ((1.0, -1j) if np.iscomplexobj(leaf) else (1.0,)):
                    values = []
                    for sign in (1.0, -1.0):
                        shifted = [b.copy() for b in base]
                        shifted[n][index] += sign * STEP * np.conj(direction)
                        primal = [_as_primal(s, o) for s, o in zip(shifted, leaves(original))]
                        arguments = dict(bound.arguments)
                        arguments[param] = replace_leaves(original, primal)
                        values.append(objective(arguments))
                    want[index] += direction * (values[0] - values[1]) / (2 * STEP)
            assert np.shape(cotangent) == leaf.shape, \
                f"d{param}[{n}] has shape {np.shape(cotangent)}, its input {leaf.shape}"
            scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
            np.testing.assert_allclose(projected(cotangent, leaf), want, rtol=rtol,
                                       atol=rtol * scale, err_msg=f"d{param}[{n}]")


# --- closed forms ----------------------------------------------------------------------------

def cotangent(primitive, *args, wrt="x", dresult=None, **kwargs):
    """The cotangents of ``wrt`` (space separated) from ``primitive``'s reverse rule."""
    got, _ = apply_rule(primitive, args, kwargs, wrt.split(), dresult)
    return [got[p] for p in wrt.split()]


def tangent_of(primitive, *args, wrt, tangents, **kwargs):
    """``dresult`` of ``primitive``'s tangent rule for the given tangents of ``wrt``."""
    return apply_tangent(primitive, args, kwargs, wrt, tangents=dict(zip(wrt, tangents)))[0]
