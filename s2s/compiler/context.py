"""What the optimizer and the shape analysis know about a generated function.

A builder, reverse or forward, hands ``optimize`` its generated function together with a
``Context``: the names it made up (which the passes may remove or rename), the cotangent of
each primal name, and how to ask about a call (elementwise? a full reduction? which object
does it call?). Shape classes (``analysis/shapes.py``) and every pass read it. It imports
nothing of the compiler, so that all of them can import it.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Set

import numpy as np


class Context:
    """What the optimizer needs to know about names the pipeline made."""

    def __init__(self, generated: Set[str], primal_temps: Set[str], cotangent_of: Dict[str, str],
                 elementwise: Any, unbroadcast: Optional[str], reduction: Any = None,
                 helpers: Optional[Dict[str, str]] = None, shapes=None,
                 is_number: Any = None, callee: Any = None, numpy: Any = None,
                 bind: Any = None):
        self.generated = generated              # names safe to remove or rename
        self.primal_temps = primal_temps        # temporaries made by normalization
        self.cotangent_of = cotangent_of        # cotangent name -> primal name
        self.elementwise = elementwise          # callable: is this call elementwise?
        self.unbroadcast = unbroadcast          # the name unbroadcast has in generated code
        self.reduction = reduction or (lambda call: False)   # reduces to one number?
        self.helpers = helpers or {}            # 'ones_like', 'expand_reduced' -> their names
        # what this call's arguments are: parameter -> shape tuple (an ndarray) or FLOAT
        self.shapes = shapes or {}
        self.is_number = is_number or (lambda name: False)   # a global holding a number?
        self.callee = callee or (lambda call: None)          # the object a call calls
        self.numpy = numpy                      # callable: the name NumPy has in generated code
        self.bind = bind                        # callable (name, object): a name for it there
        self.calls = None                       # what the function calls (optimize: uses.Calls)


def is_elementwise(func: Any) -> bool:
    """Does ``func`` apply elementwise (its result has its operands' broadcast shape)?"""
    if isinstance(func, np.ufunc):
        return True
    if getattr(func, "__s2s_elementwise__", False):
        return True
    return getattr(func, "__module__", None) == "math"
