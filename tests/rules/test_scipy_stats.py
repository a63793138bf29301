"""The rules of ``scipy.stats``' distributions (reverse/ and forward/scipy_stats.py): norm, t,
gamma, beta, poisson and multivariate_normal, their logpdf (logpmf), pdf (pmf), cdf and
logcdf, in x and in the parameters.

SciPy is optional (the ``scipy`` extra): without it these tests skip, and s2s never imports it
itself (its rules load once the user's code has imported ``scipy.stats``). A row is one call,
checked in both modes against finite differences (tests/rules/harness.py says how), in the
bulk and in the tails (a logcdf at x = -30 is finite and right).
"""
import numpy as np
import pytest

import s2s
from s2s import rules
from finite_diff import assert_close, numerical_grad
from tests.rules.audit import audit
from tests.rules.harness import case, r, table_tests

try:
    import scipy.stats
except ImportError:         # the rows below need SciPy; the rest of the suite does not
    scipy = None
else:
    from scipy.stats import t as student            # as users write it too
    rules.load_builtin_rules()      # the SciPy rules, now that scipy.stats is imported

needs_scipy = pytest.mark.skipif(scipy is None, reason="SciPy is optional: pip install s2s[scipy]")
pytestmark = needs_scipy


def positive(*shape, low=0.3, high=3.0, seed=0):
    return np.random.default_rng(seed + len(shape)).uniform(low, high, shape)


def inside(*shape):
    """Points of (0, 1), away from its ends: beta's support."""
    return np.random.default_rng(5).uniform(0.1, 0.9, shape)


if scipy is not None:
    norm, t, gamma, beta, poisson = (scipy.stats.norm, scipy.stats.t, scipy.stats.gamma,
                                     scipy.stats.beta, scipy.stats.poisson)
    mvn = scipy.stats.multivariate_normal
    COV = np.array([[1.5, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.8]])
    COUNTS = np.array([0.0, 1.0, 3.0, 7.0])

ROWS = [] if scipy is None else [
    # norm, in x, loc and scale; the tails of cdf and logcdf
    case(norm.logpdf, r(4), 0.3, 1.7, wrt="x loc scale"),
    case(norm.logpdf, r(2, 3), r(3), positive(3), wrt="x loc scale"),
    case(norm.pdf, r(4), -0.2, 0.8, wrt="x loc scale"),
    case(norm.cdf, r(4), 0.1, 1.3, wrt="x loc scale"),
    case(norm.cdf, np.array([-9.0, 0.0, 7.0]), wrt="x"),
    case(norm.logcdf, r(4), 0.5, 2.0, wrt="x loc scale"),
    case(norm.logcdf, np.array([-30.0, -10.0, 0.0, 5.0]), wrt="x"),
    # t, in df too (its cdf only in x, loc and scale)
    case(t.logpdf, r(4), 3.5, 0.2, 1.4, wrt="x df loc scale"),
    case(t.logpdf, r(2, 3), positive(3, low=1.0, high=8.0), wrt="x df"),
    case(t.pdf, r(4), 5.0, -0.3, 0.9, wrt="x df loc scale"),
    case(t.cdf, r(4), 4.0, 0.1, 1.2, wrt="x loc scale"),
    case(t.logcdf, np.array([-12.0, -1.0, 0.5]), 3.0, wrt="x"),
    # gamma, in its shape a too
    case(gamma.logpdf, positive(4), 2.5, 0.0, 1.5, wrt="x a scale"),
    case(gamma.logpdf, positive(4, low=1.0), positive(4, low=0.5, seed=3), 0.2, wrt="x a loc"),
    case(gamma.pdf, positive(4), 1.7, 0.1, 0.9, wrt="x a loc scale"),
    case(gamma.cdf, positive(4), 2.0, 0.0, 1.3, wrt="x loc scale"),
    case(gamma.logcdf, positive(4, low=0.05, high=1.0), 3.0, wrt="x"),
    # beta, in a and b too
    case(beta.logpdf, inside(4), 2.5, 1.5, wrt="x a b"),
    case(beta.logpdf, inside(4) * 2.0 - 0.5, 0.8, 3.0, -0.5, 2.0, wrt="x a b loc scale"),
    case(beta.pdf, inside(4), 1.5, 2.5, wrt="x a b"),
    case(beta.cdf, inside(4), 2.0, 3.0, wrt="x"),
    case(beta.logcdf, inside(4) * 3.0, 2.0, 3.0, 0.0, 3.0, wrt="x scale"),
    # poisson, in its rate (a count has no derivative), k = 0 included
    case(poisson.logpmf, COUNTS, 2.5, wrt="mu"),
    case(poisson.logpmf, COUNTS, positive(4), wrt="mu"),
    case(poisson.pmf, COUNTS, 1.8, wrt="mu"),
    case(poisson.cdf, COUNTS, 3.2, wrt="mu"),
    case(poisson.logcdf, COUNTS, 4.0, wrt="mu"),
    # multivariate_normal, in x, mean and the covariance matrix; a batch of points
    case(mvn.logpdf, r(3), r(3), COV, wrt="x mean cov"),
    case(mvn.logpdf, r(4, 3), r(3), COV, wrt="x mean cov"),
    case(mvn.pdf, r(3), r(3), COV, wrt="x mean cov"),
]

