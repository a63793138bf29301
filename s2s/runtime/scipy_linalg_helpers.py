"""What the rules of ``scipy.linalg`` call from generated code (``templates/*/scipy_linalg.py``).

Imported only by those rule modules, which s2s loads once the user's code has imported
``scipy.linalg``: s2s itself never imports SciPy. Inputs are real matrices.

    x = scipy.linalg.solve_triangular(a, b, lower=True)
    ->  da, db = solve_triangular_adjoint(dx, a, b, x, 0, True, False)
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from s2s.runtime.linalg_helpers import cholesky_adjoint, cholesky_tangent, mT
from s2s.runtime.numpy_helpers import cotangent_or_zeros, match_dtype


def _outer(u, v):
    """``u v^T`` for matrices, the outer product for vectors."""
    return np.outer(u, v) if np.ndim(u) == 1 else u @ mT(v)


def _triangle(x, lower, unit_diagonal):
    """The part of ``x`` a triangular solve reads."""
    k = 0 if not unit_diagonal else (-1 if lower else 1)
    return np.tril(x, k) if lower else np.triu(x, k)


def _transposed(trans):
    return trans in (1, 2, "T", "C")


def solve_triangular_tangent(da, db, a, b, x, trans, lower, unit_diagonal):
    """Tangent of ``x = solve_triangular(a, b, trans, lower, unit_diagonal)``:
    ``op(t) dx = db - op(dt) x``, with ``t`` the triangle read and op the transpose or not."""
    dt = _triangle(da + np.zeros_like(a), lower, unit_diagonal)
    right = db - (mT(dt) if _transposed(trans) else dt) @ x
    return scipy.linalg.solve_triangular(a, right, trans=trans, lower=lower,
                                         unit_diagonal=unit_diagonal)


def solve_triangular_adjoint(g, a, b, x, trans, lower, unit_diagonal):
    """Cotangents of ``a`` and ``b`` in ``x = solve_triangular(a, b, ...)``:
    ``gb = op(t)^-T g`` and ``ga = -gb x^T`` (transposed for op = T), on the triangle read."""
    gb = scipy.linalg.solve_triangular(a, g, trans=0 if _transposed(trans) else 1,
                                       lower=lower, unit_diagonal=unit_diagonal)
    ga = -_outer(gb, x)
    ga = mT(ga) if _transposed(trans) else ga
    return match_dtype(_triangle(ga, lower, unit_diagonal), a), match_dtype(gb, b)


def _other_triangle(x, lower):
    """The part of ``x`` outside the triangle a Cholesky factor is stored in."""
    return np.triu(x, 1) if lower else np.tril(x, -1)


def cho_factor_tangent(da, a, result):
    """Tangent of ``c, lower = cho_factor(a, lower)``: the factor's tangent in its triangle;
    the rest of ``c`` is ``a``'s entries, copied."""
    c, lower = result
    factor = np.tril(c) if lower else np.triu(c)
    dc = cholesky_tangent(da, factor, not lower) + _other_triangle(da, lower)
    return dc, 0.0


def cho_factor_adjoint(gc, a, c, lower):
    """Cotangent of ``a`` in ``c, lower = cho_factor(a, lower)``."""
    gc = cotangent_or_zeros(gc, c)
    factor, g_factor = (np.tril(c), np.tril(gc)) if lower else (np.triu(c), np.triu(gc))
    return match_dtype(cholesky_adjoint(g_factor, a, factor, not lower)
                       + _other_triangle(gc, lower), a)


def _factor(c_and_lower):
    c, lower = c_and_lower
    return (np.tril(c) if lower else np.triu(c)), lower


def cho_solve_tangent(dc, db, c_and_lower, b, x):
    """Tangent of ``x = cho_solve((c, lower), b)``, ``a = l l^T`` (or ``u^T u``):
    ``a dx = db - da x`` with ``da = dl l^T + l dl^T``."""
    factor, lower = _factor(c_and_lower)
    d_factor = (np.tril if lower else np.triu)(dc + np.zeros_like(factor))
    low, d_low = (factor, d_factor) if lower else (mT(factor), mT(d_factor))
    da = d_low @ mT(low) + low @ mT(d_low)
    return scipy.linalg.cho_solve(c_and_lower, db - da @ x)


def cho_solve_adjoint(g, c_and_lower, b, x):
    """Cotangents of ``c`` and ``b`` in ``x = cho_solve((c, lower), b)``:
    ``gb = a^-1 g``, ``ga = -gb x^T``, and ``gl = (ga + ga^T) l`` on the factor's triangle."""
    c, lower = c_and_lower
    factor = np.tril(c) if lower else np.triu(c)
    gb = scipy.linalg.cho_solve((factor, lower), g)
    ga = -_outer(gb, x)
    symmetric = ga + mT(ga)
    gc = np.tril(symmetric @ factor) if lower else np.triu(factor @ symmetric)
    return match_dtype(gc, c), match_dtype(gb, b)


def expm_frechet(a, e):
    """The derivative of ``expm`` at ``a`` along ``e``: the upper right block of
    ``expm([[a, e], [0, a]])`` (stacks of matrices too)."""
    n = np.shape(a)[-1]
    top = np.concatenate([a, e], axis=-1)
    bottom = np.concatenate([np.zeros_like(a), a], axis=-1)
    return scipy.linalg.expm(np.concatenate([top, bottom], axis=-2))[..., :n, n:]


def expm_adjoint(g, a):
    """Cotangent of ``a`` in ``scipy.linalg.expm(a)``: the derivative at ``a^T`` along ``g``."""
    return match_dtype(expm_frechet(mT(a), g + np.zeros_like(a)), a)


def _real_root(complex_result):
    if complex_result:
        raise ValueError(
            "s2s differentiates scipy.linalg.sqrtm only where the square root is real (no "
            "negative real eigenvalue); this one is complex, and s2s does not differentiate "
            "complex results")


def _sylvester(left, right, q):
    """``x`` with ``left x + x right = q``, for each matrix of a stack."""
    out = np.empty(np.broadcast_shapes(np.shape(left), np.shape(q)), dtype=np.result_type(left, q))
    for index in np.ndindex(out.shape[:-2]):
        out[index] = scipy.linalg.solve_sylvester(left[index], right[index], q[index])
    return out


def sqrtm_tangent(da, root):
    """Tangent of ``x = scipy.linalg.sqrtm(a)``: ``x dx + dx x = da``."""
    complex_result = root.dtype.kind == "c"
    _real_root(complex_result)
    return _sylvester(root, root, da + np.zeros_like(root))


def sqrtm_adjoint(g, a, root):
    """Cotangent of ``a`` in ``x = scipy.linalg.sqrtm(a)``: ``x^T ga + ga x^T = g``."""
    complex_result = root.dtype.kind == "c"
    _real_root(complex_result)
    return match_dtype(_sylvester(mT(root), mT(root), g + np.zeros_like(root)), a)
