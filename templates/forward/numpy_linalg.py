"""Forward-mode rules of NumPy's products and linear algebra.

Products are bilinear, so their tangent is the product with one operand's tangent plus the
product with the other's; NumPy's own broadcasting (batched, 1-D and scalar operands) gives
both terms the result's shape. Complex inputs need no conjugates here (the products are
bilinear); the decompositions' helpers handle theirs. Parameters mirror the reverse rules in
``templates/reverse/numpy_linalg.py``; the tangent of ``np.matmul`` and ``@`` is in
``operators.py``, which loads later (this module's second rule for it was never used).

    c = np.dot(a, b)     ->    dc = np.dot(da, b) + np.dot(a, db)
"""
import numpy as np

from s2s.runtime.numpy_helpers import (_einsum_string_form, einsum_adjoints, norm_adjoint,
                                       unbroadcast)
from s2s.runtime.shape_helpers import (einsum_cross, einsum_cross_adjoints,
                                       einsum_first_adjoint, einsum_first_adjoint_tangent,
                                       einsum_first_tangent)
from s2s.runtime.linalg_helpers import (cholesky_tangent, eig_tangent, eigh_tangent,
                                        eigvals_tangent, eigvalsh_tangent, lstsq_tangent,
                                        matrix_power_tangent, multi_dot_tangent, pinv_tangent,
                                        qr_tangent, singular_values_tangent, slogdet_tangent,
                                        svd_tangent)
from s2s.rules import adjoint, linear, tangent

linear(np.trace)


def einsum_tangent(subscripts, operands, tangents):
    """The tangent of ``np.einsum(subscripts, *operands)``: the sum over the operands of the
    einsum with that one operand replaced by its tangent (einsum is multilinear). In the
    sublist form the sublists' tangents are skipped (the array passed first has its term in
    ``einsum_first_tangent``); a scalar zero stands for the zero tangent of an array, or of
    all of ``operands``."""
    spec, arrays, places = _einsum_string_form(subscripts, operands)
    total = 0.0
    for i, place in enumerate(places):
        if place < 0:
            continue
        t = tangents[place] if isinstance(tangents, (tuple, list)) else tangents
        if t is None or np.ndim(t) == 0 and np.ndim(arrays[i]) > 0:
            continue
        total = total + np.einsum(spec, *arrays[:i], t, *arrays[i + 1:])
    return total


# -- the einsum helpers differentiated again (generated code of an einsum, transformed) ------
# Each is multilinear in einsum's arrays; the support functions (s2s/runtime/shape_helpers.py)
# take both forms, the sublist form's array passed first being one more array.
@tangent(einsum_tangent)
def einsum_tangent_jvp(subscripts, operands, tangents):
    dresult = (einsum_tangent(subscripts, operands, dtangents)
               + einsum_cross(subscripts, operands, None, tangents, dsubscripts, None)
               + einsum_cross(subscripts, operands, None, tangents, None, doperands))


@adjoint(einsum_tangent)
def einsum_tangent_vjp(subscripts, operands, tangents):
    dtangents = einsum_adjoints(dresult, subscripts, operands)
    crossed = einsum_cross_adjoints(dresult, subscripts, operands, None, tangents)
    dsubscripts = crossed[0]
    doperands = crossed[1]


@tangent(einsum_first_tangent)
def einsum_first_tangent_jvp(subscripts, operands, dfirst):
    dresult = (einsum_first_tangent(subscripts, operands, ddfirst)
               + einsum_cross(subscripts, operands, dfirst, None, None, doperands))


@adjoint(einsum_first_tangent)
def einsum_first_tangent_vjp(subscripts, operands, dfirst):
    ddfirst = einsum_first_adjoint(dresult, subscripts, operands)
    doperands = einsum_cross_adjoints(dresult, subscripts, operands, dfirst, None)[1]


@tangent(einsum_first_adjoint)
def einsum_first_adjoint_jvp(g, subscripts, operands):
    dresult = einsum_first_adjoint_tangent(g, dg, subscripts, operands, doperands)