test_rule_matches_finite_differences_in_both_modes, test_float32_stays_float32 = \
    table_tests(ROWS)


# --- through s2s ------------------------------------------------------------------------------

DATA = np.array([0.3, 1.9, -0.4, 1.1, 2.6])


def gaussian_fit(p):
    return -np.sum(scipy.stats.norm.logpdf(DATA, loc=p[0], scale=np.exp(p[1])))


def student_fit(p):
    return -np.sum(student.logpdf(DATA, np.exp(p[2]) + 1.0, p[0], np.exp(p[1])))


def poisson_regression(p):
    rates = np.exp(p[0] + p[1] * np.arange(4.0))
    return -np.sum(scipy.stats.poisson.logpmf(np.array([1.0, 0.0, 4.0, 6.0]), rates))


def mixed(p):
    cov = np.array([[1.0 + p[2] ** 2, 0.2], [0.2, 1.0]])
    return (np.sum(scipy.stats.multivariate_normal.logpdf(np.array([[0.1, p[0]], [p[1], 1.0]]),
                                                        np.array([p[0], 0.0]), cov))
            + np.sum(scipy.stats.gamma.logpdf(DATA + 1.0, 2.0 + p[2] ** 2, scale=1.5))
            + scipy.stats.norm.logcdf(p[0] - 30.0))


@pytest.mark.parametrize("f", [gaussian_fit, student_fit, poisson_regression, mixed],
                         ids=lambda f: f.__name__)
def test_distributions_through_s2s_match_finite_differences(f):
    p = np.array([0.4, -0.3, 0.6])
    expected = numerical_grad(f, [p], 0)
    assert_close(s2s.grad(f)(p), expected)
    tangent = np.array([1.0, -0.5, 0.25])
    _, derivative = s2s.jvp(f, (p,), (tangent,))
    assert derivative == pytest.approx(float(expected @ tangent), rel=1e-6)


def cdf_in_df(df):
    return np.sum(scipy.stats.t.cdf(DATA, df))  # no closed form


def cdf_in_shape(a):
    return np.sum(scipy.stats.gamma.cdf(DATA + 1.0, a))  # no closed form


