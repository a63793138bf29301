"""Reverse rules of the run-time helpers the engine itself inserts into the primal sweep."""
from s2s import runtime
from s2s.rules import adjoint


@adjoint(runtime.fresh_copy)
def fresh_copy(value):
    dvalue = dresult
