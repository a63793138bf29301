"""s2s: source-to-source automatic differentiation for Python and NumPy.

``s2s.grad(f)`` reads ``f``'s source, rewrites it into readable primal and adjoint Python code
from rule templates, compiles and caches it. ``inspect.getsource()`` on the result shows the
generated derivative.
"""
from s2s.api.grad import GradOperation, grad, value_and_grad
from s2s.api.show import show
from s2s.errors import (MissingRuleError, NotDifferentiableError, S2SError,
                     SourceUnavailableError, UnsupportedSyntaxError)
from s2s.rules import adjoint, nondifferentiable, tangent
from s2s import nn
from s2s.nn.random import set_seed
from s2s.api.transforms import jvp, vjp, jacfwd, jacrev, hessian, hvp
from s2s.api import composition  # noqa: F401 (registers the rules of the transforms)
from s2s.compiler.cache import cache_limit, clear_cache

__version__ = "0.1.0"

__all__ = [
    "grad", "value_and_grad", "GradOperation", "show", "adjoint", "tangent", "nondifferentiable",
    "S2SError", "SourceUnavailableError", "UnsupportedSyntaxError", "MissingRuleError",
    "NotDifferentiableError", "__version__", "nn", "set_seed",
    "jvp", "vjp", "jacfwd", "jacrev", "hessian", "hvp", "clear_cache", "cache_limit",
]
