"""The rules of Python's built-in functions (reverse/ and forward/builtins.py).

Each row is one call, ``case(primitive, *args, wrt=..., **kwargs)``; the harness runs the
rule of each mode on it and compares the cotangents (vjp) and the tangent (jvp) with central
finite differences in float64. Behaviour at kinks, ties and zeros has closed forms below.
Adding a rule of this family means adding a row here: tests/rules/test_registry.py fails for
a registered rule that no table has a row for.
"""
import builtins

import numpy as np
import pytest

from tests.rules.harness import (away, case, check_float32_row, check_row, has_float32_variant,
                                 ids, pos, r)


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
]


@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_rule_matches_finite_differences_in_both_modes(row):
    check_row(row)


FLOAT32 = [row for row in ROWS if has_float32_variant(row)]


@pytest.mark.parametrize("row", FLOAT32, ids=ids(FLOAT32))
def test_float32_cotangents_stay_float32(row):
    # the tangents of this family are not all float32 yet (np.maximum, clip, builtins.max,
    # a float32 array plus a Python float): only the reverse rules are held to it
    check_float32_row(row, forward=False)
