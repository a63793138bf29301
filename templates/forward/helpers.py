"""Forward-mode rules of the helpers that generated gradient code calls.

A gradient is itself generated code: ``unbroadcast(dresult * x2, x1)``, ``prod_adjoint(...)``,
``add(d, v)``. These rules let s2s differentiate that code again, for Hessians (forward over
reverse). Most helpers are linear in their cotangent ``g``, so ``g``'s tangent goes through
the same helper; a helper that is also linear in a primal (``matmul_adjoint_x1(g, x1, x2)`` is
``g @ x2.T``) gets a second term with that primal's tangent. Arguments that only give a shape,
an axis or a mask (``x`` in ``unbroadcast(g, x)``, the extremum in ``share_among_extrema``)
have no tangent term.

Helpers that name a parameter ``result`` are matched with another name here (``result`` is the
helper's own output in a rule); generated code always passes these arguments by position.
That argument is the primal's result (``np.prod(x)`` for ``prod_adjoint(g, x, product, ...)``)
and moves with ``x``: the ``x`` term is the whole derivative, and the result gets none.

    gx = unbroadcast(g, x)                ->    dgx = unbroadcast(dg, x)
    gx = matmul_adjoint_x1(g, x1, x2)     ->    dgx = matmul_adjoint_x1(dg, x1, x2)
                                                      + matmul_adjoint_x1(g, x1, dx2)

Three helpers need a support function for their second derivatives (defined below):
``product_of_others`` (and ``prod_adjoint``, built on it), ``cumprod_adjoint`` and
``norm_adjoint`` (``einsum_adjoints``' are in ``s2s/runtime/shape_helpers.py``). Those
derivatives are symmetric (Hessians), so their reverse rules use the same functions and are
registered here too; a template module may import only NumPy, ``s2s.numpy_helpers``,
``s2s.runtime`` and ``s2s.rules``. The helpers ``normalize_axes``, ``inverse_permutation``,
``ones_like`` and ``zeros_like`` are declared nondifferentiable in
``templates/reverse/nondifferentiable.py``.
"""
import numpy as np

from s2s.runtime.numpy_helpers import (cotangent_or_zeros, cumprod_adjoint, diag_adjoint, dot_adjoint_a,
                               dot_adjoint_b, einsum_adjoints, expand_reduced,
                               extremum_share,
                               hstack_adjoint, inner_adjoint, match_dtype, matmul_adjoint_x1,
                               matmul_adjoint_x2, matrix_transpose, norm_adjoint, normalize_axes,
                               power_dbase, power_dexponent, prod_adjoint, product_of_others,
                               restore_reduced_axes, reverse_cumsum, share_among_args,
                               share_among_extrema, solve_adjoint_a, solve_adjoint_b, split_like,
                               split_sum, tensordot_adjoint_a, tensordot_adjoint_b, trace_adjoint,
                               unblock, unbroadcast, unpack_like, unrepeat, unstack, untake,
                               untile)
from s2s.rules import adjoint, linear, tangent
from s2s.runtime import (add, add_at, add_at_iteration, add_at_iteration_tangent,
                         add_at_tangent, fresh_copy, items_cotangent,
                         items_tangent, own, restructure, sorted_tangent, unsort)
from s2s.runtime.shape_helpers import (einsum_adjoints_tangent, einsum_cross_adjoints,
                                       einsum_terms, gradient_adjoint, join_tangents,
                                       pad_adjoint, pad_constant_adjoint, split_joined)


# --- support functions for second derivatives ----------------------------------------------------
# They belong in s2s/numpy_helpers.py beside the helpers they differentiate.

def _is_zero(t):
    """Is ``t`` the scalar zero that stands for a tangent the engine knows to be zero?"""
    return not isinstance(t, (list, tuple)) and np.ndim(t) == 0 and t == 0


def cumprod_derivative(x, v, axis):
    """The derivative of ``np.cumprod(x, axis)`` along ``v`` (``axis`` an int), exact with
    zeros in ``x``.

    A cumulative product is a polynomial, so for real ``x`` and ``v`` the complex step gives
    it exactly. A complex ``x`` or ``v`` leaves no room for the step: a running product and
    its derivative are carried along the axis instead (the product rule, one entry at a time).
    """
    x = np.asarray(x)
    if not (np.iscomplexobj(x) or np.iscomplexobj(v)):
        return np.imag(np.cumprod(x + 1e-20j * v, axis=axis)) * 1e20
    moved = np.moveaxis(x, axis, -1)
    along = np.moveaxis(np.broadcast_to(v, x.shape), axis, -1)
    product = np.ones(moved.shape[:-1], np.result_type(x, v))
    derivative = np.zeros_like(product)
    out = np.empty(moved.shape, product.dtype)
    for i in range(moved.shape[-1]):
        derivative = derivative * moved[..., i] + product * along[..., i]
        product = product * moved[..., i]
        out[..., i] = derivative
    return np.moveaxis(out, -1, axis)


