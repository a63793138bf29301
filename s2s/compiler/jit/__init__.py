"""Gradients compiled by Numba (``jit=True``): the Numba dialect of generated code.

``dialect`` rewrites generated code into what Numba's nopython mode compiles, ``fusion``
turns its runs of elementwise statements into loops over the elements (by the kinds of names
that Numba's type inference finds, ``infer``), ``build`` writes it to a file and compiles it
(with the functions it calls; ``callees`` turns their pullbacks into functions of their
own), ``overloads`` gives Numba the run-time helpers, ``stacks`` holds the loop storage
the dialect writes, and ``choice`` picks the faster version for ``jit='auto'``. Numba is
imported only when a gradient is compiled, so s2s works without it.
"""
from s2s.compiler.jit.build import (cache_dir, compile_error, numba_module, numba_version,
                                    run_error)
from s2s.compiler.jit.choice import FasterOf

__all__ = ["FasterOf", "cache_dir", "compile_error", "numba_module", "numba_version",
           "run_error"]
