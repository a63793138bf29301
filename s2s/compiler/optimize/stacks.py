"""Reversed loops that walk their saved values instead of popping them.

A loop saves what its adjoint reads on a list, one item per iteration, and the reversed
loop pops them back. When the pops open the reversed body and nothing else touches the
list, the reversed loop may as well iterate over the list backwards: one step of a for
loop instead of a method call per item.

    for _ in reversed(range_2):                 for y in reversed(y_stack):
        y = y_stack.pop()               ->          dy = dy * (0.1 * math.cos(y) + 0.99)
        dy = dy * (0.1 * math.cos(y) + 0.99)
"""
from __future__ import annotations

import ast
from typing import Dict, List, Optional

import gast

from s2s.compiler import syntax
from s2s.compiler.context import Context
from s2s.compiler.optimize.dead_code import remove_dead


def iterate_saved(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """Where the builder can name builtins in the generated code (reverse mode), rewrite the
    reversed loops, then drop what the pops left unread."""
    if ctx.bind is None or not any(isinstance(s, gast.For) for s in fn.body):
        return
    if _iterate_saved(fn, ctx.bind("reversed", reversed), ctx.bind("zip", zip)):
        remove_dead(fn, classes, ctx)


def _iterate_saved(fn: gast.FunctionDef, reversed_name: Optional[str],
                   zip_name: Optional[str]) -> bool:
    """Rewrite top-level reversed loops whose bodies start with pops of single-use stacks;
    returns whether it rewrote any.

    ``reversed_name`` and ``zip_name`` are what the builtins are called in the generated
    code (None: not available, nothing is rewritten)."""
    if reversed_name is None:
        return False
    rewritten = False
    pushes = _pushes_per_iteration(fn.body)
    for at, loop in enumerate(fn.body):
        if not (isinstance(loop, gast.For) and isinstance(loop.target, gast.Name)
                and not loop.orelse):
            continue
        if any(isinstance(n, gast.Name) and n.id == loop.target.id
               and not isinstance(n.ctx, gast.Store)
               for s in loop.body + fn.body[at + 1:] for n in syntax.walk(s)):
            continue                            # the counter is read: keep it
        taken = []
        for stmt in loop.body:
            stack = _popped(stmt)
            if stack is None or stack not in pushes or _uses(fn, stack) != 3:
                break
            taken.append((stmt.targets[0].id, stack))
        body = loop.body[len(taken):]
        for i, (value, stack) in enumerate(taken):
            # x_prev = x_stack.pop(); x = x_prev: the loop may bind x itself
            copy_ = next((s for s in body if _copies(s, value)), None)
            target = copy_.targets[0].id if copy_ is not None else None
            before = body[:body.index(copy_)] if copy_ is not None else []
            if copy_ is not None and _uses(fn, value) == 2 and not any(
                    isinstance(n, gast.Name) and n.id == target
                    for s in before for n in syntax.walk(s)):
                taken[i] = (copy_.targets[0].id, stack)
                body.remove(copy_)
        if not taken or (len(taken) > 1 and zip_name is None):
            continue
        backwards = [gast.Call(func=_name(reversed_name), args=[_name(stack)], keywords=[])
                     for _, stack in taken]
        if len(taken) == 1:
            loop.target, loop.iter = _name(taken[0][0], gast.Store()), backwards[0]
        else:
            loop.target = gast.Tuple(elts=[_name(v, gast.Store()) for v, _ in taken],
                                     ctx=gast.Store())
            loop.iter = gast.Call(func=_name(zip_name), args=backwards, keywords=[])
        loop.body = body or [gast.Pass()]
        rewritten = True
    return rewritten


def _pushes_per_iteration(body: List[ast.AST]) -> Dict[str, int]:
    """Stacks that a top-level loop without break or continue appends to once per
    iteration, at the top level of its body."""
    found: Dict[str, int] = {}
    for loop in body:
        if not isinstance(loop, (gast.For, gast.While)) or any(
                isinstance(n, (gast.Break, gast.Continue)) for n in syntax.walk(loop)):
            continue
        for stmt in loop.body:
            if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call) \
                    and isinstance(stmt.value.func, gast.Attribute) \
                    and stmt.value.func.attr == "append" \
                    and isinstance(stmt.value.func.value, gast.Name):
                stack = stmt.value.func.value.id
                found[stack] = found.get(stack, 0) + 1
    return {stack: n for stack, n in found.items() if n == 1}


def _popped(stmt) -> Optional[str]:
    """The stack of ``v = stack.pop()``."""
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.Call) \
            and isinstance(stmt.value.func, gast.Attribute) and stmt.value.func.attr == "pop" \
            and not stmt.value.args and isinstance(stmt.value.func.value, gast.Name):
        return stmt.value.func.value.id
    return None


def _copies(stmt, value: str) -> bool:
    """``x = value``."""
    return (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.Name)
            and stmt.value.id == value)


def _uses(fn, stack: str) -> int:
    """How often ``stack`` is named: 3 is its set-up, one append and one pop."""
    return sum(isinstance(n, gast.Name) and n.id == stack for n in syntax.walk(fn))


def _name(id_: str, ctx=None) -> gast.Name:
    return gast.Name(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)
