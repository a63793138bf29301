"""The rules of NumPy's elementwise functions (templates/elementwise.py, reverse/ and
forward/numpy_elementwise.py).

A row is one call, checked in both modes against finite differences (tests/rules/harness.py
says how); closed forms below cover kinks, ties and zeros. A new rule of this family is a new
row here.
"""
import builtins
import math

import numpy as np

from tests.rules.audit import audit
from tests.rules.harness import away, case, cotangent, NUMPY_2_1, pos, r, table_tests, unit

COND34 = r(3, 4) > 0
WITH_NONFINITE = np.where(COND34, r(3, 4), np.array([np.nan, np.inf, -np.inf, 1.5]))

UNARY = [
    (np.sin, r), (np.cos, r), (np.tan, unit), (np.arcsin, unit), (np.arccos, unit),
    (np.arctan, r), (np.sinh, r), (np.cosh, r), (np.tanh, r), (np.arcsinh, r),
    (np.arccosh, lambda *s: 1.0 + pos(*s)), (np.arctanh, unit), (np.exp, r), (np.exp2, r),
    (np.expm1, r), (np.log, pos), (np.log2, pos), (np.log10, pos), (np.log1p, unit),
    (np.sqrt, pos), (np.cbrt, away), (np.square, r), (np.reciprocal, away),
    (np.absolute, away), (np.sinc, r), (np.deg2rad, r), (np.radians, r), (np.rad2deg, r),
    (np.degrees, r),
]

ROWS = [
    *[case(f, make(3, 4)) for f, make in UNARY],
    case(np.sin, 0.8),
    case(np.exp, r(2, 3, 2)),
    case(np.sinc, np.array([0.0, 0.5, -1.3])),
    case(np.abs, away(5)),
    case(np.fabs, away(3, 4)),
    case(np.fabs, np.array([0.0, -1.5, 2.0]), wrt="x"),
    case(np.nan_to_num, r(3, 4)),
    case(np.nan_to_num, WITH_NONFINITE, posinf=4.0, neginf=-3.0),
    case(np.nan_to_num, WITH_NONFINITE, nan=0.5, posinf=1e3, neginf=-2.5,
         wrt="x nan posinf neginf"),
    case(np.nan_to_num, WITH_NONFINITE, True, r(4), 5.0, -6.0, wrt="x nan"),
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
    case(np.clip, r(3, 4), unit(3, 4) * 0.5 - 0.6, r(4) * 0.2 + 0.8, wrt="a a_min a_max"),
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
    # rows of the forward-mode tables
    case(np.sin, r(3, 4)), case(np.cos, r(5)), case(np.tan, unit(5)),
    case(np.arcsin, unit(5)), case(np.arccos, unit(5)), case(np.arctan, r(5)),
    case(np.arctan2, r(3, 4), away(4), wrt="x1 x2"),
    case(np.sinh, r(5)), case(np.cosh, r(5)), case(np.tanh, r(3, 4)),
    case(np.arcsinh, r(5)), case(np.arccosh, 1.0 + pos(5)), case(np.arctanh, unit(5)),
    case(np.exp, r(5)), case(np.exp2, r(5)), case(np.expm1, r(5)),
    case(np.log, pos(5)), case(np.log2, pos(5)), case(np.log10, pos(5)), case(np.log1p, pos(5)),
    case(np.sqrt, pos(5)), case(np.cbrt, away(5)), case(np.square, r(5)),
    case(np.reciprocal, away(5)), case(np.absolute, away(5)), case(np.sinc, away(5)),
    case(np.deg2rad, r(5) * 90.0), case(np.rad2deg, r(5)),
    case(np.float_power, pos(4), r(4), wrt="x1 x2"),
    case(np.fmod, np.array([2.3, 5.7, -1.4]), np.array([1.1, 2.0, 0.9]), wrt="x1 x2"),
    case(np.maximum, np.array([1.5, -2.0, 0.7]), np.array([0.2, 0.3, -1.0]), wrt="x1 x2"),
    case(np.minimum, np.array([[1.5, -2.0, 0.7]]), np.array([[0.2], [1.0]]), wrt="x1 x2"),
    case(np.fmax, np.array([1.5, -2.0]), 0.0, wrt="x1"),
    case(np.fmin, np.array([1.5, -2.0]), np.array([0.1, 0.3]), wrt="x1 x2"),
    case(np.clip, np.array([-1.8, -0.6, 0.1, 0.7, 1.5]), -1.0, 1.0, wrt="a"),
    case(np.clip, np.array([-1.8, -0.6, 0.1, 0.7, 1.5]), np.full(5, -1.0), np.full(5, 1.0),
         wrt="a a_min a_max"),
    case(np.where, r(3, 4) > 0, r(3, 4), r(4), wrt="x y"),
    case(np.where, r(4) > 0, r(4), r(3, 4), wrt="x"),
    case(np.logaddexp, r(5), r(5), wrt="x1 x2"),
    case(np.logaddexp2, r(5), r(5), wrt="x1 x2"),
    case(np.hypot, r(5), away(5), wrt="x1 x2"),
]


test_rule_matches_finite_differences_in_both_modes, test_float32_stays_float32 = \
    table_tests(ROWS)


