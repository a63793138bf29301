"""Seeding for ``s2s.nn``: one NumPy ``Generator`` shared by initialisers and ``Dropout``.

    s2s.set_seed(0)
    a = nn.Dense(3, 4).weight.copy()
    s2s.set_seed(0)
    b = nn.Dense(3, 4).weight.copy()      # the same values as a

Without ``set_seed`` the generator starts from fresh OS entropy, so runs differ (as in
MindSpore before ``mindspore.set_seed``). Only ``s2s.nn`` draws from it; NumPy's global
``np.random`` state is left alone.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from s2s.rules import adjoint, tangent

_generator = np.random.default_rng()


def set_seed(seed: Optional[int]) -> None:
    """Restart the generator of ``s2s.nn`` from ``seed`` (``None``: from fresh entropy)."""
    global _generator
    _generator = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    """The generator that ``s2s.nn`` draws from; replaced by every ``set_seed`` call."""
    return _generator


def uniform(low: float, high: float, shape: Tuple[int, ...], dtype) -> np.ndarray:
    """Samples from U(low, high) of ``shape``, cast to ``dtype``."""
    return _generator.uniform(low, high, shape).astype(dtype)


def dropout_mask(shape: Tuple[int, ...], p: float, dtype) -> np.ndarray:
    """Each entry is 0 with probability ``p`` and ``1 / (1 - p)`` otherwise.

    Scaling the kept entries keeps the expected value of ``x * mask`` equal to ``x``.
    """
    keep = _generator.random(shape) >= p
    return keep.astype(dtype) / np.asarray(1.0 - p, dtype=dtype)


# The draw is data, not a function of anything differentiated: the mask's only derivative
# is the scale's. Away from the measure-zero p where an entry's draw equals p (the kept set
# is fixed), d(keep / (1 - p))/dp = keep / (1 - p)**2 = mask / (1 - p), which is what
# central differences under one seed give.
@adjoint(dropout_mask)
def dropout_mask_vjp(shape, p, dtype):
    dp = np.sum(dresult * result) / (1.0 - p)


@tangent(dropout_mask)
def dropout_mask_jvp(shape, p, dtype):
    dresult = dp * result / (1.0 - p)
