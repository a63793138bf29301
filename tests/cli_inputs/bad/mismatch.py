"""Static reading sees SCALE = 2.0, but importing the module changes it to 5.0.

Converting it works (and never runs the module); --check runs the original and must report
that the generated gradient disagrees with finite differences of what the module really does.
"""
import numpy as np

SCALE = 2.0


def scaled(x):
    return SCALE * np.sum(x * x)


globals()["SCALE"] = 5.0
