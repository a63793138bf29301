"""The rules of NumPy reductions and cumulative operations (reverse/ and
forward/numpy_reductions.py).

A row is one call, checked in both modes against finite differences (tests/rules/harness.py
says how); closed forms below cover kinks, ties and zeros. A new rule of this family is a new
row here.
"""

import linecache

import numpy as np
import pytest

import s2s
from tests.rules.audit import audit
from tests.rules.harness import away, case, cotangent, pos, r, table_tests, tangent_of

WITH_ZERO = np.array([[1.5, 0.0, -2.0], [0.7, 1.2, 3.0]])
TWO_ZEROS = np.array([[0.0, 2.0, 0.0, 1.5], [1.1, -0.4, 2.0, 0.9]])
# NaNs in every row and column, none of them all NaN (nanmean of nothing is NaN)
WITH_NAN = np.array([[0.5, np.nan, -1.2, 0.3], [np.nan, 1.1, 0.7, np.nan],
                     [-0.4, 0.9, np.nan, 1.6]])
TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])
ZEROS = np.array([[1.5, 0.0, -2.0], [0.7, 1.2, 3.0], [0.0, 0.0, 0.4]])

CONSTANT_COLUMNS = np.array([[1.5, -0.5, 2.0], [1.5, 0.7, 2.0]])

ROWS = [
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
    case(np.std, r(3, 1), axis=1, wrt="a"),
    case(np.std, CONSTANT_COLUMNS, axis=0, wrt="a"),
    case(np.median, r(5), wrt="a"),
    case(np.median, r(4, 5), wrt="a"),
    case(np.median, r(4, 5), axis=0, wrt="a"),
    case(np.median, r(2, 3, 4), axis=(0, 2), keepdims=True, wrt="a"),
    case(np.median, r(3, 4), -1, keepdims=True, wrt="a"),
    case(np.quantile, r(7), 0.3, wrt="a"),
    case(np.quantile, r(4, 5), [0.0, 0.25, 0.9, 1.0], axis=1, wrt="a"),
    case(np.quantile, r(3, 4), np.array([[0.1, 0.6], [0.5, 0.95]]), axis=0, keepdims=True,
         wrt="a"),
    *[case(np.quantile, r(3, 5), 0.35, axis=1, method=m, wrt="a")
      for m in ("lower", "higher", "nearest", "midpoint")],
    case(np.percentile, r(6), 40, wrt="a"),
    case(np.percentile, r(3, 4), [10, 75], axis=(0, 1), wrt="a"),
    case(np.percentile, r(2, 3, 4), 50.0, -1, method="midpoint", wrt="a"),
    case(np.average, r(3, 4), wrt="a"),
    case(np.average, r(3, 4), 1, wrt="a"),
    case(np.average, r(3, 4), 0, pos(3), wrt="a weights"),
    case(np.average, r(3, 4), None, pos(3, 4), wrt="a weights"),
    case(np.average, r(2, 3, 4), -1, pos(4), keepdims=True, wrt="a weights"),
    case(np.average, r(3, 4), 1, pos(3, 4), True, wrt="a weights"),
    case(np.average, r(3, 4), (0, 1), pos(3, 4), wrt="a weights"),
    case(np.cov, r(3, 5), wrt="m"),
    case(np.cov, r(5), wrt="m"),
    case(np.cov, r(5, 3), rowvar=False, wrt="m"),
    case(np.cov, r(2, 5), r(5), wrt="m y"),
    case(np.cov, r(5, 2), r(5, 3), rowvar=False, bias=True, wrt="m y"),
    case(np.cov, r(3, 6), ddof=2, wrt="m"),
    case(np.cov, r(3, 4), fweights=np.array([1, 3, 2, 1]), aweights=pos(4), wrt="m"),
    case(np.cov, r(2, 4), aweights=pos(4), ddof=0, wrt="m"),
    case(np.corrcoef, r(3, 5), wrt="x"),
    case(np.corrcoef, r(5), r(5), wrt="x y"),
    case(np.corrcoef, r(4, 3), rowvar=False, wrt="x"),
    case(np.corrcoef, r(2, 5), r(1, 5), wrt="x y"),
    case(np.cumsum, r(3, 4), wrt="a"),
    case(np.cumsum, r(3, 4), axis=0, wrt="a"),
    case(np.cumsum, r(2, 3, 4), axis=-1, wrt="a"),
    case(np.cumprod, away(3, 4), wrt="a"),
    case(np.cumprod, r(3, 4), axis=1, wrt="a"),
    case(np.cumprod, r(2, 3, 4), axis=-2, wrt="a"),
    case(np.cumprod, WITH_ZERO, axis=1, wrt="a"),
    case(np.cumprod, TWO_ZEROS, wrt="a"),
    # rows of the forward-mode tables
    case(np.max, TIES, axis=1, wrt="a"),
    case(np.min, TIES, wrt="a"),
    case(np.cumprod, ZEROS, wrt="a"),
    case(np.cumprod, ZEROS, axis=0, wrt="a"),
    case(np.prod, ZEROS, axis=0, wrt="a"),
]


