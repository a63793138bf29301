"""The rules of ``scipy.linalg`` (reverse/ and forward/scipy_linalg.py).

SciPy is optional (the ``scipy`` extra): without it these tests skip, and s2s never imports it
itself (its rules load once the user's code has imported ``scipy.linalg``). A row is one call,
checked in both modes against finite differences (tests/rules/harness.py says how).
"""
import subprocess
import sys

import numpy as np
import pytest

import s2s
from s2s import rules
from tests.rules.audit import audit
from tests.rules.harness import case, matrix, r, table_tests
from tests.rules.test_linalg import check_function, spd

try:
    import scipy.linalg
except ImportError:         # the rows below need SciPy; the rest of the suite does not
    scipy = None
else:
    rules.load_builtin_rules()      # the SciPy rules, now that scipy.linalg is imported

needs_scipy = pytest.mark.skipif(scipy is None, reason="SciPy is optional: pip install s2s[scipy]")
pytestmark = needs_scipy


def triangular(n, lower):
    """A well-conditioned triangular matrix, with noise in the triangle the solve ignores."""
    t = matrix(n, n)
    return t + (np.triu(r(n, n), 1) if lower else np.tril(r(n, n), -1))


def factored(n, lower):
    """``cho_factor`` of a positive definite matrix: (c, lower)."""
    return scipy.linalg.cho_factor(spd(n, n), lower=lower)


def keep_flag(lower):
    """A tie that keeps the flag of ``(c, lower)`` a flag while the oracle moves ``c``."""
    def tie(arguments):
        arguments["c_and_lower"] = (arguments["c_and_lower"][0], lower)
    return tie


ROWS = [] if scipy is None else [
    case(scipy.linalg.solve_triangular, triangular(4, True), r(4), lower=True, wrt="a b"),
    case(scipy.linalg.solve_triangular, triangular(4, False), r(4, 2), wrt="a b"),
    case(scipy.linalg.solve_triangular, triangular(3, True), r(3, 2), trans=1, lower=True,
         wrt="a b"),
    case(scipy.linalg.solve_triangular, triangular(3, False), r(3), trans="T", wrt="a b"),
    case(scipy.linalg.solve_triangular, triangular(4, True), r(4, 3), lower=True,
         unit_diagonal=True, wrt="a b"),
    case(scipy.linalg.solve_triangular, triangular(3, False), r(3), 2, False, True, wrt="a b"),
    case(scipy.linalg.cho_factor, spd(4, 4) + np.tril(r(4, 4), -1), wrt="a"),
    case(scipy.linalg.cho_factor, spd(3, 3) + np.triu(r(3, 3), 1), lower=True, wrt="a"),
    case(scipy.linalg.cho_solve, factored(4, False), r(4), wrt="c_and_lower b",
         tie=keep_flag(False)),
    case(scipy.linalg.cho_solve, factored(3, True), r(3, 2), wrt="c_and_lower b",
         tie=keep_flag(True)),
    case(scipy.linalg.expm, 0.5 * r(4, 4), wrt="A"),
    case(scipy.linalg.expm, 0.5 * r(2, 3, 3), wrt="A"),
    case(scipy.linalg.expm, np.zeros((3, 3)), wrt="A"),
    case(scipy.linalg.sqrtm, spd(4, 4), wrt="A"),
    case(scipy.linalg.sqrtm, spd(3, 3) + 0.5 * r(3, 3), wrt="A"),
    case(scipy.linalg.sqrtm, np.stack([spd(3, 3), spd(3, 3)]), wrt="A"),
]

test_rule_matches_finite_differences_in_both_modes, test_float32_stays_float32 = \
    table_tests(ROWS)


# --- through s2s ------------------------------------------------------------------------------

def gaussian_log_density(a):
    # the log density of N(0, a a^T + I) at a fixed point, the way it is usually written
    point = np.array([0.5, -1.0, 2.0])
    c, lower = scipy.linalg.cho_factor(a @ a.T + np.eye(3), lower=True)
    half_log_det = np.sum(np.log(np.diag(c)))
    return -0.5 * point @ scipy.linalg.cho_solve((c, lower), point) - half_log_det


def whitened(a):
    low = np.linalg.cholesky(a @ a.T + np.eye(3))
    return np.sum(np.tanh(scipy.linalg.solve_triangular(low, np.arange(3.0), lower=True)))


