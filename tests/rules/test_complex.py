"""The rules of the functions that tell a complex number from a real one (reverse/ and
forward/complex.py), and complex rows of the other families' rules.

A complex input is checked along its real and its imaginary direction; a complex cotangent
follows the convention ``dL/dRe(z) - 1j * dL/dIm(z)`` (tests/rules/harness.py). A new rule of
this family is a new row here.
"""
import builtins
import math
import operator

import numpy as np
import pytest

from tests.rules.audit import audit
from tests.rules.harness import away, case, cotangent, r, rng, table_tests, tangent_of


def c(*shape):
    """Complex, both parts of either sign."""
    return r(*shape) + 1j * r(*shape)


def cz(*shape):
    """Complex, at least about 0.5 away from 0."""
    return away(*shape) + 1j * r(*shape)


# rows added after the tables' random stream was set draw from their own generator, so that
# adding them moves no other table's inputs (some sit near a degenerate point)
_fresh = np.random.default_rng(20261204)


def fresh(*shape):
    """Complex, both parts of either sign (from the rows' own generator)."""
    return _fresh.uniform(-2.0, 2.0, shape) + 1j * _fresh.uniform(-2.0, 2.0, shape)


def fresh_away(*shape):
    """Complex, at least about 0.5 away from 0 (its real part is)."""
    size = _fresh.uniform(0.5, 2.0, shape) * _fresh.choice([-1.0, 1.0], shape)
    return size + 1j * _fresh.uniform(-2.0, 2.0, shape)


def hpd(*shape):
    """Hermitian positive definite matrices (a stack of them), well conditioned."""
    z = fresh(*shape, shape[-1])
    return z @ np.conj(np.swapaxes(z, -1, -2)) + shape[-1] * np.eye(shape[-1])


def c64(*shape):
    return c(*shape).astype(np.complex64)


ROWS = [
    case(np.absolute, cz(3, 4)),
    case(np.absolute, away(5)),
    case(builtins.abs, complex(0.6, -1.3)),
    case(builtins.abs, -1.5),
    case(np.angle, cz(3, 4), wrt="z"),
    case(np.angle, cz(4), True, wrt="z"),
    case(np.angle, away(4), wrt="z"),
    case(np.real, c(3, 4), wrt="val"),
    case(np.real, r(3), wrt="val"),
    case(np.imag, c(3, 4), wrt="val"),
    case(np.imag, r(3), wrt="val"),
    case(np.conjugate, c(3, 4)),
    case(np.conj, c(5)),
    case(np.conj, r(5)),
    case(np.ndarray.conjugate, c(2, 3), wrt="self"),
    case(np.ndarray.conj, c(4), wrt="self"),
    case(np.real_if_close, c(3, 4), wrt="a"),
    # a result made real (r(3, 4) + 0j) is not differentiable along an imaginary tangent:
    # the audit row below moves it along real directions only
]


test_rule_matches_finite_differences_in_both_modes, test_float32_stays_float32 = \
    table_tests(ROWS)


def test_abs_of_complex_has_zero_gradient_at_zero():
    [dz] = cotangent(np.abs, np.array([0j, 3 - 4j]), dresult=np.ones(2))
    np.testing.assert_allclose(dz, [0.0, (3 + 4j) / 5])


def test_real_primals_cotangent_is_real_in_the_api_closed_form():
    # d/dx |x * (1 + 2j)|**2 = 10 x
    import s2s

    def f(x):
        return np.abs(x * (1 + 2j)) ** 2
    gradient = s2s.grad(f)(0.5)
    assert gradient == pytest.approx(5.0) and np.isrealobj(gradient)


# --- the audit (tests/rules/audit.py): complex programs through the transforms ---------------