test_rule_matches_finite_differences_in_both_modes, test_float32_stays_float32 = \
    table_tests(ROWS)


def test_max_reduction_splits_ties_evenly():
    [da] = cotangent(np.max, np.array([1.0, 3.0, 3.0]), wrt="a", dresult=1.0)
    np.testing.assert_array_equal(da, [0.0, 0.5, 0.5])
    [da] = cotangent(np.min, np.array([[2.0, 2.0], [1.0, 4.0]]), axis=1, wrt="a",
                     dresult=np.array([1.0, 1.0]))
    np.testing.assert_array_equal(da, [[0.5, 0.5], [1.0, 0.0]])


def test_prod_with_zeros_is_the_product_of_the_others():
    [da] = cotangent(np.prod, np.array([2.0, 0.0, 3.0]), wrt="a", dresult=1.0)
    np.testing.assert_array_equal(da, [0.0, 6.0, 0.0])
    [da] = cotangent(np.prod, np.array([0.0, 0.0, 3.0]), wrt="a", dresult=1.0)
    np.testing.assert_array_equal(da, [0.0, 0.0, 0.0])


def test_max_tangent_averages_tied_extrema():
    # the reverse rule gives each tied entry half: <dresult, dx> agrees with it
    da = np.array([1.0, 10.0, 30.0])
    assert tangent_of(np.max, np.array([1.0, 3.0, 3.0]), wrt=["a"], tangents=[da]) == 20.0
    got = tangent_of(np.min, np.array([[2.0, 2.0], [1.0, 4.0]]), axis=1, wrt=["a"],
                     tangents=[np.array([[1.0, 3.0], [5.0, 7.0]])])
    np.testing.assert_array_equal(got, [2.0, 5.0])


def test_prod_and_cumprod_tangents_are_exact_at_zeros():
    a = np.array([2.0, 0.0, 3.0])
    da = np.array([1.0, 1.0, 1.0])
    # d(a0 a1 a2) = a1 a2 da0 + a0 a2 da1 + a0 a1 da2 = 0 + 6 + 0
    assert tangent_of(np.prod, a, wrt=["a"], tangents=[da]) == 6.0
    np.testing.assert_allclose(tangent_of(np.cumprod, a, wrt=["a"], tangents=[da]),
                               [1.0, 2.0, 6.0], rtol=1e-15)


# --- the audit (tests/rules/audit.py): programs through the transforms ----------------------

TIED_ROWS = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 2.0]])
HALF = "a tie of two shares the cotangent (and averages the tangents) evenly, as central " \
       "differences do"

