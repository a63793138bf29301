"""The rules of Python's arithmetic operators and their NumPy ufunc twins
(templates/operators.py, reverse/ and forward/operators.py).

A row is one call, checked in both modes against finite differences (tests/rules/harness.py
says how); closed forms below cover kinks, ties and zeros. A new rule of this family is a new
row here.
"""
import math
import operator

import numpy as np

from tests.rules.harness import away, case, cotangent, pos, r, table_tests


ROWS = [
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
    # rows of the forward-mode tables
    case(operator.add, r(3, 4), r(3, 4), wrt="x1 x2"),
    case(operator.add, r(3, 1), r(4), wrt="x1 x2"),
    case(np.add, 1.5, r(2, 3), wrt="x1"),
    case(operator.sub, r(3, 4), r(4), wrt="x1 x2"),
    case(np.subtract, r(1, 4), r(3, 1), wrt="x2"),
    case(operator.mul, r(3, 4), r(3, 4), wrt="x1 x2"),
    case(operator.mul, r(2, 1, 4), r(3, 1), wrt="x1 x2"),
    case(np.multiply, 1.25, -0.75, wrt="x1 x2"),
    case(operator.truediv, r(3, 4), away(4), wrt="x1 x2"),
    case(np.divide, 2.0, away(3), wrt="x2"),
    case(operator.mod, np.array([2.3, 5.7, -1.4]), np.array([1.1, 2.0, 0.9]), wrt="x1 x2"),
    case(np.mod, 5.3, np.array([1.1, 2.0, 1.7]), wrt="x2"),
    case(operator.pow, pos(3, 4), r(4), wrt="x1 x2"),
    case(operator.pow, r(4), 2, wrt="x1"),
    case(operator.pow, r(4), 1, wrt="x1"),
    # a positive base: the harness passes a real 0 for the exponent's tangent, times
    # log(base), where the engine drops the term (negative bases: the jvp table below)
    case(np.power, pos(4), 3, wrt="x1"),
    case(np.power, 1.7, 2.5, wrt="x1 x2"),
    case(operator.neg, r(3), wrt="x"),
    case(np.negative, r(2, 2), wrt="x"),
    case(operator.pos, r(3), wrt="x"),
    case(np.positive, 0.5, wrt="x"),
    case(operator.matmul, r(3, 4), r(4, 2), wrt="x1 x2"),
    case(np.matmul, r(4), r(4, 2), wrt="x1 x2"),
    case(np.matmul, r(2, 3, 4), r(4), wrt="x1 x2"),
]


    # the tangents of this family are not all float32 yet (np.maximum, clip, builtins.max,
    # a float32 array plus a Python float): only the reverse rules are held to it
test_rule_matches_finite_differences_in_both_modes, test_float32_stays_float32 = \
    table_tests(ROWS, float32_forward=False)


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
