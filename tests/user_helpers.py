"""Helpers that take pytrees, called by the generated programs of test_property_programs.py.

They live in a module of their own, as a user's helpers often do, so that s2s transforms
each of them once for all the programs that call them.
"""
import numpy as np


def dense(p, u):
    w, b = p
    return np.tanh(w * u + b)


def predict(params, u):
    return params["w"] * u + params["b"]


def stats(pair):
    return pair[0] * pair[1], pair[0] - pair[1]


def total(items):
    acc = 0.0
    for item in items:
        acc = acc + item
    return acc
