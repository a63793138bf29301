"""The Numba dialect: generated gradient code rewritten so that Numba's nopython mode compiles it.

In: the gast ``FunctionDef`` of a generated gradient (parsed back from its source), whose
statements carry the user's line in ``user_line``. Out: the same function, rewritten in
place, with these changes, and nothing else touched:

- A reversed loop becomes an index loop (Numba has no ``reversed``):

      for y in reversed(y_stack):            for step in range(len(y_stack) - 1, -1, -1):
          ...                          ->        y = y_stack[step]
                                                 ...
      for i in reversed(i_range):            for step in range(len(i_range) - 1, -1, -1):
                                                 i = i_range.start + step * i_range.step
      for v, x in zip(reversed(v_stack),     for step in range(len(v_stack) - 1, -1, -1):
                      reversed(x_stack)):        v = v_stack[step]
                                                 x = x_stack[step]

- The values a counted loop saves go into storage made before the loop (``stacks.py``) and
  are read back by the step index, where the loop's trip count is known before it starts (it
  runs over a name: a range or an array), it has no ``break`` or ``continue``, and each save
  is a statement of its body; anything else keeps its list, which Numba types from its
  appends.

- ``add_at(dp, 0, dw)`` becomes ``dp = add_at(dp, 0, dw)``: a tuple's cotangent is a tuple,
  which Numba cannot change in place.

- ``g.sum(axis=(0, 2))`` becomes ``sum_axes(g, (0, 2), False)``, and ``g.sum(axis=1,
  keepdims=True)`` ``sum_axes(g, (1,), True)``: Numba sums over one axis, without keepdims.

Constructs of the user's code that Numba cannot compile and that reach generated code (local
functions and lambdas, dicts, sets) are refused here, at the user's line, before Numba sees
them (``Refused``); Numba's own errors on anything else are located by ``build``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Set

import gast

from s2s.compiler import syntax


class Refused(Exception):
    """A construct the Numba dialect cannot express, at ``node``."""

    def __init__(self, construct: str, node: gast.AST, hint: str):
        super().__init__(construct)
        self.construct = construct
        self.node = node
        self.hint = hint


_REFUSED = {
    gast.Lambda: ("a lambda", "write it as a plain expression or a module-level function"),
    gast.FunctionDef: ("a local function (a closure)", "move it to module level"),
    gast.Dict: ("a dict", "use arrays or tuples"),
    gast.DictComp: ("a dict comprehension", "use arrays or tuples"),
    gast.Set: ("a set", "use arrays or tuples"),
    gast.SetComp: ("a set comprehension", "use arrays or tuples"),
}


def refuse_unsupported(fn: gast.FunctionDef) -> None:
    """Raise ``Refused`` at the first construct of ``fn`` that the dialect cannot express."""
    for statement in syntax.walk_statements(fn.body):
        for node in syntax.walk(statement):
            found = _REFUSED.get(type(node))
            if isinstance(node, gast.FunctionDef) and node.name.startswith("pullback_"):
                found = (f"the call of the Python function '{node.name[len('pullback_'):]}' "
                         f"(its gradient returns a pullback, a closure)",
                         "write the helper's code into the function that calls it")
            if found is not None:
                raise Refused(found[0], statement, found[1])
            if isinstance(node, gast.Call) and any(isinstance(a, gast.Starred)
                                                   for a in node.args):
                raise Refused("a call with *args", statement, "pass the arguments one by one")
    if fn.args.vararg is not None or fn.args.kwarg is not None:
        raise Refused("*args or **kwargs", fn, "give the function fixed parameters")


def rewrite(fn: gast.FunctionDef, ranges: Set[str] = frozenset()) -> gast.FunctionDef:
    """Rewrite ``fn`` into the dialect, in place (see the module docstring). ``ranges``:
    names bound to a range outside ``fn`` (a lifted pullback's residuals)."""
    loops = _Loops(fn)
    loops.ranges |= set(ranges)
    loops.run()
    _assign_add_at(fn)
    _sums_over_axes(fn)
    return fn


def _sums_over_axes(fn: gast.FunctionDef) -> None:
    """``g.sum(axis=(0, 2), keepdims=True)`` becomes ``sum_axes(g, (0, 2), True)``: Numba's
    ``sum`` takes one axis and no ``keepdims`` (see ``stacks``). Only int literals are
    rewritten."""
    for node in syntax.walk(fn):
        if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                and node.func.attr == "sum" and not node.args):
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        axis, keepdims = keywords.get("axis"), keywords.get("keepdims", syntax.const(False))
        if _int_literal(axis) and isinstance(keepdims, gast.Constant) and keepdims.value is True:
            axis = gast.Tuple(elts=[axis], ctx=gast.Load())     # Numba has no keepdims
        if set(keywords) - {"axis", "keepdims"} or not isinstance(axis, gast.Tuple) \
                or not all(_int_literal(e) for e in axis.elts) \
                or not (isinstance(keepdims, gast.Constant) and isinstance(keepdims.value, bool)):
            continue
        node.args = [node.func.value, axis, keepdims]
        node.func = syntax.name("sum_axes")
        node.keywords = []


