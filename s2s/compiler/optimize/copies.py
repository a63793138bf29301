"""Copy propagation: where the pipeline bound a name to a copy of another name, or to a
number, the readers read that name or number, and the copy goes.

    dy_sum = dout                           (gone)
    dx = dy_sum * np.cos(x)        ->       dx = dout * np.cos(x)
    c_scale = 2.0                           (gone)
    dz = dx * c_scale              ->       dz = dx * 2.0

A copy goes only when every read of it follows in the same block, before anything
rebinds what it copies; ``b = a`` right after ``a = b`` goes too. One index of the reads and
bindings of each block answers that for every copy: no rescans of the rest of the block.
"""
from __future__ import annotations

import bisect
from typing import Any, Dict, List, Optional, Set

import gast

from s2s.compiler import syntax
from s2s.compiler.context import Context
from s2s.compiler.optimize.uses import NameUses, closed_over, is_plain_number, replace_reads


def propagate_copies(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """``da = db``, ``da`` bound once: read ``db`` instead, while ``db`` is unchanged.

    Works block by block (loop and branch bodies too); a copy is folded only when every
    read of ``da`` follows it in the same block with no assignment to ``db`` in between.
    """
    uses = NameUses(fn.body, by_statement=True)
    fn.body = _propagate_block(fn.body, ctx, uses.binds, uses.loads, uses.mutated,
                               closed_over(fn, ctx), uses)


def _propagate_block(stmts, ctx, counts, loads, mutated, closed, found=None):
    uses = _BlockUses(stmts, found)
    out = uses.stmts
    for i, stmt in enumerate(out):
        nested = False
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner:
                setattr(stmt, field, _propagate_block(inner, ctx, counts, loads, mutated,
                                                      closed))
                nested = True
        if nested:
            uses.rescan(i)
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)):
            continue
        a = stmt.targets[0].id
        if a in closed:
            continue
        if (is_plain_number(stmt.value) and a in ctx.generated and counts.get(a) == 1
                and uses.reads_before_rebinding(i, a, a) == loads.get(a, 0)):
            uses.replace_reads(i, a, stmt.value)
            uses.delete(i)
            continue
        if isinstance(stmt.value, gast.Name):
            b = stmt.value.id
            if uses.copies_back(i, a, b):
                uses.delete(i)      # b = a right after a = b: b still holds that value
                continue
            if (a in ctx.generated and counts.get(a) == 1 and a not in mutated
                    and b not in mutated and a != b
                    and uses.reads_before_rebinding(i, a, b) == loads.get(a, 0)):
                uses.rename_reads(i, a, b)
                uses.delete(i)
    return [s for i, s in enumerate(out) if i not in uses.deleted]


class _BlockUses:
    """Where each name is read and bound in one block, by position of the block's
    statements (a statement counts what its nested blocks read and bind), kept up to date
    while copies are propagated from the first statement on. One walk of the block builds
    it, so that asking about a copy costs the reads of one name, not a walk of the rest of
    the block (``found``: that walk, made already for the function's body)."""

    def __init__(self, stmts, found: Optional[NameUses] = None):
        self.stmts = list(stmts)
        if found is None:
            found = NameUses(self.stmts, by_statement=True)
        self.reads: Dict[str, List[Any]] = found.reads_at   # name -> [(position, Name node)]
        self.bound: List[Set[str]] = found.bound_at         # position -> names it binds
        self.binds: Dict[str, List[int]] = {}       # name -> sorted positions binding it
        self.augmented: List[int] = []              # positions of ``x += v`` statements
        self.deleted: Set[int] = set()
        for at, stmt in enumerate(self.stmts):
            for name in self.bound[at]:
                self.binds.setdefault(name, []).append(at)
            if isinstance(stmt, gast.AugAssign):
                self.augmented.append(at)

    def rescan(self, at: int) -> None:
        """The statement at ``at`` changed inside (its nested blocks were rewritten)."""
        bound = {n.id for n in syntax.walk(self.stmts[at])
                 if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        self._unbind(at, self.bound[at] - bound)
        for name in bound - self.bound[at]:
            bisect.insort(self.binds.setdefault(name, []), at)
        self.bound[at] = bound

    def _unbind(self, at: int, names) -> None:
        for name in names:
            positions = self.binds[name]
            del positions[bisect.bisect_left(positions, at)]

    def delete(self, at: int) -> None:
        self._unbind(at, self.bound[at])
        self.bound[at] = set()
        self.deleted.add(at)

    def reads_before_rebinding(self, at: int, a: str, b: str) -> int:
        """Reads of ``a`` after position ``at`` before anything rebinds ``b`` (-1 if ``b``
        is rebound first inside a statement that also reads ``a``)."""
        positions = self.binds.get(b, [])
        k = bisect.bisect_right(positions, at)
        rebound = positions[k] if k < len(positions) else None
        reads = reads_there = 0
        for position, _ in self.reads.get(a, ()):
            if position <= at:
                continue
            if rebound is None or position < rebound:
                reads += 1
            elif position == rebound:
                reads_there += 1
        if reads_there:
            stmt = self.stmts[rebound]
            if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1):
                return -1
            reads += reads_there            # `b = f(a)` reads a before b changes
        return reads

    def copies_back(self, at: int, a: str, b: str) -> bool:
        """Is ``a = b`` at ``at`` redundant because ``b = a`` came earlier and neither
        changed since (no ``x += v`` between either)?"""
        last = max(self._last_before(self.binds.get(a, []), at),
                   self._last_before(self.binds.get(b, []), at),
                   self._last_before(self.augmented, at))
        if last < 0:
            return False
        stmt = self.stmts[last]
        return (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id == b
                and isinstance(stmt.value, gast.Name) and stmt.value.id == a)

    @staticmethod
    def _last_before(positions: List[int], at: int) -> int:
        k = bisect.bisect_left(positions, at)
        return positions[k - 1] if k else -1

    def rename_reads(self, at: int, old: str, new: str) -> None:
        """Every later read of ``old`` reads ``new``."""
        later = sorted({position for position, _ in self.reads.get(old, ()) if position > at})
        for position in later:
            syntax.rename_loads(self.stmts[position], {old: new})
        self.reads.setdefault(new, []).extend(
            entry for entry in self.reads.get(old, ()) if entry[0] > at)
        self.reads[old] = [entry for entry in self.reads.get(old, ()) if entry[0] <= at]

    def replace_reads(self, at: int, old: str, value) -> None:
        """Every later read of ``old`` is a copy of ``value`` (which reads no name)."""
        later = sorted({position for position, _ in self.reads.get(old, ()) if position > at})
        for position in later:
            replace_reads(self.stmts[position], old, value)
        self.reads[old] = [entry for entry in self.reads.get(old, ()) if entry[0] <= at]
