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

from s2s.rules import nondifferentiable

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


# A random mask is data, not a function of the input it multiplies: no gradient flows
# through it, and the engine must not look inside.
nondifferentiable(dropout_mask)
