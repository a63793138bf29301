"""Helpers imported by local_import.py with a plain (absolute) import."""

FACTOR = 0.75


def cube(v):
    return v * v * v


def halve(v):
    return v * 0.5