AUDIT = [
    audit(np.sum, "np.sum(x)", x=r(3, 4)),
    audit(np.sum, "np.sum(x, axis=0)", x=r(3, 4)),
    audit(np.sum, "np.sum(x, axis=(0, 2), keepdims=True)", x=r(2, 3, 4)),
    audit(np.sum, "np.sum(x, 1)", x=r(3, 4)),
    audit(np.sum, "np.sum(x, axis=0)", x=np.zeros((0, 3)), note="an empty axis sums to 0"),
    audit(np.sum, "np.sum(x * y, axis=-1)", x=r(3, 4), y=r(4), note="broadcast operands"),
    audit(np.nansum, "np.nansum(x)", x=WITH_NAN),
    audit(np.nansum, "np.nansum(x, axis=1, keepdims=True)", x=WITH_NAN),
    audit(np.mean, "np.mean(x)", x=r(3, 4)),
    audit(np.mean, "np.mean(x, axis=(0, -1))", x=r(2, 3, 4)),
    audit(np.mean, "np.mean(x, axis=-2, keepdims=True)", x=r(2, 3, 4)),
    audit(np.nanmean, "np.nanmean(x, axis=0)", x=WITH_NAN),
    audit(np.nanmean, "np.nanmean(x)", x=WITH_NAN),
    audit(np.prod, "np.prod(x)", x=pos(3, 4)),
    audit(np.prod, "np.prod(x, axis=1)", x=r(3, 4)),
    audit(np.prod, "np.prod(x, axis=(0, 2), keepdims=True)", x=r(2, 3, 4)),
    audit(np.prod, "np.prod(x, axis=1)", x=WITH_ZERO, note="one zero in a row"),
    audit(np.prod, "np.prod(x, axis=-1)", x=TWO_ZEROS, note="two zeros in a row"),
    audit(np.prod, "np.prod(x)", x=ZEROS, note="zeros everywhere: all derivatives but none"),
    audit(np.max, "np.max(x)", x=r(3, 4)),
    audit(np.max, "np.max(x, axis=0)", x=r(3, 4)),
    audit(np.max, "np.max(x, axis=(1, 2), keepdims=True)", x=r(2, 3, 4)),
    audit(np.max, "np.max(x, axis=1)", x=TIED_ROWS, note=HALF),
    audit(np.min, "np.min(x, axis=-1)", x=r(3, 4)),
    audit(np.min, "np.min(x)", x=-TIED_ROWS, note=HALF),
    audit(np.amax, "np.amax(x, axis=1, keepdims=True)", x=r(3, 4)),
    audit(np.amax, "np.amax(x, axis=1)", x=TIED_ROWS, note=HALF),
    audit(np.amin, "np.amin(x, axis=(0, 1))", x=r(3, 4)),
    audit(np.var, "np.var(x)", x=r(3, 4)),
    audit(np.var, "np.var(x, axis=(0, 2), ddof=1)", x=r(2, 3, 4)),
    audit(np.var, "np.var(x, axis=-1, keepdims=True)", x=r(3, 4)),
    audit(np.std, "np.std(x)", x=r(3, 4)),
    audit(np.std, "np.std(x, axis=1)", x=r(3, 4)),
    audit(np.std, "np.std(x, axis=(-1, -2), ddof=1, keepdims=True)", x=r(2, 3, 4)),
    audit(np.std, "np.std(x, axis=1)", x=r(3, 1),
          note="one entry per std: the std is 0 wherever x moves, and so is its gradient"),
    audit(np.std, "np.std(x * MASK, axis=0)", x=r(2, 3),
          given=dict(MASK=np.array([1.0, 0.0, 1.0])),
          note="a column of zeros: std 0, gradient 0 (a subgradient; autograd's test_std)"),
    audit(np.median, "np.median(x)", x=r(5)),
    audit(np.cov, "np.sum(np.cov(x) ** 2)", x=r(2, 4), order=2),
    audit(np.corrcoef, "np.sum(np.corrcoef(x) ** 2)", x=r(2, 4), order=2),
    audit(np.std, "np.sum(np.std(x, axis=0) ** 3)", x=r(3, 2), order=2),
    audit(np.median, "np.median(x, axis=0) * W", x=r(4, 3), given=dict(W=r(3)),
          note="an even count: the mean of the middle two"),
    audit(np.quantile, "np.quantile(x, [0.1, 0.5, 1.0], axis=1) ** 2", x=r(3, 6)),
    audit(np.quantile, "np.quantile(x, 0.4, method='nearest', keepdims=True) * 3.0", x=r(2, 5)),
    audit(np.percentile, "np.percentile(x, [25, 60]) ** 2", x=r(7)),
    audit(np.percentile, "np.percentile(x, 90, axis=(0, 1))", x=r(2, 3, 2)),
    audit(np.average, "np.average(x, axis=0, weights=y)", x=r(3, 4), y=pos(3)),
    audit(np.average, "np.average(x, weights=y ** 2)", x=r(2, 3), y=pos(2, 3)),
    audit(np.average, "avg, total = np.average(x, 1, y, returned=True)\nreturn avg * total",
          x=r(3, 4), y=pos(3, 4), note="returned=True gives the sum of weights too"),
    audit(np.average, "np.average(x, axis=1, keepdims=True) * x", x=r(3, 4)),
    audit(np.cov, "np.cov(x)", x=r(3, 5)),
    audit(np.cov, "np.cov(x, y, rowvar=False)", x=r(6, 2), y=r(6)),
    audit(np.cov, "np.cov(x, fweights=F, aweights=A)", x=r(2, 4),
          given=dict(F=np.array([2, 1, 1, 3]), A=pos(4))),
    audit(np.cov, "np.cov(x) * 2.0", x=r(5), note="one variable: a 0-d result"),
    audit(np.corrcoef, "np.corrcoef(x)", x=r(3, 5)),
    audit(np.corrcoef, "np.corrcoef(x, y) ** 2", x=r(5), y=r(5)),
    audit(np.corrcoef, "np.corrcoef(x, rowvar=False) * W", x=r(6, 3), given=dict(W=r(3, 3))),
    audit(np.cumsum, "np.cumsum(x)", x=r(3, 4)),
    audit(np.cumsum, "np.cumsum(x, axis=0)", x=r(3, 4)),
    audit(np.cumsum, "np.cumsum(x, axis=-1)", x=r(2, 3, 4)),
    audit(np.cumprod, "np.cumprod(x)", x=away(3, 4)),
    audit(np.cumprod, "np.cumprod(x, axis=-2)", x=r(2, 3, 4)),
    audit(np.cumprod, "np.cumprod(x, axis=1)", x=WITH_ZERO, note="a zero in a row"),
    audit(np.cumprod, "np.cumprod(x)", x=TWO_ZEROS, note="two zeros"),
    audit(np.cumprod, "np.cumprod(x, axis=0)", x=ZEROS, note="zeros in a column"),
    # an axis known only at run time keeps the rule's `if axis is None` in the generated code
    audit(np.cumsum, "np.cumsum(x, axis=axis) + x", x=r(2, 3), axis=1),
    audit(np.cumsum, "np.cumsum(x, axis=axis) + np.sum(x)", x=r(2, 3), axis=None),
    audit(np.cumprod, "np.cumprod(x, axis=axis) * x", x=r(2, 3), axis=0),
    audit(np.max, "np.max(x, axis=axis) + x[0]", x=r(2, 3), axis=0),
]