AUDIT = [
    audit(np.absolute, "np.abs(z)", z=cz(3)),
    audit(np.absolute, "np.abs(z) ** 2", z=np.array([0j, 1 - 2j]),
          note="|z| has derivative 0 at 0; |z|**2 is smooth there"),
    audit(builtins.abs, "abs(z) * 2.0", z=complex(0.3, -0.8)),
    audit(np.angle, "np.angle(z)", z=cz(2, 3)),
    audit(np.angle, "np.angle(z, deg=True) * w", z=cz(3), w=r(3)),
    audit(np.real, "np.real(z * w)", z=c(3), w=c(3)),
    audit(np.real, "np.real(x)", x=r(3), note="the real part of a real array is itself"),
    audit(np.imag, "np.imag(z) * np.real(z)", z=c(2, 3)),
    audit(np.imag, "np.imag(x * (1 + 2j))", x=r(3), note="a real input with a complex result"),
    audit(np.conjugate, "np.conjugate(z) * z", z=c(3)),
    audit(np.conj, "np.conj(z) + 2.0 * z", z=c(3)),
    audit(np.ndarray.conjugate, "z.conjugate() * w", z=c(3), w=c(3)),
    audit(np.ndarray.conj, "z.conj()", z=c(2, 2)),
    audit(np.real_if_close, "np.real_if_close(z)", z=c(3)),
    audit(np.real_if_close, "np.real_if_close(x + 0j) * 3.0", x=r(3),
          note="a result made real by real_if_close takes only the real part"),
    # holomorphic rules need no change: complex rows of the other families
    *[audit(f, f"np.{f.__name__}(z)", z=cz(3))
      for f in (np.sin, np.cos, np.tan, np.exp, np.expm1, np.log, np.log10, np.sqrt, np.tanh,
                np.sinh, np.cosh, np.arctan, np.arcsinh, np.square, np.reciprocal, np.exp2)],
    audit(operator.mul, "z * w", z=c(3), w=c(2, 3)),
    audit(operator.truediv, "z / w", z=c(3), w=cz(3)),
    audit(operator.pow, "z ** 3 + z ** 0.5", z=cz(3)),
    audit(operator.pow, "z ** w", z=cz(3), w=c(3)),
    audit(operator.add, "z + x", z=c(3), x=r(3), note="a real input beside a complex one"),
    audit(np.sum, "np.sum(z * z, axis=0)", z=c(2, 3)),
    audit(np.mean, "np.mean(z) * z", z=c(3)),
    audit(np.prod, "np.prod(z, axis=1)", z=cz(2, 3)),
    audit(np.cumsum, "np.cumsum(z)", z=c(4)),
    audit(np.cumprod, "np.cumprod(z, axis=1)", z=cz(2, 3)),
    audit(np.var, "np.var(z, axis=1)", z=c(2, 3), note="var of complex entries is real"),
    audit(np.std, "np.std(z, ddof=1)", z=c(4)),
    audit(np.ndarray.var, "z.var()", z=c(2, 3)),
    audit(np.ndarray.std, "z.std(axis=0)", z=c(3, 2)),
    audit(np.dot, "np.dot(z, w)", z=c(3), w=c(3), note="bilinear: no conjugate"),
    audit(np.max, "np.max(z, axis=0)", z=c(3, 2),
          note="NumPy orders complex numbers by real part, then imaginary part: the largest "
               "entry takes the cotangent, as in autograd"),
    audit(np.maximum, "np.maximum(z, w)", z=c(4), w=c(4)),
    # an entry at 0 (a polynomial: smooth there, to every order)
    audit(np.prod, "np.prod(z)", z=np.array([0j, 1 + 2j, -0.5 + 1j])),
    # norms of |z|: the vector 1- and inf-norms and the matrix 1- and inf-norms are smooth
    # away from ties for complex entries (|z| is), unlike real ones
    *[audit(np.linalg.norm, f"np.linalg.norm(z, {o})", z=fresh_away(*shape))
      for o, shape in (("1", (4,)), ("np.inf", (4,)), ("0.5", (3,)), ("1", (3, 4)),
                       ("-np.inf", (3, 4)), ("-2", (3, 3)))],
    audit(np.linalg.norm, "np.linalg.norm(z, 'fro', axis=(1, 2))", z=fresh(2, 3, 2)),
    audit(np.linalg.norm, "np.linalg.norm(z, 'nuc', axis=(2, 0))", z=fresh(3, 2, 4)),
    audit(np.linalg.norm, "np.linalg.norm(z, 2, axis=(0, 1), keepdims=True)", z=fresh(4, 3)),
    # decompositions of complex matrices: Hermitian positive definite ones for cholesky, whose
    # other triangle (and the imaginary part of the diagonal) NumPy does not read
    audit(np.linalg.cholesky, "np.linalg.cholesky(a)", a=hpd(3) + np.triu(fresh(3, 3), 1)),
    audit(np.linalg.cholesky, "np.linalg.cholesky(a, upper=True)",
          a=hpd(2, 3) + 1j * np.eye(3) * _fresh.uniform(-2.0, 2.0, (2, 1, 1))),
    # r's diagonal is real (LAPACK's), which fixes the phase of q's columns
    audit(np.linalg.qr, "q, r = np.linalg.qr(a)\nreturn q, r", a=fresh(5, 3)),
    audit(np.linalg.qr, "q, r = np.linalg.qr(a)\nreturn q, r", a=fresh(2, 3, 4)),
    audit(np.linalg.qr, "np.linalg.qr(a, mode='r')", a=fresh(4, 4)),
    audit(np.linalg.qr, "q, r = np.linalg.qr(a, 'complete')\nreturn q @ r[:, :2], r",
          a=fresh(3, 5)),
    audit(np.linalg.pinv, "np.linalg.pinv(a)", a=fresh(3, 5)),
    audit(np.linalg.pinv, "np.linalg.pinv(a)", a=fresh(2, 4, 3)),
    audit(np.linalg.pinv, "np.linalg.pinv(a, hermitian=True)", a=hpd(3) + np.triu(fresh(3, 3), 1)),
    audit(np.linalg.lstsq, "x, res, rank, s = np.linalg.lstsq(a, b, rcond=None)\n"
          "return x, res, s", a=fresh(5, 3), b=fresh(5, 2)),
    audit(np.linalg.lstsq, "np.linalg.lstsq(a, b, rcond=None)[0]", a=fresh(3, 4), b=fresh(3)),
    audit(np.linalg.lstsq, "x, res, rank, s = np.linalg.lstsq(a, b, rcond=None)\n"
          "return x * res", a=fresh(4, 2), b=np.real(fresh(4)), note="a real right-hand side"),
]
