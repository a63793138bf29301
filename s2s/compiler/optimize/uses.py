"""What the passes ask about names, and the one rewrite several of them share.

How often each name is read and bound, which arrays some statement changes in place,
what the function calls, where the adjoint sweep starts, and ``substitute``: an
expression put where its one reader read the name that held it,

    t = a * b                   (gone)
    y = t + c           ->      y = a * b + c

Fusing statements makes expressions deeper; ``MAX_DEPTH`` bounds that, so that no later
stage (nor Python's compiler) recurses as deep as a long function is long.
"""
from __future__ import annotations

import ast
from typing import Any, Dict, List, Optional, Set, Tuple

import gast

from s2s.compiler import syntax

MAX_DEPTH = 24      # deepest expression the passes make by fusing statements


def is_marker(stmt) -> bool:
    """Is ``stmt`` the string that marks where the adjoint sweep starts?"""
    return (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant)
            and isinstance(stmt.value.value, str) and stmt.value.value.startswith("s2s:"))


_ITEM_HELPERS = ("add_at", "clear_item", "restore_item")   # change their first argument


class NameUses:
    """One walk over ``body``, a statement at a time (faster than one walk of all: one
    statement's nodes lie close together in memory): how often each name is read and bound,
    and which names' values statements change in place.

    ``mutated``: arrays changed through ``x[i] = v``, ``x[i] += v`` or the item helpers
    (``add_at``, ``clear_item``, ``restore_item``): a copy ``a = x``, or ``1.0 * x`` folded
    to ``x``, would see those changes. ``updated``: those and names updated with ``x += v``.
    With ``ctx``, ``written_through``: names whose value some statement may change in
    place: ``x[i] = v``, ``x += v``, ``x.append(v)``, or passing ``x`` to a function that is
    not elementwise. With ``by_statement``, where in ``body`` they are: ``reads_at`` (name ->
    ``(position, Name node)`` of each read), ``bound_at`` (position -> names bound) and
    ``named_at`` (position -> names read, bound or otherwise named), a statement counting
    what its nested blocks name.
    """

    def __init__(self, body: List[ast.AST], ctx=None, by_statement: bool = False):
        self.loads: Dict[str, int] = {}
        self.binds: Dict[str, int] = {}
        self.mutated: Set[str] = set()
        self.updated: Set[str] = set()
        self.written_through: Set[str] = set()
        self.reads_at: Dict[str, List[Tuple[int, ast.AST]]] = {}
        self.bound_at: List[Set[str]] = []
        self.named_at: List[Set[str]] = []
        loads, binds, mutated, written = self.loads, self.binds, self.mutated, \
            self.written_through
        reads_at = self.reads_at
        augmented = set()
        for at, stmt in enumerate(body):
            bound, named = set(), set()
            for node in syntax.walk(stmt):
                kind = type(node)
                if kind is gast.Name:
                    if by_statement:
                        named.add(node.id)
                    if isinstance(node.ctx, gast.Load):
                        loads[node.id] = loads.get(node.id, 0) + 1
                        if by_statement:
                            reads_at.setdefault(node.id, []).append((at, node))
                    elif isinstance(node.ctx, gast.Store):
                        binds[node.id] = binds.get(node.id, 0) + 1
                        bound.add(node.id)
                elif kind is gast.Assign or kind is gast.AugAssign:
                    for target in (node.targets if kind is gast.Assign else [node.target]):
                        if isinstance(target, gast.Subscript) \
                                and isinstance(target.value, gast.Name):
                            mutated.add(target.value.id)
                    if kind is gast.AugAssign:
                        if isinstance(node.target, gast.Name):
                            augmented.add(node.target.id)
                        if ctx is not None:
                            target = node.target.value \
                                if isinstance(node.target, gast.Subscript) else node.target
                            if isinstance(target, gast.Name):
                                written.add(target.id)
                elif kind is gast.Call:
                    if node.args and isinstance(node.args[0], gast.Name) \
                            and isinstance(node.func, gast.Name) \
                            and node.func.id.startswith(_ITEM_HELPERS):
                        mutated.add(node.args[0].id)
                    if ctx is not None:
                        if isinstance(node.func, gast.Attribute) \
                                and isinstance(node.func.value, gast.Name):
                            written.add(node.func.value.id)
                        if not (ctx.elementwise(node) or ctx.reduction(node)):
                            written.update(a.id for a in node.args if isinstance(a, gast.Name))
                            written.update(k.value.id for k in node.keywords
                                           if isinstance(k.value, gast.Name))
                elif (kind is gast.Subscript or kind is gast.Attribute) and ctx is not None \
                        and isinstance(node.ctx, gast.Store) and isinstance(node.value, gast.Name):
                    written.add(node.value.id)
            if by_statement:
                self.bound_at.append(bound)
                self.named_at.append(named)
        self.updated = mutated | augmented


def changed_in_place(body: List[ast.AST], ctx) -> Tuple[Set[str], Set[str]]:
    """``NameUses(body)``'s ``mutated`` and ``updated`` alone. Only statements assign, so
    expressions are walked only when the function calls an item helper (``add_at``...),
    which ``ctx.calls`` tells: most functions do not, and expressions are most nodes."""
    if ctx.calls is None or any(n.startswith(_ITEM_HELPERS) for n in ctx.calls.named):
        uses = NameUses(body)
        return uses.mutated, uses.updated
    mutated, augmented = set(), set()
    for node in syntax.walk_statements(body):
        kind = type(node)
        if kind is gast.Assign or kind is gast.AugAssign:
            for target in (node.targets if kind is gast.Assign else [node.target]):
                if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
                    mutated.add(target.value.id)
            if kind is gast.AugAssign and isinstance(node.target, gast.Name):
                augmented.add(node.target.id)
    return mutated, mutated | augmented


