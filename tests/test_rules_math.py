"""The math of every reverse-mode rule template, checked numerically without the transformer.

Each row of ``CASES`` is one call: (primitive, positional args, keyword args, the parameters
differentiated). ``rule_harness.check_rule`` runs the rule's body on it and compares each
cotangent with central finite differences in float64. Inputs stay away from kinks and
domain edges; behaviour *at* kinks (ties, zeros) has closed-form tests at the end.

Adding a rule means adding one row here: ``test_every_rule_has_a_case`` fails otherwise.
"""
import builtins
import importlib.util
import inspect
import math
import operator

import numpy as np

NUMPY_2_1 = np.lib.NumpyVersion(np.__version__) >= "2.1.0"
import pytest

from s2s.rules import NONDIFFERENTIABLE, REVERSE
from tests.rule_harness import (RULE_MODULES, apply_rule, check_rule, import_rule_modules,
                                is_ours, key, leaves, rule_for, template_problems)

import_rule_modules()

rng = np.random.default_rng(20240601)


def r(*shape):
    """Any sign, away from nothing in particular."""
    return rng.uniform(-2.0, 2.0, shape)


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


def case(primitive, *args, wrt="x", **kwargs):
    """One table row: ``wrt`` names the rule parameters to differentiate, space separated."""
    return primitive, args, kwargs, tuple(wrt.split())


A34, B34, C4, C3 = r(3, 4), r(3, 4), r(4), r(3)
COND34 = r(3, 4) > 0
WITH_ZERO = np.array([[1.5, 0.0, -2.0], [0.7, 1.2, 3.0]])
TWO_ZEROS = np.array([[0.0, 2.0, 0.0, 1.5], [1.1, -0.4, 2.0, 0.9]])
WITH_NAN = np.where(r(3, 4) > 1.2, np.nan, r(3, 4))

OPERATORS = [
    case(operator.add, r(3, 4), r(3, 4), wrt="x1 x2"),
    case(operator.add, r(3, 1), r(4), wrt="x1 x2"),
    case(operator.add, 1.5, -0.5, wrt="x1 x2"),
    case(np.add, r(2, 3, 4), r(3, 1), wrt="x1 x2"),
    case(np.add, r(3), 2.5, wrt="x1 x2"),
    case(operator.sub, r(3, 4), r(4), wrt="x1 x2"),
    case(operator.sub, 0.3, r(2, 2), wrt="x1 x2"),
    case(np.subtract, r(1, 4), r(3, 1), wrt="x1 x2"),
    case(operator.mul, r(3, 4), r(3, 4), wrt="x1 x2"),
    case(operator.mul, r(2, 1, 4), r(3, 1), wrt="x1 x2"),
    case(operator.mul, 1.25, -0.75, wrt="x1 x2"),
    case(np.multiply, r(4), r(3, 4), wrt="x1 x2"),
    case(np.multiply, 2.0, r(3), wrt="x1 x2"),
    case(operator.truediv, r(3, 4), away(3, 4), wrt="x1 x2"),
    case(operator.truediv, r(3, 4), away(4), wrt="x1 x2"),
    case(operator.truediv, 1.5, -0.8, wrt="x1 x2"),
    case(np.divide, r(3, 1), away(1, 4), wrt="x1 x2"),
    case(np.divide, 2.0, away(3), wrt="x1 x2"),
    case(operator.mod, r(3, 4) * 3, pos(3, 4), wrt="x1 x2"),
    case(operator.mod, 5.3, 1.7, wrt="x1 x2"),
    case(np.mod, r(3, 4) * 3, pos(4), wrt="x1 x2"),
    case(operator.pow, pos(3, 4), r(3, 4), wrt="x1 x2"),
    case(operator.pow, r(3, 4), 2, wrt="x1"),
    case(operator.pow, r(3, 4), 3.0, wrt="x1"),
    case(operator.pow, 1.7, 2.3, wrt="x1 x2"),
    case(np.power, pos(3, 1), r(4), wrt="x1 x2"),
    case(np.power, pos(3), 0.5, wrt="x1 x2"),
    case(np.power, np.array([0.0, 1.5, -2.0]), 2, wrt="x1"),
    case(np.power, np.array([0.0, 1.5, -2.0]), 0, wrt="x1"),
    case(np.power, 2.0, r(3), wrt="x1 x2"),
    case(operator.neg, r(3, 4)),
    case(operator.neg, 1.5),
    case(np.negative, r(2, 3)),
    case(operator.pos, r(3, 4)),
    case(np.positive, r(2, 3)),
]

