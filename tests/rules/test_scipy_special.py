"""The rules of ``scipy.special`` (templates/scipy_special.py, and reverse/ and
forward/scipy_special.py for logsumexp, softmax and log_softmax).

SciPy is optional (the ``scipy`` extra): without it these tests skip, and s2s never imports it
itself (its rules load once the user's code has imported ``scipy.special``). A row is one
call, checked in both modes against finite differences (tests/rules/harness.py says how), at
ordinary points and at the edges: near 0 and far out, ties of the maximum, -inf entries.
"""
import numpy as np
import pytest

import s2s
from s2s import rules
from finite_diff import assert_close, numerical_grad
from tests.rules.audit import audit
from tests.rules.harness import case, r, table_tests

try:
    import scipy.special
except ImportError:         # the rows below need SciPy; the rest of the suite does not
    scipy = None
else:
    rules.load_builtin_rules()      # the SciPy rules, now that scipy.special is imported

needs_scipy = pytest.mark.skipif(scipy is None, reason="SciPy is optional: pip install s2s[scipy]")
pytestmark = needs_scipy


def positive(*shape, low=0.3, high=3.0):
    return np.random.default_rng(len(shape) + int(10 * low)).uniform(low, high, shape)


def unit(*shape):
    """Points inside (-0.9, 0.9): erfinv's domain with room for the differences."""
    return np.random.default_rng(7).uniform(-0.9, 0.9, shape)


def probabilities(*shape):
    return np.random.default_rng(8).uniform(0.05, 0.95, shape)


S = scipy.special if scipy is not None else None
ROWS = [] if scipy is None else [
    # the gamma function and its relatives, near 0 and far out
    case(S.gammaln, positive(5)),
    case(S.gammaln, np.array([1e-3, 0.05, 40.0, 170.0])),
    case(S.loggamma, positive(4)),
    case(S.gamma, positive(4, high=5.0)),
    case(S.rgamma, positive(4)),
    case(S.digamma, positive(5)),
    case(S.digamma, np.array([1e-2, 60.0])),
    case(S.psi, positive(3)),
    case(S.polygamma, 1, positive(4)),
    case(S.polygamma, 3, positive(2, 3)),
    case(S.betaln, positive(4), positive(4, low=0.5), wrt="a b"),
    case(S.betaln, positive(2, 3), positive(3, low=1.0), wrt="a b"),
    case(S.beta, positive(4, high=2.0), positive(4, low=0.5, high=2.0), wrt="a b"),
    # error functions and the normal distribution, into the tails
    case(S.erf, r(5)),
    case(S.erf, np.array([0.0, 4.0, -5.5])),
    case(S.erfc, r(2, 3)),
    case(S.erfcx, np.array([-1.0, 0.0, 2.0, 30.0])),
    case(S.erfcx, np.array([49.0, 60.0, 1e3])),           # the asymptotic series' branch
    case(S.erfinv, unit(5)),
    case(S.erfinv, np.array([0.0, 0.995, -0.999])),
    case(S.erfcinv, 1.0 + unit(4)),
    case(S.ndtr, r(5)),
    case(S.ndtr, np.array([-8.0, 0.0, 6.0])),
    case(S.log_ndtr, np.array([-30.0, -5.0, 0.0, 3.0])),
    case(S.log_ndtr, np.array([-1e3, -60.0, -1e-3, 1e-3])),
    case(S.ndtri, probabilities(5)),
    case(S.ndtri, np.array([1e-3, 0.5, 0.999])),
    # the logistic function, saturated too
    case(S.expit, r(5)),
    case(S.expit, np.array([-30.0, 0.0, 30.0, 40.0])),
    case(S.logit, probabilities(5)),
    case(S.logit, np.array([0.01, 0.99])),
    case(S.log_expit, np.array([-40.0, -1.0, 0.0, 2.0, 40.0])),
    # x log y, also at x == 0 (the function is 0 in y there)
    case(S.xlogy, r(4), positive(4), wrt="x y"),
    case(S.xlogy, np.array([0.0, 1.5, 0.0]), np.array([2.0, 0.5, 1e-3]), wrt="x y"),
    case(S.xlog1py, r(4), positive(4) - 0.2, wrt="x y"),
    case(S.xlog1py, np.array([0.0, 2.0]), np.array([-0.5, 3.0]), wrt="x y"),
    case(S.entr, positive(4, low=0.05, high=2.0)),
    # modified Bessel functions, at 0 too (where i1's derivative is its limit, 1/2)
    case(S.i0, r(5)),
    case(S.i1, r(5)),
    case(S.i1, np.array([0.0, 1e-3, 15.0])),
    case(S.i0e, np.array([-3.0, -0.5, 0.7, 20.0])),
    case(S.i1e, np.array([-3.0, 0.0, 0.7, 20.0])),
    # SciPy's own versions of NumPy's functions
    case(S.expm1, r(4)),
    case(S.log1p, positive(4) - 0.2),
    case(S.exp2, r(4)),
    case(S.exp10, r(4)),
    case(S.cbrt, positive(4)),
    # reductions: every axis form, weights b, -inf entries, large values
    case(S.logsumexp, r(5), wrt="a"),
    case(S.logsumexp, r(3, 4), axis=1, wrt="a"),
    case(S.logsumexp, r(3, 4), axis=0, keepdims=True, wrt="a"),
    case(S.logsumexp, r(2, 3, 2), axis=(0, 2), wrt="a"),
    case(S.logsumexp, np.array([-np.inf, 0.5, 1.0]), wrt="a"),
    case(S.logsumexp, np.array([1000.0, 999.0, 998.5]), wrt="a"),
    case(S.logsumexp, r(3, 4), axis=1, b=positive(3, 4), wrt="a b"),
    case(S.logsumexp, r(3, 4), b=positive(4), wrt="a b"),
    case(S.logsumexp, r(3), b=positive(2, 3), axis=1, wrt="a b"),    # b broadcasts a up
    case(S.logsumexp, r(4, 1), b=positive(3), axis=0, keepdims=True, wrt="a b"),
    case(S.logsumexp, r(3), b=positive(2, 3), wrt="a"),
    case(S.logsumexp, r(3, 4), axis=1, return_sign=False, wrt="a"),
    case(S.logsumexp, r(3, 4), axis=0, b=positive(3, 4), return_sign=False, wrt="a b"),
    case(S.softmax, r(5)),
    case(S.softmax, r(3, 4), axis=1),
    case(S.softmax, r(2, 3, 2), axis=(0, 2)),
    case(S.softmax, np.array([1000.0, 999.0, 990.0])),
    case(S.log_softmax, r(5)),
    case(S.log_softmax, r(3, 4), axis=0),
    case(S.log_softmax, np.array([1000.0, 999.0, -5.0])),
]

