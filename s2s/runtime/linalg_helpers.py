"""What the rules of matrix decompositions call from generated code (``templates/*/numpy_linalg.py``).

Each decomposition has a ``*_tangent`` (forward mode: the tangents of its outputs from the
input's tangent) and a ``*_adjoint`` (reverse mode: the input's cotangent from its outputs'
cotangents). Inputs are real; every function works on stacks of matrices (the last two axes).

Where a derivative does not exist the result stays finite instead of inf or nan:

- repeated eigenvalues or singular values: the vectors of such a pair have no derivative.
  The 1 / (w_j - w_i) factors of the pairs equal up to rounding are taken as 0, so the
  result is finite; a function of the eigenvalues alone that is smooth there (``sum(h(w))``,
  the trace of a matrix function) still gets its true derivative.
- a zero singular value: its reciprocal is taken as 0.

    u, s, vh = np.linalg.svd(a, full_matrices=False)
    ->  da = svd_adjoint(du, ds, dvh, u, s, vh)
"""
from __future__ import annotations

import numpy as np

from s2s.runtime.numpy_helpers import match_dtype, matrix_transpose


# --- small pieces ----------------------------------------------------------------------------

def safe_reciprocal(x):
    """``1 / x``, with 0 where ``x`` is 0."""
    return np.divide(1.0, x, out=np.zeros_like(x), where=x != 0)


def reciprocal_gaps(w):
    """``F[..., i, j] = 1 / (w[j] - w[i])`` for i != j, and 0 where w[i] and w[j] are equal
    up to rounding (the diagonal, and repeated values: ``10 n eps max|w|`` apart or less)."""
    gaps = np.expand_dims(w, -2) - np.expand_dims(w, -1)
    n = np.shape(w)[-1]
    scale = np.max(np.abs(w), axis=-1, keepdims=True) if n else np.zeros(np.shape(w))
    tolerance = 10 * n * np.finfo(gaps.dtype).eps * np.expand_dims(scale, -1)
    return np.divide(1.0, gaps, out=np.zeros_like(gaps), where=np.abs(gaps) > tolerance)


def diagonal(x):
    """The diagonal of each matrix of a stack."""
    return np.diagonal(x, axis1=-2, axis2=-1)


def diagonal_matrix(d):
    """A stack of diagonal matrices from a stack of vectors."""
    return np.expand_dims(d, -1) * np.eye(np.shape(d)[-1], dtype=np.result_type(d))


def mT(x):
    return matrix_transpose(x)


def symmetric_from_triangle(x, lower):
    """The symmetric matrix eigh, eigvalsh and cholesky read from one triangle of ``x``."""
    if lower:
        return np.tril(x) + mT(np.tril(x, -1))
    return np.triu(x) + mT(np.triu(x, 1))


def to_triangle(g, lower):
    """The transpose of ``symmetric_from_triangle``: a cotangent of the symmetric matrix
    carried back to the one triangle it was read from."""
    if lower:
        return np.tril(g) + np.tril(mT(g), -1)
    return np.triu(g) + np.triu(mT(g), 1)


def lower_half_diagonal(x):
    """The strictly lower triangle of ``x`` plus half its diagonal."""
    return np.tril(x, -1) + 0.5 * diagonal_matrix(diagonal(x))


def part_or_zeros(g, like):
    """The cotangent of one part of a tuple result; None or a scalar 0 stands for zeros."""
    if g is None:
        return np.zeros_like(like)
    if np.shape(g) == np.shape(like):
        return g
    return np.zeros_like(like) + g


def _lower(uplo):
    if uplo not in ("L", "U", "l", "u"):
        raise ValueError(f"UPLO must be 'L' or 'U', not {uplo!r}")
    return uplo in ("L", "l")


# --- symmetric eigenproblems -----------------------------------------------------------------

def eigh_tangent(da, result, uplo):
    """Tangents of ``w, v = np.linalg.eigh(a, uplo)``: ``dw = diag(v^T ds v)`` and
    ``dv = v (F * (v^T ds v))``, with ``ds`` the symmetric matrix read from ``da``."""
    w, v = result
    projected = mT(v) @ symmetric_from_triangle(da, _lower(uplo)) @ v
    dw = diagonal(projected)
    dv = v @ (reciprocal_gaps(w) * projected)
    return dw, dv


