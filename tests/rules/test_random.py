"""The audit of s2s.nn's random mask (s2s/nn/random.py).

``dropout_mask(shape, p, dtype)`` is ``keep / (1 - p)`` for a random ``keep``: the draw is
data, and the mask's derivative in ``p`` is its scale's, ``mask / (1 - p)``. Each row draws
under one seed inside the program, so that every evaluation (the value, the transforms,
each central difference) sees the same draw; ``p`` stays away from the drawn values, where
the kept set would change.
"""
import numpy as np

from s2s.nn.random import dropout_mask, set_seed
from tests.rules.audit import audit

X = np.array([[0.3, -1.6, 2.4], [0.8, -1.1, 2.9]])
GIVEN = dict(dropout_mask=dropout_mask, set_seed=set_seed)

AUDIT = [
    audit(dropout_mask, "set_seed(3)\nreturn x * dropout_mask(x.shape, p, x.dtype)",
          x=X, p=0.4, given=GIVEN,
          note="p differentiated too: the kept entries scale by 1 / (1 - p)"),
    audit(dropout_mask, "set_seed(5)\nreturn np.sum(np.sin(x) * dropout_mask(x.shape, p * p, "
          "x.dtype) ** 2)", x=X[0], p=0.6, given=GIVEN),
]