test_rule_matches_finite_differences_in_both_modes, test_float32_stays_float32 = \
    table_tests(ROWS)


# --- through s2s ------------------------------------------------------------------------------

def poisson_regression(w, X=np.arange(12.0).reshape(4, 3) / 10.0, k=np.array([1.0, 0, 3, 2])):
    rate = np.exp(X @ w)
    return np.sum(rate - scipy.special.xlogy(k, rate) + scipy.special.gammaln(k + 1.0))


def classifier(w, X=np.arange(12.0).reshape(4, 3) / 10.0 - 0.5, y=np.array([0, 2, 1, 2])):
    logits = np.stack([X @ w, X @ (w * w), -X @ w], axis=1)
    picked = scipy.special.log_softmax(logits, axis=1)[np.arange(4), y]
    return -np.sum(picked) + scipy.special.logsumexp(w)


def robust(w):
    return np.sum(scipy.special.erf(w) * scipy.special.expit(w * 3.0)
                  + scipy.special.i1(w) * scipy.special.ndtr(w))


@pytest.mark.parametrize("f", [poisson_regression, classifier, robust], ids=lambda f: f.__name__)
def test_scipy_special_through_s2s_matches_finite_differences(f):
    w = np.array([0.3, -0.7, 1.1])
    expected = numerical_grad(f, [w], 0)
    assert_close(s2s.grad(f)(w), expected)
    tangent = np.array([1.0, -0.5, 0.25])
    _, derivative = s2s.jvp(f, (w,), (tangent,))
    assert derivative == pytest.approx(float(expected @ tangent), rel=1e-6)


def signed(a):
    value, sign = scipy.special.logsumexp(a, return_sign=True)  # refused
    return value * sign


def unsigned(a):
    return scipy.special.logsumexp(a, axis=0, return_sign=False)


def test_return_sign_true_is_refused_at_its_line_in_both_modes():
    import inspect
    lines, first = inspect.getsourcelines(signed)
    line = first + next(i for i, text in enumerate(lines) if "refused" in text)
    a = r(3)
    for transform in (lambda: s2s.grad(signed)(a), lambda: s2s.jvp(signed, (a,), (a,))):
        with pytest.raises(s2s.S2SError, match="return_sign") as info:
            transform()
        assert f'File "{__file__}", line {line}' in str(info.value)


def test_return_sign_false_is_differentiated_in_both_modes():
    a = r(3, 2)
    expected = numerical_grad(lambda a: np.sum(unsigned(a)), [a], 0)
    assert_close(s2s.grad(lambda a: np.sum(unsigned(a)))(a), expected)
    tangent = r(3, 2)
    _, derivative = s2s.jvp(unsigned, (a,), (tangent,))
    assert_close(derivative, np.sum(expected * tangent, axis=0))


# --- far out, where a derivative's textbook formula cancels ---------------------------------

