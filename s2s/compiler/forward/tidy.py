"""Passes over a finished jvp function, around ``optimize`` (``ForwardBuilder``).

    dz = broadcast_like(dx, z)       ->   dz = dx         (shape classes prove dx has z's shape)
    return (out, (*(dx, dy),))       ->   return (out, (dx, dy))
    x = x                            ->   (dropped)
    def h(a): ...                    ->   (dropped: nothing reads h, every call went to dh)
"""
from __future__ import annotations

import gast

from s2s.compiler import syntax
from s2s.compiler.analysis.shapes import class_of


class SpliceStarred(syntax.Transformer):
    """``(*(dx, dy),)`` -> ``(dx, dy)``: a starred tuple the optimizer substituted."""

    def visit_Tuple(self, node):
        """Splice the items of starred tuple literals into ``node``, inner tuples first."""
        self.generic_visit(node)
        elts = []
        for e in node.elts:
            if isinstance(e, gast.Starred) and isinstance(e.value, (gast.Tuple, gast.List)):
                elts.extend(e.value.elts)
            else:
                elts.append(e)
        node.elts = elts
        return node


class DropShaping(syntax.Transformer):
    """Remove ``broadcast_like(t, x)`` / ``unbroadcast(t, x)`` where shape classes prove
    ``t`` already has ``x``'s shape."""

    def __init__(self, classes, ctx, helpers):
        self.classes, self.ctx, self.helpers = classes, ctx, helpers
        self.dropped = False

    def visit_Call(self, node):
        """``helper(t, x)`` -> ``t`` where ``t`` and ``x`` have one non-scalar shape class."""
        self.generic_visit(node)
        if (isinstance(node.func, gast.Name) and node.func.id in self.helpers
                and len(node.args) == 2):
            value_cls = class_of(node.args[0], self.classes, self.ctx)
            target_cls = class_of(node.args[1], self.classes, self.ctx)
            if value_cls is not None and value_cls == target_cls and value_cls != "scalar":
                self.dropped = True
                return node.args[0]
        return node


def drop_self_assignments(body):
    """Drop ``x = x``, in nested blocks too (an emptied body keeps a ``pass``)."""
    out = []
    for stmt in body:
        if (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and isinstance(stmt.value, gast.Name) and stmt.targets[0].id == stmt.value.id):
            continue
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner:
                setattr(stmt, field, drop_self_assignments(inner) or
                        ([gast.Pass()] if field == "body" else []))
        out.append(stmt)
    return out


def drop_unused_functions(body):
    """Local functions nothing reads (a closure whose calls all went to its tangent)."""
    loads = set().union(*map(syntax.loaded_names, body))
    return [s for s in body if not (isinstance(s, gast.FunctionDef) and s.name not in loads)]
