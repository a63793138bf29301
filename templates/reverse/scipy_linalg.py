"""Reverse-mode rules of ``scipy.linalg``: loaded once the user's code imports ``scipy.linalg``
(s2s itself never imports SciPy). The math is in ``s2s.runtime.scipy_linalg_helpers``.

    x = scipy.linalg.expm(a)     ->    da = expm_adjoint(dx, a)
"""
import scipy.linalg

from s2s.runtime.scipy_linalg_helpers import (cho_factor_adjoint, cho_solve_adjoint,
                                              expm_adjoint, solve_triangular_adjoint,
                                              sqrtm_adjoint)
from s2s.rules import adjoint, numpy_only


@adjoint(scipy.linalg.solve_triangular)
def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     check_finite=True):
    cotangents = solve_triangular_adjoint(dresult, a, b, result, trans, lower, unit_diagonal)
    da = cotangents[0]
    db = cotangents[1]


@adjoint(scipy.linalg.cho_factor)
def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    da = cho_factor_adjoint(dresult[0], a, result[0], result[1])


@adjoint(scipy.linalg.cho_solve)
def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    cotangents = cho_solve_adjoint(dresult, c_and_lower, b, result)
    dc_and_lower = (cotangents[0], 0.0)      # the flag says which triangle: no cotangent
    db = cotangents[1]


@adjoint(scipy.linalg.expm)
def expm(A):
    dA = expm_adjoint(dresult, A)


@adjoint(scipy.linalg.sqrtm)
def sqrtm(A, disp=True, blocksize=64):
    dA = sqrtm_adjoint(dresult, A, result)


# SciPy's functions convert their operands to NumPy arrays (no dispatch to Dask or CuPy)
numpy_only(scipy.linalg.solve_triangular, scipy.linalg.cho_factor, scipy.linalg.cho_solve,
           scipy.linalg.expm, scipy.linalg.sqrtm)
