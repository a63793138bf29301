"""The rules of Python's arithmetic operators and their NumPy ufunc twins
(templates/operators.py, reverse/ and forward/operators.py).

A row is one call, checked in both modes against finite differences (tests/rules/harness.py
says how); closed forms below cover kinks, ties and zeros. A new rule of this family is a new
row here.
"""
import math
import operator

import numpy as np

from tests.rules.audit import audit
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


test_rule_matches_finite_differences_in_both_modes, test_float32_stays_float32 = \
    table_tests(ROWS)


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


# --- the audit (tests/rules/audit.py): programs through the transforms ----------------------

AUDIT = [
    audit(operator.add, "x + y", x=r(2, 3), y=r(3)),
    audit(operator.add, "x + y", x=1.5, y=r(2, 2), note="a float and an array broadcast"),
    audit(operator.add, "x + y", x=np.zeros((0, 2)), y=r(2), note="an empty array"),
    audit(np.add, "np.add(x, y)", x=r(2, 1, 3), y=r(4, 1)),
    audit(operator.sub, "x - y", x=r(3, 1), y=r(4)),
    audit(np.subtract, "np.subtract(x, y)", x=0.3, y=r(2, 3)),
    audit(operator.mul, "x * y", x=r(2, 1, 4), y=r(3, 1)),
    audit(operator.mul, "x * x", x=r(3), note="one value on both sides"),
    audit(np.multiply, "np.multiply(x, y)", x=r(4), y=r(3, 4)),
    audit(operator.truediv, "x / y", x=r(3, 4), y=away(4)),
    audit(operator.truediv, "x / y", x=1.5, y=-0.8),
    audit(np.divide, "np.divide(x, y)", x=r(3, 1), y=away(1, 4)),
    audit(operator.mod, "x % y", x=np.array([2.3, 5.7, -1.4]), y=np.array([1.1, 2.0, 0.9])),
    audit(operator.mod, "x % y", x=5.3, y=-1.7),
    audit(np.remainder, "np.mod(x, y)", x=r(3, 4) * 3, y=pos(4)),
    audit(np.remainder, "np.remainder(x, y)", x=5.3, y=np.array([1.1, 2.0, 1.7])),
    audit(operator.pow, "x ** y", x=pos(3, 4), y=r(4)),
    audit(operator.pow, "x ** 2", x=np.array([0.0, 1.5, -2.0]), note="0 ** 2 has derivative 0"),
    audit(operator.pow, "x ** 3.0", x=r(4), note="a whole float power of a negative base"),
    audit(operator.pow, "x ** y", x=1.7, y=2.3),
    audit(np.power, "np.power(x, y)", x=pos(3, 1), y=r(4)),
    audit(np.power, "np.power(x, 0.5)", x=pos(3)),
    audit(np.power, "np.power(2.0, y)", y=r(3)),
    audit(np.power, "np.power(x, 1)", x=np.array([0.0, -1.5]), note="x ** 1 is x, also at 0"),
    audit(np.power, "np.power(x, EXPONENT)", x=np.array([0.0, 2.0, -1.5]),
          given=dict(EXPONENT=np.array([2.0, 3.0, 2.0])), note="whole float exponents, at 0"),
    audit(np.power, "np.power(BASE, y)", y=np.array([2.5, 3.0]),
          given=dict(BASE=np.array([0.0, 2.0])),
          note="a zero base and a positive exponent: the exponent's derivative is 0"),
    audit(operator.neg, "-x", x=r(3, 4)),
    audit(operator.neg, "-x", x=1.5),
    audit(np.negative, "np.negative(x)", x=r(2, 3)),
    audit(operator.pos, "+x", x=r(3)),
    audit(np.positive, "np.positive(x)", x=0.5),
]
