"""Forward-mode rules of ``scipy.linalg``: loaded once the user's code imports ``scipy.linalg``.
Parameters mirror the reverse rules in ``templates/reverse/scipy_linalg.py``.

    x = scipy.linalg.expm(a)     ->    dx = expm_frechet(a, da)
"""
import scipy.linalg

from s2s.runtime.scipy_linalg_helpers import (cho_factor_tangent, cho_solve_tangent,
                                              expm_frechet, solve_triangular_tangent,
                                              sqrtm_tangent)
from s2s.rules import tangent


@tangent(scipy.linalg.cho_factor)
def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    dresult = cho_factor_tangent(da, a, result)


@tangent(scipy.linalg.cho_solve)
def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    dresult = cho_solve_tangent(dc_and_lower[0], db, c_and_lower, b, result)


@tangent(scipy.linalg.expm)
def expm(A):
    dresult = expm_frechet(A, dA)


@tangent(scipy.linalg.sqrtm)
def sqrtm(A, disp=True, blocksize=64):
    dresult = sqrtm_tangent(dA, result)


@tangent(scipy.linalg.solve_triangular)
def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     check_finite=True):
    dresult = solve_triangular_tangent(da, db, a, b, result, trans, lower, unit_diagonal)
