"""Arrays of other libraries (Dask, CuPy, ...) in gradients written as NumPy code.

Generated code calls NumPy functions (``np.tanh(x)``, ``np.sum(g, axis=0)``, ``x @ w``).
An array type that implements NumPy's dispatch protocols (``__array_function__`` and
``__array_ufunc__``, NEP 18 and NEP 13) receives those calls itself: ``np.tanh`` of a Dask
array adds a task to its graph, of a CuPy array runs a GPU kernel. So the same generated code
serves every such library, with nothing converted to NumPy on the way. Only the places that
*make* an array (zeros of a cotangent, the seed) must ask the input's library for it, and do
it through ``np.zeros_like`` and the like, which dispatch on their argument.

These helpers say which library a value belongs to; ``grad`` uses them to accept such arrays,
to refuse a call that mixes two libraries, and to give each gradient its input's type,
dtype and (Dask) chunks.
"""
from __future__ import annotations

import math

import numpy as np

from s2s.runtime.numpy_helpers import other_library

_ndarray = np.ndarray


def is_foreign_array(value) -> bool:
    """Is ``value`` an array of another library that NumPy's functions and ufuncs dispatch
    to (NEP 18 and NEP 13)?"""
    return other_library(value) and hasattr(type(value), "__array_ufunc__") \
        and hasattr(value, "shape") and hasattr(value, "dtype")


def is_undispatched_array(value) -> bool:
    """An array that follows the array API standard but not NumPy's dispatch protocols (a
    PyTorch tensor, a JAX array): NumPy functions would convert it, not dispatch to it."""
    kind = type(value)
    return not hasattr(kind, "__array_function__") and not isinstance(value, np.generic) \
        and hasattr(value, "shape") and hasattr(value, "dtype") \
        and (hasattr(kind, "__array_namespace__") or hasattr(kind, "__dlpack__"))


def library_name(value) -> str:
    """``'dask Array'``, ``'cupy ndarray'``: the library and type of an array, for messages."""
    if type(value) is _ndarray or isinstance(value, _ndarray):
        return "NumPy ndarray"
    kind = type(value)
    return f"{kind.__module__.split('.')[0]} {kind.__name__}"


def has_unknown_shape(value) -> bool:
    """A Dask array whose chunk sizes are not known yet has NaN in its shape."""
    return any(isinstance(n, float) and math.isnan(n) for n in value.shape)


def like_primal(grad, primal):
    """``grad`` as an array of ``primal``'s library, with its shape, dtype and chunks.

    A gradient that is a number (a zero, or a scalar standing for a whole array) grows into
    an array of ``primal``'s library through ``np.zeros_like``, which dispatches on it: no
    data moves between libraries.
    """
    kind = type(primal)
    if type(grad) is not kind:
        grad = np.zeros_like(primal) + grad
    if grad.dtype != primal.dtype:
        grad = grad.astype(primal.dtype)
    if grad.shape != primal.shape:
        grad = np.broadcast_to(grad, primal.shape).copy()
    chunks = getattr(primal, "chunks", None)
    if chunks is not None and grad.chunks != chunks:
        grad = grad.rechunk(chunks)
    return grad
