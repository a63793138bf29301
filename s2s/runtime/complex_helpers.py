"""Helpers of the rules whose derivative differs between real and complex inputs.

The convention (autograd's): the cotangent of a complex value ``z`` is
``dL/dRe(z) - 1j * dL/dIm(z)`` for a real loss ``L``, so a holomorphic function's cotangent
is ``g * f'(z)`` and a real value's cotangent is the real part of what flows into it. A
function of ``z`` and ``conj(z)`` (``abs``, ``angle``) has cotangent
``g * df/dz + conj(g) * conj(df/dconj(z))``; for a real result that is
``2 * Re(g) * df/dz``. Each helper takes the real path first, at the cost of a dtype check.

    y = np.abs(z)     ->    dz = np.real(dy) * abs_partial(z)        (conj(z) / |z|)
"""
from __future__ import annotations

import numpy as np


def is_complex(x) -> bool:
    """Is ``x`` a complex number or an array of them?"""
    if type(x) is complex:
        return True
    dtype = getattr(x, "dtype", None)
    return dtype is not None and dtype.kind == "c"


def abs_partial(x):
    """``2 d|x|/dx``: the sign of a real ``x`` (0 at the kink), ``conj(x) / |x|`` of a complex
    one (0 at 0). The cotangent of ``x`` in ``|x|`` is ``Re(g)`` times it, and the tangent of
    ``|x|`` is ``Re(abs_partial(x) * dx)``."""
    if not is_complex(x):
        return np.sign(x)
    magnitude = np.abs(x)
    return np.where(magnitude == 0, 0.0, np.conj(x) / np.where(magnitude == 0, 1.0, magnitude))


def angle_partial(x, deg=False):
    """``2 d angle(x)/dx = -1j / x`` (0 at 0, where the angle jumps), in degrees with
    ``deg``; 0 for a real ``x``, whose angle is 0 or pi. The cotangent of ``x`` in
    ``np.angle(x)`` is ``Re(g)`` times it, and the tangent of the angle is
    ``Re(angle_partial(x) * dx)``."""
    if not is_complex(x):
        return np.zeros_like(x, dtype=np.result_type(x, 1.0))
    partial = np.where(x == 0, 0j, -1j / np.where(x == 0, 1.0, x))
    return partial * (180.0 / np.pi) if deg else partial


def conj_of(x):
    """``np.conj(x)``, and ``x`` itself when it is real (no copy)."""
    return np.conj(x) if is_complex(x) else x


def real_like(g, result):
    """``g``, or its real part when ``result`` is real: the cotangent or tangent of a value
    whose dtype the primal chose at run time (``np.real_if_close``)."""
    return np.real(g) if not is_complex(result) else g