def product_of_others_derivative(x, v, axes):
    """The derivative of ``product_of_others(x, axes)`` along ``v``.

    That is the Hessian of the product times ``v``; being symmetric (the product is
    holomorphic, so for complex ``x`` too), it is also the cotangent of ``x`` for a cotangent
    ``v``. The products of the entries before and after each one, and their derivatives, are
    cumulative products: exact, zeros included.
    """
    x = np.asarray(x)
    if not (np.iscomplexobj(x) or np.iscomplexobj(v)):
        return np.imag(product_of_others(x + 1e-20j * v, axes)) * 1e20
    last = tuple(range(x.ndim - len(axes), x.ndim))
    moved = np.moveaxis(x, axes, last)
    flat = moved.reshape(moved.shape[:x.ndim - len(axes)] + (-1,))
    dflat = np.moveaxis(np.broadcast_to(v, x.shape), axes, last).reshape(flat.shape)
    ones, zeros = np.ones_like(flat[..., :1]), np.zeros_like(dflat[..., :1])

    def exclusive(entries, tangents):
        head = np.concatenate([ones, entries[..., :-1]], axis=-1)
        dhead = np.concatenate([zeros, tangents[..., :-1]], axis=-1)
        return np.cumprod(head, axis=-1), cumprod_derivative(head, dhead, -1)
    before, dbefore = exclusive(flat, dflat)
    after, dafter = exclusive(flat[..., ::-1], dflat[..., ::-1])
    derivative = dbefore * after[..., ::-1] + before * dafter[..., ::-1]
    return np.moveaxis(derivative.reshape(moved.shape), last, axes)


def cumprod_adjoint_derivative(g, x, v, axis):
    """The derivative of ``cumprod_adjoint(g, x, np.cumprod(x, axis), axis)`` in ``x``,
    along ``v`` (``axis`` an int).

    ``cumprod_adjoint`` is the gradient of ``<g, cumprod(x)>``, so this is that function's
    Hessian times ``v``; being symmetric, it is also the cotangent of ``x`` for a cotangent
    ``v``. Cumulative products are polynomials: their directional derivatives
    (``cumprod_derivative``) are exact with zeros in ``x``.
    """
    x = np.asarray(x)
    if np.all(x):
        # cumprod_adjoint = s / x, with s = reverse_cumsum(g * cumprod(x))
        s = reverse_cumsum(g * np.cumprod(x, axis=axis), axis)
        ds = reverse_cumsum(g * cumprod_derivative(x, v, axis), axis)
        return match_dtype((ds - s * (v / x)) / x, x)
    # as cumprod_adjoint does with zeros: each position redone with its entry set to 1
    moved = np.moveaxis(x, axis, -1)
    along = np.moveaxis(np.broadcast_to(v, x.shape), axis, -1)
    g = np.moveaxis(np.broadcast_to(g, x.shape), axis, -1)
    out = np.empty(moved.shape, np.result_type(g, x, v))
    for i in range(moved.shape[-1]):
        others, dothers = moved.copy(), along.copy()
        others[..., i], dothers[..., i] = 1, 0
        out[..., i] = np.sum((g * cumprod_derivative(others, dothers, -1))[..., i:], axis=-1)
    return match_dtype(np.moveaxis(out, -1, axis), x)