MATH = [
    case(math.sin, 0.7), case(math.cos, -1.3), case(math.tan, 0.4),
    case(math.asin, 0.3), case(math.acos, -0.6), case(math.atan, 1.7),
    case(math.atan2, 0.8, -1.3, wrt="y x"), case(math.atan2, -0.4, 0.9, wrt="y x"),
    case(math.sinh, 0.9), case(math.cosh, -0.7), case(math.tanh, 0.5),
    case(math.asinh, 1.2), case(math.acosh, 1.8), case(math.atanh, -0.4),
    case(math.exp, 0.6), case(math.expm1, -0.3),
    case(math.log, 2.5), case(math.log, 2.5, 3.0, wrt="x base"),
    case(math.log, 0.7, 10.0, wrt="x base"),
    case(math.log2, 3.1), case(math.log10, 0.4), case(math.log1p, 0.8),
    case(math.sqrt, 2.2),
    case(math.pow, 1.8, 2.5, wrt="x y"), case(math.pow, -1.5, 3.0, wrt="x"),
    case(math.pow, 0.9, -1.5, wrt="x y"),
    case(math.fabs, -1.4), case(math.fabs, 0.6),
    case(math.copysign, 1.3, -2.0), case(math.copysign, -0.4, 5.0),
    case(math.hypot, 3.0, -4.0, wrt="coordinates"),
    case(math.hypot, 1.0, 2.0, -0.5, wrt="coordinates"),
    case(math.erf, 0.4), case(math.erfc, -0.9),
    case(math.degrees, 0.3), case(math.radians, 40.0),
]

BUILTINS = [
    case(builtins.abs, -1.3), case(builtins.abs, away(3, 4)),
    case(builtins.pow, 1.6, 2.2, wrt="base exp"),
    case(builtins.pow, pos(3), r(3), wrt="base exp"),
    case(builtins.pow, r(3, 4), 3, wrt="base"),
    case(builtins.sum, [r(3), r(3), r(3)], wrt="iterable"),
    case(builtins.sum, [r(2, 3), r(3)], r(2, 1), wrt="iterable start"),
    case(builtins.sum, [0.5, -1.5, 2.0], 1.0, wrt="iterable start"),
    case(builtins.sum, r(4, 3), wrt="iterable"),
    case(builtins.max, 0.4, 1.9, wrt="args"),
    case(builtins.max, -0.3, 2.2, 1.1, wrt="args"),
    case(builtins.max, [0.3, 2.5, -1.0], wrt="args"),
    case(builtins.max, r(5), wrt="args"),
    case(builtins.min, 0.4, 1.9, wrt="args"),
    case(builtins.min, [0.3, 2.5, -1.0, 0.1], wrt="args"),
    case(builtins.min, r(4), wrt="args"),
    case(builtins.float, np.array(1.7)),
    case(builtins.float, np.float64(-0.4)),
]

UNARY = [
    (np.sin, r), (np.cos, r), (np.tan, unit), (np.arcsin, unit), (np.arccos, unit),
    (np.arctan, r), (np.sinh, r), (np.cosh, r), (np.tanh, r), (np.arcsinh, r),
    (np.arccosh, lambda *s: 1.0 + pos(*s)), (np.arctanh, unit), (np.exp, r), (np.exp2, r),
    (np.expm1, r), (np.log, pos), (np.log2, pos), (np.log10, pos), (np.log1p, unit),
    (np.sqrt, pos), (np.cbrt, away), (np.square, r), (np.reciprocal, away),
    (np.absolute, away), (np.sinc, r), (np.deg2rad, r), (np.radians, r), (np.rad2deg, r),
    (np.degrees, r),
]

ELEMENTWISE = [case(f, make(3, 4)) for f, make in UNARY] + [
    case(np.sin, 0.8),
    case(np.exp, r(2, 3, 2)),
    case(np.sinc, np.array([0.0, 0.5, -1.3])),
    case(np.abs, away(5)),
    case(np.arctan2, r(3, 4), r(3, 4), wrt="x1 x2"),
    case(np.arctan2, r(3, 1), away(4), wrt="x1 x2"),
    case(np.float_power, pos(3, 4), r(3, 4), wrt="x1 x2"),
    case(np.float_power, r(4), 2, wrt="x1"),
    case(np.fmod, r(3, 4) * 3, pos(3, 4), wrt="x1 x2"),
    case(np.fmod, r(3, 4) * 3, -pos(4), wrt="x1 x2"),
    case(np.maximum, r(3, 4), r(3, 4), wrt="x1 x2"),
    case(np.maximum, r(3, 4), r(4), wrt="x1 x2"),
    case(np.maximum, r(3, 4), 0.1, wrt="x1 x2"),
    case(np.minimum, r(3, 4), r(3, 1), wrt="x1 x2"),
    case(np.minimum, 0.3, r(5), wrt="x1 x2"),
    case(np.fmax, r(3, 4), r(3, 4), wrt="x1 x2"),
    case(np.fmax, np.array([1.0, np.nan, -0.5]), np.array([0.4, 0.7, np.nan]), wrt="x1 x2"),
    case(np.fmin, r(3, 4), r(4), wrt="x1 x2"),
    case(np.clip, r(3, 4), -0.7, 0.9, wrt="a a_min a_max"),
    case(np.clip, r(3, 4), None, 0.5, wrt="a a_max"),
    case(np.clip, r(3, 4), r(3, 4) - 0.6, r(4) * 0.2 + 0.8, wrt="a a_min a_max"),
    # np.clip(a, min=..., max=...) and np.reshape(a, shape=...) arrived in NumPy 2.1
    *([case(np.clip, r(3, 4), min=-0.5, max=r(3, 1) * 0.2 + 0.9, wrt="a min max"),
       case(np.clip, r(4), min=0.25, wrt="a min")] if NUMPY_2_1 else []),
    case(np.where, COND34, r(3, 4), r(3, 4), wrt="x y"),
    case(np.where, COND34, r(4), 1.5, wrt="x y"),
    case(np.where, COND34[:, :1], r(3, 4), r(1, 4), wrt="x y"),
    case(np.logaddexp, r(3, 4), r(3, 4), wrt="x1 x2"),
    case(np.logaddexp, r(3, 1), r(4), wrt="x1 x2"),
    case(np.logaddexp2, r(3, 4), r(4), wrt="x1 x2"),
    case(np.hypot, r(3, 4), away(3, 4), wrt="x1 x2"),
    case(np.hypot, r(3, 1), away(4), wrt="x1 x2"),
]