@pytest.mark.parametrize("body", [
    "np.quantile(W, x[0] * 0.1 + 0.5)",
    "np.percentile(W, x[0] + 50.0)",
    "np.quantile(x, 0.5, method='inverted_cdf')",
    "np.cov(np.outer(W, W), aweights=x ** 2)",
])
@pytest.mark.parametrize("transform", ["grad", "jvp"])
def test_arguments_without_a_rule_are_refused(body, transform):
    # never a silently wrong gradient: these raise, naming what has no rule yet
    text = f"def f(x):\n    return np.sum({body})\n"
    filename = f"<test_reductions {len(linecache.cache)}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = dict(np=np, W=r(4))
    exec(compile(text, filename, "exec"), namespace)
    x = pos(4)
    with pytest.raises(TypeError, match="no rule yet"):
        if transform == "grad":
            s2s.grad(namespace["f"])(x)
        else:
            s2s.jvp(namespace["f"], (x,), (np.ones(4),))


def test_std_at_zero_deviation_has_zero_gradient():
    # central differences see no change where every entry of a slice is equal: |h| / n both
    # ways; the gradient is 0 there, in both modes, not NaN
    a = np.array([[2.0, 1.0], [2.0, 3.0]])
    [da] = cotangent(np.std, a, axis=0, wrt="a", dresult=np.array([1.0, 1.0]))
    np.testing.assert_array_equal(da, [[0.0, -0.5], [0.0, 0.5]])
    np.testing.assert_array_equal(
        tangent_of(np.std, a, axis=0, wrt=["a"], tangents=[np.ones((2, 2))]), [0.0, 0.0])