def norm_adjoint_derivative(g, x, norm, v, ord, axis, keepdims):
    """The derivative of ``norm_adjoint(g, x, norm, ord, axis, keepdims)`` in ``x`` along
    ``v``, where ``norm = np.linalg.norm(x, ord, axis, keepdims)``.

    That is ``g`` times the norm's Hessian times ``v``; being symmetric, it is also the
    cotangent of ``x`` for a cotangent ``v``. Smooth p-norms (2, Frobenius, any p but 0, 1
    and inf) have a closed form; norms made of absolute values and maxima (vector 0, 1, inf;
    matrix 1, inf) are piecewise linear, with a zero Hessian; the nuclear and spectral norms
    go through the singular value decomposition (simple, nonzero singular values assumed).
    """
    x = np.asarray(x)
    if np.iscomplexobj(x):
        return complex_norm_adjoint_derivative(g, x, norm, v, ord, axis, keepdims)
    g = restore_reduced_axes(match_dtype(g, x), x, axis, keepdims)
    r = restore_reduced_axes(norm, x, axis, keepdims)
    if isinstance(axis, tuple):
        matrix = len(axis) == 2
    else:
        matrix = axis is None and ord is not None and x.ndim == 2
    if ord is None or ord == "fro" or not (matrix or ord in (0, 1, np.inf, -np.inf)):
        # N = (sum |x|^p)^(1/p):  H = (p - 1) / N (diag((|x| / N)^(p - 2)) - grad grad^T)
        p = 2 if ord is None or ord == "fro" else ord
        gradient = np.sign(x) * (np.abs(x) / r) ** (p - 1)
        along = np.sum(gradient * v, axis=axis, keepdims=True)
        return g * ((p - 1) / r) * ((np.abs(x) / r) ** (p - 2) * v - gradient * along)
    if not matrix or ord in (1, -1, np.inf, -np.inf):
        return np.zeros_like(g * x)
    rows, cols = (0, 1) if axis is None else tuple(a % x.ndim for a in axis)
    moved = np.moveaxis(x, (rows, cols), (-2, -1))
    dx = np.moveaxis(np.broadcast_to(v, x.shape), (rows, cols), (-2, -1))
    u, s, vt = np.linalg.svd(moved, full_matrices=False)
    vv = matrix_transpose(vt)
    ut_dx = np.matmul(matrix_transpose(u), dx)
    dx_v = np.matmul(dx, vv)
    p = np.matmul(ut_dx, vv)
    if ord == "nuc":
        # d(U V^T) = U [(P - P^T) / (s_i + s_j)] V^T + (I - U U^T) dX V S^-1 V^T
        #            + U S^-1 U^T dX (I - V V^T),   with P = U^T dX V
        core = (p - matrix_transpose(p)) / (s[..., :, None] + s[..., None, :])
        d = (np.matmul(np.matmul(u, core), vt)
             + np.matmul(dx_v - np.matmul(u, p), vt / s[..., :, None])
             + np.matmul(u / s[..., None, :], ut_dx - np.matmul(p, vt)))
    else:
        # d(u_k v_k^T) for the largest (2) or smallest (-2) singular value s_k
        k = 0 if ord == 2 else s.shape[-1] - 1
        sk = s[..., k:k + 1]
        gap = sk * sk - s * s
        gap[..., k] = 1.0
        weight = 1.0 / gap
        weight[..., k] = 0.0
        uk, vk = u[..., :, k], vv[..., :, k]
        coef_u = weight * (sk * p[..., :, k] + s * p[..., k, :])
        coef_v = weight * (sk * p[..., k, :] + s * p[..., :, k])
        du = (np.matmul(u, coef_u[..., None])[..., 0]
              + (dx_v[..., :, k] - np.matmul(u, p[..., :, k:k + 1])[..., 0]) / sk)
        dxt_u = ut_dx[..., k, :]
        dv = (np.matmul(vv, coef_v[..., None])[..., 0]
              + (dxt_u - np.matmul(vv, p[..., k:k + 1, :].swapaxes(-1, -2))[..., 0]) / sk)
        d = du[..., :, None] * vk[..., None, :] + uk[..., :, None] * dv[..., None, :]
    return g * np.moveaxis(d, (-2, -1), (rows, cols))


