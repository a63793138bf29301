"""Run a reverse-mode rule template by hand, without the transformer, and check its math.

A rule is never called: its body is the adjoint code. ``apply_rule`` does what the
transformer will do, in the simplest way: it binds the primitive call's arguments to the
rule's parameters, computes ``result``, draws a random ``dresult``, and ``exec``s the body in
the rule module's globals plus those names. Like the transformer, it drops the assignments to
``d<param>`` for parameters that are not differentiated (a rule may assign ``da_min`` even
when there is no ``a_min``). ``numerical_cotangents`` is the independent oracle: central
finite differences of ``sum(primitive(...) * dresult)`` in float64.

    >>> cotangents, dresult = apply_rule(np.sin, (x,), {}, ["x"])
    >>> cotangents["x"]          # dresult * np.cos(x)

``template_problems(rule)`` checks a rule against the template format: assignments and
``if`` only, no reading of ``d<param>``, each ``d<param>`` assigned at most once per path.
"""
from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np

from s2s.rules import REVERSE

STEP = 1e-6

RULE_MODULES = (
    "operators", "math", "builtins", "numpy_elementwise", "numpy_reductions",
    "numpy_linalg", "numpy_shape", "numpy_methods", "nondifferentiable",
)


def import_rule_modules() -> None:
    """Import every template module of this suite (as the package ``templates.reverse``)."""
    import importlib
    for stem in RULE_MODULES:
        importlib.import_module("templates.reverse." + stem)


def is_ours(rule: Callable) -> bool:
    """Was ``rule`` defined in one of the template modules tested here (however loaded)?"""
    parts = rule.__module__.rsplit(".", 2)
    declared = parts[-2:-1] == ["templates"] and parts[-1] in ("elementwise", "operators")
    return parts[-2:-1] == ["reverse"] and parts[-1] in RULE_MODULES or declared


def key(primitive: Any) -> Any:
    """The registry key of a primitive (bound methods of builtins unwrap to the function)."""
    return getattr(primitive, "__func__", primitive)


def rule_for(primitive: Any) -> Callable:
    return REVERSE[key(primitive)]


def _function_node(rule: Callable) -> ast.FunctionDef:
    source = textwrap.dedent(inspect.getsource(rule))
    return ast.parse(source).body[0]


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

    For a tuple result, the parts listed in ``parts_without`` get ``zero`` (None or 0.0).
    """
    if isinstance(result, tuple):
        return tuple(zero if i in parts_without else random_cotangent(part, rng)
                     for i, part in enumerate(result))
    if isinstance(result, float):
        return float(rng.standard_normal())
    dtype = getattr(result, "dtype", np.dtype(np.float64))
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    values = rng.standard_normal(np.shape(result)).astype(dtype)
    return values if isinstance(result, np.ndarray) else values[()]


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


def _as_primal(value: np.ndarray, like: Any) -> Any:
    """A float64 value in the form of the original leaf (a Python float stays a float)."""
    if isinstance(like, np.ndarray):
        return value
    return float(value)


def _objective(primitive, bound, dresult) -> float:
    result = primitive(*bound.args, **bound.kwargs)
    if isinstance(result, tuple):
        pairs = [(r, g) for r, g in zip(result, dresult) if g is not None]
    else:
        pairs = [(result, dresult)]
    return float(sum(np.sum(np.asarray(r, np.float64) * np.asarray(g, np.float64))
                     for r, g in pairs))


def numerical_cotangents(primitive: Any, args: Sequence[Any], kwargs: Dict[str, Any],
                         wrt: Sequence[str], dresult: Any) -> Dict[str, List[np.ndarray]]:
    """Central differences of ``sum(primitive(...) * dresult)``, per leaf of each ``wrt``."""
    rule = rule_for(primitive)
    estimates = {}
    for param in wrt:
        bound = inspect.signature(rule).bind(*args, **kwargs)
        original = bound.arguments[param]
        base = [np.array(leaf, dtype=np.float64) for leaf in leaves(original)]
        grads = []
        for i, leaf in enumerate(base):
            grad = np.zeros_like(leaf)
            for index in np.ndindex(leaf.shape):
                values = []
                for sign in (1.0, -1.0):
                    shifted = [b.copy() for b in base]
                    shifted[i][index] += sign * STEP
                    primal_leaves = [_as_primal(s, o) for s, o in zip(shifted, leaves(original))]
                    bound.arguments[param] = replace_leaves(original, primal_leaves)
                    values.append(_objective(primitive, bound, dresult))
                grad[index] = (values[0] - values[1]) / (2 * STEP)
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
            np.testing.assert_allclose(np.asarray(g, np.float64), w, rtol=rtol,
                                       atol=rtol * scale, err_msg=f"d{param}[{n}]")


# --- the template format ---------------------------------------------------------------------

_FORBIDDEN = (ast.For, ast.AsyncFor, ast.While, ast.Return, ast.FunctionDef, ast.AsyncFunctionDef,
              ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
              ast.IfExp, ast.Yield, ast.YieldFrom, ast.Await, ast.Global, ast.Nonlocal,
              ast.AugAssign, ast.With, ast.Try, ast.Delete, ast.Import, ast.ImportFrom)


def template_problems(rule: Callable) -> List[str]:
    """What in ``rule`` breaks the template format (an empty list when nothing does)."""
    fn = _function_node(rule)
    cotangents = {"d" + p for p in inspect.signature(rule).parameters}
    problems = []
    for node in ast.walk(ast.Module(body=fn.body, type_ignores=[])):
        if isinstance(node, _FORBIDDEN):
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
