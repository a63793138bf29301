"""Reverse-mode rules of the ``math`` functions whose derivative is not declared once.

Most of ``math`` is declared by its derivatives in ``templates/elementwise.py``; here are
``math.log``, whose base is optional, and ``math.hypot``, with any number of coordinates.

    y = math.log(x, 2.0)     ->    dx = dy / (x * math.log(2.0)); ...
"""
import math

import numpy as np

from s2s.rules import adjoint


@adjoint(math.log)
def log(x, base=None):
    if base is None:
        dx = dresult / x
    else:
        # log(x, b) = ln x / ln b
        dx = dresult / (x * math.log(base))
        dbase = -dresult * result / (base * math.log(base))


@adjoint(math.hypot)
def hypot(*coordinates):
    # d|v|/dv_i = v_i / |v|, for any number of coordinates
    dcoordinates = np.multiply(coordinates, dresult / result).tolist()

