"""The rules of the math module (templates/elementwise.py, reverse/ and forward/math.py).

A row is one call, checked in both modes against finite differences (tests/rules/harness.py
says how); closed forms below cover kinks, ties and zeros. A new rule of this family is a new
row here.
"""
import math


from tests.rules.audit import audit
from tests.rules.harness import case, table_tests


ROWS = [
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
    # rows of the forward-mode tables
    case(math.sin, 0.7), case(math.cos, 0.7), case(math.tan, 0.4),
    case(math.asin, 0.3), case(math.acos, 0.3), case(math.atan, 1.3),
    case(math.atan2, 0.8, -1.3, wrt="y x"),
    case(math.sinh, 0.9), case(math.cosh, 0.9), case(math.tanh, 0.3),
    case(math.asinh, 0.9), case(math.acosh, 1.9), case(math.atanh, 0.4),
    case(math.exp, 0.8), case(math.expm1, 0.8), case(math.log, 1.3),
    case(math.log, 1.3, 2.5, wrt="x base"),
    case(math.log2, 1.3), case(math.log10, 1.3), case(math.log1p, 1.3), case(math.sqrt, 2.1),
    case(math.pow, 1.6, 2.3, wrt="x y"), case(math.fabs, -0.8),
    case(math.copysign, -0.8, 2.0, wrt="x"),
    case(math.hypot, 0.8, -1.3, 0.4, wrt="coordinates"),
    case(math.erf, 0.6), case(math.erfc, 0.6), case(math.degrees, 0.6), case(math.radians, 30.0),
]


test_rule_matches_finite_differences_in_both_modes, test_float32_stays_float32 = \
    table_tests(ROWS)


# --- the audit (tests/rules/audit.py): programs through the transforms ----------------------

AUDIT = [
    *[audit(getattr(math, name), f"math.{name}(x)", x=x) for name, x in [
        ("sin", 0.7), ("cos", -1.3), ("tan", 0.4), ("asin", 0.3), ("acos", -0.6),
        ("atan", 1.7), ("sinh", 0.9), ("cosh", -0.7), ("tanh", 0.5), ("asinh", -1.2),
        ("acosh", 1.8), ("atanh", -0.4), ("exp", 0.6), ("expm1", -0.3), ("log", 2.5),
        ("log2", 3.1), ("log10", 0.4), ("log1p", 0.8), ("sqrt", 2.2), ("fabs", -1.4),
        ("erf", 0.4), ("erfc", -0.9), ("degrees", 0.3), ("radians", 40.0)]],
    audit(math.fabs, "math.fabs(x)", x=0.0, note="|x| has derivative 0 at 0"),
    audit(math.atan2, "math.atan2(y, x)", y=0.8, x=-1.3),
    audit(math.log, "math.log(x, b)", x=2.5, b=3.0),
    audit(math.log, "math.log(x, 10.0) * x", x=0.7),
    audit(math.pow, "math.pow(x, y)", x=1.8, y=2.5),
    audit(math.pow, "math.pow(x, 3.0)", x=-1.5, note="a whole power of a negative base"),
    audit(math.copysign, "math.copysign(x, y)", x=1.3, y=-2.0,
          note="y only lends its sign: its derivative is 0 away from 0"),
    audit(math.copysign, "math.copysign(x, 5.0)", x=-0.4),
    audit(math.hypot, "math.hypot(x, y)", x=3.0, y=-4.0),
    audit(math.hypot, "math.hypot(x, y, z)", x=1.0, y=2.0, z=-0.5),
    audit(math.sin, "math.sin(x) * math.exp(x)", x=-2.1),
]
