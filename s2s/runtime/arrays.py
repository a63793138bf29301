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


def check_index_of_foreign(container, key) -> None:
    """Refuse an index of an array of another library whose derivative cannot be placed
    without computing, or would be wrong: a boolean mask of that library (its entries, and so
    the size of what it selects, are known only once computed), an index array of that
    library, or NumPy index arrays that pick an entry twice (an item assignment keeps the last
    of repeated entries, where the cotangent must add them). The ``TypeError`` starts with
    "s2s", so the transforms report it at the user's line (``s2s.api.notes.refusal``)."""
    library = library_name(container)
    parts = key if type(key) is tuple else (key,)
    consuming = sum(1 for p in parts if p is not None and p is not Ellipsis)
    axis, advanced, sizes = 0, [], []
    for part in parts:
        if is_foreign_array(part):
            boolean = part.dtype == np.bool_
            raise _refusal(
                f"s2s cannot differentiate an item read or write of a {library} through "
                + (f"a boolean mask of a {library_name(part)}: what the mask selects has a "
                   f"size known only once computed, so its cotangent cannot be placed back"
                   if boolean else
                   f"an index array of a {library_name(part)}: its entries, which may "
                   f"repeat, are known only once computed"),
                construct="a boolean mask index" if boolean else "an index array",
                hint="write np.where(mask, x, 0.0) (it keeps every size known)" if boolean
                else "compute the index first (index.compute()), or use NumPy indices")
        if part is Ellipsis:
            axis += len(container.shape) - consuming
        elif part is not None:
            if isinstance(part, (list, _ndarray, np.integer)) or type(part) is int:
                advanced.append(np.asarray(part))       # NumPy or Python indices: small data
                sizes.append(container.shape[axis])
            axis += 1
    if not advanced or all(a.ndim == 0 for a in advanced) \
            or any(a.dtype == np.bool_ for a in advanced):
        return
    picked = np.stack([a % n for a, n in zip(np.broadcast_arrays(*advanced), sizes)])
    picked = picked.reshape(len(advanced), -1)
    if np.unique(picked, axis=1).shape[1] < picked.shape[1]:
        raise _refusal(
            f"s2s cannot differentiate an item read or write of a {library} through index "
            f"arrays that pick an entry more than once: the cotangents of repeated entries "
            f"must add up (or, for a write, go to the last), and {library.split()[0]} "
            f"assigns items without either", construct="an index array with repeated entries",
            hint="index the NumPy array (x.compute()), or write the repeated read as a sum "
                 "of separate reads")


def _refusal(message: str, construct: str, hint: str) -> TypeError:
    error = TypeError(message)
    error.construct, error.hint = construct, hint
    return error