def complex_norm_adjoint_derivative(g, x, norm, v, ord, axis, keepdims):
    """``norm_adjoint_derivative`` of a complex ``x``: the norm is a real function of the real
    and imaginary parts, ``norm_adjoint`` the conjugate of its gradient ``F`` (``g x / |x|``
    for the 2-norm), and this the conjugate of ``F``'s derivative along ``v``, a
    real-linear map (``v`` and ``conj(v)`` both appear). Its real Hessian is symmetric, so
    under s2s's convention it is also the cotangent of ``x`` for a cotangent ``v``.

    With ``s = x / |x|``: ``d|x| = Re(conj(s) v)`` and ``ds = (v - s Re(conj(s) v)) / |x|``,
    so norms built from ``|x|`` (p-norms; the vector 1- and inf-norms and the matrix 1- and
    inf-norms, which are not piecewise linear here) follow by the product rule. The nuclear
    norm's ``F`` is ``g U V^H``, differentiated as a real matrix ``[[A, -B], [B, A]]`` (of
    ``A + iB``, singular values doubled), whose ``U V^T`` is ``[[P, -Q], [Q, P]]`` for
    ``U V^H = P + iQ``; the spectral norms' ``F`` is ``g u_k v_k^H``, by complex perturbation
    of the singular vectors (simple, nonzero singular values assumed).
    """
    g = restore_reduced_axes(np.real(g), x, axis, keepdims)
    r = restore_reduced_axes(norm, x, axis, keepdims)
    v = np.broadcast_to(v, x.shape)
    if isinstance(axis, tuple):
        matrix = len(axis) == 2
    else:
        matrix = axis is None and ord is not None and x.ndim == 2
    size = np.abs(x)
    sign = np.sign(x)
    along = np.real(np.conj(sign) * v)                     # the derivative of |x| along v
    turn = (v - sign * along) / np.where(size == 0, 1.0, size)   # that of x / |x|
    if ord is None or ord == "fro" or not (matrix or ord in (0, 1, np.inf, -np.inf)):
        # F = g s q^(p-1), q = |x| / r:  dF = g / r (q^(p-2) (v + (p-2) s d|x|) - (p-1) F dr)
        p = 2 if ord is None or ord == "fro" else ord
        q = size / r
        gradient = sign * q ** (p - 1)
        dr = np.sum(np.real(np.conj(gradient) * v), axis=axis, keepdims=True)
        d = (q ** (p - 2) * (v + (p - 2) * sign * along) - (p - 1) * gradient * dr) / r
        return np.conj(g * d)
    if ord == 0:
        return np.zeros_like(x)
    if not matrix:
        if ord == 1:
            return np.conj(g * turn)
        hits = size == r
        return np.conj(g * turn * hits / np.sum(hits, axis=axis, keepdims=True))
    rows, cols = (0, 1) if axis is None else tuple(a % x.ndim for a in axis)
    if ord in (1, -1, np.inf, -np.inf):
        sums = np.sum(size, axis=rows if ord in (1, -1) else cols, keepdims=True)
        hits = sums == r
        return np.conj(g * turn * hits / np.sum(hits, axis=(rows, cols), keepdims=True))
    moved = np.moveaxis(x, (rows, cols), (-2, -1))
    dx = np.moveaxis(v, (rows, cols), (-2, -1))
    m, n = moved.shape[-2:]
    if ord == "nuc":
        def real_form(a):
            re, im = np.real(a), np.imag(a)
            return np.concatenate([np.concatenate([re, -im], -1),
                                   np.concatenate([im, re], -1)], -2)
        twice = np.moveaxis(real_form(moved), (-2, -1), (0, 1))
        dtwice = np.moveaxis(real_form(dx), (-2, -1), (0, 1))
        dreal = norm_adjoint_derivative(np.ones(twice.shape[2:]), twice, np.linalg.norm(
            twice, "nuc", (0, 1)), dtwice, "nuc", (0, 1), False)
        dreal = np.moveaxis(dreal, (0, 1), (-2, -1))
        d = dreal[..., :m, :n] + 1j * dreal[..., m:, :n]
    else:
        u, s, vh = np.linalg.svd(moved, full_matrices=False)
        vv = np.conj(matrix_transpose(vh))
        uh = np.conj(matrix_transpose(u))
        p = np.matmul(np.matmul(uh, dx), vv)                  # U^H dX V
        k = 0 if ord == 2 else s.shape[-1] - 1
        sk = s[..., k:k + 1]
        gap = sk * sk - s * s
        gap[..., k] = 1.0
        weight = 1.0 / gap
        weight[..., k] = 0.0
        a = weight * (sk * p[..., :, k] + s * np.conj(p[..., k, :]))
        a[..., k] = 1j * np.imag(p[..., k, k]) / s[..., k]
        b = weight * (sk * np.conj(p[..., k, :]) + s * p[..., :, k])
        uk, vk = u[..., :, k], vv[..., :, k]
        du = (np.matmul(u, a[..., None])[..., 0]
              + (np.matmul(dx, vk[..., None])[..., 0] - np.matmul(u, p[..., :, k:k + 1])[..., 0])
              / sk)
        dxh_u = np.matmul(np.conj(matrix_transpose(dx)), uk[..., None])[..., 0]
        dv = (np.matmul(vv, b[..., None])[..., 0]
              + (dxh_u - np.matmul(vv, np.conj(p[..., k:k + 1, :]).swapaxes(-1, -2))[..., 0])
              / sk)
        d = (du[..., :, None] * np.conj(vk)[..., None, :]
             + uk[..., :, None] * np.conj(dv)[..., None, :])
    return np.conj(g * np.moveaxis(d, (-2, -1), (rows, cols)))