REDUCTIONS = [
    case(np.sum, r(3, 4), wrt="a"),
    case(np.sum, r(3, 4), axis=0, wrt="a"),
    case(np.sum, r(3, 4), axis=-1, wrt="a"),
    case(np.sum, r(2, 3, 4), axis=(0, 2), wrt="a"),
    case(np.sum, r(2, 3, 4), axis=(-1, 0), keepdims=True, wrt="a"),
    case(np.sum, r(3, 4), keepdims=True, wrt="a"),
    case(np.sum, r(3, 4), 1, wrt="a"),
    case(np.nansum, WITH_NAN, wrt="a"),
    case(np.nansum, WITH_NAN, axis=1, keepdims=True, wrt="a"),
    case(np.mean, r(3, 4), wrt="a"),
    case(np.mean, r(3, 4), axis=1, wrt="a"),
    case(np.mean, r(2, 3, 4), axis=(0, -1), wrt="a"),
    case(np.mean, r(2, 3, 4), axis=-2, keepdims=True, wrt="a"),
    case(np.nanmean, WITH_NAN, wrt="a"),
    case(np.nanmean, WITH_NAN, axis=0, wrt="a"),
    case(np.prod, pos(3, 4), wrt="a"),
    case(np.prod, r(3, 4), axis=1, wrt="a"),
    case(np.prod, r(2, 3, 4), axis=(0, 2), keepdims=True, wrt="a"),
    case(np.prod, WITH_ZERO, wrt="a"),
    case(np.prod, WITH_ZERO, axis=1, wrt="a"),
    case(np.prod, WITH_ZERO, axis=0, keepdims=True, wrt="a"),
    case(np.prod, TWO_ZEROS, wrt="a"),
    case(np.prod, TWO_ZEROS, axis=-1, wrt="a"),
    case(np.max, r(3, 4), wrt="a"),
    case(np.max, r(3, 4), axis=0, wrt="a"),
    case(np.max, r(2, 3, 4), axis=(1, 2), keepdims=True, wrt="a"),
    case(np.min, r(3, 4), axis=-1, wrt="a"),
    case(np.min, r(2, 3, 4), wrt="a"),
    case(np.amax, r(3, 4), axis=1, keepdims=True, wrt="a"),
    case(np.amin, r(3, 4), axis=(0, 1), wrt="a"),
    case(np.var, r(3, 4), wrt="a"),
    case(np.var, r(3, 4), axis=0, wrt="a"),
    case(np.var, r(2, 3, 4), axis=(0, 2), ddof=1, wrt="a"),
    case(np.var, r(3, 4), axis=-1, keepdims=True, ddof=1, wrt="a"),
    case(np.std, r(3, 4), wrt="a"),
    case(np.std, r(3, 4), axis=1, wrt="a"),
    case(np.std, r(2, 3, 4), axis=(-1, -2), ddof=1, keepdims=True, wrt="a"),
    case(np.cumsum, r(3, 4), wrt="a"),
    case(np.cumsum, r(3, 4), axis=0, wrt="a"),
    case(np.cumsum, r(2, 3, 4), axis=-1, wrt="a"),
    case(np.cumprod, away(3, 4), wrt="a"),
    case(np.cumprod, r(3, 4), axis=1, wrt="a"),
    case(np.cumprod, r(2, 3, 4), axis=-2, wrt="a"),
    case(np.cumprod, WITH_ZERO, axis=1, wrt="a"),
    case(np.cumprod, TWO_ZEROS, wrt="a"),
]