def test_binary_maximum_splits_ties_in_half():
    dx1, dx2 = cotangent(np.maximum, np.array([1.0, 2.0]), np.array([1.0, 0.0]), wrt="x1 x2",
                         dresult=np.array([1.0, 1.0]))
    np.testing.assert_array_equal(dx1, [0.5, 1.0])
    np.testing.assert_array_equal(dx2, [0.5, 0.0])
    dargs, = cotangent(builtins.max, 2.0, 2.0, 1.0, wrt="args", dresult=1.0)
    assert list(dargs) == [0.5, 0.5, 0.0]


def test_abs_has_zero_gradient_at_zero():
    [dx] = cotangent(np.abs, np.array([0.0, -2.0, 3.0]), dresult=np.ones(3))
    np.testing.assert_array_equal(dx, [0.0, -1.0, 1.0])
    assert cotangent(builtins.abs, 0.0, dresult=1.0) == [0.0]
    assert cotangent(math.fabs, 0.0, dresult=1.0) == [0.0]


# --- the audit (tests/rules/audit.py): programs through the transforms, edge points noted -----

TIED = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]])
TIED_TOO = np.array([[0.5, 0.3, 2.0], [-1.5, 0.0, 0.7]])
HALF = "a tie of two splits the cotangent (and averages the tangents) in half, as central " \
       "differences do"

AUDIT = [
    *[audit(f, f"np.{f.__name__}(x)", x=make(3)) for f, make in UNARY],
    *[audit(f, f"np.{f.__name__}(x) * y", x=make(2, 3), y=r(4, 1, 3)) for f, make in UNARY[:3]],
    audit(np.sin, "np.sin(x)", x=np.zeros((0, 3)), note="an empty array"),
    audit(np.exp, "np.exp(x)", x=0.3),
    audit(np.sqrt, "np.sqrt(x)", x=np.array([1e-3, 4.0]), note="near 0, not at it"),
    audit(np.absolute, "np.abs(x)", x=np.array([0.0, -2.0, 3.0]),
          note="|x| has derivative 0 at 0, as central differences have"),
    audit(np.absolute, "np.absolute(x)", x=-1.5),
    audit(np.arctan2, "np.arctan2(x, y)", x=r(2, 3), y=away(3)),
    audit(np.float_power, "np.float_power(x, y)", x=pos(3), y=r(2, 1)),
    audit(np.float_power, "np.float_power(x, 3)", x=r(4), note="an integer power of any sign"),
    audit(np.fmod, "np.fmod(x, y)", x=np.array([2.3, -5.7, 1.4]), y=np.array([1.1, 2.0, -0.9])),
    audit(np.maximum, "np.maximum(x, y)", x=r(2, 3), y=r(3)),
    audit(np.maximum, "np.maximum(x, y)", x=TIED, y=TIED_TOO, note=HALF),
    audit(np.maximum, "np.maximum(x, 0.0)", x=np.array([-1.0, 0.0, 2.0]),
          note="relu at 0: " + HALF),
    audit(np.minimum, "np.minimum(x, y)", x=TIED, y=TIED_TOO, note=HALF),
    audit(np.minimum, "np.minimum(x, y)", x=r(3, 1), y=r(4)),
    audit(np.fmax, "np.fmax(x, y)", x=TIED, y=TIED_TOO, note=HALF),
    audit(np.fmax, "np.fmax(x, y)", x=np.array([1.0, np.nan, -0.5]),
          y=np.array([0.4, 0.7, np.nan]), note="a NaN operand loses: its derivative is 0"),
    audit(np.fmin, "np.fmin(x, y)", x=TIED, y=r(3), note=HALF),
    audit(np.clip, "np.clip(x, -0.5, 0.8)", x=np.array([-1.0, 0.2, 0.7, 1.5])),
    audit(np.clip, "np.clip(x, lo, hi)", x=r(2, 3), lo=-pos(3) * 0.5, hi=pos(2, 1)),
    audit(np.clip, "np.clip(x, None, hi)", x=r(4), hi=r(4) * 0.1),
    audit(np.where, "np.where(MASK, x, y)", x=r(3, 4), y=r(4), given=dict(MASK=COND34)),
    audit(np.where, "np.where(x > 0.0, x, 0.1 * x)", x=away(5)),
    audit(np.logaddexp, "np.logaddexp(x, y)", x=r(2, 3), y=r(3)),
    audit(np.logaddexp2, "np.logaddexp2(x, y)", x=r(3), y=r(2, 1)),
    audit(np.hypot, "np.hypot(x, y)", x=r(3), y=away(2, 3)),
    audit(np.sinc, "np.sinc(x)", x=np.array([0.0, 0.5, -1.3]), note="sinc is smooth at 0"),
    audit(np.fabs, "np.fabs(x) * y", x=away(2, 3), y=r(3)),
    audit(np.fabs, "np.fabs(x)", x=np.array([0.0, -2.0, 3.0]),
          note="|x| has derivative 0 at 0, as central differences have"),
    audit(np.nan_to_num, "np.sin(np.nan_to_num(x + C, posinf=2.0, neginf=-1.0))", x=r(3, 4),
          given=dict(C=np.where(COND34, 0.0, np.array([np.nan, np.inf, -np.inf, 0.0]))),
          note="entries that are not finite have derivative 0 (autograd's test_nan_to_num)"),
    audit(np.nan_to_num, "np.nan_to_num(np.log(x), nan=y)", x=np.array([1.5, -1.0, 0.7]), y=0.5,
          note="nan= takes the NaN entries"),
    audit(np.nan_to_num, "np.nan_to_num(x) ** 2", x=r(2, 3)),
]