# --- helpers linear in their first argument: the tangent goes through the same helper ---------

linear(match_dtype, unbroadcast, restore_reduced_axes, expand_reduced, matrix_transpose,
       cotangent_or_zeros, extremum_share, share_among_args, split_sum, share_among_extrema,
       reverse_cumsum, split_like, hstack_adjoint, unstack, unpack_like, unblock, untile, unrepeat,
       untake,
       diag_adjoint, trace_adjoint, own, fresh_copy, restructure, split_joined,
       pad_adjoint, pad_constant_adjoint, gradient_adjoint, items_tangent, items_cotangent,
       sorted_tangent, unsort)


@tangent(join_tangents)
def join_tangents_jvp(maker, key, dkey):
    dresult = join_tangents(maker, key, ddkey)


# --- elementwise ------------------------------------------------------------------------------

@tangent(power_dbase)
def power_dbase_jvp(x1, x2):
    # d/dx1 (x2 x1^(x2-1)) = x2 (x2-1) x1^(x2-2) = x2 power_dbase(x1, x2 - 1), and 0 where
    # x2 == 0 (power_dbase is 0 there): the exponent stays 0 there, as 0 * (-1 / x1^2) is
    # nan at x1 == 0
    # d/dx2 (x2 x1^(x2-1)) = x1^(x2-1) + result log(x1)
    dresult = (dx1 * (x2 * power_dbase(x1, x2 - (x2 != 0)))
               + dx2 * (np.power(x1, x2 - 1) + power_dexponent(x1, result)))


@tangent(power_dexponent)
def power_dexponent_jvp(x1, power):
    # power * log(x1), taken as 0 where x1 == 0 (as the helper does)
    safe = np.where(x1 == 0, 1, x1)
    dresult = dx1 * (power / safe) + dpower * np.log(safe)


# --- reductions -------------------------------------------------------------------------------

@tangent(product_of_others)
def product_of_others_jvp(x, axes):
    dresult = product_of_others_derivative(x, dx, axes)


@tangent(prod_adjoint)
def prod_adjoint_jvp(g, x, product, axis, keepdims):
    # prod_adjoint is g times the product of the others
    weight = restore_reduced_axes(g, x, axis, keepdims)
    derivative = product_of_others_derivative(x, dx, normalize_axes(axis, np.ndim(x)))
    dresult = prod_adjoint(dg, x, product, axis, keepdims) + match_dtype(weight * derivative, x)


@tangent(cumprod_adjoint)
def cumprod_adjoint_jvp(g, x, products, axis):
    dresult = (cumprod_adjoint(dg, x, products, axis)
               + cumprod_adjoint_derivative(g, x, dx, axis))


# --- linear algebra ---------------------------------------------------------------------------

@tangent(matmul_adjoint_x1)
def matmul_adjoint_x1_jvp(g, x1, x2):
    # g @ x2^T: x1 only gives the shape
    dresult = matmul_adjoint_x1(dg, x1, x2) + matmul_adjoint_x1(g, x1, dx2)


@tangent(matmul_adjoint_x2)
def matmul_adjoint_x2_jvp(g, x1, x2):
    # x1^T @ g: x2 only gives the shape
    dresult = matmul_adjoint_x2(dg, x1, x2) + matmul_adjoint_x2(g, dx1, x2)


@tangent(dot_adjoint_a)
def dot_adjoint_a_jvp(g, a, b):
    dresult = dot_adjoint_a(dg, a, b) + dot_adjoint_a(g, a, db)


@tangent(dot_adjoint_b)
def dot_adjoint_b_jvp(g, a, b):
    dresult = dot_adjoint_b(dg, a, b) + dot_adjoint_b(g, da, b)


@tangent(inner_adjoint)
def inner_adjoint_jvp(g, x, other, x_is_first):
    dresult = inner_adjoint(dg, x, other, x_is_first) + inner_adjoint(g, x, dother, x_is_first)


@tangent(tensordot_adjoint_a)
def tensordot_adjoint_a_jvp(g, a, b, axes):
    dresult = tensordot_adjoint_a(dg, a, b, axes) + tensordot_adjoint_a(g, a, db, axes)


