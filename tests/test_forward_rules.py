"""The math of the forward-mode rules of NumPy reductions, linear algebra, shape functions and
array methods, checked numerically without the transformer.

A tangent rule is never called: its body assigns ``dresult``. ``apply_tangent`` binds a call's
arguments to the rule's parameters, computes ``result``, draws random tangents ``d<param>``
for the differentiated parameters and ``exec``s the body, with the tangents of the other
parameters folded away as symbolic zeros, as the engine does. The oracle is the central
difference ``(f(x + h v) - f(x - h v)) / 2h`` in float64 along those tangents.

The cases are the rows of the reverse-mode tables in ``tests/test_rules_math.py`` (the same
primitives, parameters and inputs), plus the rows below. A rule without a row fails
``test_every_tangent_rule_has_a_case``.
"""
from __future__ import annotations

import ast
import copy
import importlib
import importlib.util
import inspect
import sys
import textwrap
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pytest

from s2s.rules import REVERSE, TANGENT
from tests.rule_harness import key, leaves, replace_leaves
from tests.test_rules_math import (LINALG, METHODS, REDUCTIONS, SHAPE, away, case, label,
                                   matrix, r)

STEP = 1e-6

FORWARD_MODULES = ("numpy_reductions", "numpy_linalg", "numpy_shape", "numpy_methods")


def load_rules(kind: str, stems: Sequence[str]) -> Tuple[Dict[Any, Callable], ...]:
    """Run the rule modules ``templates.<kind>.<stem>``; return the tangent rules and the
    reverse rules they register, by key. Tests use these and not the live registry, where
    another module may register a rule for the same primitive later."""
    tangents, adjoints = {}, {}
    for stem in stems:
        name = f"templates.{kind}.{stem}"
        module = (importlib.reload(sys.modules[name]) if name in sys.modules
                  else importlib.import_module(name))
        for table, ours in ((TANGENT, tangents), (REVERSE, adjoints)):
            ours.update({k: rule for k, rule in table.items()
                         if rule.__module__ == module.__name__})
    return tangents, adjoints


def tangent_rule_for(primitive: Any) -> Callable:
    return OURS.get(key(primitive)) or TANGENT[key(primitive)]


# --- running a rule ----------------------------------------------------------------------------

def random_like(value: Any, rng: np.random.Generator) -> Any:
    """A random tangent shaped like ``value``: float64 unless ``value`` is inexact; lists and
    tuples get one per item."""
    if isinstance(value, (list, tuple)):
        return type(value)(random_like(v, rng) for v in value)
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        return float(rng.standard_normal())
    dtype = getattr(value, "dtype", np.dtype(np.float64))
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    values = rng.standard_normal(np.shape(value)).astype(dtype)
    return values if isinstance(value, np.ndarray) else values[()]


def _body(rule: Callable) -> List[ast.stmt]:
    return ast.parse(textwrap.dedent(inspect.getsource(rule))).body[0].body


def bind(rule: Callable, args: Sequence[Any], kwargs: Dict[str, Any],
         tie: Optional[Callable] = None) -> inspect.BoundArguments:
    """Bind a call to ``rule``'s parameters (a fresh copy of the arguments, defaults filled
    in); ``tie(arguments)`` recomputes arguments that are functions of others."""
    bound = inspect.signature(rule).bind(*copy.deepcopy(args), **copy.deepcopy(kwargs))
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
            if all(p is ZERO for p in parts):
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
    result = primitive(*copy.deepcopy(bound.args), **copy.deepcopy(bound.kwargs))
    namespace = dict(rule.__globals__)
    namespace.update(bound.arguments)
    # the rule may update a tangent in place (add_at): keep ours for the oracle
    namespace.update({"d" + p: t if given else copy.deepcopy(t) for p, t in tangents.items()})
    namespace["result"] = result
    zero = {"d" + p for p in bound.arguments if p not in wrt}
    body = DropZeros(zero, {"d" + p for p in wrt}).block(_body(rule))
    module = ast.Module(body=body, type_ignores=[])
    exec(compile(ast.fix_missing_locations(module), f"<tangent {rule.__name__}>", "exec"),
         namespace)
    return namespace["dresult"], tangents


# --- the oracle: central differences along the tangents ---------------------------------------

def _shifted(value: Any, direction: Any, step: float) -> Any:
    """``value + step * direction`` leaf by leaf, in float64 (a Python float stays one)."""
    shifted = [np.asarray(v, np.float64) + step * np.asarray(d, np.float64)
               for v, d in zip(leaves(value), leaves(direction))]
    primal = [s if isinstance(v, np.ndarray) else float(s)
              for s, v in zip(shifted, leaves(value))]
    return replace_leaves(value, primal)