def eigh_adjoint(g, a, result, uplo):
    """Cotangent of ``a`` in ``w, v = np.linalg.eigh(a, uplo)``:
    ``v (diag(gw) + F * (v^T gv)) v^T``, carried back to the triangle read."""
    w, v = result
    gw, gv = part_or_zeros(g[0], w), part_or_zeros(g[1], v)
    inner = diagonal_matrix(gw) + reciprocal_gaps(w) * (mT(v) @ gv)
    return match_dtype(to_triangle(v @ inner @ mT(v), _lower(uplo)), a)


def eigvalsh_tangent(da, a, uplo):
    """Tangent of ``w = np.linalg.eigvalsh(a, uplo)``: ``diag(v^T ds v)``."""
    v = np.linalg.eigh(a, uplo)[1]
    ds = symmetric_from_triangle(da, _lower(uplo))
    return np.sum(v * (ds @ v), axis=-2)


def eigvalsh_adjoint(g, a, uplo):
    """Cotangent of ``a`` in ``w = np.linalg.eigvalsh(a, uplo)``: ``v diag(gw) v^T``."""
    v = np.linalg.eigh(a, uplo)[1]
    return match_dtype(to_triangle((v * np.expand_dims(g, -2)) @ mT(v), _lower(uplo)), a)


def cholesky_tangent(da, factor, upper):
    """Tangent of ``np.linalg.cholesky(a, upper=upper)``: ``dL = L Phi(L^-1 ds L^-T)``, Phi
    the strictly lower triangle plus half the diagonal (``dU = dL^T`` for the upper factor)."""
    low = mT(factor) if upper else factor
    inverse = np.linalg.inv(low)
    ds = symmetric_from_triangle(da, not upper)
    d_low = low @ lower_half_diagonal(inverse @ ds @ mT(inverse))
    return mT(d_low) if upper else d_low


def cholesky_adjoint(g, a, factor, upper):
    """Cotangent of ``a`` in ``np.linalg.cholesky(a, upper=upper)``:
    ``L^-T Phi(L^T gL) L^-1``, carried back to the triangle read."""
    low, g_low = (mT(factor), mT(g)) if upper else (factor, g)
    inverse = np.linalg.inv(low)
    gs = mT(inverse) @ lower_half_diagonal(mT(low) @ g_low) @ inverse
    return match_dtype(to_triangle(gs, not upper), a)


# --- general eigenproblem (real eigenvalues) -------------------------------------------------

def _real_eigenvalues(w, name):
    if np.iscomplexobj(w):
        raise ValueError(
            f"s2s differentiates np.linalg.{name} only where every eigenvalue is real; this "
            f"matrix has complex eigenvalues, and s2s does not differentiate complex results. "
            f"For a symmetric matrix use np.linalg.eigh / eigvalsh")


def eig_tangent(da, result):
    """Tangents of ``w, v = np.linalg.eig(a)`` (real eigenvalues): with ``p = v^-1 da v``,
    ``dw = diag(p)`` and ``dv = v (F * p)``, less its part along each unit column ``v_j``."""
    w, v = result
    _real_eigenvalues(w, "eig")
    projected = np.linalg.solve(v, da @ v)
    dv = v @ (reciprocal_gaps(w) * projected)
    dv = dv - v * np.sum(v * dv, axis=-2, keepdims=True)
    return diagonal(projected), dv


def eig_adjoint(g, a, result):
    """Cotangent of ``a`` in ``w, v = np.linalg.eig(a)`` (real eigenvalues):
    ``v^-T (diag(gw) + F * (v^T gv')) v^T``, gv' = gv less its part along each column."""
    w, v = result
    _real_eigenvalues(w, "eig")
    gw, gv = part_or_zeros(g[0], w), part_or_zeros(g[1], v)
    gv = gv - v * np.sum(v * gv, axis=-2, keepdims=True)
    inner = diagonal_matrix(gw) + reciprocal_gaps(w) * (mT(v) @ gv)
    return match_dtype(np.linalg.solve(mT(v), inner @ mT(v)), a)


def eigvals_tangent(da, a):
    """Tangent of ``w = np.linalg.eigvals(a)`` (real eigenvalues): ``diag(v^-1 da v)``."""
    w, v = np.linalg.eig(a)
    _real_eigenvalues(w, "eigvals")
    return diagonal(np.linalg.solve(v, da @ v))


