"""Reverse-mode rules of the NumPy elementwise functions whose two modes differ.

Most elementwise functions are declared once, by their derivatives, in
``templates/elementwise.py``. Here are the extrema, ``clip``, ``where`` and ``nan_to_num``,
which route the cotangent to one operand or the other; each cotangent is unbroadcast to its
operand's shape.
Arithmetic ufuncs that are also operators (``np.add``, ``np.multiply``, ``np.power``...) have
their rules in ``operators.py``.

    z = np.maximum(x, y)     ->    dx = unbroadcast(extremum_share(dz, x, y, z), x); ...
"""
import numpy as np

from s2s.runtime.numpy_helpers import extremum_share, unbroadcast
from s2s.rules import adjoint


@adjoint(np.maximum, np.minimum, np.fmax, np.fmin)
def maximum(x1, x2):
    # the operand equal to the result takes the cotangent; on a tie each takes half
    dx1 = unbroadcast(extremum_share(dresult, x1, x2, result), x1)
    dx2 = unbroadcast(extremum_share(dresult, x2, x1, result), x2)


@adjoint(np.clip)
def clip(a, a_min=None, a_max=None, *, min=None, max=None):
    # a passes through where it is inside the bounds; elsewhere the bound it hit is the result
    da = unbroadcast(np.where(a == result, dresult, 0.0), a)
    da_min = unbroadcast(np.where(a < result, dresult, 0.0), a_min)
    da_max = unbroadcast(np.where(a > result, dresult, 0.0), a_max)
    dmin = unbroadcast(np.where(a < result, dresult, 0.0), min)
    dmax = unbroadcast(np.where(a > result, dresult, 0.0), max)


@adjoint(np.where)
def where(condition, x=None, y=None):
    # no gradient for the condition; np.where(condition) alone returns indices
    dx = unbroadcast(np.where(condition, dresult, 0.0), x)
    dy = unbroadcast(np.where(condition, 0.0, dresult), y)


@adjoint(np.nan_to_num)
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    # finite entries pass through; each replacement takes its value from its own argument.
    # np.where, not a product with a mask: a cotangent that is inf there must not give NaN
    dx = np.where(np.isfinite(x), dresult, 0.0)
    dnan = unbroadcast(np.where(np.isnan(x), dresult, 0.0), nan)
    dposinf = unbroadcast(np.where(np.isposinf(x), dresult, 0.0), posinf)
    dneginf = unbroadcast(np.where(np.isneginf(x), dresult, 0.0), neginf)