def _relative_central_difference(f, x, relative_step=1e-3):
    """f'(x) by central differences with the step scaled to x, extrapolated over the step and
    its half (Richardson): at x = 1e6, erfcx's values are accurate to 1e-16 relative while a
    step of 1e-6 would not move them."""
    def central(h):
        return (f(x + h) - f(x - h)) / (2.0 * h)
    h = relative_step * np.abs(x)
    return (4.0 * central(h / 2.0) - central(h)) / 3.0


def erfcx_total(x):
    return np.sum(scipy.special.erfcx(x))


def log_ndtr_total(x):
    return np.sum(scipy.special.log_ndtr(x))


@pytest.mark.parametrize("f, fn, x", [
    (erfcx_total, "erfcx", np.array([40.0, 1e4, 1e6, 1e8])),
    (log_ndtr_total, "log_ndtr", np.array([-40.0, -1e4, -1e6, -1e7])),
], ids=["erfcx", "log_ndtr"])
def test_derivative_far_out_matches_relative_differences(f, fn, x):
    # 2x erfcx(x) - 2/sqrt(pi) lost all digits near 1e8 (2% off at 1e7); exp(-x^2/2 -
    # log_ndtr(x)) was 1e-6 off at -1e5 and 1% at -1e7
    expected = _relative_central_difference(getattr(scipy.special, fn), x)
    assert_close(s2s.grad(f)(x), expected, rtol=1e-9, atol=0.0)
    _, derivative = s2s.jvp(f, (x,), (np.ones_like(x),))
    assert derivative == pytest.approx(np.sum(expected), rel=1e-9)


def expit_total(x):
    return np.sum(scipy.special.expit(x))


def test_expit_derivative_is_not_zero_where_expit_rounds_to_one():
    # result (1 - result) was 0 from x = 37 on; the closed form e^-x / (1 + e^-x)^2 is not
    x = np.array([-40.0, 20.0, 40.0, 300.0])
    expected = np.exp(-x) / (1.0 + np.exp(-x)) ** 2
    assert_close(s2s.grad(expit_total)(x), expected, rtol=1e-12, atol=0.0)
    _, derivative = s2s.jvp(expit_total, (x,), (np.array([0.0, 0.0, 1.0, 0.0]),))
    assert derivative == pytest.approx(expected[2], rel=1e-12)


# --- the audit (tests/rules/audit.py): programs through the transforms ----------------------