LINALG = [
    case(np.matmul, r(3, 4), r(4, 2), wrt="x1 x2"),
    case(np.matmul, r(4), r(4, 2), wrt="x1 x2"),
    case(np.matmul, r(3, 4), r(4), wrt="x1 x2"),
    case(np.matmul, r(4), r(4), wrt="x1 x2"),
    case(np.matmul, r(2, 3, 4), r(4, 2), wrt="x1 x2"),
    case(np.matmul, r(2, 1, 3, 4), r(5, 4, 2), wrt="x1 x2"),
    case(np.matmul, r(4), r(2, 4, 3), wrt="x1 x2"),
    case(np.matmul, r(2, 3, 4), r(4), wrt="x1 x2"),
    case(operator.matmul, r(3, 4), r(4, 2), wrt="x1 x2"),
    case(operator.matmul, r(2, 3, 4), r(2, 4, 2), wrt="x1 x2"),
    case(np.dot, r(3, 4), r(4, 2), wrt="a b"),
    case(np.dot, r(4), r(4), wrt="a b"),
    case(np.dot, r(3, 4), r(4), wrt="a b"),
    case(np.dot, r(4), r(4, 3), wrt="a b"),
    case(np.dot, 1.5, r(3, 2), wrt="a b"),
    case(np.dot, r(2, 3, 4), r(4, 2), wrt="a b"),
    case(np.dot, r(3, 4), r(2, 4, 5), wrt="a b"),
    case(np.dot, r(2, 3, 4), r(4), wrt="a b"),
    case(np.dot, r(4), r(2, 4, 3), wrt="a b"),
    case(np.vdot, r(3, 4), r(3, 4), wrt="a b"),
    case(np.vdot, r(2, 3), r(6), wrt="a b"),
    case(np.inner, r(4), r(4), wrt="a b"),
    case(np.inner, r(3, 4), r(2, 4), wrt="a b"),
    case(np.inner, r(2, 3, 4), r(4), wrt="a b"),
    case(np.inner, r(4), r(2, 5, 4), wrt="a b"),
    case(np.inner, 2.0, r(3), wrt="a b"),
    case(np.outer, r(3), r(4), wrt="a b"),
    case(np.outer, r(2, 3), r(2, 2), wrt="a b"),
    case(np.tensordot, r(3, 4), r(3, 4), wrt="a b"),
    case(np.tensordot, r(2, 3, 4), r(3, 4, 5), wrt="a b"),
    case(np.tensordot, r(2, 3, 4), r(4, 5), axes=1, wrt="a b"),
    case(np.tensordot, r(2, 3), r(4), axes=0, wrt="a b"),
    case(np.tensordot, r(2, 3, 4), r(4, 2, 5), axes=([0, 2], [1, 0]), wrt="a b"),
    case(np.tensordot, r(3, 4), r(5, 3), axes=(0, 1), wrt="a b"),
    case(np.tensordot, r(2, 3, 4), r(3, 2), axes=([-2, 0], [0, -1]), wrt="a b"),
    case(np.einsum, "ij,jk->ik", r(3, 4), r(4, 2), wrt="operands"),
    case(np.einsum, "ij,jk", r(3, 4), r(4, 2), wrt="operands"),
    case(np.einsum, "ij->ji", r(3, 4), wrt="operands"),
    case(np.einsum, "ij->", r(3, 4), wrt="operands"),
    case(np.einsum, "ij->j", r(3, 4), wrt="operands"),
    case(np.einsum, "ii->", r(3, 3), wrt="operands"),
    case(np.einsum, "ii->i", r(3, 3), wrt="operands"),
    case(np.einsum, "iij->j", r(3, 3, 2), wrt="operands"),
    case(np.einsum, "i,i->", r(4), r(4), wrt="operands"),
    case(np.einsum, "i,i", r(4), r(4), wrt="operands"),
    case(np.einsum, "i,j->ij", r(3), r(4), wrt="operands"),
    case(np.einsum, "ij,ij->ij", r(3, 4), r(3, 4), wrt="operands"),
    case(np.einsum, "bij,bjk->bik", r(2, 3, 4), r(2, 4, 2), wrt="operands"),
    case(np.einsum, "...ij,...jk->...ik", r(2, 3, 4), r(4, 2), wrt="operands"),
    case(np.einsum, "ij,jk,kl->il", r(2, 3), r(3, 4), r(4, 2), wrt="operands"),
    case(np.einsum, "ij, jk -> ki", r(3, 4), r(4, 2), wrt="operands"),
    case(np.einsum, "ij,k->ijk", r(2, 3), r(2), wrt="operands"),
    case(np.trace, r(3, 3), wrt="a"),
    case(np.trace, r(3, 4), 1, wrt="a"),
    case(np.trace, r(4, 3), offset=-1, wrt="a"),
    case(np.trace, r(2, 3, 3), axis1=1, axis2=2, wrt="a"),
    case(np.trace, r(3, 2, 4), 0, 0, 2, wrt="a"),
    case(np.trace, r(3, 4, 2), axis1=-1, axis2=0, wrt="a"),
    case(np.linalg.norm, r(5)),
    case(np.linalg.norm, r(3, 4)),
    case(np.linalg.norm, r(5), 1),
    case(np.linalg.norm, r(5), np.inf),
    case(np.linalg.norm, r(5), -np.inf),
    case(np.linalg.norm, r(5), 3),
    case(np.linalg.norm, r(5), ord=0.5),
    case(np.linalg.norm, r(3, 4), axis=1),
    case(np.linalg.norm, r(3, 4), axis=0, keepdims=True),
    case(np.linalg.norm, r(3, 4), 1, axis=-1),
    case(np.linalg.norm, r(3, 4), np.inf, axis=0),
    case(np.linalg.norm, r(3, 4), "fro"),
    case(np.linalg.norm, r(3, 4), "nuc"),
    case(np.linalg.norm, r(3, 4), 1),
    case(np.linalg.norm, r(3, 4), -1),
    case(np.linalg.norm, r(3, 4), np.inf),
    case(np.linalg.norm, r(3, 4), -np.inf),
    case(np.linalg.norm, r(3, 4), 2),
    case(np.linalg.norm, r(3, 4), -2),
    case(np.linalg.norm, r(2, 3, 4), axis=(1, 2)),
    case(np.linalg.norm, r(2, 3, 4), "fro", axis=(2, 0), keepdims=True),
    case(np.linalg.norm, r(3, 2, 4), 2, axis=(0, 2)),
    case(np.linalg.norm, r(3, 2, 4), np.inf, axis=(-1, 0)),
    case(np.linalg.inv, matrix(3, 3), wrt="a"),
    case(np.linalg.inv, matrix(2, 3, 3), wrt="a"),
    case(np.linalg.det, matrix(3, 3), wrt="a"),
    case(np.linalg.det, matrix(2, 3, 3), wrt="a"),
    case(np.linalg.det, -matrix(2, 2), wrt="a"),
    case(np.linalg.slogdet, matrix(3, 3), wrt="a"),
    case(np.linalg.slogdet, -matrix(3, 3), wrt="a"),
    case(np.linalg.slogdet, matrix(2, 3, 3), wrt="a"),
    case(np.linalg.solve, matrix(3, 3), r(3), wrt="a b"),
    case(np.linalg.solve, matrix(3, 3), r(3, 2), wrt="a b"),
    case(np.linalg.solve, matrix(2, 3, 3), r(2, 3, 2), wrt="a b"),
    case(np.linalg.solve, matrix(2, 3, 3), r(3), wrt="a b"),
    case(np.linalg.solve, matrix(3, 3), r(2, 3, 4), wrt="a b"),
]