def numerical_tangent(primitive: Any, rule: Callable, args: Sequence[Any],
                      kwargs: Dict[str, Any], tangents: Dict[str, Any],
                      tie: Optional[Callable] = None) -> List[np.ndarray]:
    """Central differences of ``primitive`` along ``tangents``, one per leaf of the result."""
    values = []
    for step in (STEP, -STEP):
        bound = bind(rule, args, kwargs)
        for param, direction in tangents.items():
            bound.arguments[param] = _shifted(bound.arguments[param], direction, step)
        if tie is not None:
            tie(bound.arguments)
        out = primitive(*bound.args, **bound.kwargs)
        values.append([np.asarray(leaf, np.float64) for leaf in leaves(out)])
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
        np.testing.assert_allclose(np.asarray(g, np.float64), w, rtol=rtol, atol=rtol * scale,
                                   err_msg=f"dresult[{n}]")


# --- the template format -------------------------------------------------------------------------

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


# --- the cases ------------------------------------------------------------------------------

OURS: Dict[Any, Callable] = {}
OURS.update(load_rules("forward", FORWARD_MODULES)[0])

TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])
ZEROS = np.array([[1.5, 0.0, -2.0], [0.7, 1.2, 3.0], [0.0, 0.0, 0.4]])

EXTRA = [
    case(np.max, TIES, axis=1, wrt="a"),
    case(np.min, TIES, wrt="a"),
    case(np.ndarray.max, TIES, axis=0, keepdims=True, wrt="self"),
    case(np.cumprod, ZEROS, wrt="a"),
    case(np.cumprod, ZEROS, axis=0, wrt="a"),
    case(np.prod, ZEROS, axis=0, wrt="a"),
    case(np.ndarray.prod, ZEROS, axis=(0, 1), wrt="self"),
    case(np.ndarray.cumsum, r(2, 3, 4), axis=1, wrt="self"),
    case(np.linalg.norm, r(3, 4), 2, axis=(1, 0)),
    case(np.linalg.norm, r(2, 3, 4), "nuc", axis=(2, 1), keepdims=True),
    case(np.linalg.norm, r(5), -1),
    case(np.linalg.slogdet, matrix(2, 3, 3) * np.array([1.0, -1.0])[:, None, None], wrt="a"),
    case(np.linalg.solve, matrix(2, 4, 4), r(4, 2), wrt="a b"),
    case(np.matmul, r(3, 4), r(2, 4, 5), wrt="x1 x2"),
    case(np.einsum, "ij,ij->", r(3, 4), r(3, 4), wrt="operands"),
    case(np.concatenate, [r(2, 3), r(4, 3)], axis=0, wrt="arrays"),
    case(np.stack, (r(3), r(3)), axis=-1, wrt="arrays"),
    case(np.array, [1.5, r(2)[0], -0.5], wrt="object"),
    case(np.full, 3, 0.7, wrt="fill_value"),
    case(np.ndarray.clip, away(3, 4), -0.7, 0.9, wrt="self min max"),
    case(np.ndarray.astype, r(3, 4), np.float64, wrt="self"),
    case(np.ndarray.astype, r(3, 4) * 5, np.int64, wrt="self"),
    case(np.array, r(3) * 5, dtype=int, wrt="object"),
    case(np.asarray, [1.5, r(2)[0]], np.float64, wrt="a"),
    case(np.full, (2, 3), 2.5, dtype=np.int32, wrt="fill_value"),
    case(np.full_like, np.arange(3), 2.7, wrt="fill_value"),
]

CASES = REDUCTIONS + LINALG + SHAPE + METHODS + EXTRA
IDS = [f"{label(p)}-{i}" for i, (p, *_) in enumerate(CASES)]


@pytest.mark.parametrize("primitive, args, kwargs, wrt", CASES, ids=IDS)
def test_tangent_matches_finite_differences(primitive, args, kwargs, wrt):
    check_tangent(primitive, args, kwargs, wrt)


def to_float32(tree):
    if isinstance(tree, (list, tuple)):
        return type(tree)(to_float32(item) for item in tree)
    if isinstance(tree, np.ndarray) and tree.dtype == np.float64:
        return tree.astype(np.float32)
    return tree


FLOAT32 = [(c, i) for c, i in zip(CASES, IDS)
           if any(isinstance(leaf, np.ndarray) for leaf in leaves(list(c[1])))]


@pytest.mark.parametrize("primitive, args, kwargs, wrt", [c for c, _ in FLOAT32],
                         ids=[i for _, i in FLOAT32])
