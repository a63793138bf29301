"""Reverse-mode rules of NumPy's products and linear algebra.

Products handle 1-D, 2-D and batched (broadcast) operands through helpers in
``s2s.numpy_helpers``; the helpers also sum broadcast batch axes back. Complex inputs follow
s2s's convention: the products are bilinear and their adjoints have no conjugates (vdot
conjugates its first operand itself); the decompositions conjugate where they must.
The decompositions' rules call ``s2s.runtime.linalg_helpers``, which says what they give
where no derivative exists (repeated eigenvalues or singular values).

    c = a @ b     ->    da = matmul_adjoint_x1(dc, a, b)    # dc @ b.T for matrices
                        db = matmul_adjoint_x2(dc, a, b)    # a.T @ dc
"""
import operator

import numpy as np

from s2s.runtime.numpy_helpers import (cotangent_or_zeros, dot_adjoint_a, dot_adjoint_b,
                               einsum_adjoints, inner_adjoint,
                               match_dtype, matmul_adjoint_x1,
                               matmul_adjoint_x2, matrix_transpose, norm_adjoint,
                               solve_adjoint_a, solve_adjoint_b, tensordot_adjoint_a,
                               tensordot_adjoint_b, trace_adjoint, unbroadcast)
from s2s.runtime.linalg_helpers import (cholesky_adjoint, conj, eig_adjoint, eigh_adjoint,
                                        eigvals_adjoint, eigvalsh_adjoint, lstsq_adjoint,
                                        matrix_power_adjoint, multi_dot_adjoint, pinv_adjoint,
                                        qr_adjoint, singular_values_adjoint, slogdet_adjoint,
                                        svd_adjoint)
from s2s.runtime.shape_helpers import einsum_first_adjoint
from s2s.rules import adjoint


@adjoint(np.matmul, operator.matmul)
def matmul(x1, x2):
    dx1 = matmul_adjoint_x1(dresult, x1, x2)
    dx2 = matmul_adjoint_x2(dresult, x1, x2)


@adjoint(np.dot)
def dot(a, b):
    da = dot_adjoint_a(dresult, a, b)
    db = dot_adjoint_b(dresult, a, b)


@adjoint(np.vdot)
def vdot(a, b):
    # vdot flattens both operands, and conjugates the first: sum(conj(a) * b)
    da = match_dtype(np.reshape(conj(dresult * b), np.shape(a)), a)
    db = match_dtype(np.reshape(dresult * conj(a), np.shape(b)), b)


@adjoint(np.inner)
def inner(a, b):
    da = inner_adjoint(dresult, a, b, True)
    db = inner_adjoint(dresult, b, a, False)


@adjoint(np.outer)
def outer(a, b):
    # outer flattens both operands: result[i, j] = a.flat[i] * b.flat[j]
    da = match_dtype(np.reshape(np.dot(dresult, np.ravel(b)), np.shape(a)), a)
    db = match_dtype(np.reshape(np.dot(np.ravel(a), dresult), np.shape(b)), b)


@adjoint(np.tensordot)
def tensordot(a, b, axes=2):
    da = tensordot_adjoint_a(dresult, a, b, axes)
    db = tensordot_adjoint_b(dresult, a, b, axes)


@adjoint(np.einsum)
def einsum(subscripts, *operands, optimize=False):
    # an array in place of the subscripts: the sublist form, np.einsum(a, [0, 1], b, [1, 2])
    dsubscripts = einsum_first_adjoint(dresult, subscripts, operands)
    doperands = einsum_adjoints(dresult, subscripts, operands)


@adjoint(np.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    da = trace_adjoint(dresult, a, offset, axis1, axis2)


@adjoint(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims=False):
    dx = norm_adjoint(dresult, x, result, ord, axis, keepdims)


@adjoint(np.linalg.inv)
def inv(a):
    # d(A^-1) = -A^-1 dA A^-1
    inverse_t = matrix_transpose(result)
    da = -np.matmul(np.matmul(inverse_t, dresult), inverse_t)


@adjoint(np.linalg.det)
def det(a):
    # d det(A) = det(A) tr(A^-1 dA)
    da = np.expand_dims(dresult * result, (-2, -1)) * matrix_transpose(np.linalg.inv(a))


@adjoint(np.linalg.slogdet)
def slogdet(a):
    # a real sign is locally constant; a complex one turns with Im tr(A^-1 dA)
    da = slogdet_adjoint(dresult[0], dresult[1], a, result[0])


@adjoint(np.linalg.solve)
def solve(a, b):
    # x = A^-1 b:  db = A^-T dx,  dA = -db x^T
    b_cotangent = solve_adjoint_b(dresult, a, b)
    da = unbroadcast(solve_adjoint_a(b_cotangent, result, b), a)
    db = unbroadcast(b_cotangent, b)


@adjoint(np.linalg.eigh)
def eigh(a, UPLO="L"):
    da = eigh_adjoint(dresult[0], dresult[1], a, result[0], result[1], UPLO)


@adjoint(np.linalg.eigvalsh)
def eigvalsh(a, UPLO="L"):
    da = eigvalsh_adjoint(dresult, a, UPLO)


@adjoint(np.linalg.eig)
def eig(a):
    da = eig_adjoint(dresult[0], dresult[1], a, result[0], result[1])


@adjoint(np.linalg.eigvals)
def eigvals(a):
    da = eigvals_adjoint(dresult, a)


@adjoint(np.linalg.cholesky)
def cholesky(a, *, upper=False):
    da = cholesky_adjoint(dresult, a, result, upper)


@adjoint(np.linalg.svd)
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    if compute_uv:
        da = svd_adjoint(dresult[0], dresult[1], dresult[2], a, result[0], result[1], result[2],
                         full_matrices, hermitian)
    else:
        da = singular_values_adjoint(dresult, a, hermitian)


@adjoint(np.linalg.qr)
def qr(a, mode="reduced"):
    if mode == "r":
        da = qr_adjoint(0.0, dresult, a, np.linalg.qr(a)[0], result, mode)
    else:
        da = qr_adjoint(dresult[0], dresult[1], a, result[0], result[1], mode)


@adjoint(np.linalg.pinv)
def pinv(a, rcond=None, hermitian=False, *, rtol=None):
    da = pinv_adjoint(dresult, a, result, hermitian)


@adjoint(np.linalg.lstsq)
def lstsq(a, b, rcond=None):
    # the rank is an integer: only x, the residuals and the singular values carry cotangents
    cotangents = lstsq_adjoint(dresult[0], dresult[1], dresult[3], a, b, result[0], result[1],
                               result[2], result[3])
    da = cotangents[0]
    db = cotangents[1]


@adjoint(np.linalg.matrix_power)
def matrix_power(a, n):
    da = matrix_power_adjoint(dresult, a, n)


@adjoint(np.linalg.multi_dot)
def multi_dot(arrays, *, out=None):
    darrays = multi_dot_adjoint(dresult, arrays)