SHAPE = [
    case(np.reshape, r(3, 4), (4, 3), wrt="a"),
    case(np.reshape, r(2, 3, 4), (6, -1), wrt="a"),
    case(np.reshape, r(3, 4), (2, 6), order="F", wrt="a"),
    *([case(np.reshape, r(3, 4), shape=12, wrt="a")] if NUMPY_2_1 else []),
    case(np.ravel, r(3, 4), wrt="a"),
    case(np.ravel, r(2, 3, 2), "F", wrt="a"),
    case(np.squeeze, r(3, 1, 4, 1), wrt="a"),
    case(np.squeeze, r(3, 1, 4, 1), axis=1, wrt="a"),
    case(np.expand_dims, r(3, 4), 1, wrt="a"),
    case(np.expand_dims, r(3, 4), axis=(0, -1), wrt="a"),
    case(np.transpose, r(3, 4), wrt="a"),
    case(np.transpose, r(2, 3, 4), (1, 2, 0), wrt="a"),
    case(np.transpose, r(2, 3, 4), axes=(-1, 0, 1), wrt="a"),
    case(np.swapaxes, r(2, 3, 4), 0, 2, wrt="a"),
    case(np.swapaxes, r(2, 3, 4), -1, 1, wrt="a"),
    case(np.moveaxis, r(2, 3, 4), 0, -1, wrt="a"),
    case(np.moveaxis, r(2, 3, 4, 5), (0, 1), (3, 0), wrt="a"),
    case(np.concatenate, [r(2, 3), r(4, 3)], wrt="arrays"),
    case(np.concatenate, (r(3, 1), r(3, 4), r(3, 2)), axis=1, wrt="arrays"),
    case(np.concatenate, [r(2, 2, 3), r(2, 2, 1)], axis=-1, wrt="arrays"),
    case(np.concatenate, [r(2, 3), r(4)], axis=None, wrt="arrays"),
    case(np.stack, [r(3), r(3), r(3)], wrt="arrays"),
    case(np.stack, (r(2, 3), r(2, 3)), axis=1, wrt="arrays"),
    case(np.stack, [r(2, 3), r(2, 3)], axis=-1, wrt="arrays"),
    case(np.vstack, [r(3), r(2, 3), r(3)], wrt="tup"),
    case(np.vstack, [r(2, 3, 2), r(1, 3, 2)], wrt="tup"),
    case(np.hstack, [r(3), r(2)], wrt="tup"),
    case(np.hstack, (r(2, 3), r(2, 1)), wrt="tup"),
    case(np.broadcast_to, r(3, 1), (2, 3, 4), wrt="array"),
    case(np.broadcast_to, r(4), (3, 4), wrt="array"),
    case(np.tile, r(3), 2, wrt="A"),
    case(np.tile, r(2, 3), (2, 1), wrt="A"),
    case(np.tile, r(2, 3), (2, 1, 3), wrt="A"),
    case(np.tile, r(2, 2, 3), 2, wrt="A"),
    case(np.repeat, r(3), 2, wrt="a"),
    case(np.repeat, r(2, 3), 3, axis=1, wrt="a"),
    case(np.repeat, r(2, 3), [1, 0, 2], axis=-1, wrt="a"),
    case(np.repeat, r(2, 3), [2, 1], axis=0, wrt="a"),
    case(np.flip, r(3, 4), wrt="m"),
    case(np.flip, r(3, 4), 0, wrt="m"),
    case(np.flip, r(2, 3, 4), axis=(0, -1), wrt="m"),
    case(np.diag, r(3), wrt="v"),
    case(np.diag, r(3), 1, wrt="v"),
    case(np.diag, r(3, 3), wrt="v"),
    case(np.diag, r(3, 4), -1, wrt="v"),
    case(np.diag, r(4, 3), k=2, wrt="v"),
    case(np.take, r(3, 4), [0, 5, 5, 11], wrt="a"),
    case(np.take, r(3, 4), [2, 0, 2], axis=1, wrt="a"),
    case(np.take, r(3, 4), 1, axis=0, wrt="a"),
    case(np.take, r(2, 3, 4), [[0, 1], [1, -1]], axis=-2, wrt="a"),
    case(np.copy, r(3, 4), wrt="a"),
    case(np.array, r(3, 4), wrt="object"),
    case(np.array, [r(3), r(3)], wrt="object"),
    case(np.array, [0.5, -1.5, 2.0], wrt="object"),
    case(np.array, [[0.5, r(2)[0]], [r(), 1.0]], wrt="object"),
    case(np.array, r(3), ndmin=3, wrt="object"),
    case(np.asarray, r(3, 4), wrt="a"),
    case(np.asarray, (r(2), r(2), r(2)), wrt="a"),
    case(np.full, (2, 3), 1.5, wrt="fill_value"),
    case(np.full, (2, 3), r(3), wrt="fill_value"),
    case(np.full_like, r(3, 4), 0.7, wrt="fill_value"),
    case(np.full_like, r(3, 4), r(3, 1), wrt="fill_value"),
    case(np.linspace, 0.5, 2.5, 5, wrt="start stop"),
    case(np.linspace, -1.0, 3.0, 4, endpoint=False, wrt="start stop"),
    case(np.linspace, r(3), r(3) + 2.0, 4, wrt="start stop"),
]