given = dict(scipy=scipy)
AUDIT = [] if scipy is None else [
    audit((S.gammaln, S.loggamma), "scipy.special.gammaln(x) + scipy.special.loggamma(x)",
          x=positive(4), given=given),
    audit((S.gamma, S.rgamma), "scipy.special.gamma(x) * scipy.special.rgamma(x * 0.5)",
          x=positive(3, high=4.0), given=given),
    audit((S.digamma, S.psi, S.polygamma),
          "scipy.special.digamma(x) + scipy.special.psi(x) * scipy.special.polygamma(2, x)",
          x=positive(4), given=given),
    audit((S.betaln, S.beta), "scipy.special.betaln(x, y) + scipy.special.beta(x, y)",
          x=positive(3, high=2.0), y=positive(3, low=0.5, high=2.0), given=given),
    audit((S.erf, S.erfc, S.erfcx),
          "scipy.special.erf(x) * scipy.special.erfc(x) + scipy.special.erfcx(x)",
          x=r(4), given=given),
    audit((S.erfinv, S.erfcinv), "scipy.special.erfinv(x) + scipy.special.erfcinv(1.0 + x)",
          x=unit(4), given=given),
    audit((S.ndtr, S.log_ndtr, S.ndtri),
          "scipy.special.ndtri(scipy.special.ndtr(x) * 0.9) + scipy.special.log_ndtr(x)",
          x=r(4), given=given),
    audit(S.log_ndtr, "scipy.special.log_ndtr(x)", x=np.array([-35.0, -12.0]), given=given,
          note="far in the lower tail, where ndtr underflows"),
    audit((S.expit, S.logit, S.log_expit),
          "scipy.special.logit(scipy.special.expit(x) * 0.8 + 0.1) + scipy.special.log_expit(x)",
          x=r(4), given=given),
    audit((S.xlogy, S.xlog1py, S.entr),
          "scipy.special.xlogy(x, y) + scipy.special.xlog1py(x, y) + scipy.special.entr(y)",
          x=np.array([0.0, 0.7, -1.2]), y=positive(3), given=given,
          note="x == 0: no derivative in y"),
    audit((S.i0, S.i1, S.i0e, S.i1e),
          "scipy.special.i0(x) * scipy.special.i1(x) + scipy.special.i0e(x) "
          "- scipy.special.i1e(x)", x=np.array([0.4, -1.3, 2.5]), given=given,
          note="i0e and i1e have a kink at 0 (exp(-|x|)): away from it"),
    audit((S.expm1, S.log1p, S.exp2, S.exp10, S.cbrt),
          "scipy.special.expm1(x) * scipy.special.log1p(x * x) + scipy.special.exp2(x) "
          "+ scipy.special.exp10(x * 0.1) + scipy.special.cbrt(x * x + 1.0)", x=r(4),
          given=given),
    audit(S.logsumexp, "scipy.special.logsumexp(x, axis=1, b=y)", x=r(3, 4), y=positive(3, 4),
          given=given),
    audit((S.softmax, S.log_softmax),
          "scipy.special.softmax(x, axis=0) * scipy.special.log_softmax(x, axis=1)",
          x=r(3, 4), given=given),
    # second order: the rules' own code, differentiated again in both modes
    audit((S.gammaln, S.digamma, S.polygamma),
          "np.sum(scipy.special.gammaln(x) * scipy.special.digamma(x))", x=positive(3),
          order=2, given=given),
    audit((S.erf, S.erfinv, S.ndtr, S.ndtri),
          "np.sum(scipy.special.erfinv(scipy.special.erf(x) * 0.5) "
          "+ scipy.special.ndtri(scipy.special.ndtr(x) * 0.9))", x=r(3), order=2, given=given),
    audit((S.expit, S.logit, S.xlogy),
          "np.sum(scipy.special.logit(scipy.special.expit(x) * 0.8 + 0.1) "
          "+ scipy.special.xlogy(x, x * x + 1.0))", x=r(3), order=2, given=given),
    audit((S.i0, S.i1, S.betaln),
          "np.sum(scipy.special.i0(x) * scipy.special.i1(x) + scipy.special.betaln(x * x + 1.0, "
          "2.0))", x=r(3), order=2, given=given),
    audit((S.logsumexp, S.softmax, S.log_softmax),
          "scipy.special.logsumexp(x, axis=1) @ np.arange(3.0) "
          "+ np.sum(scipy.special.softmax(x, axis=1) * scipy.special.log_softmax(x, axis=0))",
          x=r(3, 4), order=2, given=given),
    audit(S.logsumexp,     # the body says return: the audit looks for it, and return_sign has it
          "return np.sum(scipy.special.logsumexp(x, axis=0, b=y, return_sign=False))",
          x=r(3, 2), y=positive(3, 2), order=2, given=given),
    audit(S.logsumexp, "scipy.special.logsumexp(x, axis=-1, b=y) @ np.arange(1.0, 3.0)",
          x=r(3), y=positive(2, 3), order=2, given=given, note="b broadcasts a up"),
    audit((S.gamma, S.rgamma, S.loggamma, S.psi, S.beta),
          "np.sum(scipy.special.gamma(x) * scipy.special.rgamma(x * 0.5) "
          "+ scipy.special.loggamma(x) * scipy.special.psi(x) + scipy.special.beta(x, y))",
          x=positive(3, high=3.0), y=positive(3, low=0.5, high=2.0), order=2, given=given),
    audit((S.erfc, S.erfcx, S.erfcinv),
          "np.sum(scipy.special.erfc(x) * scipy.special.erfcx(x) "
          "+ scipy.special.erfcinv(1.0 + scipy.special.erf(x) * 0.5))",
          x=r(3), order=2, given=given),
    audit((S.erfcx, S.log_ndtr), "np.sum(scipy.special.erfcx(x) + scipy.special.log_ndtr(-x))",
          x=np.array([55.0, 80.0, 3.0]), order=2, given=given,
          note="erfcx's asymptotic branch and log_ndtr's erfcx branch"),
    audit((S.log_ndtr, S.log_expit, S.expit),
          "np.sum(scipy.special.log_ndtr(x) + scipy.special.log_expit(x) "
          "+ scipy.special.expit(x * 4.0))", x=np.array([-6.0, -0.3, 0.8, 2.0]), order=2,
          given=given),
    audit((S.xlog1py, S.entr),
          "np.sum(scipy.special.xlog1py(x, y) + scipy.special.entr(y))",
          x=r(3), y=positive(3), order=2, given=given),
    audit((S.i0e, S.i1e), "np.sum(scipy.special.i0e(x) * scipy.special.i1e(x))",
          x=np.array([0.4, -1.3, 2.5]), order=2, given=given,
          note="i0e and i1e have a kink at 0 (exp(-|x|)): away from it"),
    audit((S.expm1, S.log1p, S.exp2, S.exp10, S.cbrt),
          "np.sum(scipy.special.expm1(x) * scipy.special.log1p(x * x) + scipy.special.exp2(x) "
          "+ scipy.special.exp10(x * 0.1) + scipy.special.cbrt(x * x + 1.0))", x=r(3),
          order=2, given=given),
]
