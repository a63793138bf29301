"""Fresh, readable names for generated variables.

Generated names are built from the user's own names (``dx`` for the cotangent of ``x``,
``pred_matmul`` for the product computed on the way to ``pred``), with a numeric suffix only
when a name is already taken.
"""
from __future__ import annotations

import ast
import keyword

import gast
from typing import Dict, Iterable, Set

from s2s.compiler import syntax


class Namer:
    """Hands out names that collide with nothing in the function being transformed."""

    def __init__(self, taken: Iterable[str] = ()):
        self.taken = set(taken)
        self.made: Set[str] = set()         # every name this namer handed out
        # names whose value normalization unpacked into a tuple of names (w, v = result):
        # they hold a sequence, even where it came from a call the caller could not see into
        self.unpacked: Set[str] = set()

    @property
    def taken(self) -> Set[str]:
        return self._taken

    @taken.setter
    def taken(self, names: Set[str]) -> None:
        # base -> the suffix to try first. Names are only added to a set of taken names, so
        # the first free suffix never goes down (y_2 ... y_800 cost one try each, not 400);
        # a new set (a rollback) may give names back, so the search starts over.
        self._taken = names
        self._suffix: Dict[str, int] = {}

    @classmethod
    def for_tree(cls, tree: ast.AST, extra: Iterable[str] = ()) -> "Namer":
        taken = set(extra)
        for node in syntax.walk(tree):
            if isinstance(node, (gast.Name, ast.Name)):
                taken.add(node.id)
            elif isinstance(node, ast.arg):
                taken.add(node.arg)
            elif isinstance(node, (gast.FunctionDef, gast.ClassDef, ast.FunctionDef)):
                taken.add(node.name)
        return cls(taken)

    def reserve(self, name: str) -> None:
        self.taken.add(name)

    def fresh(self, base: str) -> str:
        base = base.strip("_") or "t"
        if keyword.iskeyword(base) or not base.isidentifier():
            base = base + "_"
        if base not in self.taken:
            self.taken.add(base)
            self.made.add(base)
            return base
        n = self._suffix.get(base, 2)
        while f"{base}_{n}" in self.taken:
            n += 1
        self._suffix[base] = n + 1
        name = f"{base}_{n}"
        self.taken.add(name)
        self.made.add(name)
        return name

    def adjoint(self, primal: str) -> str:
        """The name of ``primal``'s cotangent: ``dx`` for ``x``."""
        return self.fresh("d" + primal)
