"""Reverse-mode rules of the functions that tell a complex number from a real one.

The cotangent of a complex value ``z`` is ``dL/dRe(z) - 1j * dL/dIm(z)`` (autograd's
convention; see ``s2s.runtime.complex_helpers``). The functions here are not holomorphic:
``abs``, ``angle``, ``real`` and ``imag`` have real results, whose cotangents are real (the
real part of what flows into them), and ``conj`` conjugates its cotangent.

    y = np.abs(z)     ->    dz = np.real(dy) * abs_partial(z)
    y = np.imag(z)    ->    dz = -1j * np.real(dy)
"""
import builtins
import math

import numpy as np

from s2s.runtime.complex_helpers import abs_partial, angle_partial, real_like
from s2s.rules import adjoint, not_holomorphic


# refused inside s2s.grad(f, holomorphic=True): functions of z and conj(z), or real-valued
not_holomorphic(np.absolute, builtins.abs, np.angle, np.real, np.imag, np.conjugate, np.conj,
                np.ndarray.conjugate, np.ndarray.conj, np.real_if_close, np.var, np.std,
                np.ndarray.var, np.ndarray.std, np.fabs, math.fabs)


@adjoint(np.absolute, builtins.abs)
def absolute(x):
    # the kink at 0 gets derivative 0
    dx = np.real(dresult) * abs_partial(x)


@adjoint(np.angle)
def angle(z, deg=False):
    dz = np.real(dresult) * angle_partial(z, deg)


@adjoint(np.real)
def real(val):
    dval = np.real(dresult)


@adjoint(np.imag)
def imag(val):
    dval = -1j * np.real(dresult)


@adjoint(np.conjugate, np.conj)
def conjugate(x):
    dx = np.conj(dresult)


@adjoint(np.ndarray.conjugate, np.ndarray.conj)
def conj(self):
    dself = np.conj(dresult)


@adjoint(np.real_if_close)
def real_if_close(a, tol=100):
    # the result is real when every imaginary part is small: then only the real part flows
    da = real_like(dresult, result)