def matrix_functions(a):
    return np.sum(np.sin(scipy.linalg.expm(0.3 * a))) \
        + np.sum(scipy.linalg.sqrtm(a @ a.T + np.eye(3)) ** 2)


@pytest.mark.parametrize("f", [gaussian_log_density, whitened, matrix_functions],
                         ids=lambda f: f.__name__)
def test_scipy_linear_algebra_through_s2s_matches_finite_differences(f):
    check_function(f, r(3, 3))


def test_sqrtm_with_a_complex_root_is_an_error():
    def f(a):
        return np.sum(scipy.linalg.sqrtm(a))
    negative = -spd(3, 3)
    with pytest.raises(ValueError, match="sqrtm only where the square root is real"):
        s2s.grad(f)(negative)
    with pytest.raises(ValueError, match="sqrtm only where the square root is real"):
        s2s.jvp(f, (negative,), (np.eye(3),))


def test_s2s_does_not_import_scipy(tmp_path):
    # differentiating NumPy code leaves SciPy unimported (the rules of scipy.linalg wait)
    script = tmp_path / "numpy_only.py"
    script.write_text(
        "import sys\n"
        "import numpy as np\n"
        "import s2s\n\n\n"
        "def f(x):\n"
        "    return np.sum(np.linalg.inv(x) * np.sin(x)) + np.linalg.norm(x)\n\n\n"
        "s2s.grad(f)(np.eye(2) * 3.0)\n"
        "s2s.jvp(f, (np.eye(2) * 3.0,), (np.ones((2, 2)),))\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'scipy'], 'scipy imported'\n")
    subprocess.run([sys.executable, str(script)], check=True)


# --- the audit (tests/rules/audit.py): programs through the transforms ----------------------

AUDIT = [] if scipy is None else [
    audit(scipy.linalg.solve_triangular,
          "scipy.linalg.solve_triangular(a, b, lower=True)", a=triangular(4, True), b=r(4, 2),
          given=dict(scipy=scipy)),
    audit(scipy.linalg.solve_triangular,
          "scipy.linalg.solve_triangular(a, b, trans='T', unit_diagonal=True)",
          a=triangular(3, False), b=r(3), given=dict(scipy=scipy)),
    audit((scipy.linalg.cho_factor, scipy.linalg.cho_solve),
          "c, lower = scipy.linalg.cho_factor(a)\n"
          "return c, scipy.linalg.cho_solve((c, lower), b)",
          a=spd(4, 4), b=r(4), given=dict(scipy=scipy),
          note="c holds a's own entries outside the factor's triangle"),
    audit((scipy.linalg.cho_factor, scipy.linalg.cho_solve),
          "factor = scipy.linalg.cho_factor(a, lower=True)\n"
          "return scipy.linalg.cho_solve(factor, b)",
          a=spd(3, 3), b=r(3, 2), given=dict(scipy=scipy)),
    audit(scipy.linalg.expm, "scipy.linalg.expm(a)", a=0.5 * r(3, 3), given=dict(scipy=scipy)),
    audit(scipy.linalg.expm, "scipy.linalg.expm(a)", a=np.zeros((2, 2)),
          given=dict(scipy=scipy), note="at 0 the derivative is the identity map"),
    audit(scipy.linalg.sqrtm, "scipy.linalg.sqrtm(a)", a=spd(3, 3), given=dict(scipy=scipy)),
    # second order (not sqrtm's: its helper calls solve_sylvester, which has no rule; the
    # helper of cho_solve takes the tuple (c, lower): forward over reverse only)
    audit(scipy.linalg.expm, "np.sum(np.sin(scipy.linalg.expm(a)))", a=0.5 * r(3, 3), order=2,
          given=dict(scipy=scipy)),
    audit(scipy.linalg.solve_triangular,
          "np.sum(np.sin(scipy.linalg.solve_triangular(a, b, lower=True)))", a=matrix(3, 3),
          b=r(3), order=2, given=dict(scipy=scipy)),
    audit((scipy.linalg.cho_factor, scipy.linalg.cho_solve),
          "np.sum(np.sin(scipy.linalg.cho_solve(scipy.linalg.cho_factor(a), b)))",
          a=spd(3, 3), b=r(3), order=2, modes="forward", given=dict(scipy=scipy)),
]
