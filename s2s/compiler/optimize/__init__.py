"""Stage 6: make the generated function what a careful person would write.

In: the function a builder generated, and a ``Context`` saying which names the pipeline made
up. Out: the same function, simplified; user code keeps its names and its order. Shape
classes are computed once, up front, and every pass is ``pass_(fn, classes, ctx)``, rewriting
``fn`` in place. The passes, in order:

``unbroadcasts``   ``unbroadcast(g, x)`` and matrix-product adjoints decided where shapes are
                   known: ``db = dout.sum(axis=0)``, ``dW = hidden.T @ dout``
``array_items``    item helpers become indexing (``du[i] += g``); item saves nothing reads
                   back, and slot clears nothing reads, go
``seeds``          a scalar output's seed is ``1.0``, and stays a scalar through a full
                   reduction's adjoint where only products with arrays read it
``sizes``          ``np.size(x_sq)`` reads ``np.size(x)``, the first name of its class
``copies``         ``dy = dout`` goes and its readers read ``dout``
``algebra``        ``1.0 * g``, ``-(-g)``, ``3 * (2 * x)``, common factors, in the adjoint
``dead_code``      assignments to pipeline names that nothing reads go
``sinking``        a cheap primal value only the adjoint reads is computed there
``accumulations``  ``d = a; d += b`` becomes ``d = a + b``
``inlining``       single-use temporaries go back into the expression that reads them
``accumulations``, ``copies`` and ``algebra`` again, on what inlining left
``ordering``       the adjoint's sums evaluate the operand that needs more arrays first
``stacks``         reversed loops iterate over their saved values instead of popping them

Together, on ``return np.sum(3 * x ** 2 + 4 * x)``:

    out_pow = x ** 2                          out = 3 * x ** 2 + 4 * x
    out_mul = 3 * out_pow                     dout = expand_reduced(1.0, out, None, False)
    out_mul_2 = 4 * x                         dx = dout * (6 * x + 4)
    out = out_mul + out_mul_2                 return dx
    out_2 = np.sum(out)
    dout_2 = ones_like(out_2)
    dout = expand_reduced(dout_2, out, None, False)
    dout_mul = dout                   ->
    dout_mul_2 = dout
    dx = dout_mul_2 * 4
    dout_pow = dout_mul * 3
    dx += dout_pow * (2 * x)
    return dx
"""
from __future__ import annotations

import gast

from s2s.compiler.analysis.shapes import shape_classes
from s2s.compiler.context import Context, is_elementwise
from s2s.compiler.optimize.accumulations import fuse_accumulations
from s2s.compiler.optimize.algebra import fold_adjoint
from s2s.compiler.optimize.array_items import (drop_dead_clears, drop_unread_restores,
                                               lower_item_helpers)
from s2s.compiler.optimize.copies import propagate_copies
from s2s.compiler.optimize.dead_code import remove_dead
from s2s.compiler.optimize.inlining import inline_temporaries
from s2s.compiler.optimize.ordering import deeper_first
from s2s.compiler.optimize.seeds import scalar_seeds
from s2s.compiler.optimize.sinking import sink_into_adjoint
from s2s.compiler.optimize.sizes import sizes_from_representatives
from s2s.compiler.optimize.stacks import iterate_saved
from s2s.compiler.optimize.unbroadcasts import lower_shape_helpers
from s2s.compiler.optimize.uses import Calls

__all__ = ["Context", "PASSES", "is_elementwise", "optimize"]

PASSES = (
    lower_shape_helpers,
    lower_item_helpers,
    drop_unread_restores,
    drop_dead_clears,
    scalar_seeds,
    sizes_from_representatives,
    propagate_copies,
    fold_adjoint,
    remove_dead,
    sink_into_adjoint,
    fuse_accumulations,
    inline_temporaries,
    fuse_accumulations,         # inlining puts d = a next to d += b
    propagate_copies,           # and leaves copies and products with 1 behind
    fold_adjoint,
    deeper_first,
    iterate_saved,
)


def optimize(fn: gast.FunctionDef, ctx: Context, classes=None) -> gast.FunctionDef:
    """Run ``PASSES`` over ``fn``, in order; returns ``fn``. ``classes``: the shape classes
    of ``fn`` under ``ctx``, when the caller has them already."""
    if classes is None:
        classes = shape_classes(fn, ctx)
    ctx.calls = Calls(fn, ctx.callee)
    for pass_ in PASSES:
        pass_(fn, classes, ctx)
    return fn
