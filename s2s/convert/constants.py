"""Values known at conversion time: literals, and pure NumPy (and math) calls on them.

Static reading runs no user code, but a module constant such as ``SCALE = np.sqrt(2.0)`` or
``W0 = np.zeros((3, 4))`` is as safe to evaluate as a literal: ``evaluate`` computes an
expression made only of literals, names already known (``names``), arithmetic, single
comparisons, and calls of NumPy functions on this positive list, each pure (no ``out=``, no
state, no randomness): NumPy's ufuncs, the array constructors, and NumPy's scalar types. Anything else raises
``NotConstant`` saying what stopped it.

    SCALE = np.sqrt(2.0)             -> np.float64(1.4142135623730951)
    F = np.fft.rfftfreq(8)           -> array([0.   , 0.125, 0.25 , 0.375, 0.5  ])
    MASK = np.where(F <= 0.25, 1.0, 0.0)   (comparisons, & | ~ of known values too)
    X = np.linspace(0.0, 1.0, 5)     -> array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    N = len(DATA)                    -> NotConstant: 'len' is not a NumPy function s2s
                                        evaluates at conversion time
"""
from __future__ import annotations

import ast
import math
import operator
import types
from typing import Any, Dict

import numpy as np

# NumPy functions that build or reshape arrays from their arguments and nothing else
_CONSTRUCTORS = frozenset({
    np.array, np.asarray, np.zeros, np.ones, np.full, np.eye, np.identity, np.arange,
    np.linspace, np.logspace, np.geomspace, np.diag, np.reshape, np.stack, np.concatenate,
    np.transpose, np.sum, np.prod, np.mean, np.outer, np.dot, np.matmul, np.ravel, np.tile,
    np.repeat, np.round, np.where, np.clip, np.fft.fftfreq, np.fft.rfftfreq})
# NumPy's submodules whose functions on the list above may be reached by attribute
_SUBMODULES = {"fft": np.fft}
_CONSTANTS = ("pi", "e", "inf", "nan", "newaxis", "euler_gamma")
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
           ast.Pow: operator.pow, ast.MatMult: operator.matmul, ast.BitOr: operator.or_,
           ast.BitAnd: operator.and_, ast.BitXor: operator.xor}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert}
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
            ast.GtE: operator.ge, ast.Eq: operator.eq, ast.NotEq: operator.ne}


class NotConstant(Exception):
    """The expression is not known at conversion time; the message says why."""


def is_pure_numpy(obj: Any) -> bool:
    """May ``obj`` be called at conversion time?"""
    if isinstance(obj, np.ufunc):
        return True
    if isinstance(obj, type) and issubclass(obj, np.generic):
        return True                             # np.float64(2), np.float32(0.5)
    if isinstance(obj, types.BuiltinFunctionType) and getattr(math, obj.__name__, None) is obj:
        return True                             # math.sqrt, from math import exp
    try:
        return obj in _CONSTRUCTORS
    except TypeError:
        return False


def evaluate(node: ast.expr, names: Dict[str, Any]) -> Any:
    """The value of ``node``, given the values of the names it may read."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = [evaluate(e, names) for e in node.elts]
        return {ast.Tuple: tuple, ast.List: list, ast.Set: set}[type(node)](items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise NotConstant("a dict with ** is not evaluated")
        return {evaluate(k, names): evaluate(v, names) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _apply(_BINARY[type(node.op)], evaluate(node.left, names),
                      evaluate(node.right, names))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _apply(_UNARY[type(node.op)], evaluate(node.operand, names))
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        return _apply(_COMPARE[type(node.ops[0])], evaluate(node.left, names),
                      evaluate(node.comparators[0], names))
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        raise NotConstant(f"'{node.id}' is not known at conversion time")
    if isinstance(node, ast.Attribute):
        base = evaluate(node.value, names)
        if base is np and node.attr in _SUBMODULES:
            return _SUBMODULES[node.attr]       # np.fft.rfftfreq
        if base in _SUBMODULES.values() and is_pure_numpy(getattr(base, node.attr, None)):
            return getattr(base, node.attr)
        if base is np and (node.attr in _CONSTANTS or is_pure_numpy(getattr(np, node.attr,
                                                                            None))):
            return getattr(np, node.attr)
        if base is math and isinstance(getattr(math, node.attr, None), float):
            return getattr(math, node.attr)     # math.pi
        if base is math and is_pure_numpy(getattr(math, node.attr, None)):
            return getattr(math, node.attr)
        if isinstance(base, np.ndarray) and node.attr in ("T", "shape", "size", "ndim"):
            return getattr(base, node.attr)
        raise NotConstant(f"'{ast.unparse(node)}' is not evaluated at conversion time")
    if isinstance(node, ast.Call):
        fn = evaluate(node.func, names)
        if not is_pure_numpy(fn):
            raise NotConstant(f"'{ast.unparse(node.func)}' is not a NumPy function s2s "
                              f"evaluates at conversion time")
        if any(k.arg is None or k.arg == "out" for k in node.keywords) \
                or any(isinstance(a, ast.Starred) for a in node.args):
            raise NotConstant("out=, *args and **kwargs are not evaluated")
        args = [evaluate(a, names) for a in node.args]
        kwargs = {k.arg: evaluate(k.value, names) for k in node.keywords}
        return _apply(fn, *args, **kwargs)
    raise NotConstant(f"{type(node).__name__.lower()} expressions are not evaluated")


def _apply(fn, *args, **kwargs):
    try:
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)
    except Exception as exc:
        raise NotConstant(f"evaluating it raised {type(exc).__name__}: {exc}") from None