@tangent(tensordot_adjoint_b)
def tensordot_adjoint_b_jvp(g, a, b, axes):
    dresult = tensordot_adjoint_b(dg, a, b, axes) + tensordot_adjoint_b(g, da, b, axes)


@tangent(einsum_adjoints)
def einsum_adjoints_jvp(g, subscripts, operands):
    # a list of cotangents: one call takes all the tangents (a list is not added with +)
    dresult = einsum_adjoints_tangent(g, dg, subscripts, operands, dsubscripts, doperands)


@tangent(solve_adjoint_b)
def solve_adjoint_b_jvp(g, a, b):
    # result = A^-T g:  d result = A^-T (dg - dA^T result), with b deciding (as in solve)
    # whether result is a vector (or a stack of them) or a matrix
    if np.ndim(b) == 1:
        dresult = (solve_adjoint_b(dg, a, b)
                   - solve_adjoint_b(np.einsum("...ji,...j->...i", da, result), a, b))
    else:
        dresult = (solve_adjoint_b(dg, a, b)
                   - solve_adjoint_b(np.matmul(matrix_transpose(da), result), a, b))


@tangent(solve_adjoint_a)
def solve_adjoint_a_jvp(gb, solution, b):
    # -gb solution^T is bilinear
    dresult = solve_adjoint_a(dgb, solution, b) + solve_adjoint_a(gb, dsolution, b)


@tangent(norm_adjoint)
def norm_adjoint_jvp(g, x, norm, ord, axis, keepdims):
    dresult = (norm_adjoint(dg, x, norm, ord, axis, keepdims)
               + norm_adjoint_derivative(g, x, norm, dx, ord, axis, keepdims))


# --- the runtime helpers ----------------------------------------------------------------------

@tangent(add)
def add_jvp(a, b):
    dresult = add(da, db)


@tangent(add_at_iteration)
def add_at_iteration_jvp(buffer, index, value):
    # as add_at's: the statement form is followed by forward mode itself (call_statement)
    dresult = add_at_iteration_tangent(dbuffer, buffer, index, dvalue)


@tangent(add_at)
def add_at_jvp(buffer, key, value):
    # add_at updates buffer in place, so this updates the tangent of buffer in place the
    # same way (and returns it): dbuffer must be a real buffer owned by the generated code,
    # or known to be zero (then the helper starts a buffer of zeros). The statement
    # add_at(buffer, key, value) is followed by forward mode itself (call_statement).
    dresult = add_at_tangent(dbuffer, buffer, key, dvalue)


# --- reverse rules that share the support functions above -----------------------------------

@adjoint(einsum_adjoints)
def einsum_adjoints_vjp(g, subscripts, operands):
    # <dresult, einsum_adjoints(g, ...)> = <g, einsum_terms(subscripts, operands, -, dresult)>
    dg = unbroadcast(einsum_terms(subscripts, operands, None, dresult), g)
    crossed = einsum_cross_adjoints(g, subscripts, operands, None, dresult)
    dsubscripts = crossed[0]
    doperands = crossed[1]


@adjoint(product_of_others)
def product_of_others_vjp(x, axes):
    dx = product_of_others_derivative(x, dresult, axes)


@adjoint(prod_adjoint)
def prod_adjoint_vjp(g, x, product, axis, keepdims):
    # prod_adjoint is g times the product of the others
    axes = normalize_axes(axis, np.ndim(x))
    dg = unbroadcast(np.sum(dresult * product_of_others(x, axes), axis=axis, keepdims=keepdims), g)
    weighted = restore_reduced_axes(g, x, axis, keepdims) * dresult
    dx = match_dtype(product_of_others_derivative(x, weighted, axes), x)


@adjoint(cumprod_adjoint)
def cumprod_adjoint_vjp(g, x, products, axis):
    # cumprod_adjoint is the transpose of cumprod's tangent map, so g's cotangent is that map
    dg = match_dtype(cumprod_derivative(x, dresult, axis), g)
    dx = cumprod_adjoint_derivative(g, x, dresult, axis)


@adjoint(norm_adjoint)
def norm_adjoint_vjp(g, x, norm, ord, axis, keepdims):
    gradient = norm_adjoint(np.ones_like(norm), x, norm, ord, axis, keepdims)
    dg = unbroadcast(np.sum(dresult * gradient, axis=axis, keepdims=keepdims), g)
    dx = norm_adjoint_derivative(g, x, norm, dresult, ord, axis, keepdims)