X234 = r(2, 3, 4)
METHODS = [
    case(np.ndarray.sum, r(3, 4), wrt="self"),
    case(np.ndarray.sum, r(3, 4), 1, wrt="self"),
    case(np.ndarray.sum, r(2, 3, 4), axis=(0, -1), keepdims=True, wrt="self"),
    case(np.ndarray.mean, r(3, 4), wrt="self"),
    case(np.ndarray.mean, r(2, 3, 4), axis=-2, wrt="self"),
    case(np.ndarray.max, r(3, 4), wrt="self"),
    case(np.ndarray.max, r(3, 4), axis=0, keepdims=True, wrt="self"),
    case(np.ndarray.min, r(2, 3, 4), axis=(1, 2), wrt="self"),
    case(np.ndarray.prod, away(3, 4), wrt="self"),
    case(np.ndarray.prod, WITH_ZERO, axis=1, wrt="self"),
    case(np.ndarray.var, r(3, 4), wrt="self"),
    case(np.ndarray.var, r(3, 4), axis=1, ddof=1, keepdims=True, wrt="self"),
    case(np.ndarray.std, r(3, 4), axis=0, wrt="self"),
    case(np.ndarray.std, r(2, 3, 4), axis=(0, 2), ddof=1, wrt="self"),
    case(np.ndarray.cumsum, r(3, 4), wrt="self"),
    case(np.ndarray.cumsum, r(3, 4), axis=-1, wrt="self"),
    case(np.ndarray.reshape, r(3, 4), 2, 6, wrt="self"),
    case(np.ndarray.reshape, r(3, 4), (4, 3), wrt="self"),
    case(np.ndarray.reshape, r(3, 4), (2, -1), order="F", wrt="self"),
    case(np.ndarray.ravel, r(3, 4), wrt="self"),
    case(np.ndarray.flatten, r(3, 4), "F", wrt="self"),
    case(np.ndarray.squeeze, r(3, 1, 4), wrt="self"),
    case(np.ndarray.squeeze, r(1, 3, 1), axis=0, wrt="self"),
    case(np.ndarray.transpose, r(3, 4), wrt="self"),
    case(np.ndarray.transpose, X234, 1, 2, 0, wrt="self"),
    case(np.ndarray.transpose, X234, (2, 0, 1), wrt="self"),
    case(np.ndarray.transpose, X234, (-1, 0, 1), wrt="self"),
    case(np.ndarray.swapaxes, r(2, 3, 4), 0, -1, wrt="self"),
    case(np.ndarray.dot, r(3, 4), r(4, 2), wrt="self b"),
    case(np.ndarray.dot, r(3, 4), r(4), wrt="self b"),
    case(np.ndarray.astype, r(3, 4), "float64", wrt="self"),
    case(np.ndarray.astype, r(3, 4), dtype=np.float64, wrt="self"),
    case(np.ndarray.copy, r(3, 4), wrt="self"),
    case(np.ndarray.clip, r(3, 4), -0.5, 0.8, wrt="self min max"),
    case(np.ndarray.clip, r(3, 4), max=r(4) * 0.2 + 0.5, wrt="self max"),
    case(np.ndarray.clip, r(3, 4), min=r(3, 1) * 0.2 - 0.5, wrt="self min"),
    case(np.ndarray.repeat, r(2, 3), 2, wrt="self"),
    case(np.ndarray.repeat, r(2, 3), [3, 1], axis=0, wrt="self"),
]