def eigvals_adjoint(g, a):
    """Cotangent of ``a`` in ``w = np.linalg.eigvals(a)`` (real eigenvalues):
    ``v^-T diag(gw) v^T``."""
    w, v = np.linalg.eig(a)
    _real_eigenvalues(w, "eigvals")
    return match_dtype(np.linalg.solve(mT(v), np.expand_dims(g, -1) * mT(v)), a)


# --- singular value decomposition ------------------------------------------------------------

def _thin_only(a, full_matrices):
    """Full U and V of a non-square matrix hold a basis of the complement that no derivative
    pins down."""
    m, n = np.shape(a)[-2:]
    if full_matrices and m != n:
        raise ValueError(
            f"s2s differentiates np.linalg.svd of a {m}x{n} (non-square) matrix only with "
            f"full_matrices=False: with full matrices the extra columns of u or vh are an "
            f"arbitrary basis, which has no derivative")


def svd_tangent(da, a, result, full_matrices, hermitian):
    """Tangents of ``u, s, vh = np.linalg.svd(a)``: with ``p = u^T da v``, ``ds = diag(p)``,
    ``du = u (F * (p S + S p^T)) + (I - u u^T) da v S^-1``, and dv alike with ``a^T``.
    ``hermitian=True`` reads the lower triangle of ``a`` only."""
    _thin_only(a, full_matrices)
    u, s, vh = result
    if hermitian:
        da = symmetric_from_triangle(da, True)
    v = mT(vh)
    projected = mT(u) @ da @ v
    gaps = reciprocal_gaps(s * s)
    s_row, s_col = np.expand_dims(s, -2), np.expand_dims(s, -1)
    du = u @ (gaps * (projected * s_row + s_col * mT(projected)))
    dv = v @ (gaps * (s_col * projected + mT(projected) * s_row))
    inverse_s = np.expand_dims(safe_reciprocal(s), -2)
    m, n = np.shape(a)[-2:]
    k = np.shape(s)[-1]
    if m > k:
        du = du + (da @ v - u @ projected) * inverse_s
    if n > k:
        dv = dv + (mT(da) @ u - v @ mT(projected)) * inverse_s
    return du, diagonal(projected), mT(dv)


def svd_adjoint(g, a, result, full_matrices, hermitian):
    """Cotangent of ``a`` in ``u, s, vh = np.linalg.svd(a)``:
    ``u (diag(gs) + (J + J^T) S + S (K + K^T)) v^T + (I - u u^T) gu S^-1 v^T
    + u S^-1 gv^T (I - v v^T)``, with ``J = F * (u^T gu)`` and ``K = F * (v^T gv)``."""
    _thin_only(a, full_matrices)
    u, s, vh = result
    gu, gs, gvh = part_or_zeros(g[0], u), part_or_zeros(g[1], s), part_or_zeros(g[2], vh)
    v, gv = mT(vh), mT(gvh)
    gaps = reciprocal_gaps(s * s)
    j = gaps * (mT(u) @ gu)
    k_ = gaps * (mT(v) @ gv)
    s_row, s_col = np.expand_dims(s, -2), np.expand_dims(s, -1)
    inner = diagonal_matrix(gs) + (j + mT(j)) * s_row + s_col * (k_ + mT(k_))
    da = u @ inner @ vh
    inverse_s = np.expand_dims(safe_reciprocal(s), -2)
    m, n = np.shape(a)[-2:]
    k = np.shape(s)[-1]
    if m > k:
        da = da + ((gu - u @ (mT(u) @ gu)) * inverse_s) @ vh
    if n > k:
        da = da + u @ mT((gv - v @ (mT(v) @ gv)) * inverse_s)
    if hermitian:
        da = to_triangle(da, True)
    return match_dtype(da, a)


def singular_values_tangent(da, a, hermitian):
    """Tangent of ``s = np.linalg.svd(a, compute_uv=False)``: ``diag(u^T da v)``."""
    u, _, vh = np.linalg.svd(a, full_matrices=False, hermitian=hermitian)
    if hermitian:
        da = symmetric_from_triangle(da, True)
    return np.sum(u * (da @ mT(vh)), axis=-2)


def singular_values_adjoint(g, a, hermitian):
    """Cotangent of ``a`` in ``s = np.linalg.svd(a, compute_uv=False)``: ``u diag(gs) v^T``."""
    u, _, vh = np.linalg.svd(a, full_matrices=False, hermitian=hermitian)
    da = (u * np.expand_dims(g, -2)) @ vh
    return match_dtype(to_triangle(da, True) if hermitian else da, a)
