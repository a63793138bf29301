"""The rules that work on NumPy arrays only, and refuse arrays of other libraries.

Generated code runs on a Dask or CuPy array through NumPy's dispatch protocols, so most
rules need nothing special: ``dx = dresult * np.cos(x)`` is as lazy on Dask as ``np.cos``
itself. The rules listed here are not: their adjoint (or, for some, the primitive itself)
calls a function the other library does not implement, makes NumPy arrays of its own
(``np.zeros(shape)`` and an ``np.add.at`` into it), or turns an array into Python objects.
On a Dask array that would compute the graph behind the user's back, or fail inside Dask.
A derivative of such arrays that needs one of these rules is refused before it runs, by
every transform (forward mode refuses the listed primitives too), at the line of the user's
code that calls the primitive, naming the array type.

tests/test_dask.py runs every audit row of every rule on Dask arrays in reverse mode, and
tests/test_dask_transforms.py in forward mode: a listed rule must refuse, any other must give
a lazy derivative that matches finite differences. A new rule that fails there belongs here
(or gets rules written with dispatching calls).
"""
import builtins

import numpy as np

from s2s.rules import numpy_only
from s2s.runtime import add_at

# Python's builtins on an array walk its entries one by one (each a computed scalar)
numpy_only(builtins.float, builtins.list, builtins.tuple, builtins.sum, builtins.max,
           builtins.min, builtins.sorted)

# reductions whose adjoints build their own NumPy arrays
# (prod and cumprod are not here: on other libraries their adjoints skip the shortcut that
# asks whether an entry is zero, and take the exact path for zeros, built of dispatching calls)
numpy_only(np.ndarray.cumsum, np.median,
           np.quantile, np.percentile, np.cov, np.corrcoef, np.sort, np.partition)

# products and linear algebra (Dask has few of NumPy's linalg functions, in other forms)
# (inv and solve are not here: on Dask they run with square chunks, which Dask's LU needs;
# Dask's cholesky gives the upper factor, so np.linalg.cholesky stays)
numpy_only(np.inner, np.tensordot, np.kron, np.cross, np.linalg.norm,
           np.linalg.det, np.linalg.slogdet, np.linalg.pinv, np.linalg.lstsq,
           np.linalg.matrix_power, np.linalg.multi_dot, np.linalg.cholesky,
           np.linalg.qr, np.linalg.svd, np.linalg.eigh, np.linalg.eigvalsh, np.linalg.eigvals)

# splitting, reshaping and indexing (their adjoints pad or scatter, or Dask lacks the
# function); joins are not here: their adjoints cut the cotangent by slicing, nor are repeat
# (Dask repeats by one integer: a reshape and a sum undo it) and diag (a diagonal, or one
# padded with zeros)
numpy_only(np.column_stack, np.split, np.array_split, np.vsplit, np.hsplit, np.dsplit,
           np.reshape, np.ndarray.reshape, np.ravel, np.ndarray.ravel, np.ndarray.flatten,
           np.take, np.take_along_axis, np.pad,
           np.gradient, np.select)

# constructors from differentiated values (they make NumPy arrays)
numpy_only(np.array, np.asarray, np.copy, np.full, np.linspace, np.nan_to_num)

# the sample frequencies of np.fft (the transforms run on Dask along axes of one chunk, as
# Dask itself requires of the user's call; their adjoints keep the cotangent in one chunk)
numpy_only(np.fft.fftfreq, np.fft.rfftfreq)

# complex parts Dask lacks or computes to decide (x.conjugate(), np.real_if_close), and
# np.r_[...] and np.c_[...], which make NumPy arrays of their items
numpy_only(np.ndarray.conjugate, np.real_if_close, type(np.r_).__getitem__)

# the helper that accumulates into a buffer in place (np.add.at, which Dask lacks), when a
# gradient is differentiated again
numpy_only(add_at)