def _int_literal(node: gast.AST) -> bool:
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        node = node.operand
    return isinstance(node, gast.Constant) and type(node.value) is int


def _assign_add_at(fn: gast.FunctionDef) -> None:
    """``add_at(dp, 0, dw)`` becomes ``dp = add_at(dp, 0, dw)``: the cotangent of a tuple
    is a tuple to Numba, which cannot change it in place, so its Numba version makes a
    new one (an array's returns the array itself)."""
    for statement in syntax.walk_statements(fn.body):
        for field in ("body", "orelse"):
            block = getattr(statement, field, None)
            if isinstance(block, list):
                block[:] = [_assigned(s) for s in block]
    fn.body[:] = [_assigned(s) for s in fn.body]


def _assigned(statement):
    if isinstance(statement, gast.Expr) and isinstance(statement.value, gast.Call) \
            and isinstance(statement.value.func, gast.Name) \
            and statement.value.func.id in ("add_at", "add_at_iteration") \
            and statement.value.args \
            and isinstance(statement.value.args[0], gast.Name):
        made = syntax.assign(statement.value.args[0].id, statement.value)
        made.user_line = getattr(statement, "user_line", None)
        return made
    return statement


# -- the rewrite -----------------------------------------------------------------------------
def _parse(text: str, like: gast.AST) -> List[gast.stmt]:
    body = gast.parse(text).body
    for node in body:
        for part in syntax.walk(node):
            if isinstance(part, gast.stmt):
                part.user_line = getattr(like, "user_line", None)
    return body


def _append_of(statement) -> Optional[tuple]:
    """``(stack, value)`` for a statement ``stack.append(value)`` of a name, else None."""
    if isinstance(statement, gast.Expr) and isinstance(statement.value, gast.Call):
        call = statement.value
        func = call.func
        if isinstance(func, gast.Attribute) and func.attr == "append" \
                and isinstance(func.value, gast.Name) and len(call.args) == 1 \
                and not call.keywords and isinstance(call.args[0], gast.Name):
            return func.value.id, call.args[0].id
    return None


def _pop_of(statement) -> Optional[str]:
    """The stack of a statement ``name = stack.pop()``, else None."""
    if isinstance(statement, gast.Assign) and len(statement.targets) == 1 \
            and isinstance(statement.targets[0], gast.Name) \
            and isinstance(statement.value, gast.Call):
        call = statement.value
        if isinstance(call.func, gast.Attribute) and call.func.attr == "pop" \
                and isinstance(call.func.value, gast.Name) and not call.args:
            return call.func.value.id
    return None


def _reversed_of(loop) -> Optional[gast.expr]:
    """What ``for ... in reversed(what)`` iterates over, else None."""
    it = loop.iter
    if isinstance(it, gast.Call) and isinstance(it.func, gast.Name) \
            and it.func.id == "reversed" and len(it.args) == 1 and not it.keywords:
        return it.args[0]
    return None


def _zipped_reversed_of(loop) -> Optional[List[str]]:
    """The stacks of ``for a, b in zip(reversed(a_stack), reversed(b_stack))``, else None."""
    it = loop.iter
    if not (isinstance(it, gast.Call) and isinstance(it.func, gast.Name)
            and it.func.id == "zip" and not it.keywords and len(it.args) > 1
            and isinstance(loop.target, gast.Tuple)
            and len(loop.target.elts) == len(it.args)):
        return None
    stacks = []
    for arg in it.args:
        if not (isinstance(arg, gast.Call) and isinstance(arg.func, gast.Name)
                and arg.func.id == "reversed" and len(arg.args) == 1
                and isinstance(arg.args[0], gast.Name)):
            return None
        stacks.append(arg.args[0].id)
    return stacks


def _leaves_early(body) -> bool:
    """Does a ``break`` or ``continue`` of this loop (not of a loop inside it) occur?"""
    todo = list(body)
    for node in todo:
        if isinstance(node, (gast.Break, gast.Continue)):
            return True
        if isinstance(node, (gast.For, gast.While)):
            todo.extend(node.orelse)
            continue
        for field in ("body", "orelse", "handlers", "finalbody"):
            todo.extend(getattr(node, field, None) or [])
    return False