CASES = OPERATORS + MATH + BUILTINS + ELEMENTWISE + REDUCTIONS + LINALG + SHAPE + METHODS


def label(primitive):
    module = getattr(primitive, "__module__", None)
    prefix = module.lstrip("_").replace("numpy", "np") + "." if module else ""
    return prefix + getattr(primitive, "__qualname__", primitive.__name__)


IDS = [f"{label(p)}-{i}" for i, (p, *_) in enumerate(CASES)]


@pytest.mark.parametrize("primitive, args, kwargs, wrt", CASES, ids=IDS)
def test_rule_matches_finite_differences(primitive, args, kwargs, wrt):
    check_rule(primitive, args, kwargs, wrt)


# --- float32 stays float32 ---------------------------------------------------------------------

def to_float32(tree):
    if isinstance(tree, (list, tuple)):
        return type(tree)(to_float32(item) for item in tree)
    if isinstance(tree, np.ndarray) and tree.dtype == np.float64:
        return tree.astype(np.float32)
    return tree


# every row with an array among its positional arguments, rerun in float32
FLOAT32_ROWS = [(row, name) for row, name in zip(CASES, IDS)
                if any(isinstance(leaf, np.ndarray) for leaf in leaves(list(row[1])))]


@pytest.mark.parametrize("primitive, args, kwargs, wrt", [row for row, _ in FLOAT32_ROWS],
                         ids=[name for _, name in FLOAT32_ROWS])
def test_float32_cotangents_stay_float32(primitive, args, kwargs, wrt):
    args, kwargs = to_float32(args), {k: to_float32(v) for k, v in kwargs.items()}
    bound = inspect.signature(rule_for(primitive)).bind(*args, **kwargs)
    with np.errstate(all="ignore"):
        cotangents, _ = apply_rule(primitive, args, kwargs, wrt)
    for param in wrt:
        for n, (got, primal) in enumerate(zip(leaves(cotangents[param]),
                                              leaves(bound.arguments[param]))):
            if isinstance(primal, np.ndarray) and primal.dtype == np.float32:
                assert getattr(got, "dtype", None) == np.float32, \
                    f"d{param}[{n}] is {getattr(got, 'dtype', type(got))}, input float32"


# --- the table covers the registry ------------------------------------------------------------

def our_rules():
    return {k: rule for k, rule in REVERSE.items() if is_ours(rule)}


def test_every_rule_has_a_case():
    tested = {key(p) for p, *_ in CASES}
    missing = [label(k) if hasattr(k, "__qualname__") else repr(k)
               for k in our_rules() if k not in tested]
    assert not missing, f"rules without a test case: {missing}"


def test_every_case_has_a_rule_of_ours():
    assert all(is_ours(rule_for(p)) for p, *_ in CASES)


@pytest.mark.parametrize("rule", sorted(set(our_rules().values()), key=lambda f: (f.__module__, f.__name__)),
                         ids=lambda f: f"{f.__module__.rsplit('.', 1)[-1]}.{f.__name__}")
def test_rule_follows_the_template_format(rule):
    assert template_problems(rule) == []


def test_nondifferentiable_functions_have_no_rule():
    assert not [k for k in NONDIFFERENTIABLE if k in REVERSE]


@pytest.mark.parametrize("fn", [
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.floor, np.ceil, np.round,
    np.around, np.rint, np.trunc, np.fix, np.sign, np.equal, np.not_equal, np.less,
    np.less_equal, np.greater, np.greater_equal, np.logical_and, np.logical_or,
    np.logical_not, np.logical_xor, np.isnan, np.isinf, np.isfinite, np.zeros, np.ones,
    np.zeros_like, np.ones_like, np.empty, np.empty_like, np.eye, np.identity,
    operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne, operator.not_,
    operator.truth, operator.floordiv, np.floor_divide, math.floor, math.ceil, math.trunc,
    math.isnan, builtins.len, builtins.int, builtins.round, builtins.bool,
], ids=label)
def test_declared_nondifferentiable(fn):
    assert key(fn) in NONDIFFERENTIABLE and key(fn) not in REVERSE


def test_templates_load_by_file_path_without_the_package():
    # the engine loads template files by path under another name: no relative imports
    saved = dict(REVERSE), set(NONDIFFERENTIABLE)
    try:
        folder = inspect.getfile(rule_for(np.maximum)).rsplit("/", 1)[0]
        for stem in RULE_MODULES:
            spec = importlib.util.spec_from_file_location(f"_path_loaded_{stem}",
                                                          f"{folder}/{stem}.py")
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
    finally:
        REVERSE.clear()
        REVERSE.update(saved[0])
        NONDIFFERENTIABLE.clear()
        NONDIFFERENTIABLE.update(saved[1])


