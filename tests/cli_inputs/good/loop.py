"""Loops: a for loop over range(n) and a while loop."""
import numpy as np


def power_series(x, n):
    total = 0.0
    term = 1.0
    for k in range(1, n):
        term = term * x / k
        total = total + term
    return np.sum(total)


def halving(x):
    y = x
    steps = 0
    while steps < 3:
        y = y * 0.5 + np.sin(y) * 0.25
        steps = steps + 1
    return np.sum(y * y)
