"""Forward-mode rules of the functions that tell a complex number from a real one.

A tangent is the plain (real-linear) map of the input's tangent: ``conj``, ``real`` and
``imag`` apply themselves to it, and the real results of ``abs`` and ``angle`` take the real
part of their partial times the tangent (see ``s2s.runtime.complex_helpers``).

    y = np.abs(z)     ->    dy = np.real(abs_partial(z) * dz)
"""
import builtins

import numpy as np

from s2s.runtime.complex_helpers import abs_partial, angle_partial, real_like
from s2s.rules import linear, tangent


@tangent(np.absolute, builtins.abs)
def absolute(x):
    dresult = np.real(abs_partial(x) * dx)


@tangent(np.angle)
def angle(z, deg=False):
    dresult = np.real(angle_partial(z, deg) * dz)


@tangent(np.real_if_close)
def real_if_close(a, tol=100):
    dresult = real_like(da, result)


linear(np.real, np.imag, np.conjugate, np.conj)
linear(np.ndarray.conjugate, np.ndarray.conj, through=np.conj)
