"""Forward-mode rules of the ``math`` functions whose derivative is not declared once.

Most of ``math`` is declared by its derivatives in ``templates/elementwise.py``; here are
``math.log``, whose base is optional, and ``math.hypot``, with any number of coordinates.

    y = math.log(x)     ->    dy = dx / x
"""
import math

import numpy as np

from s2s.rules import tangent


@tangent(math.log)
def log(x, base=None):
    if base is None:
        dresult = dx / x
    else:
        # log(x, b) = ln x / ln b
        dresult = dx / (x * math.log(base)) - dbase * (result / (base * math.log(base)))


@tangent(math.hypot)
def hypot(*coordinates):
    # d|v| = v . dv / |v|, for any number of coordinates
    dresult = np.dot(coordinates, dcoordinates) / result