@pytest.mark.parametrize("f", [cdf_in_df, cdf_in_shape], ids=lambda f: f.__name__)
def test_a_cdf_in_a_shape_parameter_is_refused_at_the_users_line(f):
    import inspect
    lines, first = inspect.getsourcelines(f)
    line = first + next(i for i, text in enumerate(lines) if "no closed form" in text)
    for transform in (lambda: s2s.grad(f)(2.5), lambda: s2s.jvp(f, (2.5,), (1.0,))):
        with pytest.raises(s2s.S2SError, match="no closed form") as info:
            transform()
        assert f'File "{__file__}", line {line}' in str(info.value)


# --- the audit (tests/rules/audit.py): programs through the transforms ----------------------

given = dict(scipy=scipy)
AUDIT = [] if scipy is None else [
    audit((norm.logpdf, norm.pdf, norm.cdf, norm.logcdf),
          "scipy.stats.norm.logpdf(x, m, s) + scipy.stats.norm.pdf(x, m, s) "
          "+ scipy.stats.norm.cdf(x, m, s) + scipy.stats.norm.logcdf(x, m, s)",
          x=r(3), m=0.2, s=1.3, given=given),
    audit(norm.logcdf, "scipy.stats.norm.logcdf(x)", x=np.array([-30.0, -8.0]), given=given,
          note="far in the lower tail, where the cdf underflows"),
    audit((t.logpdf, t.pdf, t.cdf, t.logcdf),
          "scipy.stats.t.logpdf(x, df, m, s) + scipy.stats.t.pdf(x, df) "
          "+ scipy.stats.t.cdf(x, 3.0, m, s) + scipy.stats.t.logcdf(x, 5.0, m)",
          x=r(3), df=4.5, m=0.1, s=1.2, given=given),
    audit((gamma.logpdf, gamma.pdf, gamma.cdf, gamma.logcdf),
          "scipy.stats.gamma.logpdf(x, a, scale=s) + scipy.stats.gamma.pdf(x, a) "
          "+ scipy.stats.gamma.cdf(x, 2.0, scale=s) + scipy.stats.gamma.logcdf(x, 1.5)",
          x=positive(3), a=2.2, s=1.4, given=given),
    audit((beta.logpdf, beta.pdf, beta.cdf, beta.logcdf),
          "scipy.stats.beta.logpdf(x, a, b) + scipy.stats.beta.pdf(x, a, b) "
          "+ scipy.stats.beta.cdf(x, 2.0, 3.0) + scipy.stats.beta.logcdf(x, 1.5, 2.5)",
          x=inside(3), a=2.5, b=1.7, given=given),
    audit((poisson.logpmf, poisson.pmf, poisson.cdf, poisson.logcdf),
          "scipy.stats.poisson.logpmf(k, mu) + scipy.stats.poisson.pmf(k, mu) "
          "+ scipy.stats.poisson.cdf(k, mu) + scipy.stats.poisson.logcdf(k, mu)",
          mu=positive(4), given=dict(scipy=scipy, k=COUNTS) if scipy else {}),
    audit((mvn.logpdf, mvn.pdf),
          "scipy.stats.multivariate_normal.logpdf(x, m, c) "
          "+ scipy.stats.multivariate_normal.pdf(x, m, c)",
          x=r(2, 3), m=r(3), c=COV, given=given),
    # second order: the rules' own code, differentiated again in both modes
    audit((norm.logpdf, norm.cdf), "np.sum(scipy.stats.norm.logpdf(x, m, s) "
          "* scipy.stats.norm.cdf(x, m, s))", x=r(3), m=0.2, s=1.3, order=2, given=given),
    audit((t.logpdf, gamma.logpdf, beta.logpdf),
          "np.sum(scipy.stats.t.logpdf(x, df) + scipy.stats.gamma.logpdf(x * x + 0.5, df) "
          "+ scipy.stats.beta.logpdf(0.5, df, 2.0))", x=r(3), df=3.5, order=2, given=given),
    audit(poisson.logpmf, "np.sum(scipy.stats.poisson.logpmf(k, mu * mu))", mu=positive(4),
          order=2, given=dict(scipy=scipy, k=COUNTS) if scipy else {}),
]