class Calls:
    """What a function calls, found in one walk: the names called (each with one of its
    calls, to resolve it) and the attribute names called (``stack.pop()``, ``np.size(x)``).

    ``optimize`` takes it before the first pass. No pass adds a call of a run-time helper,
    a ``pop`` or a size query, so the passes that rewrite only those skip a function
    without them, and most functions have none. Nor does a pass add a lambda or a def:
    ``nested`` says whether the function holds one.
    """

    def __init__(self, fn: ast.AST, callee):
        self.named: Dict[str, ast.AST] = {}
        self.methods: Set[str] = set()
        self.nested = False
        self._callee = callee
        self._objects = None
        for part in (fn.args, *fn.body):      # one statement at a time: see NameUses
            for node in syntax.walk(part):
                if isinstance(node, gast.Call):
                    func = node.func
                    if isinstance(func, gast.Name):
                        self.named.setdefault(func.id, node)
                    elif isinstance(func, gast.Attribute):
                        self.methods.add(func.attr)
                elif isinstance(node, (gast.Lambda, gast.FunctionDef)):
                    self.nested = True

    def objects(self) -> List[Any]:
        """The objects the named calls call, where known."""
        if self._objects is None:
            self._objects = [self._callee(call) for call in self.named.values()]
        return self._objects


def may_call(ctx, test) -> bool:
    """Might the function call, by name, an object for which ``test`` holds? (Yes when
    ``optimize`` has not looked.)"""
    return ctx.calls is None or any(test(obj) for obj in ctx.calls.objects())


def may_call_method(ctx, *attrs: str) -> bool:
    """Might the function call an attribute named one of ``attrs``?"""
    return ctx.calls is None or any(a in ctx.calls.methods for a in attrs)


def closed_over(fn, ctx) -> Set[str]:
    """Names read inside the lambdas and defs nested in ``fn``. Passes neither rename nor
    inline them: a nested function's free names are the keys of its cotangent."""
    names: Set[str] = set()
    if ctx.calls is not None and not ctx.calls.nested:
        return names                    # no walk for the many functions without any
    for node in syntax.walk(fn):
        if node is not fn and isinstance(node, (gast.Lambda, gast.FunctionDef)):
            names |= {n.id for n in syntax.walk(node)
                      if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
    return names


def is_plain_number(node) -> bool:
    return isinstance(node, gast.Constant) and type(node.value) in (int, float)


def is_number(node, value) -> bool:
    return (isinstance(node, gast.Constant) and type(node.value) in (int, float)
            and node.value == value)


def substitute(stmt, target, value):
    """``stmt`` reads ``value`` where it read ``target``, its one read: ``value`` moves
    there, uncopied (ast.unparse adds the parentheses precedence needs)."""
    stmt.value = replace_reads(stmt.value, target, value, move=True)
    return stmt


def replace_reads(root, name, value, move=False):
    """``root`` with a copy of ``value`` wherever it reads ``name`` (the copies are not
    searched again); with ``move``, the first read gets ``value`` itself."""
    if is_load_of(root, name):
        return value if move else syntax.copy_tree(value)
    found = []
    for node in syntax.walk(root):
        attrs = node.__dict__
        for field in syntax.child_fields(node.__class__):
            child = attrs.get(field)
            if type(child) is list:
                found.extend((child, j, True) for j, item in enumerate(child)
                             if is_load_of(item, name))
            elif is_load_of(child, name):
                found.append((node, field, False))
    for holder, key, in_list in found:
        new = value if move else syntax.copy_tree(value)
        move = False
        if in_list:
            holder[key] = new
        else:
            setattr(holder, key, new)
    return root


def is_load_of(node, name) -> bool:
    return type(node) is gast.Name and node.id == name and isinstance(node.ctx, gast.Load)


def depths_of(root, name: str, depth: int = 0, found: Optional[List[int]] = None) -> List[int]:
    """The depths (``root`` at 0) of the names ``name`` in ``root``, read or bound."""
    if found is None:
        found = []
    if type(root) is gast.Name and root.id == name:
        found.append(depth)
    attrs = root.__dict__
    for field in syntax.child_fields(root.__class__):
        value = attrs.get(field)
        if type(value) is list:
            for item in value:
                if isinstance(item, ast.AST):
                    depths_of(item, name, depth + 1, found)
        elif isinstance(value, ast.AST):
            depths_of(value, name, depth + 1, found)
    return found


def expression_depth(root) -> int:
    """How deep ``root`` is: 0 for a node without nodes below it (contexts and operators
    count as nodes: a name is 1 deep)."""
    deepest = -1
    attrs = root.__dict__
    for field in root._fields:
        value = attrs.get(field)
        if type(value) is list:
            for item in value:
                if isinstance(item, ast.AST):
                    deepest = max(deepest, expression_depth(item))
        elif isinstance(value, ast.AST):
            deepest = max(deepest, expression_depth(value) if value._fields else 0)
    return deepest + 1
