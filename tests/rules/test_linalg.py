"""The rules of NumPy's products and linear algebra (reverse/ and forward/numpy_linalg.py).

A row is one call, checked in both modes against finite differences (tests/rules/harness.py
says how); closed forms below cover kinks, ties and zeros. A new rule of this family is a new
row here.
"""
import operator

import numpy as np
import pytest

from tests.rules.harness import case, cotangent, matrix, r, table_tests, tangent_of


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
]


test_rule_matches_finite_differences_in_both_modes, test_float32_stays_float32 = \
    table_tests(ROWS)


def test_inf_norm_splits_ties_evenly():
    [dx] = cotangent(np.linalg.norm, np.array([3.0, -3.0, 1.0]), np.inf, dresult=1.0)
    np.testing.assert_array_equal(dx, [0.5, -0.5, 0.0])
    # matrix 1-norm: the largest absolute column sum, here columns 0 and 1 tie
    [dx] = cotangent(np.linalg.norm, np.array([[1.0, -2.0], [-2.0, 1.0]]), 1, dresult=1.0)
    np.testing.assert_array_equal(dx, [[0.5, -0.5], [-0.5, 0.5]])


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


def test_einsum_in_the_sublist_form_is_an_error_not_a_gradient():
    import s2s

    def f(a):
        return np.sum(np.sin(np.einsum(a, (0, 1), (1, 0))))
    a = r(3, 4)
    with pytest.raises(TypeError, match="sublist form"):
        s2s.grad(f)(a)
    with pytest.raises(TypeError, match="sublist form"):
        s2s.jvp(f, (a,), (np.ones_like(a),))