# --- at kinks and zeros: closed forms -------------------------------------------------------

def cotangent(primitive, *args, wrt="x", dresult=None, **kwargs):
    got, _ = apply_rule(primitive, args, kwargs, wrt.split(), dresult)
    return [got[p] for p in wrt.split()]


def test_max_reduction_splits_ties_evenly():
    [da] = cotangent(np.max, np.array([1.0, 3.0, 3.0]), wrt="a", dresult=1.0)
    np.testing.assert_array_equal(da, [0.0, 0.5, 0.5])
    [da] = cotangent(np.min, np.array([[2.0, 2.0], [1.0, 4.0]]), axis=1, wrt="a",
                     dresult=np.array([1.0, 1.0]))
    np.testing.assert_array_equal(da, [[0.5, 0.5], [1.0, 0.0]])


def test_binary_maximum_splits_ties_in_half():
    dx1, dx2 = cotangent(np.maximum, np.array([1.0, 2.0]), np.array([1.0, 0.0]), wrt="x1 x2",
                         dresult=np.array([1.0, 1.0]))
    np.testing.assert_array_equal(dx1, [0.5, 1.0])
    np.testing.assert_array_equal(dx2, [0.5, 0.0])
    dargs, = cotangent(builtins.max, 2.0, 2.0, 1.0, wrt="args", dresult=1.0)
    assert list(dargs) == [0.5, 0.5, 0.0]


def test_inf_norm_splits_ties_evenly():
    [dx] = cotangent(np.linalg.norm, np.array([3.0, -3.0, 1.0]), np.inf, dresult=1.0)
    np.testing.assert_array_equal(dx, [0.5, -0.5, 0.0])
    # matrix 1-norm: the largest absolute column sum, here columns 0 and 1 tie
    [dx] = cotangent(np.linalg.norm, np.array([[1.0, -2.0], [-2.0, 1.0]]), 1, dresult=1.0)
    np.testing.assert_array_equal(dx, [[0.5, -0.5], [-0.5, 0.5]])


def test_abs_has_zero_gradient_at_zero():
    [dx] = cotangent(np.abs, np.array([0.0, -2.0, 3.0]), dresult=np.ones(3))
    np.testing.assert_array_equal(dx, [0.0, -1.0, 1.0])
    assert cotangent(builtins.abs, 0.0, dresult=1.0) == [0.0]
    assert cotangent(math.fabs, 0.0, dresult=1.0) == [0.0]


def test_power_at_zero_base_is_finite():
    base = np.array([0.0, 0.0, 2.0])
    for exponent, want in [(2, [0.0, 0.0, 4.0]), (0, [0.0, 0.0, 0.0]), (1, [1.0, 1.0, 1.0])]:
        [dx1] = cotangent(np.power, base, exponent, wrt="x1", dresult=np.ones(3))
        np.testing.assert_array_equal(dx1, want)
    [dx1] = cotangent(np.power, base, np.array([2.0, 0.0, 0.0]), wrt="x1", dresult=np.ones(3))
    np.testing.assert_array_equal(dx1, [0.0, 0.0, 0.0])
    # an active exponent: 0 ** y = 0 for y > 0 does not change with y
    [dx2] = cotangent(np.power, base, np.array([1.5, 2.0, 3.0]), wrt="x2", dresult=np.ones(3))
    np.testing.assert_allclose(dx2, [0.0, 0.0, 8.0 * math.log(2.0)])
    assert cotangent(math.pow, 0.0, 2.0, wrt="x y", dresult=1.0) == [0.0, 0.0]


def test_prod_with_zeros_is_the_product_of_the_others():
    [da] = cotangent(np.prod, np.array([2.0, 0.0, 3.0]), wrt="a", dresult=1.0)
    np.testing.assert_array_equal(da, [0.0, 6.0, 0.0])
    [da] = cotangent(np.prod, np.array([0.0, 0.0, 3.0]), wrt="a", dresult=1.0)
    np.testing.assert_array_equal(da, [0.0, 0.0, 0.0])


def test_slogdet_takes_missing_cotangent_parts():
    a = matrix(3, 3)
    want = np.linalg.inv(a).T * 0.7
    for sign_part in (None, 0.0):
        [da] = cotangent(np.linalg.slogdet, a, wrt="a", dresult=(sign_part, 0.7))
        np.testing.assert_allclose(da, want)
    [da] = cotangent(np.linalg.slogdet, a, wrt="a", dresult=(1.0, None))
    np.testing.assert_array_equal(da, np.zeros((3, 3)))


def test_astype_sends_the_cotangent_back_in_the_input_dtype():
    # a cast to float32 is too coarse for finite differences: check the closed form
    dresult = np.array([0.5, -1.25], np.float32)
    [dself] = cotangent(np.ndarray.astype, np.array([1.0, 2.0]), np.float32, wrt="self",
                        dresult=dresult)
    assert dself.dtype == np.float64
    np.testing.assert_array_equal(dself, [0.5, -1.25])