class _Loops:
    """Finds counted loops and their stacks, then rewrites loops and stacks."""

    def __init__(self, fn: gast.FunctionDef):
        self.fn = fn
        self.used = syntax.names_in(fn)
        self.ranges: Set[str] = set()               # names bound to range(...)
        self.stacks: Dict[str, gast.Assign] = {}    # stack -> its `stack = []`
        self.uses: Dict[str, int] = {}              # stack -> how often its name occurs
        self.step_of: Dict[int, str] = {}           # id(forward loop) -> its step name
        self.counted: Dict[str, gast.For] = {}      # preallocated stack -> its forward loop
        self.none_names: Set[str] = set()           # names bound to None somewhere
        self.over: Dict[int, str] = {}              # id(counted loop) -> the name it runs over

    def run(self) -> None:
        self._survey()
        self._choose_counted(self.fn.body, set(self._params()))
        self._drop_unmatched()
        self._rewrite_block(self.fn.body)

    def _params(self):
        args = self.fn.args
        return [a.id for a in args.posonlyargs + args.args + args.kwonlyargs]

    def _fresh(self, base: str) -> str:
        candidate, n = base, 2
        while candidate in self.used:
            candidate, n = f"{base}_{n}", n + 1
        self.used.add(candidate)
        return candidate

    def _survey(self) -> None:
        for statement in syntax.walk_statements(self.fn.body):
            if isinstance(statement, gast.Assign) and len(statement.targets) == 1 \
                    and isinstance(statement.targets[0], gast.Name):
                target, value = statement.targets[0].id, statement.value
                if isinstance(value, gast.List) and not value.elts:
                    self.stacks[target] = statement
                elif isinstance(value, gast.Call) and isinstance(value.func, gast.Name) \
                        and value.func.id == "range":
                    self.ranges.add(target)
                elif isinstance(value, gast.Constant) and value.value is None:
                    self.none_names.add(target)
        for node in syntax.walk(self.fn):
            if isinstance(node, gast.Name) and node.id in self.stacks:
                self.uses[node.id] = self.uses.get(node.id, 0) + 1

    # -- which stacks are preallocated --------------------------------------------------------
    def _choose_counted(self, block, bound: Set[str]) -> None:
        """Mark the stacks of counted loops in ``block`` (and the blocks below) whose saved
        value is bound, and not to None, before the loop."""
        created: Set[str] = set()
        for statement in block:
            if isinstance(statement, gast.For) and isinstance(statement.iter, gast.Name) \
                    and not _leaves_early(statement.body):
                self._count_loop(statement, created, bound)
            for field in ("body", "orelse"):
                inner = getattr(statement, field, None)
                if inner and not isinstance(statement, gast.FunctionDef):
                    self._choose_counted(inner, set(bound))
            if isinstance(statement, gast.Assign):
                for target in statement.targets:
                    for node in syntax.walk(target):
                        if isinstance(node, gast.Name):
                            bound.add(node.id)
                if len(statement.targets) == 1 and isinstance(statement.targets[0], gast.Name) \
                        and statement.targets[0].id in self.stacks \
                        and self.stacks[statement.targets[0].id] is statement:
                    created.add(statement.targets[0].id)

    def _count_loop(self, loop: gast.For, created: Set[str], bound: Set[str]) -> None:
        for statement in loop.body:
            found = _append_of(statement)
            if found is None:
                continue
            stack, value = found
            # the stack's uses: `stack = []`, its append, and its reads in one reverse loop
            if stack in created and value in bound and value not in self.none_names \
                    and self._reads_fit(stack):
                self.counted[stack] = loop
                self.over[id(loop)] = loop.iter.id

    def _drop_unmatched(self) -> None:
        """Keep a list for a stack popped in a reverse loop that does not mirror the loop
        that saved it (its steps would not line up)."""
        changed = True
        while changed:
            changed = False
            for statement in syntax.walk_statements(self.fn.body):
                over = _reversed_of(statement) if isinstance(statement, gast.For) else None
                if over is None:
                    continue
                mirror = self._forward_of(over.id) if isinstance(over, gast.Name) else None
                for inner in statement.body:
                    stack = _pop_of(inner)
                    if stack in self.counted and self.counted[stack] is not mirror:
                        del self.counted[stack]
                        changed = True

    def _reads_fit(self, stack: str) -> bool:
        """Is ``stack`` read only as ``reversed(stack)`` or by ``name = stack.pop()`` in the
        body of one reverse loop?"""
        reads = 0
        loops = 0
        for statement in syntax.walk_statements(self.fn.body):
            if isinstance(statement, gast.For):
                over = _reversed_of(statement)
                if stack in (_zipped_reversed_of(statement) or ()):
                    reads += 1          # read by the step: storage or list alike
                    loops += 1
                elif isinstance(over, gast.Name) and over.id == stack:
                    reads += 1
                    loops += 1
                elif over is not None:
                    pops = sum(1 for s in statement.body if _pop_of(s) == stack)
                    reads += pops
                    loops += 1 if pops else 0
        # every occurrence of the name: its creation, its append, and those reads
        return loops <= 1 and reads <= 1 and self.uses.get(stack, 0) == 2 + reads

    # -- the rewrite --------------------------------------------------------------------------
    def _rewrite_block(self, block: list) -> None:
        out = []
        for statement in block:
            if isinstance(statement, gast.Assign) and len(statement.targets) == 1 \
                    and isinstance(statement.targets[0], gast.Name) \
                    and statement.targets[0].id in self.counted \
                    and self.stacks.get(statement.targets[0].id) is statement:
                continue            # made again just before its loop, from the saved value
            for field in ("body", "orelse"):
                inner = getattr(statement, field, None)
                if inner and isinstance(statement, (gast.For, gast.While, gast.If)):
                    self._rewrite_block(inner)
            if isinstance(statement, gast.For):
                if _zipped_reversed_of(statement) is not None:
                    out.append(self._zipped_reverse_loop(statement))
                    continue
                if _reversed_of(statement) is not None:
                    out.extend(self._reverse_loop(statement))
                    continue
                out.extend(self._counted_loop(statement))
                continue
            out.append(statement)
        block[:] = out

    def _counted_loop(self, loop: gast.For) -> List[gast.stmt]:
        stacks = [s for s, owner in self.counted.items() if owner is loop]
        if not stacks:
            return [loop]
        step = self._fresh("step")
        self.step_of[id(loop)] = step
        made = []
        for statement in loop.body:
            found = _append_of(statement)
            if found is not None and found[0] in stacks:
                stack, value = found
                made.extend(_parse(f"{stack} = saves({value}, len({self.over[id(loop)]}))",
                                   loop))
                statement_text = f"push({stack}, {step}, {value})"
                new = _parse(statement_text, statement)[0]
                statement.__dict__.clear()
                statement.__dict__.update(new.__dict__)
        target = loop.target
        loop.target = gast.Tuple(elts=[syntax.name(step, gast.Store()), target],
                                 ctx=gast.Store())
        loop.iter = gast.Call(func=syntax.name("enumerate"), args=[loop.iter], keywords=[])
        return made + [loop]

    def _reverse_loop(self, loop: gast.For) -> List[gast.stmt]:
        over = _reversed_of(loop)
        before: List[gast.stmt] = []
        if not isinstance(over, gast.Name):
            is_range = isinstance(over, gast.Call) and isinstance(over.func, gast.Name) \
                and over.func.id == "range"
            held = self._fresh("steps_range" if is_range else "reversed_items")
            before.append(syntax.assign(held, over))
            before[0].user_line = getattr(loop, "user_line", None)
            over = syntax.name(held)
            if is_range:
                self.ranges.add(held)
        forward = self._forward_of(over.id)
        step = self.step_of.get(id(forward)) if forward is not None else None
        step = step or self._fresh("step")
        header = _parse(f"for {step} in range(len({over.id}) - 1, -1, -1):\n    pass", loop)[0]
        if over.id in self.ranges:
            item = f"{over.id}.start + {step} * {over.id}.step"
        else:
            item = f"{over.id}[{step}]"
        first = _parse(f"_ = {item}", loop)[0]
        first.targets = [loop.target]
        body = [first]
        for statement in loop.body:
            stack = _pop_of(statement)
            if stack is not None and self.counted.get(stack) is forward and forward is not None:
                statement.value = gast.parse(f"{stack}[{step}]").body[0].value
            body.append(statement)
        header.body = body
        header.orelse = loop.orelse
        return before + [header]

    def _zipped_reverse_loop(self, loop: gast.For) -> gast.For:
        """``for a, b in zip(reversed(a_stack), reversed(b_stack))``, the stacks saved by
        one loop (so of one length): an index loop that reads each at the step."""
        stacks = _zipped_reversed_of(loop)
        step = self._fresh("step")
        header = _parse(f"for {step} in range(len({stacks[0]}) - 1, -1, -1):\n    pass",
                        loop)[0]
        reads = []
        for target, stack in zip(loop.target.elts, stacks):
            read = _parse(f"_ = {stack}[{step}]", loop)[0]
            read.targets = [target]
            reads.append(read)
        header.body = reads + loop.body
        header.orelse = loop.orelse
        return header

    def _forward_of(self, over: str) -> Optional[gast.For]:
        """The forward loop a reverse loop over ``over`` mirrors: the loop of a preallocated
        stack, or the loop over the same range."""
        if over in self.counted:
            return self.counted[over]
        for loop in self.counted.values():
            if self.over[id(loop)] == over:
                return loop
        return None
