"""The rules of Python's built-in functions (reverse/ and forward/builtins.py).

A row is one call, checked in both modes against finite differences (tests/rules/harness.py
says how); closed forms below cover kinks, ties and zeros. A new rule of this family is a new
row here.
"""
import builtins

import numpy as np

from tests.rules.audit import audit
from tests.rules.harness import away, case, pos, r, table_tests


ROWS = [
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
    case(builtins.sorted, [0.3, -1.2, 2.0, 0.9], wrt="iterable"),
    case(builtins.sorted, (0.3, -1.2, 2.0), reverse=True, wrt="iterable"),
    case(builtins.sorted, [r(2), r(2), r(2)], key=np.sum, wrt="iterable"),
    case(builtins.sorted, r(5), wrt="iterable"),
    case(builtins.list, (r(3), r(3)), wrt="iterable"),
    case(builtins.list, r(3, 2), wrt="iterable"),
    case(builtins.tuple, [0.2, -0.7], wrt="iterable"),
    # rows of the forward-mode tables
    case(builtins.abs, away(4)), case(builtins.abs, -1.2),
    case(builtins.pow, pos(3), 2.5, wrt="base exp"),
    case(builtins.pow, 1.4, 3, wrt="base"),
    case(builtins.sum, [r(3), r(3), 0.5], wrt="iterable"),
    case(builtins.sum, r(4, 2), r(2), wrt="iterable start"),
    case(builtins.max, 0.8, -0.5, 0.3, wrt="args"),
    case(builtins.min, [0.8, -0.5, 0.3], wrt="args"),
    case(builtins.max, r(5), wrt="args"),
    case(builtins.float, np.float32(1.4)),
    case(builtins.sorted, [r(2), r(2)], key=np.sum, reverse=True, wrt="iterable"),
    case(builtins.list, [0.4, 1.1, -0.3], wrt="iterable"),
    case(builtins.tuple, r(4), wrt="iterable"),
]


test_rule_matches_finite_differences_in_both_modes, test_float32_stays_float32 = \
    table_tests(ROWS)


# --- the audit (tests/rules/audit.py): programs through the transforms ----------------------

AUDIT = [
    audit(builtins.abs, "abs(x)", x=-1.3),
    audit(builtins.abs, "abs(x)", x=np.array([0.0, -2.0, 0.5]), note="|x| has derivative 0 at 0"),
    audit(builtins.pow, "pow(x, y)", x=1.6, y=2.2),
    audit(builtins.pow, "pow(x, 3)", x=r(2, 3)),
    audit(builtins.sum, "sum([x, y, x])", x=r(3), y=r(2, 3), note="a list literal, one item twice"),
    audit(builtins.sum, "sum(x, y)", x=r(4, 3), y=r(3), note="an array iterates over its rows"),
    audit(builtins.sum, "sum([x, 2.0 * y], 1.0)", x=0.5, y=-1.5),
    audit(builtins.max, "max(x, y)", x=0.4, y=1.9),
    audit(builtins.max, "max(x, y, 1.0)", x=-0.3, y=2.2),
    audit(builtins.max, "max([x * 2.0, x ** 2, 1.0])", x=0.7),
    audit(builtins.max, "max(x)", x=r(5), note="an array iterates over its entries"),
    audit(builtins.max, "max(x, y)", x=1.25, y=1.25, note="a tie of two splits in half"),
    audit(builtins.min, "min(x, y)", x=0.4, y=1.9),
    audit(builtins.min, "min([x, y, -1.0, 0.1])", x=0.3, y=2.5),
    audit(builtins.min, "min(x)", x=r(4)),
    audit(builtins.float, "float(x) * 2.0", x=np.array(1.7)),
    audit(builtins.float, "float(np.sum(x))", x=r(3)),
    audit(builtins.sorted, "s = sorted([x, y * 2.0, 0.5])\nreturn s[0] * 3.0 + s[2]",
          x=0.9, y=-0.4),
    audit(builtins.sorted, "s = sorted(x, reverse=True)\nreturn s[0] - s[1] * s[2]", x=r(4)),
    audit(builtins.sorted, "s = sorted([x, y], key=np.sum)\nreturn np.sum(s[0] * 2.0 + s[1])",
          x=r(3), y=r(3)),
    audit(builtins.sorted, "s = sorted([x, y])\nreturn s[0] * 3.0 + s[1]", x=0.5, y=0.5,
          note="a tie keeps the input order, as sorted is stable"),
    audit(builtins.list, "l = list((x, y * 2.0))\nreturn np.sum(l[0] * l[1])", x=r(3), y=r(3)),
    audit(builtins.list, "l = list(x)\nreturn np.sum(l[1] * 2.0 + l[0] ** 2)", x=r(3, 2),
          note="an array lists its rows"),
    audit(builtins.tuple, "t = tuple([x, np.sin(y)])\nreturn t[0] * t[1]", x=0.3, y=-1.1),
    audit(builtins.tuple, "t = tuple(x)\nreturn t[0] * t[2]", x=r(3)),
]