@adjoint(einsum_first_adjoint)
def einsum_first_adjoint_vjp(g, subscripts, operands):
    # <c, adjoint of the first array> = <g, the einsum with the first array replaced by c>
    dg = unbroadcast(einsum_first_tangent(subscripts, operands, dresult), g)
    doperands = einsum_cross_adjoints(g, subscripts, operands, dresult, None)[1]


@tangent(np.dot)
def dot(a, b):
    dresult = np.dot(da, b) + np.dot(a, db)


@tangent(np.vdot)
def vdot(a, b):
    dresult = np.vdot(da, b) + np.vdot(a, db)


@tangent(np.inner)
def inner(a, b):
    dresult = np.inner(da, b) + np.inner(a, db)


@tangent(np.outer)
def outer(a, b):
    dresult = np.outer(da, b) + np.outer(a, db)


@tangent(np.tensordot)
def tensordot(a, b, axes=2):
    dresult = np.tensordot(da, b, axes) + np.tensordot(a, db, axes)


@tangent(np.einsum)
def einsum(subscripts, *operands, optimize=False):
    # dsubscripts is a zero tangent unless an array sits there: the sublist form
    dresult = (einsum_tangent(subscripts, operands, doperands)
               + einsum_first_tangent(subscripts, operands, dsubscripts))


@tangent(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims=False):
    # the gradient of the norm (norm_adjoint with a cotangent of ones) dotted with dx
    # (the real part: a complex x's gradient is conjugated, so Re(dx * gradient) is the tangent)
    gradient = norm_adjoint(np.ones_like(result), x, result, ord, axis, keepdims)
    dresult = np.real(np.sum(dx * gradient, axis=axis, keepdims=keepdims))


@tangent(np.linalg.inv)
def inv(a):
    # d(A^-1) = -A^-1 dA A^-1
    dresult = -np.matmul(np.matmul(result, da), result)


@tangent(np.linalg.det)
def det(a):
    # d det(A) = det(A) tr(A^-1 dA), for stacks of matrices too
    dresult = result * np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1)


@tangent(np.linalg.slogdet)
def slogdet(a):
    # d log|det A| = Re tr(A^-1 dA); a real sign is locally constant
    dresult = slogdet_tangent(da, a, result[0])


@tangent(np.linalg.solve)
def solve(a, b):
    # x = A^-1 b:  dx = A^-1 db - A^-1 dA A^-1 b. The matrix A^-1 dA A^-1 is applied to b
    # itself, which matmul treats as a vector exactly when solve does (when b is 1-D).
    inverse = np.linalg.inv(a)
    dresult = np.matmul(inverse, db) - np.matmul(np.matmul(np.matmul(inverse, da), inverse), b)


@tangent(np.linalg.eigh)
def eigh(a, UPLO="L"):
    dresult = eigh_tangent(da, result, UPLO)


@tangent(np.linalg.eigvalsh)
def eigvalsh(a, UPLO="L"):
    dresult = eigvalsh_tangent(da, a, UPLO)


@tangent(np.linalg.eig)
def eig(a):
    dresult = eig_tangent(da, result)


@tangent(np.linalg.eigvals)
def eigvals(a):
    dresult = eigvals_tangent(da, a)


@tangent(np.linalg.cholesky)
def cholesky(a, *, upper=False):
    dresult = cholesky_tangent(da, result, upper)


@tangent(np.linalg.svd)
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    if compute_uv:
        dresult = svd_tangent(da, a, result, full_matrices, hermitian)
    else:
        dresult = singular_values_tangent(da, a, hermitian)


@tangent(np.linalg.qr)
def qr(a, mode="reduced"):
    dresult = qr_tangent(da, a, result, mode)


@tangent(np.linalg.pinv)
def pinv(a, rcond=None, hermitian=False, *, rtol=None):
    dresult = pinv_tangent(da, a, result, hermitian)


@tangent(np.linalg.lstsq)
def lstsq(a, b, rcond=None):
    dresult = lstsq_tangent(da, db, a, b, result)


@tangent(np.linalg.multi_dot)
def multi_dot(arrays, *, out=None):
    dresult = multi_dot_tangent(darrays, arrays)


@tangent(np.linalg.matrix_power)
def matrix_power(a, n):
    dresult = matrix_power_tangent(da, a, n)
