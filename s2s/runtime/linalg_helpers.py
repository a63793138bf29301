"""What the rules of matrix decompositions call from generated code (``templates/*/numpy_linalg.py``).

Each decomposition has a ``*_tangent`` (forward mode: the tangents of its outputs from the
input's tangent) and a ``*_adjoint`` (reverse mode: the input's cotangent from its outputs'
cotangents). Every function works on stacks of matrices (the last two axes).

Complex matrices follow s2s's convention: the cotangent of a complex ``z`` is
dL/dRe(z) - 1j dL/dIm(z), so an adjoint written with transposes for real matrices keeps its
transposes, and conjugates appear only where the decomposition itself conjugates (the
Hermitian triangle of ``eigh``, the unitary factors of ``svd``, unit-norm eigenvectors). The
phase of a complex eigenvector or singular vector is arbitrary: its derivative is only
meaningful for functions that do not depend on it (``np.abs(v)``, ``u @ vh``).

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

from s2s.runtime.numpy_helpers import cotangent_or_zeros, match_dtype, matrix_transpose


# --- small pieces ----------------------------------------------------------------------------

def safe_reciprocal(x):
    """``1 / x``, with 0 where ``x`` is 0."""
    nonzero = x != 0
    return np.where(nonzero, 1.0 / np.where(nonzero, x, 1.0), 0.0)


def reciprocal_gaps(w):
    """``F[..., i, j] = 1 / (w[j] - w[i])`` for i != j, and 0 where w[i] and w[j] are equal
    up to rounding (the diagonal, and repeated values: ``10 n eps max|w|`` apart or less)."""
    gaps = np.expand_dims(w, -2) - np.expand_dims(w, -1)
    n = np.shape(w)[-1]
    eps = 1.2e-7 if w.dtype in (np.float32, np.complex64) else 2.3e-16
    scale = np.max(np.abs(w), axis=-1, keepdims=True) if n else np.zeros(np.shape(w))
    tolerance = 10 * n * eps * np.expand_dims(scale, -1)
    apart = np.abs(gaps) > tolerance
    return np.where(apart, 1.0 / np.where(apart, gaps, 1.0), 0.0)


def diagonal(x):
    """The diagonal of each matrix of a stack."""
    return np.einsum("...ii->...i", x)


def diagonal_matrix(d):
    """A stack of diagonal matrices from a stack of vectors."""
    return np.expand_dims(d, -1) * np.eye(np.shape(d)[-1], dtype=d.dtype)


def mT(x):
    return matrix_transpose(x)


def conj(x):
    """``np.conj(x)`` for a complex ``x``; a real ``x`` itself (no copy)."""
    return np.conj(x) if np.iscomplexobj(x) else x


def mH(x):
    """The conjugate transpose of each matrix of a stack."""
    return conj(matrix_transpose(x))


def symmetric_from_triangle(x, lower):
    """The symmetric (Hermitian) matrix eigh, eigvalsh and cholesky read from one triangle
    of ``x``; LAPACK ignores the imaginary part of a complex diagonal."""
    if np.iscomplexobj(x):
        part = np.tril(x, -1) if lower else np.triu(x, 1)
        return part + mH(part) + diagonal_matrix(np.real(diagonal(x)))
    if lower:
        return np.tril(x) + mT(np.tril(x, -1))
    return np.triu(x) + mT(np.triu(x, 1))


def to_triangle(g, lower):
    """The transpose of ``symmetric_from_triangle``: a cotangent of the symmetric (Hermitian)
    matrix carried back to the one triangle it was read from."""
    if np.iscomplexobj(g):
        part = np.tril(g, -1) + conj(np.tril(mT(g), -1)) if lower else \
            np.triu(g, 1) + conj(np.triu(mT(g), 1))
        return part + diagonal_matrix(np.real(diagonal(g)).astype(g.dtype))
    if lower:
        return np.tril(g) + np.tril(mT(g), -1)
    return np.triu(g) + np.triu(mT(g), 1)


def _real_only(complex_input, name):
    """An error for a complex matrix where s2s differentiates real ones only."""
    if complex_input:
        raise TypeError(f"s2s differentiates np.linalg.{name} of real matrices only; this one "
                        f"is complex")


def lower_half_diagonal(x):
    """The strictly lower triangle of ``x`` plus half its diagonal."""
    return np.tril(x, -1) + 0.5 * diagonal_matrix(diagonal(x))


def _lower(uplo):
    if uplo not in ("L", "U", "l", "u"):
        raise ValueError(f"UPLO must be 'L' or 'U', not {uplo!r}")
    return uplo in ("L", "l")


# --- determinants ----------------------------------------------------------------------------

def slogdet_tangent(da, a, sign):
    """Tangents of ``sign, logabsdet = np.linalg.slogdet(a)``: with ``t = tr(a^-1 da)``,
    ``dlogabsdet = Re t`` and ``dsign = 1j sign Im t`` (a real sign is locally constant)."""
    t = np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1)
    if np.iscomplexobj(sign):
        return 1j * sign * np.imag(t), np.real(t)
    return 0.0 * sign, t


def slogdet_adjoint(g_sign, g_logabsdet, a, sign):
    """Cotangent of ``a`` in ``sign, logabsdet = np.linalg.slogdet(a)``: ``c a^-T`` with
    ``c = g_logabsdet + 1j Im(g_sign sign)``, the transpose of ``slogdet_tangent``."""
    c = cotangent_or_zeros(g_logabsdet, np.real(sign))
    if np.iscomplexobj(sign) and g_sign is not None:
        c = c + 1j * np.imag(g_sign * sign)
    return match_dtype(np.expand_dims(c, (-2, -1)) * mT(np.linalg.inv(a)), a)


# --- symmetric eigenproblems -----------------------------------------------------------------

def eigh_tangent(da, result, uplo):
    """Tangents of ``w, v = np.linalg.eigh(a, uplo)``: ``dw = diag(v^H ds v)`` and
    ``dv = v (F * (v^H ds v))``, with ``ds`` the symmetric (Hermitian) matrix read from
    ``da``."""
    w, v = result
    projected = mH(v) @ symmetric_from_triangle(da, _lower(uplo)) @ v
    dw = np.real(diagonal(projected))
    dv = v @ (reciprocal_gaps(w) * projected)
    return dw, dv


def eigh_adjoint(gw, gv, a, w, v, uplo):
    """Cotangent of ``a`` in ``w, v = np.linalg.eigh(a, uplo)``:
    ``conj(v) (diag(gw) + F * (v^T gv)) v^T``, carried back to the triangle read. (The parts
    come one by one: a helper whose parameters are arrays is differentiated again by s2s.)"""
    gw, gv = cotangent_or_zeros(gw, w), cotangent_or_zeros(gv, v)
    inner = diagonal_matrix(np.real(gw)) + reciprocal_gaps(w) * (mT(v) @ gv)
    return match_dtype(to_triangle(conj(v) @ inner @ mT(v), _lower(uplo)), a)


def eigvalsh_tangent(da, a, uplo):
    """Tangent of ``w = np.linalg.eigvalsh(a, uplo)``: ``diag(v^H ds v)``."""
    v = np.linalg.eigh(a, uplo)[1]
    ds = symmetric_from_triangle(da, _lower(uplo))
    return np.real(np.sum(conj(v) * (ds @ v), axis=-2))


def eigvalsh_adjoint(g, a, uplo):
    """Cotangent of ``a`` in ``w = np.linalg.eigvalsh(a, uplo)``: ``conj(v) diag(gw) v^T``."""
    v = np.linalg.eigh(a, uplo)[1]
    return match_dtype(to_triangle((conj(v) * np.expand_dims(np.real(g), -2)) @ mT(v),
                                   _lower(uplo)), a)


def cholesky_tangent(da, factor, upper):
    """Tangent of ``np.linalg.cholesky(a, upper=upper)``: ``dL = L Phi(L^-1 ds L^-H)``, Phi
    the strictly lower triangle plus half the diagonal (``dU = dL^H`` for the upper factor,
    ``U = L^H``); ``ds`` is the symmetric (Hermitian) matrix read from ``da``."""
    low = mH(factor) if upper else factor
    inverse = np.linalg.inv(low)
    ds = symmetric_from_triangle(da, not upper)
    d_low = low @ lower_half_diagonal(inverse @ ds @ mH(inverse))
    return mH(d_low) if upper else d_low


def cholesky_adjoint(g, a, factor, upper):
    """Cotangent of ``a`` in ``np.linalg.cholesky(a, upper=upper)``:
    ``L^-T Phi(L^T gL) conj(L)^-1``, carried back to the triangle read (for a complex ``a``,
    the conjugate of the usual ``L^-H Phi(L^H conj(gL)) L^-1``, by s2s's convention)."""
    low, g_low = (mH(factor), mH(g)) if upper else (factor, g)
    inverse = np.linalg.inv(low)
    gs = mT(inverse) @ lower_half_diagonal(mT(low) @ g_low) @ conj(inverse)
    return match_dtype(to_triangle(gs, not upper), a)


# --- general eigenproblem -------------------------------------------------------------------

def _unit_columns(dv, v):
    """``dv`` less the part along each unit column ``v_j`` that would change its length:
    eig's eigenvectors have norm 1 (the rest of a complex column's phase is arbitrary)."""
    return dv - v * np.real(np.sum(conj(v) * dv, axis=-2, keepdims=True))


def eig_tangent(da, result):
    """Tangents of ``w, v = np.linalg.eig(a)``: with ``p = v^-1 da v``, ``dw = diag(p)`` and
    ``dv = v (F * p)``, less its part along each unit column ``v_j``. A real ``a`` may have
    complex eigenvalues: their tangents are complex."""
    w, v = result
    projected = np.linalg.solve(v, da @ v)
    return diagonal(projected), _unit_columns(v @ (reciprocal_gaps(w) * projected), v)


def eig_adjoint(gw, gv, a, w, v):
    """Cotangent of ``a`` in ``w, v = np.linalg.eig(a)``:
    ``v^-T (diag(gw) + F * (v^T gv')) v^T``, with gv' = gv less ``conj(v_j) Re(v_j^T gv_j)``
    (the transpose of keeping each column's length); a real ``a`` gets the real part."""
    gw, gv = cotangent_or_zeros(gw, w), cotangent_or_zeros(gv, v)
    gv = gv - conj(v) * np.real(np.sum(v * gv, axis=-2, keepdims=True))
    inner = diagonal_matrix(gw) + reciprocal_gaps(w) * (mT(v) @ gv)
    return _real_part_for(np.linalg.solve(mT(v), inner @ mT(v)), a)


def eigvals_tangent(da, a):
    """Tangent of ``w = np.linalg.eigvals(a)``: ``diag(v^-1 da v)``."""
    v = np.linalg.eig(a)[1]
    return diagonal(np.linalg.solve(v, da @ v))


def eigvals_adjoint(g, a):
    """Cotangent of ``a`` in ``w = np.linalg.eigvals(a)``: ``v^-T diag(gw) v^T``."""
    v = np.linalg.eig(a)[1]
    return _real_part_for(np.linalg.solve(mT(v), np.expand_dims(g, -1) * mT(v)), a)


def _real_part_for(g, a):
    """``g`` as the cotangent of ``a``: its real part when ``a`` is real."""
    if np.iscomplexobj(g) and not np.iscomplexobj(a):
        g = np.real(g)
    return match_dtype(g, a)


# --- singular value decomposition ------------------------------------------------------------

def _thin_only(shape, full_matrices):
    """An error for full U and V of a non-square matrix: they hold a basis of the complement
    that no derivative pins down."""
    m, n = shape[-2:]
    if full_matrices and m != n:
        raise ValueError(
            f"s2s differentiates np.linalg.svd of a {m}x{n} (non-square) matrix only with "
            f"full_matrices=False: with full matrices the extra columns of u or vh are an "
            f"arbitrary basis, which has no derivative")


def svd_tangent(da, a, result, full_matrices, hermitian):
    """Tangents of ``u, s, vh = np.linalg.svd(a)``: with ``p = u^H da v``, ``ds = Re diag(p)``,
    ``du = u (F * (p S + S p^H)) + (I - u u^H) da v S^-1``, and dv alike with ``a^H``; a
    complex ``du`` also turns each column by ``1j Im(p_jj) / s_j`` (dv's columns not at all,
    one choice of the arbitrary phase). ``hermitian=True`` reads the lower triangle of ``a``."""
    shape = np.shape(a)
    _thin_only(shape, full_matrices)
    u, s, vh = result
    if hermitian:
        complex_input = np.result_type(a).kind == "c"
        _real_only(complex_input, "svd with hermitian=True")
        da = symmetric_from_triangle(da, True)
    v = mH(vh)
    projected = mH(u) @ da @ v
    gaps = reciprocal_gaps(s * s)
    s_row, s_col = np.expand_dims(s, -2), np.expand_dims(s, -1)
    du = u @ (gaps * (projected * s_row + s_col * mH(projected)))
    dv = v @ (gaps * (s_col * projected + mH(projected) * s_row))
    if np.iscomplexobj(projected):
        du = du + u * (1j * np.imag(diagonal(projected)) * safe_reciprocal(s))[..., None, :]
    m, n = np.shape(a)[-2:]
    k = np.shape(s)[-1]
    if m > k:
        du = du + (da @ v - u @ projected) * np.expand_dims(safe_reciprocal(s), -2)
    if n > k:
        dv = dv + (mH(da) @ u - v @ mH(projected)) * np.expand_dims(safe_reciprocal(s), -2)
    return du, np.real(diagonal(projected)), mH(dv)


def svd_adjoint(gu, gs, gvh, a, u, s, vh, full_matrices, hermitian):
    """Cotangent of ``a`` in ``u, s, vh = np.linalg.svd(a)``:
    ``conj(u) X conj(vh) + (I - conj(u) u^T) gu S^-1 conj(vh)
    + conj(u) S^-1 gv^H (I - conj(v) v^T)``, with gv = gvh^H,
    ``X = diag(gs) + (J + J^H) S + S (K + K^H)``, ``J = F * (u^T gu)``, ``K = F * (v^T gv)``
    (real matrices: every conj drops out). For complex ``a``, X also holds the transpose of
    the turn of u's columns in ``svd_tangent``: ``1j Im(diag(u^T gu)) / s``."""
    shape = np.shape(a)
    _thin_only(shape, full_matrices)
    if hermitian:
        complex_input = np.result_type(a).kind == "c"
        _real_only(complex_input, "svd with hermitian=True")
    gu, gs, gvh = cotangent_or_zeros(gu, u), cotangent_or_zeros(gs, s), cotangent_or_zeros(gvh, vh)
    v, gv = mH(vh), mH(gvh)
    gaps = reciprocal_gaps(s * s)
    u_gu = mT(u) @ gu
    j = gaps * u_gu
    k_ = gaps * (mT(v) @ gv)
    s_row, s_col = np.expand_dims(s, -2), np.expand_dims(s, -1)
    inner = diagonal_matrix(np.real(gs)) + (j + mH(j)) * s_row + s_col * (k_ + mH(k_))
    if np.iscomplexobj(u_gu):
        inner = inner + diagonal_matrix(1j * np.imag(diagonal(u_gu)) * safe_reciprocal(s))
    da = conj(u) @ inner @ conj(vh)
    m, n = np.shape(a)[-2:]
    k = np.shape(s)[-1]
    if m > k:
        da = da + ((gu - conj(u) @ u_gu) * np.expand_dims(safe_reciprocal(s), -2)) @ conj(vh)
    if n > k:
        da = da + conj(u) @ mH((gv - conj(v) @ (mT(v) @ gv))
                               * np.expand_dims(safe_reciprocal(s), -2))
    if hermitian:
        da = to_triangle(da, True)
    return _real_part_for(da, a)


def singular_values_tangent(da, a, hermitian):
    """Tangent of ``s = np.linalg.svd(a, compute_uv=False)``: ``Re diag(u^H da v)``."""
    u, _, vh = np.linalg.svd(a, full_matrices=False, hermitian=hermitian)
    if hermitian:
        complex_input = np.result_type(a).kind == "c"
        _real_only(complex_input, "svd with hermitian=True")
        da = symmetric_from_triangle(da, True)
    return np.real(np.sum(conj(u) * (da @ mH(vh)), axis=-2))


def singular_values_adjoint(g, a, hermitian):
    """Cotangent of ``a`` in ``s = np.linalg.svd(a, compute_uv=False)``:
    ``conj(u) diag(gs) conj(vh)``."""
    u, _, vh = np.linalg.svd(a, full_matrices=False, hermitian=hermitian)
    if hermitian:
        complex_input = np.result_type(a).kind == "c"
        _real_only(complex_input, "svd with hermitian=True")
    da = (conj(u) * np.expand_dims(np.real(g), -2)) @ conj(vh)
    return match_dtype(to_triangle(da, True) if hermitian else da, a)


# --- QR --------------------------------------------------------------------------------------

def _qr_mode(shape, mode):
    """An error for the modes of ``np.linalg.qr`` without a derivative."""
    m, n = shape[-2:]
    if mode not in ("reduced", "complete", "r") or (mode == "complete" and m > n):
        raise ValueError(
            f"s2s differentiates np.linalg.qr with mode 'reduced' or 'r' (and 'complete' when "
            f"the matrix has no more rows than columns), not mode={mode!r} of a {m}x{n} matrix: "
            f"the extra columns of a complete q are an arbitrary basis, which has no derivative")


def _qr_parts(a, result, mode):
    """(q, r) of ``np.linalg.qr(a, mode)``, for the modes with a derivative."""
    shape = np.shape(a)
    _qr_mode(shape, mode)
    if mode == "r":
        return np.linalg.qr(a)[0], result
    return result


def _skew_part(x):
    """``L(x) - L(x)^H`` (L: strictly lower), plus ``1j Im`` of ``x``'s diagonal when complex:
    the skew-Hermitian ``q^H dq`` of a QR whose ``r`` has a real diagonal (as LAPACK's has)."""
    lower = np.tril(x, -1)
    omega = lower - mH(lower)
    if np.iscomplexobj(x):
        omega = omega + 1j * diagonal_matrix(np.imag(diagonal(x)))
    return omega


def qr_tangent(da, a, result, mode):
    """Tangents of ``q, r = np.linalg.qr(a)``. With k = min(m, n), the first k columns
    ``a1 = q r1``: ``x = q^H da1 r1^-1``, ``omega = L(x) - L(x)^H`` (L: strictly lower; for a
    complex ``a`` also ``1j Im diag(x)``, as r's diagonal stays real),
    ``dq = q omega + (da1 - q q^H da1) r1^-1``, ``dr1 = (x - omega) r1``; the other columns
    of r are ``q^H a2``, so ``dr2 = dq^H a2 + q^H da2``."""
    q, r = _qr_parts(a, result, mode)
    k = np.shape(r)[-2]
    r1_inverse = np.linalg.inv(r[..., :, :k])
    da1 = da[..., :, :k]
    x = mH(q) @ da1 @ r1_inverse
    omega = _skew_part(x)
    dq = q @ omega + (da1 - q @ (mH(q) @ da1)) @ r1_inverse
    dr = np.concatenate([(x - omega) @ r[..., :, :k],
                         mH(dq) @ a[..., :, k:] + mH(q) @ da[..., :, k:]], axis=-1)
    return dr if mode == "r" else (dq, dr)


def qr_adjoint(gq, gr, a, q, r, mode):
    """Cotangent of ``a`` in ``q, r = np.linalg.qr(a)``: the transpose of ``qr_tangent``;
    for the first k columns ``(q (gr1 r1^H + S(b)) + (I - q q^H) gq) r1^-H`` with
    ``b = q^H gq - gr1 r1^H`` and ``S(b) = L(b - b^H)`` (plus ``1j Im diag(b)`` when
    complex), and ``q gr2`` for the others. That is the adjoint for the real inner product
    ``Re tr(g^H da)``: a complex cotangent (s2s's ``dL/dRe - 1j dL/dIm``) is conjugated
    before and after."""
    shape = np.shape(a)
    _qr_mode(shape, mode)
    gq, gr = conj(cotangent_or_zeros(gq, q)), conj(cotangent_or_zeros(gr, r))
    k = np.shape(r)[-2]
    r1 = r[..., :, :k]
    a2, gr2 = a[..., :, k:], gr[..., :, k:]
    gq = gq + a2 @ mH(gr2)
    r_part = gr[..., :, :k] @ mH(r1)
    b = mH(q) @ gq - r_part
    skew = np.tril(b - mH(b), -1)
    if np.iscomplexobj(b):
        skew = skew + 1j * diagonal_matrix(np.imag(diagonal(b)))
    inner = q @ (r_part + skew) + gq - q @ (mH(q) @ gq)
    da1 = mH(np.linalg.solve(r1, mH(inner)))
    return match_dtype(conj(np.concatenate([da1, q @ gr2], axis=-1)), a)


# --- pseudo-inverse and least squares ----------------------------------------------------------

def pinv_tangent(da, a, p, hermitian=False):
    """Tangent of ``p = np.linalg.pinv(a)`` where the rank is locally constant:
    ``-p da p + p p^H da^H (I - a p) + (I - p a) da^H p^H p``. ``hermitian=True`` reads the
    lower triangle of ``a`` only."""
    if hermitian:
        a, da = symmetric_from_triangle(a, True), symmetric_from_triangle(da, True)
    da_h = mH(da)
    return (-p @ da @ p + p @ (mH(p) @ (da_h - da_h @ (a @ p)))
            + (da_h - p @ (a @ da_h)) @ (mH(p) @ p))


def pinv_adjoint(g, a, p, hermitian=False):
    """Cotangent of ``a`` in ``p = np.linalg.pinv(a)``: the transpose of ``pinv_tangent``,
    ``-p^T g p^T + (I - a p)^* g^H p^* p^T + p^T p^* g^H (I - p a)^*`` (``^*`` the conjugate:
    a complex ``a`` enters through ``a^H`` too)."""
    full = symmetric_from_triangle(a, True) if hermitian else a
    g_h = mH(g)
    p_t, p_c, full_c = mT(p), conj(p), conj(full)
    da = (-p_t @ g @ p_t + (g_h - full_c @ (p_c @ g_h)) @ (p_c @ p_t)
          + (p_t @ p_c) @ (g_h - (g_h @ p_c) @ full_c))
    return match_dtype(to_triangle(da, True) if hermitian else da, a)


def _lstsq_pinv(a, rank):
    """The pseudo-inverse ``np.linalg.lstsq`` solved with: its ``rank`` largest singular values."""
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return (mH(vh[..., :rank, :]) / s[:rank]) @ mH(u[..., :, :rank])


def _as_matrix(b):
    return b[:, None] if np.ndim(b) == 1 else b


def lstsq_tangent(da, db, a, b, result):
    """Tangents of ``x, residuals, rank, s = np.linalg.lstsq(a, b)``: x = p b with p the
    pseudo-inverse of rank ``rank``; the residuals ``|b - a x|^2`` change by
    ``2 r . (db - da x)`` (``a^T r = 0``); the singular values as in ``svd``."""
    x, residuals, rank, s = result
    p = _lstsq_pinv(a, rank)
    # one of the two tangents may be a zero scalar (an operand not differentiated)
    da, db = da + np.zeros_like(a), db + np.zeros_like(b)
    dx = pinv_tangent(da, a, p) @ b + p @ db
    if np.size(residuals):
        x2, r = _as_matrix(x), _as_matrix(b) - a @ _as_matrix(x)
        d_residuals = 2.0 * np.sum(np.real(conj(r) * (_as_matrix(db) - da @ x2)), axis=0)
    else:
        d_residuals = np.zeros_like(residuals)
    return dx, d_residuals, 0.0, singular_values_tangent(da, a, False)


def lstsq_adjoint(gx, g_residuals, gs, a, b, x, residuals, rank, s):
    """Cotangents of ``a`` and ``b`` in ``x, residuals, rank, s = np.linalg.lstsq(a, b)``."""
    gx = cotangent_or_zeros(gx, x)
    p = _lstsq_pinv(a, rank)
    gx2, b2 = _as_matrix(gx), _as_matrix(b)
    da = pinv_adjoint(gx2 @ mT(b2), a, p) + singular_values_adjoint(cotangent_or_zeros(gs, s), a,
                                                                     False)
    db = mT(p) @ gx2
    if np.size(residuals):
        r = b2 - a @ _as_matrix(x)
        weighted = 2.0 * conj(r) * np.real(cotangent_or_zeros(g_residuals, residuals))
        da = da - weighted @ mT(_as_matrix(x))
        db = db + weighted
    return match_dtype(da, a), match_dtype(np.reshape(db, np.shape(b)), b)


# --- products ----------------------------------------------------------------------------------

def _powers(a, n):
    """``[a^0, a^1, ..., a^(n-1)]`` (a^0 the identity)."""
    power = np.broadcast_to(np.eye(np.shape(a)[-1], dtype=a.dtype), np.shape(a))
    out = [power]
    for _ in range(n - 1):
        power = power @ a
        out.append(power)
    return out


def matrix_power_tangent(da, a, n):
    """Tangent of ``np.linalg.matrix_power(a, n)``: ``sum_k a^k da a^(n-1-k)``; for n < 0,
    that of ``b^|n|`` with ``b = a^-1`` and ``db = -b da b``."""
    if n == 0:
        return np.zeros_like(da)
    if n < 0:
        a = np.linalg.inv(a)
        da, n = -a @ da @ a, -n
    powers = _powers(a, n)
    total = 0.0
    for k in range(n):
        total = total + powers[k] @ da @ powers[n - 1 - k]
    return total


def matrix_power_adjoint(g, a, n):
    """Cotangent of ``a`` in ``np.linalg.matrix_power(a, n)``: the transpose of the tangent,
    ``sum_k (a^k)^T g (a^(n-1-k))^T``."""
    if n == 0:
        return np.zeros_like(a)
    base = np.linalg.inv(a) if n < 0 else a
    powers = _powers(base, abs(n))
    total = 0.0
    for k in range(abs(n)):
        total = total + mT(powers[k]) @ g @ mT(powers[abs(n) - 1 - k])
    if n < 0:
        total = -mT(base) @ total @ mT(base)
    return match_dtype(total, a)


def _chain(arrays):
    """The operands of ``np.linalg.multi_dot`` as matrices (a 1-D first one a row, a 1-D last
    one a column)."""
    first, last = arrays[0], arrays[-1]
    if np.ndim(first) == 1:
        first = np.reshape(first, (1, -1))
    if np.ndim(last) == 1:
        last = np.reshape(last, (-1, 1))
    return [first] + list(arrays[1:-1]) + [last]


def _product(mats):
    """The product of a non-empty list of matrices."""
    if len(mats) == 1:
        return mats[0]
    return np.linalg.multi_dot(mats)


def multi_dot_tangent(darrays, arrays):
    """Tangent of ``np.linalg.multi_dot(arrays)``: one term per operand, that operand replaced
    by its tangent."""
    total = 0.0
    for i in range(len(arrays)):
        total = total + np.linalg.multi_dot(list(arrays[:i]) + [darrays[i]]
                                            + list(arrays[i + 1:]))
    return total


def multi_dot_adjoint(g, arrays):
    """Cotangents of the operands of ``np.linalg.multi_dot(arrays)``: for operand i,
    ``(a_0 ... a_(i-1))^T g (a_(i+1) ... a_last)^T``, in the operand's own shape."""
    mats = _chain(arrays)
    g = np.reshape(g, (np.shape(mats[0])[0], np.shape(mats[-1])[1]))
    out = []
    for i in range(len(mats)):
        d = g
        if i > 0:
            d = mT(_product(mats[:i])) @ d
        if i < len(mats) - 1:
            d = d @ mT(_product(mats[i + 1:]))
        out.append(match_dtype(np.reshape(d, np.shape(arrays[i])), arrays[i]))
    return out
