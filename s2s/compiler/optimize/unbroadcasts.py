"""Shape helpers decided at transform time, where shape classes know the shapes.

    db2 = unbroadcast(dout, b2)                   ->   db2 = dout.sum(axis=0)
    dh = unbroadcast(dh_add, h_matmul)            ->   dh = dh_add
    dW2 = matmul_adjoint_x2(dout, hidden, W2)     ->   dW2 = hidden.T @ dout

The rewrite itself is ``analysis.shapes.LowerShapeHelpers``, which the reverse builder
also runs on each rule it pastes.
"""
from __future__ import annotations

import gast

from s2s.compiler.analysis.shapes import LowerShapeHelpers
from s2s.compiler.context import Context
from s2s.compiler.optimize.uses import may_call
from s2s.runtime import numpy_helpers


def lower_shape_helpers(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """``unbroadcast`` and the matrix-product adjoints, where the builder made them."""
    if ctx.unbroadcast and (ctx.calls is None or ctx.unbroadcast in ctx.calls.named
                            or may_call(ctx, _is_matmul_adjoint)):
        LowerShapeHelpers(classes, ctx).visit(fn)


def _is_matmul_adjoint(func) -> bool:
    return func is numpy_helpers.matmul_adjoint_x1 or func is numpy_helpers.matmul_adjoint_x2
