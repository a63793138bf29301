"""Forward-mode rules of the NumPy elementwise functions whose two modes differ.

Most elementwise functions are declared once, by their derivatives, in
``templates/elementwise.py``. Here are the extrema, ``clip``, ``where`` and ``nan_to_num``. Ties of
maximum/minimum and the bounds of clip follow the reverse rules (a tie shares evenly), so
both modes agree.

    z = np.maximum(x, y)     ->    dz = extremum_share(dx, x, y, z) + extremum_share(dy, y, x, z)
"""
import numpy as np

from s2s.runtime.numpy_helpers import extremum_share, match_dtype
from s2s.rules import tangent


@tangent(np.maximum, np.minimum, np.fmax, np.fmin)
def maximum(x1, x2):
    # the operand equal to the result passes its tangent; on a tie each passes half
    # (cast: np.where makes a float64 array of a Python float's tangent)
    dresult = match_dtype(extremum_share(dx1, x1, x2, result)
                          + extremum_share(dx2, x2, x1, result), result)


@tangent(np.clip)
def clip(a, a_min=None, a_max=None, *, min=None, max=None):
    # a passes through where it is inside the bounds; elsewhere the bound it hit is the result
    dresult = match_dtype(np.where(a == result, da, 0.0) + np.where(a < result, da_min, 0.0)
                          + np.where(a > result, da_max, 0.0) + np.where(a < result, dmin, 0.0)
                          + np.where(a > result, dmax, 0.0), result)


@tangent(np.where)
def where(condition, x=None, y=None):
    dresult = np.where(condition, dx, dy)


@tangent(np.nan_to_num)
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    dresult = match_dtype(
        np.where(np.isfinite(x), dx, 0.0) + np.where(np.isnan(x), dnan, 0.0)
        + np.where(np.isposinf(x), dposinf, 0.0) + np.where(np.isneginf(x), dneginf, 0.0),
        result)
