"""The rules of NumPy's products and linear algebra (reverse/ and forward/numpy_linalg.py).

A row is one call, checked in both modes against finite differences (tests/rules/harness.py
says how); closed forms below cover kinks, ties and zeros. A new rule of this family is a new
row here.
"""
import operator

import numpy as np
import pytest

import s2s
from s2s.runtime.shape_helpers import einsum_first_adjoint, einsum_first_tangent
from s2s.templates.forward.numpy_linalg import einsum_tangent
from tests.finite_diff import assert_close, numerical_grad
from tests.rules.audit import audit
from tests.rules.harness import away, case, cotangent, matrix, r, rng, table_tests, tangent_of

# rows added after the tables' random stream was set draw from their own generator, so that
# adding them moves no other row's inputs (some sit near a degenerate point)
_fresh = np.random.default_rng(20261204)


def fresh(*shape):
    return _fresh.uniform(-2.0, 2.0, shape)


def spd(*shape):
    """Symmetric positive definite matrices (a stack of them), well conditioned."""
    x = r(*shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


def c(*shape):
    """Complex entries, any phase."""
    return r(*shape) + 1j * r(*shape)


def cmatrix(*shape):
    """Well-conditioned complex square matrices (a stack of them)."""
    return matrix(*shape) + 1j * r(*shape)


def real_spectrum(*shape):
    """Non-symmetric matrices with distinct real eigenvalues (1, 2, ..., n)."""
    n = shape[-1]
    v = r(*shape) + 2.0 * np.eye(n)
    return (v * np.arange(1.0, n + 1)) @ np.linalg.inv(v)


ROWS = [
    case(np.matmul, r(3, 4), r(4, 2), wrt="x1 x2"),
    case(np.matmul, r(4), r(4, 2), wrt="x1 x2"),
    case(np.matmul, r(3, 4), r(4), wrt="x1 x2"),
    case(np.matmul, r(4), r(4), wrt="x1 x2"),
    case(np.matmul, r(2, 3, 4), r(4, 2), wrt="x1 x2"),
    case(np.matmul, r(2, 1, 3, 4), r(5, 4, 2), wrt="x1 x2"),
    case(np.matmul, r(4), r(2, 4, 3), wrt="x1 x2"),
    case(np.matmul, r(2, 3, 4), r(4), wrt="x1 x2"),
    case(operator.matmul, r(3, 4), r(4, 2), wrt="x1 x2"),
    case(operator.matmul, r(2, 3, 4), r(2, 4, 2), wrt="x1 x2"),
    case(np.dot, r(3, 4), r(4, 2), wrt="a b"),
    case(np.dot, r(4), r(4), wrt="a b"),
    case(np.dot, r(3, 4), r(4), wrt="a b"),
    case(np.dot, r(4), r(4, 3), wrt="a b"),
    case(np.dot, 1.5, r(3, 2), wrt="a b"),
    case(np.dot, r(2, 3, 4), r(4, 2), wrt="a b"),
    case(np.dot, r(3, 4), r(2, 4, 5), wrt="a b"),
    case(np.dot, r(2, 3, 4), r(4), wrt="a b"),
    case(np.dot, r(4), r(2, 4, 3), wrt="a b"),
    case(np.vdot, r(3, 4), r(3, 4), wrt="a b"),
    case(np.vdot, r(2, 3), r(6), wrt="a b"),
    case(np.inner, r(4), r(4), wrt="a b"),
    case(np.inner, r(3, 4), r(2, 4), wrt="a b"),
    case(np.inner, r(2, 3, 4), r(4), wrt="a b"),
    case(np.inner, r(4), r(2, 5, 4), wrt="a b"),
    case(np.inner, 2.0, r(3), wrt="a b"),
    case(np.outer, r(3), r(4), wrt="a b"),
    case(np.outer, r(2, 3), r(2, 2), wrt="a b"),
    case(np.tensordot, r(3, 4), r(3, 4), wrt="a b"),
    case(np.tensordot, r(2, 3, 4), r(3, 4, 5), wrt="a b"),
    case(np.tensordot, r(2, 3, 4), r(4, 5), axes=1, wrt="a b"),
    case(np.tensordot, r(2, 3), r(4), axes=0, wrt="a b"),
    case(np.tensordot, r(2, 3, 4), r(4, 2, 5), axes=([0, 2], [1, 0]), wrt="a b"),
    case(np.tensordot, r(3, 4), r(5, 3), axes=(0, 1), wrt="a b"),
    case(np.tensordot, r(2, 3, 4), r(3, 2), axes=([-2, 0], [0, -1]), wrt="a b"),
    case(np.einsum, "ij,jk->ik", r(3, 4), r(4, 2), wrt="operands"),
    case(einsum_tangent, "ij,jk->ik", (r(3, 4), r(4, 2)), (r(3, 4), r(4, 2)),
         wrt="operands tangents"),
    case(einsum_tangent, "i,i,i->", (r(3), r(3), r(3)), (r(3), r(3), r(3)),
         wrt="operands tangents"),
    # the sublist form (its other arrays sit among the sublists, which the harness would
    # perturb: tests/test_second_order_calls.py differentiates them against differences)
    case(einsum_tangent, fresh(3, 4), ([0, 1], fresh(4, 2), [1, 2]),
         (0.0, fresh(4, 2), 0.0), wrt="subscripts"),
    case(einsum_first_tangent, fresh(3, 4), ([0, 1], fresh(4, 2), [1, 2], [2, 0]),
         fresh(3, 4), wrt="dfirst"),
    case(einsum_first_adjoint, fresh(2, 3), fresh(3, 4),
         ([0, 1], fresh(4, 2), [1, 2], [2, 0]), wrt="g"),
    case(einsum_first_adjoint, fresh(2, 3), fresh(2, 3, 4),
         ([Ellipsis, 1], fresh(4), [1], [Ellipsis]), wrt="g"),
    case(np.einsum, "ij,jk", r(3, 4), r(4, 2), wrt="operands"),
    case(np.einsum, "ij->ji", r(3, 4), wrt="operands"),
    case(np.einsum, "ij->", r(3, 4), wrt="operands"),
    case(np.einsum, "ij->j", r(3, 4), wrt="operands"),
    case(np.einsum, "ii->", r(3, 3), wrt="operands"),
    case(np.einsum, "ii->i", r(3, 3), wrt="operands"),
    case(np.einsum, "iij->j", r(3, 3, 2), wrt="operands"),
    case(np.einsum, "i,i->", r(4), r(4), wrt="operands"),
    case(np.einsum, "i,i", r(4), r(4), wrt="operands"),
    case(np.einsum, "i,j->ij", r(3), r(4), wrt="operands"),
    case(np.einsum, "ij,ij->ij", r(3, 4), r(3, 4), wrt="operands"),
    case(np.einsum, "bij,bjk->bik", r(2, 3, 4), r(2, 4, 2), wrt="operands"),
    case(np.einsum, "...ij,...jk->...ik", r(2, 3, 4), r(4, 2), wrt="operands"),
    case(np.einsum, "ij,jk,kl->il", r(2, 3), r(3, 4), r(4, 2), wrt="operands"),
    case(np.einsum, "ij, jk -> ki", r(3, 4), r(4, 2), wrt="operands"),
    case(np.einsum, "ij,k->ijk", r(2, 3), r(2), wrt="operands"),
    case(np.trace, r(3, 3), wrt="a"),
    case(np.trace, r(3, 4), 1, wrt="a"),
    case(np.trace, r(4, 3), offset=-1, wrt="a"),
    case(np.trace, r(2, 3, 3), axis1=1, axis2=2, wrt="a"),
    case(np.trace, r(3, 2, 4), 0, 0, 2, wrt="a"),
    case(np.trace, r(3, 4, 2), axis1=-1, axis2=0, wrt="a"),
    case(np.linalg.norm, r(5)),
    case(np.linalg.norm, r(3, 4)),
    case(np.linalg.norm, r(5), 1),
    case(np.linalg.norm, r(5), np.inf),
    case(np.linalg.norm, r(5), -np.inf),
    case(np.linalg.norm, r(5), 3),
    case(np.linalg.norm, r(5), ord=0.5),
    case(np.linalg.norm, r(3, 4), axis=1),
    case(np.linalg.norm, r(3, 4), axis=0, keepdims=True),
    case(np.linalg.norm, r(3, 4), 1, axis=-1),
    case(np.linalg.norm, r(3, 4), np.inf, axis=0),
    case(np.linalg.norm, r(3, 4), "fro"),
    case(np.linalg.norm, r(3, 4), "nuc"),
    case(np.linalg.norm, r(3, 4), 1),
    case(np.linalg.norm, r(3, 4), -1),
    case(np.linalg.norm, r(3, 4), np.inf),
    case(np.linalg.norm, r(3, 4), -np.inf),
    case(np.linalg.norm, r(3, 4), 2),
    case(np.linalg.norm, r(3, 4), -2),
    case(np.linalg.norm, r(2, 3, 4), axis=(1, 2)),
    case(np.linalg.norm, r(2, 3, 4), "fro", axis=(2, 0), keepdims=True),
    case(np.linalg.norm, r(3, 2, 4), 2, axis=(0, 2)),
    case(np.linalg.norm, r(3, 2, 4), np.inf, axis=(-1, 0)),
    case(np.linalg.inv, matrix(3, 3), wrt="a"),
    case(np.linalg.inv, matrix(2, 3, 3), wrt="a"),
    case(np.linalg.det, matrix(3, 3), wrt="a"),
    case(np.linalg.det, matrix(2, 3, 3), wrt="a"),
    case(np.linalg.det, -matrix(2, 2), wrt="a"),
    case(np.linalg.slogdet, matrix(3, 3), wrt="a"),
    case(np.linalg.slogdet, -matrix(3, 3), wrt="a"),
    case(np.linalg.slogdet, matrix(2, 3, 3), wrt="a"),
    case(np.linalg.solve, matrix(3, 3), r(3), wrt="a b"),
    case(np.linalg.solve, matrix(3, 3), r(3, 2), wrt="a b"),
    case(np.linalg.solve, matrix(2, 3, 3), r(2, 3, 2), wrt="a b"),
    case(np.linalg.solve, matrix(2, 3, 3), r(3), wrt="a b"),
    case(np.linalg.solve, matrix(3, 3), r(2, 3, 4), wrt="a b"),
    # rows of the forward-mode tables
    case(np.linalg.norm, r(3, 4), 2, axis=(1, 0)),
    case(np.linalg.norm, r(2, 3, 4), "nuc", axis=(2, 1), keepdims=True),
    case(np.linalg.norm, r(5), -1),
    case(np.linalg.slogdet, matrix(2, 3, 3) * np.array([1.0, -1.0])[:, None, None], wrt="a"),
    case(np.linalg.solve, matrix(2, 4, 4), r(4, 2), wrt="a b"),
    case(np.matmul, r(3, 4), r(2, 4, 5), wrt="x1 x2"),
    case(np.einsum, "ij,ij->", r(3, 4), r(3, 4), wrt="operands"),
    # '...' in the middle of a term, broadcast between operands of different '...' lengths
    case(np.einsum, "j...k,lj...->lk...", r(2, 2), r(2, 2, 2), wrt="operands"),
    case(np.einsum, "j...k,lj...->lk...", r(2, 2, 2), r(2, 2), wrt="operands"),
    case(np.einsum, "...i,...i->...", r(1, 3), r(4, 3), wrt="operands"),
    case(np.einsum, "...ij,jk->...ik", r(2, 3, 4), r(4, 2), wrt="operands"),
    case(np.einsum, "i...j,j->i...", r(3, 2, 4), r(4), wrt="operands"),
    case(np.einsum, "ij...,jk...->ik...", r(3, 4, 2), r(4, 2, 1), wrt="operands"),
    case(np.einsum, "ij,jk,ki->i", r(2, 3), r(3, 4), r(4, 2), wrt="operands"),
    case(np.einsum, r(3, 4), [0, 1], r(4, 2), [1, 2], wrt="subscripts"),
    case(np.einsum, r(3, 4), [0, 1], [1, 0], wrt="subscripts"),
    # decompositions. Eigen- and singular vectors are compared as LAPACK returns them (their
    # signs are locally constant); the tests below use functions that do not depend on signs.
    # eigh, eigvalsh and cholesky read one triangle of a non-symmetric input.
    case(np.linalg.eigh, r(4, 4), wrt="a"),
    case(np.linalg.eigh, r(4, 4), "U", wrt="a"),
    case(np.linalg.eigh, r(2, 3, 3), UPLO="U", wrt="a"),
    case(np.linalg.eigvalsh, r(4, 4), wrt="a"),
    case(np.linalg.eigvalsh, r(2, 3, 3), "U", wrt="a"),
    case(np.linalg.eig, real_spectrum(4, 4), wrt="a"),
    case(np.linalg.eig, real_spectrum(2, 3, 3), wrt="a"),
    case(np.linalg.eigvals, real_spectrum(4, 4), wrt="a"),
    case(np.linalg.eigvals, real_spectrum(2, 3, 3), wrt="a"),
    case(np.linalg.cholesky, spd(4, 4) + np.triu(r(4, 4), 1), wrt="a"),
    case(np.linalg.cholesky, spd(2, 3, 3), wrt="a"),
    case(np.linalg.cholesky, spd(3, 3) + np.tril(r(3, 3), -1), upper=True, wrt="a"),
    case(np.linalg.svd, r(3, 5), full_matrices=False, wrt="a"),
    case(np.linalg.svd, r(5, 3), full_matrices=False, wrt="a"),
    case(np.linalg.svd, r(4, 4), wrt="a"),
    case(np.linalg.svd, r(2, 4, 3), False, wrt="a"),
    case(np.linalg.svd, r(2, 3, 4), full_matrices=False, wrt="a"),
    case(np.linalg.svd, r(3, 5), compute_uv=False, wrt="a"),
    case(np.linalg.svd, r(2, 5, 3), False, False, wrt="a"),
    case(np.linalg.svd, r(4, 4), hermitian=True, wrt="a"),
    case(np.linalg.svd, r(4, 4), compute_uv=False, hermitian=True, wrt="a"),
    # q and r as LAPACK returns them (the signs of r's diagonal are locally constant)
    case(np.linalg.qr, r(5, 3), wrt="a"),
    case(np.linalg.qr, r(3, 3), wrt="a"),
    case(np.linalg.qr, r(3, 5), wrt="a"),
    case(np.linalg.qr, r(2, 5, 3), wrt="a"),
    case(np.linalg.qr, r(2, 3, 5), "complete", wrt="a"),
    case(np.linalg.qr, r(5, 3), mode="r", wrt="a"),
    case(np.linalg.qr, r(3, 4), mode="r", wrt="a"),
    case(np.linalg.pinv, r(3, 5), wrt="a"),
    case(np.linalg.pinv, r(5, 3), wrt="a"),
    case(np.linalg.pinv, r(2, 4, 4), wrt="a"),
    case(np.linalg.pinv, r(4, 4), hermitian=True, wrt="a"),
    case(np.linalg.lstsq, r(5, 3), r(5), wrt="a b"),
    case(np.linalg.lstsq, r(5, 3), r(5, 2), wrt="a b"),
    case(np.linalg.lstsq, r(3, 5), r(3, 2), wrt="a b"),
    case(np.linalg.lstsq, matrix(4, 4), r(4), rcond=None, wrt="a b"),
    case(np.linalg.matrix_power, r(3, 3), 3, wrt="a"),
    case(np.linalg.matrix_power, r(2, 3, 3), 1, wrt="a"),
    case(np.linalg.matrix_power, matrix(3, 3), -2, wrt="a"),
    case(np.linalg.multi_dot, [r(3, 4), r(4, 2), r(2, 5)], wrt="arrays"),
    case(np.linalg.multi_dot, [r(4), r(4, 2), r(2, 5), r(5)], wrt="arrays"),
    case(np.linalg.multi_dot, [r(4), r(4, 3)], wrt="arrays"),
    case(np.linalg.multi_dot, [r(2, 4), r(4)], wrt="arrays"),
    # the remaining norm forms
    case(np.linalg.norm, r(5), 2),
    case(np.linalg.norm, r(5), -2),
    case(np.linalg.norm, r(2, 3, 4)),
    case(np.linalg.norm, r(2, 3, 4), axis=-1, keepdims=True),
    case(np.linalg.norm, r(2, 3, 4), 3, axis=1),
    case(np.linalg.norm, r(3, 4), -np.inf, axis=(1, 0), keepdims=True),
    case(np.linalg.norm, r(2, 3, 4), 1, axis=(0, 2)),
    case(np.linalg.norm, r(2, 3, 4), -2, axis=(2, 1)),
    case(np.linalg.norm, r(3, 4), None, (0, 1)),
    # complex operands: finite differences along the real and the imaginary direction
    case(np.matmul, c(3, 4), c(4, 2), wrt="x1 x2"),
    case(np.matmul, r(2, 3, 4), c(4), wrt="x1 x2"),
    case(np.dot, c(3, 4), r(4, 2), wrt="a b"),
    case(np.dot, c(2, 3, 4), c(4), wrt="a b"),
    case(np.vdot, c(3, 4), c(3, 4), wrt="a b"),
    case(np.vdot, c(2, 3), r(6), wrt="a b"),
    case(np.vdot, r(4), c(4), wrt="a b"),
    case(np.inner, c(3, 4), c(2, 4), wrt="a b"),
    case(np.outer, c(3), c(2, 2), wrt="a b"),
    case(np.tensordot, c(2, 3, 4), c(3, 4, 5), wrt="a b"),
    case(np.einsum, "ij,jk->ik", c(3, 4), c(4, 2), wrt="operands"),
    case(np.einsum, "ii->", c(3, 3), wrt="operands"),
    case(np.trace, c(3, 4), 1, wrt="a"),
    case(np.linalg.norm, c(5)),
    case(np.linalg.norm, c(3, 4)),
    case(np.linalg.norm, c(5), 1),
    case(np.linalg.norm, c(5), 3),
    case(np.linalg.norm, c(5), np.inf),
    case(np.linalg.norm, c(3, 4), axis=0),
    case(np.linalg.norm, c(2, 3, 4), axis=(0, 1)),
    case(np.linalg.norm, c(3, 4), "nuc"),
    case(np.linalg.norm, c(2, 3, 4), "nuc", axis=(2, 1)),
    case(np.linalg.norm, c(3, 4), 2),
    case(np.linalg.norm, c(3, 4), -2),
    case(np.linalg.norm, c(3, 4), 1),
    case(np.linalg.norm, c(3, 4), -np.inf),
    case(np.linalg.inv, cmatrix(3, 3), wrt="a"),
    case(np.linalg.det, cmatrix(2, 3, 3), wrt="a"),
    case(np.linalg.slogdet, cmatrix(3, 3), wrt="a"),
    case(np.linalg.slogdet, cmatrix(2, 3, 3), wrt="a"),
    case(np.linalg.solve, cmatrix(3, 3), c(3, 2), wrt="a b"),
    case(np.linalg.solve, matrix(3, 3), c(3), wrt="a b"),
    case(np.linalg.eigvalsh, c(4, 4), wrt="a"),
    case(np.linalg.eigvalsh, c(2, 3, 3), "U", wrt="a"),
    case(np.linalg.eigvals, c(4, 4), wrt="a"),
    case(np.linalg.eigvals, r(4, 4), wrt="a"),
    case(np.linalg.svd, c(3, 5), compute_uv=False, wrt="a"),
    case(np.linalg.svd, c(2, 5, 3), False, False, wrt="a"),
    case(np.linalg.matrix_power, c(3, 3), 3, wrt="a"),
    case(np.linalg.multi_dot, [c(3, 4), r(4, 2), c(2, 5)], wrt="arrays"),
]


test_rule_matches_finite_differences_in_both_modes, test_float32_stays_float32 = \
    table_tests(ROWS)


def test_inf_norm_splits_ties_evenly():
    [dx] = cotangent(np.linalg.norm, np.array([3.0, -3.0, 1.0]), np.inf, dresult=1.0)
    np.testing.assert_array_equal(dx, [0.5, -0.5, 0.0])
    # matrix 1-norm: the largest absolute column sum, here columns 0 and 1 tie
    [dx] = cotangent(np.linalg.norm, np.array([[1.0, -2.0], [-2.0, 1.0]]), 1, dresult=1.0)
    np.testing.assert_array_equal(dx, [[0.5, -0.5], [-0.5, 0.5]])


def test_norm_at_zero_has_cotangent_zero():
    # no derivative exists there: 0, as abs has at 0 (a subgradient), never nan
    for x, ords in [(np.zeros(3), (None, 1, 2, 3, 0.5, np.inf, 0)),
                    (np.zeros((2, 3)), (None, "fro", "nuc", 1, 2, -2, np.inf))]:
        for ord in ords:
            [dx] = cotangent(np.linalg.norm, x, ord, dresult=1.0)
            np.testing.assert_array_equal(dx, np.zeros_like(x), err_msg=f"ord={ord}")
    # a zero row of a batch of norms: 0 there, the others as usual
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    [dx] = cotangent(np.linalg.norm, x, axis=1, dresult=np.ones(2))
    np.testing.assert_allclose(dx, [[0.0, 0.0], [0.6, 0.8]])
    # an entry at 0 of a p < 1 norm has an infinite slope: 0 there too, not nan
    [dx] = cotangent(np.linalg.norm, np.array([0.0, 1.0, -2.0]), 0.5, dresult=1.0)
    assert dx[0] == 0.0 and np.all(np.isfinite(dx))


def test_slogdet_takes_missing_cotangent_parts():
    a = matrix(3, 3)
    want = np.linalg.inv(a).T * 0.7
    for sign_part in (None, 0.0):
        [da] = cotangent(np.linalg.slogdet, a, wrt="a", dresult=(sign_part, 0.7))
        np.testing.assert_allclose(da, want)
    [da] = cotangent(np.linalg.slogdet, a, wrt="a", dresult=(1.0, None))
    np.testing.assert_array_equal(da, np.zeros((3, 3)))


def test_slogdet_tangent_is_a_tuple_with_a_zero_sign_part():
    a = matrix(3, 3)
    da = r(3, 3)
    sign, logdet = tangent_of(np.linalg.slogdet, a, wrt=["a"], tangents=[da])
    assert sign == 0.0
    np.testing.assert_allclose(logdet, np.trace(np.linalg.inv(a) @ da))


def test_einsum_in_the_sublist_form_matches_finite_differences():
    # this was an error until the sublist form got its rule (the array passed first sits
    # where the string form has its subscripts)
    import s2s

    def f(a):
        return np.sum(np.sin(np.einsum(a, (0, 1), (1, 0))))
    a = r(3, 4)
    want = numerical_grad(f, (a,), 0)
    assert_close(s2s.grad(f)(a), want)
    direction = r(3, 4)
    assert_close(s2s.jvp(f, (a,), (direction,))[1], np.sum(want * direction))


def test_second_derivative_of_the_einsum_sublist_form():
    import s2s

    def f(a):
        return np.sum(np.einsum(a, [0, 1], a, [1, 0], []) ** 2)
    # f = s^2 with s = sum_ij a_ij a_ji: its gradient is 4 s a^T, its Hessian
    # H[i, j, k, l] = 8 a_ji a_lk + 4 s [j == k][i == l]
    a = r(2, 2)
    s, eye = np.sum(a * a.T), np.eye(2)
    want = 8 * np.einsum("ji,lk->ijkl", a, a) + 4 * s * np.einsum("jk,il->ijkl", eye, eye)
    assert_close(s2s.hessian(f)(a), want, rtol=1e-10)


# --- decompositions through s2s, on functions that no sign or basis choice changes ------------

def check_function(f, a, rtol=1e-5):
    """s2s.grad and s2s.jvp of the scalar function ``f`` at ``a`` against central differences."""
    want = numerical_grad(f, (a,), 0)
    assert np.all(np.isfinite(want))
    assert_close(s2s.grad(f)(a), want, rtol=rtol, atol=1e-6)
    direction = r(*np.shape(a))
    _, tangent = s2s.jvp(f, (a,), (direction,))
    np.testing.assert_allclose(tangent, np.sum(want * direction), rtol=rtol, atol=1e-6)


def eigh_spectral(a):
    w, v = np.linalg.eigh(a)
    return np.sum(np.sin((v * np.exp(w / 4)[..., None, :]) @ np.swapaxes(v, -1, -2)))


def eigh_upper_squares(a):
    w, v = np.linalg.eigh(a, UPLO="U")
    return np.sum(v * v * np.arange(1.0, 5.0)) + np.sum(w ** 2)


def eigvalsh_logsumexp(a):
    return np.log(np.sum(np.exp(np.linalg.eigvalsh(a))))


def eig_squares(a):
    w, v = np.linalg.eig(a)
    return np.sum(np.cos(w)) + np.sum(np.abs(v) * np.arange(1.0, 5.0))


def cholesky_sample(a):
    return np.sum(np.tanh(np.linalg.cholesky(a) @ np.array([0.3, -1.0, 2.0, 0.5])))


def svd_spectral(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(np.sin((u * np.tanh(s)[..., None, :]) @ vh)) + np.sum(u[..., :, 0] * u[..., :, 0])


def svd_rank_one(a):
    u, s, vh = np.linalg.svd(a)
    return np.sum(np.outer(u[:, 0], vh[0]) ** 3) + s[0]


def nuclear_norm(a):
    return np.sum(np.linalg.svd(a, compute_uv=False))


@pytest.mark.parametrize("f, a", [
    (eigh_spectral, r(4, 4)),
    (eigh_spectral, r(3, 4, 4)),
    (eigh_upper_squares, r(4, 4)),
    (eigvalsh_logsumexp, r(2, 4, 4)),
    (eig_squares, real_spectrum(4, 4)),
    (cholesky_sample, spd(4, 4)),
    (cholesky_sample, spd(2, 4, 4)),
    (svd_spectral, r(3, 5)),
    (svd_spectral, r(5, 3)),
    (svd_spectral, r(2, 4, 4)),
    (svd_rank_one, r(4, 4)),
    (nuclear_norm, r(2, 3, 4)),
], ids=lambda v: getattr(v, "__name__", "a"))
def test_decomposition_through_s2s_matches_finite_differences(f, a):
    check_function(f, a)


def eigh_trace_exp(a):
    w, v = np.linalg.eigh(a)
    return np.sum(np.exp(w))


def test_repeated_eigenvalues_give_finite_derivatives():
    q = np.linalg.qr(r(4, 4))[0]
    a = (q * np.array([1.0, 1.0, 1.0, 3.0])) @ q.T        # eigenvalue 1 three times
    # the trace of a matrix function is smooth there: s2s gets its derivative
    check_function(eigh_trace_exp, a)
    check_function(eigvalsh_logsumexp, a)
    # the eigenvectors inside the repeated eigenspace have no derivative: finite, not nan
    for f in (eigh_spectral, eigh_upper_squares):
        assert np.all(np.isfinite(s2s.grad(f)(a)))
        _, tangent = s2s.jvp(f, (a,), (r(4, 4),))
        assert np.isfinite(tangent)


def test_repeated_and_zero_singular_values_give_finite_derivatives():
    check_function(nuclear_norm, np.eye(3) * 2.0)       # every singular value equal
    rank_two = r(4, 2) @ r(2, 3)                         # a zero singular value
    for f in (svd_spectral, nuclear_norm):
        assert np.all(np.isfinite(s2s.grad(f)(np.eye(3) * 2.0)))
        assert np.all(np.isfinite(s2s.grad(f)(rank_two)))
        _, tangent = s2s.jvp(f, (rank_two,), (r(4, 3),))
        assert np.isfinite(tangent)


def test_eig_of_a_real_matrix_with_complex_eigenvalues():
    # w = 0.1 +- 1j; sum(w ** 2) = trace(a @ a), whose gradient is 2 a^T (real, as a is)
    rotation = np.array([[0.0, -1.0], [1.0, 0.0]]) + 0.1 * np.eye(2)
    w, v = np.linalg.eig(rotation)
    assert np.iscomplexobj(w)
    got, = cotangent(np.linalg.eig, rotation, wrt="a", dresult=(2.0 * w, np.zeros_like(v)))
    assert not np.iscomplexobj(got)
    np.testing.assert_allclose(got, 2.0 * rotation.T, atol=1e-12)
    tangent = r(2, 2)
    dw, _ = tangent_of(np.linalg.eig, rotation, wrt=("a",), tangents=[tangent])
    np.testing.assert_allclose(np.sum(2.0 * w * dw), 2.0 * np.trace(rotation @ tangent),
                               atol=1e-12)


# Complex eigen- and singular vectors have an arbitrary phase: their derivatives are checked
# through functions that do not depend on it, L = sum(W * |vectors|^2) + Re sum(V * values)
# (+ Re sum(P * (u @ vh)) for svd, where the phases of u and vh cancel), whose cotangents are
# closed forms. The oracle: central differences of L along each real and imaginary direction
# of the input, dL/dRe - 1j dL/dIm.
_VECTOR_PARTS = {2: (False, True), 3: (True, False, True)}     # (w, v) and (u, s, vh)


def _phase_free(parts, weights):
    total = sum(np.sum(w * np.abs(p) ** 2) if vector else np.real(np.sum(w * p))
                for p, w, vector in zip(parts, weights, _VECTOR_PARTS[len(parts)]))
    if len(parts) == 3:
        total += np.real(np.sum(weights[3] * (parts[0] @ parts[2])))
    return total


def _phase_free_cotangents(parts, weights):
    cotangents = [2.0 * w * np.conj(p) if vector else w
                  for p, w, vector in zip(parts, weights, _VECTOR_PARTS[len(parts)])]
    if len(parts) == 3:
        u, _, vh = parts
        cotangents[0] = cotangents[0] + weights[3] @ np.swapaxes(vh, -1, -2)
        cotangents[2] = cotangents[2] + np.swapaxes(u, -1, -2) @ weights[3]
    return tuple(cotangents)


@pytest.mark.parametrize("primitive, a, kwargs", [
    (np.linalg.eigh, c(4, 4), {}),
    (np.linalg.eigh, c(2, 3, 3), {"UPLO": "U"}),
    (np.linalg.eig, c(4, 4), {}),
    (np.linalg.eig, r(4, 4), {}),
    (np.linalg.eig, c(2, 3, 3), {}),
    (np.linalg.svd, c(3, 5), {"full_matrices": False}),
    (np.linalg.svd, c(5, 3), {"full_matrices": False}),
    (np.linalg.svd, c(2, 4, 4), {}),
], ids=["eigh", "eigh-U-stack", "eig", "eig-real-input", "eig-stack", "svd-wide", "svd-tall",
        "svd-square-stack"])
def test_complex_decompositions_through_phase_free_functions(primitive, a, kwargs):
    parts = primitive(a, **kwargs)
    weights = [r(*np.shape(p)) + (1j * r(*np.shape(p)) if not vector else 0.0)
               for p, vector in zip(parts, _VECTOR_PARTS[len(parts)])]
    if len(parts) == 3:
        weights.append(c(*np.shape(parts[0] @ parts[2])))

    def loss(point):
        return _phase_free(primitive(point, **kwargs), weights)
    want = np.zeros(np.shape(a), complex)
    for index in np.ndindex(np.shape(a)):
        for direction in ((1.0, 1j) if np.iscomplexobj(a) else (1.0,)):
            step = np.zeros(np.shape(a), complex if np.iscomplexobj(a) else float)
            step[index] = 1e-6 * direction
            slope = (loss(a + step) - loss(a - step)) / 2e-6
            want[index] += slope if direction == 1.0 else -1j * slope
    got, = cotangent(primitive, a, wrt="a", dresult=_phase_free_cotangents(parts, weights),
                     **kwargs)
    assert np.iscomplexobj(got) == np.iscomplexobj(a)
    np.testing.assert_allclose(got, want if np.iscomplexobj(a) else np.real(want), rtol=1e-5,
                               atol=1e-6)
    # forward mode: the tangent of L along a random direction t
    t = r(*np.shape(a)) + (1j * r(*np.shape(a)) if np.iscomplexobj(a) else 0.0)
    tangents = tangent_of(primitive, a, wrt=("a",), tangents=[t], **kwargs)
    slope = sum(np.real(np.sum(g * d)) for g, d in
                zip(_phase_free_cotangents(parts, weights), tangents))
    assert abs(slope - (loss(a + 1e-6 * t) - loss(a - 1e-6 * t)) / 2e-6) < 1e-5 * max(1, abs(slope))


def qr_signs_fixed(a):
    q, r = np.linalg.qr(a)
    signs = np.sign(np.einsum('...ii->...i', r[..., :, :q.shape[-1]]))
    return np.sum(np.sin(q * signs[..., None, :])) + np.sum((r * signs[..., :, None]) ** 2)


def pinv_solution(a):
    return np.sum(np.tanh(np.linalg.pinv(a) @ np.arange(1.0, 6.0)))


def lstsq_fit(a):
    x, residuals, rank, s = np.linalg.lstsq(a, np.arange(1.0, 6.0), rcond=None)
    return np.sum(x ** 2) + np.sum(residuals) + np.sum(s)


def chained(a):
    return np.sum(np.linalg.multi_dot([a, np.sin(a).T, a]) ** 2) \
        + np.sum(np.linalg.matrix_power(a[:, :3], 3))


FIXED = np.arange(6.0).reshape(3, 2)


def multi_dot_with_constants(a):
    return np.sum(np.linalg.multi_dot([a, FIXED, np.ones(2)]) ** 2)


def lstsq_in_b(b):
    x, residuals, rank, s = np.linalg.lstsq(FIXED, b, rcond=None)
    return np.sum(x ** 2) + np.sum(residuals)


@pytest.mark.parametrize("f, a", [
    (qr_signs_fixed, r(5, 3)), (qr_signs_fixed, r(2, 3, 5)),
    (pinv_solution, r(5, 3)), (lstsq_fit, r(5, 3)), (chained, r(3, 4)),
    (multi_dot_with_constants, r(4, 3)), (lstsq_in_b, r(3)),
], ids=lambda v: getattr(v, "__name__", "a"))
def test_more_linear_algebra_through_s2s_matches_finite_differences(f, a):
    check_function(f, a)


def test_rank_deficient_pinv_and_lstsq_give_finite_derivatives():
    # the pseudo-inverse jumps where the rank changes; at a rank-deficient point its
    # derivative along rank-keeping directions exists, and s2s gives a finite answer
    a = r(5, 2) @ r(2, 3)
    for f in (pinv_solution, lstsq_fit):
        assert np.all(np.isfinite(s2s.grad(f)(a)))
        _, tangent = s2s.jvp(f, (a,), (r(5, 3),))
        assert np.isfinite(tangent)
    # along a direction that keeps the rank, the derivative is right
    direction = r(5, 2) @ r(2, 3) * 0.0 + a @ r(3, 3)
    _, tangent = s2s.jvp(pinv_solution, (a,), (direction,))
    step = 1e-6
    want = (pinv_solution(a + step * direction) - pinv_solution(a - step * direction)) / (2 * step)
    np.testing.assert_allclose(tangent, want, rtol=1e-5)


@pytest.mark.parametrize("mode, shape", [("raw", (3, 3)), ("complete", (5, 3))])
def test_qr_modes_without_a_derivative_are_errors(mode, shape):
    def f(a):
        return np.sum(np.linalg.qr(a, mode=mode)[0])
    with pytest.raises(ValueError, match="mode 'reduced' or 'r'"):
        s2s.grad(f)(r(*shape))
    with pytest.raises(ValueError, match="mode 'reduced' or 'r'"):
        s2s.jvp(f, (r(*shape),), (r(*shape),))


def test_svd_with_full_matrices_of_a_non_square_matrix_is_an_error():
    def f(a):
        u, s, vh = np.linalg.svd(a)
        return np.sum(u[:, 0] * s[0])
    with pytest.raises(ValueError, match="full_matrices=False"):
        s2s.grad(f)(r(3, 4))
    with pytest.raises(ValueError, match="full_matrices=False"):
        s2s.jvp(f, (r(4, 3),), (r(4, 3),))


# --- the audit (tests/rules/audit.py): programs through the transforms ----------------------
# Eigen- and singular vectors enter only through what no sign choice changes: v * v,
# v diag(h(w)) v^T, u diag(h(s)) vh.

def repeated_spectrum():
    q = np.linalg.qr(r(4, 4))[0]
    return (q * np.array([1.0, 1.0, 1.0, 3.0])) @ q.T


SPECTRAL_EIGH = "w, v = np.linalg.eigh(a{})\nreturn np.sin(w), (v * np.exp(w / 4)[..., None, :]) @ np.swapaxes(v, -1, -2), v * v"
SPECTRAL_SVD = ("u, s, vh = np.linalg.svd(a{})\n"
                "return s, (u * np.tanh(s)[..., None, :]) @ vh, u * u, vh * vh")

def einsum_of(x, y):
    return np.einsum("ij,jk->ik", x, y)


def sublist_of(x, y):
    return np.einsum(x, [0, 1], y, [1, 2], x, [0, 3])


AUDIT = [
    audit(einsum_first_tangent, """
        out, tangent = s2s.jvp(sublist_of, (x, y), (t, u))
        return tangent * out
    """, x=fresh(3, 4), y=fresh(4, 2), t=fresh(3, 4), u=fresh(4, 2),
          given={"sublist_of": sublist_of},
          note="the sublist form's tangent differentiated again (a jvp inside the program)"),
    audit(einsum_first_adjoint, """
        out, pullback = s2s.vjp(sublist_of, x, y)
        gx, gy = pullback(v)
        return gx * x, gy * np.sum(out)
    """, x=fresh(3, 4), y=fresh(4, 2), v=fresh(2, 4), given={"sublist_of": sublist_of},
          note="the sublist form's cotangents differentiated again (a vjp inside the program)"),
    audit(einsum_tangent, """
        out, tangent = s2s.jvp(einsum_of, (x, y), (t, u))
        return tangent * out
    """, x=r(3, 4), y=r(4, 2), t=r(3, 4), u=r(4, 2), given={"einsum_of": einsum_of},
          note="einsum's tangent differentiated again (a jvp inside the program)"),
    audit(operator.matmul, "x @ y", x=r(3, 4), y=r(4, 2)),
    audit(np.matmul, "np.matmul(x, y)", x=r(2, 3, 4), y=r(4, 2)),
    audit(operator.matmul, "x @ y", x=r(4), y=r(2, 4, 3), note="a vector and a stack"),
    audit(operator.matmul, "x @ y", x=r(2, 1, 3, 4), y=r(5, 4, 2), note="broadcast stacks"),
    audit(np.matmul, "np.matmul(x, y)", x=r(3, 4), y=r(4)),
    audit(np.matmul, "np.matmul(x, y)", x=r(4), y=r(4)),
    audit(np.matmul, "np.matmul(x, y)", x=r(3, 0), y=r(0, 2), note="an empty inner axis"),
    audit(np.dot, "np.dot(x, y)", x=r(3, 4), y=r(4, 2)),
    audit(np.dot, "np.dot(x, y)", x=r(4), y=r(4)),
    audit(np.dot, "np.dot(x, y)", x=1.5, y=r(3, 2)),
    audit(np.dot, "np.dot(x, y)", x=r(2, 3, 4), y=r(4, 2)),
    audit(np.dot, "np.dot(x, y)", x=r(3, 4), y=r(2, 4, 5)),
    audit(np.dot, "np.dot(x, y)", x=r(4), y=r(2, 4, 3)),
    audit(np.vdot, "np.vdot(x, y)", x=r(3, 4), y=r(3, 4)),
    audit(np.vdot, "np.vdot(x, y)", x=r(2, 3), y=r(6)),
    audit(np.inner, "np.inner(x, y)", x=r(3, 4), y=r(2, 4)),
    audit(np.inner, "np.inner(x, y)", x=r(4), y=r(2, 5, 4)),
    audit(np.inner, "np.inner(x, y)", x=2.0, y=r(3)),
    audit(np.outer, "np.outer(x, y)", x=r(3), y=r(4)),
    audit(np.outer, "np.outer(x, y)", x=r(2, 3), y=r(2, 2)),
    audit(np.tensordot, "np.tensordot(x, y)", x=r(2, 3, 4), y=r(3, 4, 5)),
    audit(np.tensordot, "np.tensordot(x, y, axes=1)", x=r(2, 3, 4), y=r(4, 5)),
    audit(np.tensordot, "np.tensordot(x, y, axes=0)", x=r(2, 3), y=r(4)),
    audit(np.tensordot, "np.tensordot(x, y, axes=([0, 2], [1, 0]))", x=r(2, 3, 4), y=r(4, 2, 5)),
    audit(np.tensordot, "np.tensordot(x, y, axes=([-2, 0], [0, -1]))", x=r(2, 3, 4), y=r(3, 2)),
    audit(np.einsum, "np.einsum('ij,jk->ik', x, y)", x=r(3, 4), y=r(4, 2)),
    audit(np.einsum, "np.einsum('ij,jk', x, y)", x=r(3, 4), y=r(4, 2)),
    audit(np.einsum, "np.einsum('ii->i', x)", x=r(3, 3)),
    audit(np.einsum, "np.einsum('iij->j', x)", x=r(3, 3, 2)),
    audit(np.einsum, "np.einsum('i,i', x, x)", x=r(4), note="one operand twice"),
    audit(np.einsum, "np.einsum('...ij,...jk->...ik', x, y)", x=r(2, 3, 4), y=r(4, 2)),
    audit(np.einsum, "np.einsum('ij,jk,kl->il', x, y, z)", x=r(2, 3), y=r(3, 4), z=r(4, 2)),
    audit(np.einsum, "np.einsum('j...k,lj...->lk...', x, y)", x=r(2, 2), y=r(2, 2, 2)),
    audit(np.einsum, "np.einsum('...i,...i->...', x, y)", x=r(1, 3), y=r(4, 3)),
    audit(np.einsum, "np.einsum('ij->ji', x) * W", x=r(3, 4), given=dict(W=r(4, 3))),
    audit(np.einsum, "np.einsum('...ij,jk->...ik', x, y)", x=r(2, 3, 4), y=r(4, 2),
          note="'...' on one operand only"),
    audit(np.einsum, "np.einsum('i...j,j->i...', x, y)", x=r(3, 2, 4), y=r(4),
          note="'...' in the middle"),
    audit(np.einsum, "np.einsum('ij...,jk...->ik...', x, y)", x=r(3, 4, 2), y=r(4, 2, 1),
          note="'...' at the tail, broadcast"),
    audit(np.einsum, "np.einsum('ij,jk,ki->i', x, y, x.T)", x=r(2, 3), y=r(3, 3),
          note="three operands, one of them twice"),
    audit(np.einsum, "np.einsum(x, [0, 1], y, [1, 2])", x=r(3, 4), y=r(4, 2),
          note="the sublist form"),
    audit(np.einsum, "np.einsum(x, [0, 1], [1, 0]) * W", x=r(3, 4), given=dict(W=r(4, 3)),
          note="the sublist form, a transpose"),
    audit(np.einsum, "np.einsum(W, [0, 1], x, [2, 0], x, [2, 1], [1])", x=r(2, 3),
          given=dict(W=r(3, 3)), note="the sublist form, three operands"),
    audit(np.einsum, "np.einsum(x, [Ellipsis, 0, 1], y, [1], [Ellipsis, 0])", x=r(2, 3, 4),
          y=r(4), note="the sublist form with an ellipsis"),
    audit(np.einsum, "np.einsum(x, [0, 1], x, [0, 1], [])", x=r(2, 3),
          note="the sublist form, an empty output sublist"),
    audit(np.trace, "np.trace(x)", x=r(3, 3)),
    audit(np.trace, "np.trace(x, 1)", x=r(3, 4)),
    audit(np.trace, "np.trace(x, offset=-1)", x=r(4, 3)),
    audit(np.trace, "np.trace(x, axis1=1, axis2=2)", x=r(2, 3, 3)),
    audit(np.trace, "np.trace(x, axis1=-1, axis2=0)", x=r(3, 4, 2)),
    audit(np.linalg.norm, "np.linalg.norm(x)", x=r(5)),
    audit(np.linalg.norm, "np.linalg.norm(x)", x=r(3, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, 1)", x=away(5)),
    audit(np.linalg.norm, "np.linalg.norm(x, np.inf)", x=r(5)),
    audit(np.linalg.norm, "np.linalg.norm(x, -np.inf)", x=r(5)),
    audit(np.linalg.norm, "np.linalg.norm(x, 3)", x=r(5)),
    audit(np.linalg.norm, "np.linalg.norm(x, ord=0.5)", x=away(5)),
    audit(np.linalg.norm, "np.linalg.norm(x, -1)", x=away(5)),
    audit(np.linalg.norm, "np.linalg.norm(x, axis=1)", x=r(3, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, axis=0, keepdims=True)", x=r(3, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, 1, axis=-1)", x=away(3, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, np.inf, axis=0)", x=r(3, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, 'fro')", x=r(3, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, 'nuc')", x=r(3, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, 1)", x=r(3, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, -np.inf)", x=r(3, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, 2)", x=r(3, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, -2)", x=r(3, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, 'fro', axis=(2, 0), keepdims=True)", x=r(2, 3, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, 2, axis=(0, 2))", x=r(3, 2, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, np.inf, axis=(-1, 0))", x=r(3, 2, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, np.inf)", x=np.array([3.0, -3.0, 1.0]),
          note="a tie of two largest entries splits in half, as central differences do"),
    audit(np.linalg.inv, "np.linalg.inv(x)", x=matrix(3, 3)),
    audit(np.linalg.inv, "np.linalg.inv(x)", x=matrix(2, 3, 3)),
    audit(np.linalg.det, "np.linalg.det(x)", x=matrix(3, 3)),
    audit(np.linalg.det, "np.linalg.det(x)", x=-matrix(2, 2)),
    audit(np.linalg.det, "np.linalg.det(x)", x=matrix(2, 3, 3)),
    audit(np.linalg.slogdet, "np.linalg.slogdet(x)[1]", x=matrix(3, 3)),
    audit(np.linalg.slogdet, "sign, logdet = np.linalg.slogdet(x)\nreturn sign * logdet",
          x=-matrix(3, 3), note="the sign is locally constant: no gradient flows through it"),
    audit(np.linalg.slogdet, "np.linalg.slogdet(x)[1]", x=matrix(2, 3, 3)),
    audit(np.linalg.solve, "np.linalg.solve(x, y)", x=matrix(3, 3), y=r(3)),
    audit(np.linalg.solve, "np.linalg.solve(x, y)", x=matrix(3, 3), y=r(3, 2)),
    audit(np.linalg.solve, "np.linalg.solve(x, y)", x=matrix(2, 3, 3), y=r(2, 3, 2)),
    audit(np.linalg.solve, "np.linalg.solve(x, y)", x=matrix(2, 3, 3), y=r(3)),
    audit(np.linalg.eigh, SPECTRAL_EIGH.format(""), a=r(4, 4),
          note="eigh reads the lower triangle: the upper one has no derivative"),
    audit(np.linalg.eigh, SPECTRAL_EIGH.format(", UPLO='U'"), a=r(2, 3, 3)),
    audit(np.linalg.eigh, "w, v = np.linalg.eigh(a)\nreturn np.sum(np.exp(w))",
          a=repeated_spectrum(),
          note="a repeated eigenvalue: trace(exp(a)) is smooth there, its eigenvectors are not"),
    audit(np.linalg.eigvalsh, "np.linalg.eigvalsh(a)", a=r(4, 4)),
    audit(np.linalg.eigvalsh, "np.linalg.eigvalsh(a, 'U')", a=r(2, 3, 3)),
    audit(np.linalg.eig, "w, v = np.linalg.eig(a)\nreturn w, v * v", a=real_spectrum(4, 4),
          note="real eigenvalues; the eigenvectors have unit length"),
    audit(np.linalg.eig, "w, v = np.linalg.eig(a)\nreturn np.exp(w), np.abs(v)",
          a=real_spectrum(2, 3, 3)),
    audit(np.linalg.eigvals, "np.linalg.eigvals(a)", a=real_spectrum(3, 3)),
    audit(np.linalg.eigvals, "np.sum(np.linalg.eigvals(a) ** 2)", a=real_spectrum(2, 4, 4)),
    audit(np.linalg.cholesky, "np.linalg.cholesky(a)", a=spd(4, 4) + np.triu(r(4, 4), 1),
          note="cholesky reads the lower triangle"),
    audit(np.linalg.cholesky, "np.linalg.cholesky(a, upper=True)", a=spd(2, 3, 3)),
    audit(np.linalg.svd, SPECTRAL_SVD.format(", full_matrices=False"), a=r(3, 5)),
    audit(np.linalg.svd, SPECTRAL_SVD.format(", full_matrices=False"), a=r(5, 3)),
    audit(np.linalg.svd, SPECTRAL_SVD.format(""), a=r(2, 4, 4)),
    audit(np.linalg.svd, SPECTRAL_SVD.format(", hermitian=True"), a=r(4, 4),
          note="hermitian=True reads the lower triangle"),
    audit(np.linalg.svd, "np.linalg.svd(a, compute_uv=False)", a=r(2, 3, 4)),
    audit(np.linalg.svd, "np.sum(np.linalg.svd(a, compute_uv=False))", a=2.0 * np.eye(3),
          note="every singular value repeated: the nuclear norm is smooth there"),
    audit(np.linalg.qr, "q, r = np.linalg.qr(a)\nreturn q, r", a=r(5, 3),
          note="q and r as LAPACK signs them (locally constant)"),
    audit(np.linalg.qr, "q, r = np.linalg.qr(a)\nreturn q @ np.diag(np.diag(r)), r[:, 2:]",
          a=r(3, 5)),
    audit(np.linalg.qr, "np.linalg.qr(a, mode='r')", a=r(2, 4, 3)),
    audit(np.linalg.pinv, "np.linalg.pinv(a)", a=r(3, 5)),
    audit(np.linalg.pinv, "np.linalg.pinv(a, hermitian=True)", a=r(2, 3, 3)),
    audit(np.linalg.lstsq, "x, res, rank, s = np.linalg.lstsq(a, b, rcond=None)\n"
                           "return x, res, s", a=r(5, 3), b=r(5, 2)),
    audit(np.linalg.lstsq, "np.linalg.lstsq(a, b, rcond=None)[0]", a=r(3, 4), b=r(3),
          note="under-determined: the least-norm solution"),
    audit(np.linalg.matrix_power, "np.linalg.matrix_power(a, 4)", a=r(3, 3)),
    audit(np.linalg.matrix_power, "np.linalg.matrix_power(a, -3)", a=matrix(2, 3, 3)),
    audit(np.linalg.matrix_power, "np.linalg.matrix_power(a, 0) * a", a=r(3, 3)),
    audit(np.linalg.multi_dot, "np.linalg.multi_dot([x, a, a.T, y])", x=r(3), a=r(3, 4),
          y=r(3)),
    audit(np.linalg.multi_dot, "np.linalg.multi_dot([a, b, a.T])", a=r(2, 3), b=r(3, 3)),
    # second order: the helpers the rules call are plain NumPy code, which s2s differentiates
    # from their source (they take arrays one by one). multi_dot's helper takes the list of
    # operands, which reverse over reverse does not support yet: forward over reverse there.
    audit(np.linalg.eigh, "w, v = np.linalg.eigh(a)\n"
                          "return np.sum(np.sin(w)) + np.sum(v * v * np.arange(3.0))",
          a=r(3, 3), order=2),
    audit(np.linalg.eigvalsh, "np.sum(np.exp(np.linalg.eigvalsh(a)))", a=r(3, 3), order=2),
    audit(np.linalg.eig, "w, v = np.linalg.eig(a)\n"
                         "return np.sum(np.sin(w)) + np.sum(v * v * np.arange(3.0))",
          a=real_spectrum(3, 3), order=2),
    audit(np.linalg.eigvals, "np.sum(np.linalg.eigvals(a) ** 3)", a=real_spectrum(3, 3),
          order=2),
    audit(np.linalg.cholesky, "np.sum(np.sin(np.linalg.cholesky(a)))", a=spd(3, 3), order=2),
    audit(np.linalg.svd, "u, s, vh = np.linalg.svd(a, full_matrices=False)\n"
                         "return np.sum(s ** 3) + np.sum(u * u * np.arange(3.0))",
          a=r(4, 3), order=2),
    audit(np.linalg.svd, "np.sum(np.linalg.svd(a, compute_uv=False) ** 3)", a=r(3, 4), order=2),
    audit(np.linalg.qr, "q, r = np.linalg.qr(a)\nreturn np.sum(np.sin(q)) + np.sum(r ** 2)",
          a=r(4, 3), order=2),
    audit(np.linalg.pinv, "np.sum(np.sin(np.linalg.pinv(a)))", a=r(3, 4), order=2),
    audit(np.linalg.lstsq, "np.sum(np.linalg.lstsq(a, b, rcond=None)[0] ** 2)", a=r(4, 3),
          b=r(4), order=2),
    audit(np.linalg.matrix_power, "np.sum(np.linalg.matrix_power(a, 3))", a=r(3, 3), order=2),
    audit(np.linalg.multi_dot, "np.sum(np.sin(np.linalg.multi_dot([a, a.T, a])))", a=r(2, 3),
          order=2, modes="forward"),
    # complex operands: finite differences along the real and the imaginary direction
    audit(operator.matmul, "x @ y", x=c(3, 4), y=c(4, 2)),
    audit(np.matmul, "np.matmul(x, y)", x=r(2, 3, 4), y=c(4)),
    audit(np.dot, "np.dot(x, y)", x=c(3, 4), y=c(4)),
    audit(np.vdot, "np.vdot(x, y)", x=c(3, 4), y=c(3, 4), note="conjugates x"),
    audit(np.vdot, "np.vdot(x, y)", x=r(4), y=c(2, 2)),
    audit(np.inner, "np.inner(x, y)", x=c(3, 4), y=c(2, 4)),
    audit(np.outer, "np.outer(x, y)", x=c(3), y=r(4)),
    audit(np.tensordot, "np.tensordot(x, y, axes=1)", x=c(2, 3), y=c(3, 2)),
    audit(np.einsum, "np.einsum('ij,jk->ik', x, y)", x=c(3, 4), y=c(4, 2)),
    audit(np.trace, "np.trace(x)", x=c(3, 3)),
    audit(np.linalg.norm, "np.linalg.norm(x)", x=c(5)),
    audit(np.linalg.norm, "np.linalg.norm(x, axis=(0, 1))", x=c(3, 2, 2)),
    audit(np.linalg.norm, "np.linalg.norm(x, 3)", x=c(5)),
    audit(np.linalg.norm, "np.linalg.norm(x, axis=1)", x=c(3, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, 'nuc')", x=c(4, 3)),
    audit(np.linalg.norm, "np.linalg.norm(x, 2)", x=c(3, 4)),
    audit(np.linalg.norm, "np.linalg.norm(x, np.inf)", x=c(3, 4)),
    audit(np.linalg.inv, "np.linalg.inv(x)", x=cmatrix(3, 3)),
    audit(np.linalg.det, "np.linalg.det(x)", x=cmatrix(2, 3, 3)),
    audit(np.linalg.slogdet, "sign, logdet = np.linalg.slogdet(x)\nreturn sign * logdet",
          x=cmatrix(3, 3), note="a complex sign turns"),
    audit(np.linalg.solve, "np.linalg.solve(x, y)", x=cmatrix(3, 3), y=c(3, 2)),
    audit(np.linalg.eigh, "w, v = np.linalg.eigh(a)\nreturn w, np.abs(v)", a=c(4, 4),
          note="a Hermitian triangle; |v| does not depend on the vectors' phase"),
    audit(np.linalg.eigh, "w, v = np.linalg.eigh(a, 'U')\nreturn w, np.abs(v)", a=c(2, 3, 3)),
    audit(np.linalg.eigvalsh, "np.linalg.eigvalsh(a)", a=c(4, 4)),
    audit(np.linalg.eig, "w, v = np.linalg.eig(a)\nreturn w, np.abs(v)", a=c(4, 4)),
    audit(np.linalg.eig, "w, v = np.linalg.eig(a)\nreturn np.abs(w), np.abs(v)", a=r(4, 4),
          note="a real matrix with complex eigenvalues"),
    audit(np.linalg.eigvals, "np.linalg.eigvals(a)", a=c(2, 3, 3)),
    audit(np.linalg.svd, """
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return np.abs(u), s, np.abs(vh), u @ vh
    """, a=c(3, 5), note="u @ vh: the phases of u and vh cancel"),
    audit(np.linalg.svd, """
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return np.abs(u), s, np.abs(vh), u @ vh
    """, a=c(2, 5, 3)),
    audit(np.linalg.svd, "np.linalg.svd(a, compute_uv=False)", a=c(4, 4)),
    audit(np.linalg.matrix_power, "np.linalg.matrix_power(a, 3)", a=c(3, 3)),
]