def test_float32_tangents_stay_float32(primitive, args, kwargs, wrt):
    args, kwargs = to_float32(args), {k: to_float32(v) for k, v in kwargs.items()}
    with np.errstate(all="ignore"):
        got, _ = apply_tangent(primitive, args, kwargs, wrt)
        result = primitive(*args, **kwargs)
    for n, (g, res) in enumerate(zip(leaves(got), leaves(result))):
        if getattr(res, "dtype", None) == np.float32:
            assert getattr(g, "dtype", None) == np.float32, \
                f"dresult[{n}] is {getattr(g, 'dtype', type(g))}, the result float32"


# --- closed forms at ties and zeros ---------------------------------------------------------

def tangent_of(primitive, *args, wrt, tangents, **kwargs):
    """``dresult`` of ``primitive``'s tangent rule for the given tangents of ``wrt``."""
    return apply_tangent(primitive, args, kwargs, wrt, tangents=dict(zip(wrt, tangents)))[0]


def test_max_tangent_averages_tied_extrema():
    # the reverse rule gives each tied entry half: <dresult, dx> agrees with it
    da = np.array([1.0, 10.0, 30.0])
    assert tangent_of(np.max, np.array([1.0, 3.0, 3.0]), wrt=["a"], tangents=[da]) == 20.0
    got = tangent_of(np.min, np.array([[2.0, 2.0], [1.0, 4.0]]), axis=1, wrt=["a"],
                     tangents=[np.array([[1.0, 3.0], [5.0, 7.0]])])
    np.testing.assert_array_equal(got, [2.0, 5.0])


def test_prod_and_cumprod_tangents_are_exact_at_zeros():
    a = np.array([2.0, 0.0, 3.0])
    da = np.array([1.0, 1.0, 1.0])
    # d(a0 a1 a2) = a1 a2 da0 + a0 a2 da1 + a0 a1 da2 = 0 + 6 + 0
    assert tangent_of(np.prod, a, wrt=["a"], tangents=[da]) == 6.0
    np.testing.assert_allclose(tangent_of(np.cumprod, a, wrt=["a"], tangents=[da]),
                               [1.0, 2.0, 6.0], rtol=1e-15)


def test_casts_to_integers_have_a_zero_tangent():
    x, ones = np.array([1.3, 2.7]), np.ones(2)
    for got in (tangent_of(np.ndarray.astype, x, "int64", wrt=["self"], tangents=[ones]),
                tangent_of(np.array, x, int, wrt=["object"], tangents=[ones]),
                tangent_of(np.full_like, np.arange(2), 1.7, wrt=["fill_value"], tangents=[1.0])):
        np.testing.assert_array_equal(got, [0.0, 0.0])


def test_slogdet_tangent_is_a_tuple_with_a_zero_sign_part():
    a = matrix(3, 3)
    da = r(3, 3)
    sign, logdet = tangent_of(np.linalg.slogdet, a, wrt=["a"], tangents=[da])
    assert sign == 0.0
    np.testing.assert_allclose(logdet, np.trace(np.linalg.inv(a) @ da))


# --- the table covers the registry, and the rules follow the format -----------------------------

def test_every_tangent_rule_has_a_case():
    tested = {key(p) for p, *_ in CASES}
    missing = [label(k) for k in OURS if k not in tested]
    assert not missing, f"tangent rules without a test case: {missing}"


def test_every_reverse_rule_of_these_modules_has_a_tangent_rule():
    reverse_rules = load_rules("reverse", FORWARD_MODULES)[1]
    missing = [label(k) for k in reverse_rules if k not in OURS]
    assert not missing, f"reverse rules without a tangent rule: {missing}"


@pytest.mark.parametrize("rule", sorted(set(OURS.values()),
                                        key=lambda f: (f.__module__, f.__name__)),
                         ids=lambda f: f"{f.__module__.rsplit('.', 1)[-1]}.{f.__name__}")
def test_tangent_rule_follows_the_template_format(rule):
    assert tangent_problems(rule) == []


def test_format_check_finds_problems():
    def bad(x, y):
        dresult = dx * dy
        if x:
            dresult = dx

    assert len(tangent_problems(bad)) == 2


def test_tangent_templates_load_by_file_path_without_the_package():
    from s2s.rules import NONDIFFERENTIABLE
    saved = dict(TANGENT), dict(REVERSE), set(NONDIFFERENTIABLE)
    try:
        folder = inspect.getfile(tangent_rule_for(np.prod)).rsplit("/", 1)[0]
        for stem in FORWARD_MODULES:
            spec = importlib.util.spec_from_file_location(f"_path_loaded_forward_{stem}",
                                                          f"{folder}/{stem}.py")
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
    finally:
        for table, before in zip((TANGENT, REVERSE, NONDIFFERENTIABLE), saved):
            table.clear()
            table.update(before)
