"""The rules of np.ndarray methods (reverse/ and forward/numpy_methods.py).

A row is one call, checked in both modes against finite differences (tests/rules/harness.py
says how); closed forms below cover kinks, ties and zeros. A new rule of this family is a new
row here.
"""

import numpy as np

from tests.rules.audit import audit
from tests.rules.harness import away, case, cotangent, pos, r, table_tests, tangent_of

WITH_ZERO = np.array([[1.5, 0.0, -2.0], [0.7, 1.2, 3.0]])
X234 = r(2, 3, 4)
TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])
ZEROS = np.array([[1.5, 0.0, -2.0], [0.7, 1.2, 3.0], [0.0, 0.0, 0.4]])

ROWS = [
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
    # rows of the forward-mode tables
    case(np.ndarray.max, TIES, axis=0, keepdims=True, wrt="self"),
    case(np.ndarray.prod, ZEROS, axis=(0, 1), wrt="self"),
    case(np.ndarray.cumsum, r(2, 3, 4), axis=1, wrt="self"),
    case(np.ndarray.clip, away(3, 4), -0.7, 0.9, wrt="self min max"),
    case(np.ndarray.astype, r(3, 4), np.float64, wrt="self"),
    case(np.ndarray.astype, r(3, 4) * 5, np.int64, wrt="self"),
]


test_rule_matches_finite_differences_in_both_modes, test_float32_stays_float32 = \
    table_tests(ROWS)


def test_astype_sends_the_cotangent_back_in_the_input_dtype():
    # a cast to float32 is too coarse for finite differences: check the closed form
    dresult = np.array([0.5, -1.25], np.float32)
    [dself] = cotangent(np.ndarray.astype, np.array([1.0, 2.0]), np.float32, wrt="self",
                        dresult=dresult)
    assert dself.dtype == np.float64
    np.testing.assert_array_equal(dself, [0.5, -1.25])


def test_casts_to_integers_have_a_zero_tangent():
    x, ones = np.array([1.3, 2.7]), np.ones(2)
    for got in (tangent_of(np.ndarray.astype, x, "int64", wrt=["self"], tangents=[ones]),
                tangent_of(np.array, x, int, wrt=["object"], tangents=[ones]),
                tangent_of(np.full_like, np.arange(2), 1.7, wrt=["fill_value"], tangents=[1.0])):
        np.testing.assert_array_equal(got, [0.0, 0.0])


# --- the audit (tests/rules/audit.py): programs through the transforms ----------------------

HALF = "a tie of two shares the cotangent (and averages the tangents) evenly, as central " \
       "differences do"

AUDIT = [
    audit(np.ndarray.sum, "x.sum()", x=r(3, 4)),
    audit(np.ndarray.sum, "x.sum(1)", x=r(3, 4)),
    audit(np.ndarray.sum, "x.sum(axis=(0, -1), keepdims=True)", x=r(2, 3, 4)),
    audit(np.ndarray.sum, "x.sum(axis=1)", x=np.zeros((2, 0)), note="an empty axis"),
    audit(np.ndarray.mean, "x.mean()", x=r(3, 4)),
    audit(np.ndarray.mean, "x.mean(axis=-2)", x=r(2, 3, 4)),
    audit(np.ndarray.max, "x.max()", x=r(3, 4)),
    audit(np.ndarray.max, "x.max(axis=0, keepdims=True)", x=TIES, note=HALF),
    audit(np.ndarray.min, "x.min(axis=(1, 2))", x=r(2, 3, 4)),
    audit(np.ndarray.min, "x.min(axis=1)", x=-TIES, note=HALF),
    audit(np.ndarray.prod, "x.prod()", x=away(3, 4)),
    audit(np.ndarray.prod, "x.prod(axis=1)", x=WITH_ZERO, note="a zero in a row"),
    audit(np.ndarray.prod, "x.prod(axis=(0, 1))", x=ZEROS, note="three zeros"),
    audit(np.ndarray.var, "x.var()", x=r(3, 4)),
    audit(np.ndarray.var, "x.var(axis=1, ddof=1, keepdims=True)", x=r(3, 4)),
    audit(np.ndarray.std, "x.std(axis=0)", x=r(3, 4)),
    audit(np.ndarray.std, "x.std(axis=(0, 2), ddof=1)", x=r(2, 3, 4)),
    audit(np.ndarray.cumsum, "x.cumsum()", x=r(3, 4)),
    audit(np.ndarray.cumsum, "x.cumsum(axis=1)", x=r(2, 3, 4)),
    audit(np.ndarray.reshape, "x.reshape(2, 6)", x=r(3, 4)),
    audit(np.ndarray.reshape, "x.reshape((4, 3))", x=r(3, 4)),
    audit(np.ndarray.reshape, "x.reshape((2, -1), order='F')", x=r(3, 4)),
    audit(np.ndarray.ravel, "x.ravel()", x=r(3, 4)),
    audit(np.ndarray.flatten, "x.flatten('F')", x=r(3, 4)),
    audit(np.ndarray.squeeze, "x.squeeze()", x=r(3, 1, 4)),
    audit(np.ndarray.squeeze, "x.squeeze(axis=0)", x=r(1, 3, 1)),
    audit(np.ndarray.transpose, "x.transpose()", x=r(3, 4)),
    audit(np.ndarray.transpose, "x.transpose(1, 2, 0)", x=X234),
    audit(np.ndarray.transpose, "x.transpose((-1, 0, 1))", x=X234),
    audit(np.ndarray.swapaxes, "x.swapaxes(0, -1)", x=r(2, 3, 4)),
    audit(np.ndarray.dot, "x.dot(y)", x=r(3, 4), y=r(4, 2)),
    audit(np.ndarray.dot, "x.dot(y)", x=r(3, 4), y=r(4)),
    audit(np.ndarray.astype, "x.astype('float64')", x=r(3, 4)),
    audit(np.ndarray.astype, "x.astype(dtype=np.float64) * y", x=r(3, 4), y=r(4)),
    audit(np.ndarray.copy, "x.copy()", x=r(3, 4)),
    audit(np.ndarray.clip, "x.clip(-0.5, 0.8)", x=r(3, 4)),
    audit(np.ndarray.clip, "x.clip(lo, hi)", x=r(3, 4), lo=-pos(4) * 0.5, hi=pos(3, 1)),
    audit(np.ndarray.clip, "x.clip(max=hi)", x=r(3, 4), hi=r(4) * 0.2 + 0.5),
    audit(np.ndarray.clip, "x.clip(min=lo)", x=r(3, 4), lo=r(3, 1) * 0.2 - 0.5),
    audit(np.ndarray.repeat, "x.repeat(2)", x=r(2, 3)),
    audit(np.ndarray.repeat, "x.repeat([3, 1], axis=0)", x=r(2, 3)),
    # an axis known only at run time keeps the rule's `if axis is None` in the generated code
    audit(np.ndarray.cumsum, "x.cumsum(axis=axis) - x", x=r(2, 3), axis=0),
]
