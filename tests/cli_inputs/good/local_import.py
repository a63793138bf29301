"""Calls helpers of a sibling module imported as `import sibling`."""
import numpy as np

import sibling
from sibling import FACTOR, halve


def chained(x):
    return np.sum(sibling.cube(halve(x))) * FACTOR
