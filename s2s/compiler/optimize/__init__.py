"""Stage 6: make the generated gradient what a careful person would write.

In: the generated ``FunctionDef``, with the names the pipeline made up.  Out: the same
function, simplified. Passes, in order:

1. ``unbroadcast(g, x)`` is dropped where shape classes prove ``g`` already has ``x``'s shape
   (operands of elementwise code share a class; scalar constants never change a shape);
2. copies of cotangents (``dy = dz``) are propagated and algebra with 1 and 0 is folded;
3. assignments nothing reads are removed (only names the pipeline made, never user code);
4. single-use temporaries of the primal that the adjoint does not read are put back into the
   expression they came from, so the primal reads like the user's own code.

    out_pow = x ** 2                          out = 3 * x ** 2 + 4 * x
    out_mul = 3 * out_pow                     dout = ones_like(out)
    out = out_mul + 4 * x             ->      dout_pow = dout * 3
    dout = ones_like(out)                     dx = dout * 4 + dout_pow * (2 * x)
    dout_mul = unbroadcast(dout, out_mul)
    ...
"""
from __future__ import annotations

import ast
import bisect
import copy
from typing import Any, Dict, List, Optional, Set

import gast
import numpy as np

from s2s.compiler import syntax
from s2s.compiler.optimize.array_items import drop_dead_clears, drop_unread_restores, is_marker, lower_item_helpers
from s2s.compiler.analysis.shapes import SCALAR, LowerShapeHelpers, class_of, shape_classes
from s2s.compiler.optimize.stacks import iterate_saved


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


def optimize(fn: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    classes = shape_classes(fn, ctx)
    if ctx.unbroadcast:
        LowerShapeHelpers(classes, ctx).visit(fn)
    fn.body = lower_item_helpers(fn.body, classes, ctx)
    drop_unread_restores(fn, classes, ctx)
    drop_dead_clears(fn, ctx)
    scalar_seeds(fn, classes, ctx)
    sizes_from_representatives(fn, classes, ctx)
    fn.body = propagate_copies(fn.body, ctx)
    _fold_adjoint(fn)
    fn.body = remove_dead(fn.body, ctx.generated)
    fn.body = sink_into_adjoint(fn.body, ctx)
    fn.body = fuse_accumulations(fn.body)
    fn.body = inline_temporaries(fn.body, ctx.primal_temps, ctx.generated)
    fn.body = fuse_accumulations(fn.body)
    fn.body = propagate_copies(fn.body, ctx)
    _fold_adjoint(fn)
    _deeper_first(fn, classes, ctx)
    if ctx.bind is not None:
        iterate_saved(fn, ctx.bind("reversed", reversed), ctx.bind("zip", zip))
        fn.body = remove_dead(fn.body, ctx.generated)
    return fn


def _deeper_first(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """In the adjoint's array sums ``a + b``, evaluate the operand that needs more
    temporary arrays first (Ershov numbers; then the longer one): fewer arrays are alive at
    once, which is what large arrays pay for. Only where shape classes show both are arrays
    or numbers, so ``+`` is NumPy's, which commutes."""
    def need(node) -> int:
        if isinstance(node, gast.BinOp):
            a, b = need(node.left), need(node.right)
            return max(a, b) if a != b else a + 1
        if isinstance(node, gast.UnaryOp):
            return max(need(node.operand), 1)
        if isinstance(node, gast.Call):
            return max([need(a) for a in node.args] + [1])
        return 0

    def weight(node):
        # ties go to the longer chain (measured: 10^6 elements, 10-25% faster that way)
        operations = sum(isinstance(n, (gast.BinOp, gast.UnaryOp, gast.Call))
                         for n in syntax.walk(node))
        return need(node), operations

    class Reorder(ast.NodeTransformer):
        def visit_BinOp(self, node):
            self.generic_visit(node)
            if isinstance(node.op, gast.Add) and weight(node.right) > weight(node.left) \
                    and class_of(node.left, classes, ctx) is not None \
                    and class_of(node.right, classes, ctx) is not None:
                node.left, node.right = node.right, node.left
            return node

    marker = next((i for i, s in enumerate(fn.body) if is_marker(s)), None)
    if marker is not None:
        for stmt in fn.body[marker + 1:]:
            Reorder().visit(stmt)


def fuse_accumulations(body: List[ast.AST]) -> List[ast.AST]:
    """``d = a`` then ``d += b`` (b not reading d) becomes ``d = a + b``."""
    out: List[ast.AST] = []
    for stmt in body:
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner:
                setattr(stmt, field, fuse_accumulations(inner))
        prev = out[-1] if out else None
        if (isinstance(stmt, gast.AugAssign) and isinstance(stmt.op, gast.Add)
                and isinstance(stmt.target, gast.Name)
                and isinstance(prev, gast.Assign) and len(prev.targets) == 1
                and isinstance(prev.targets[0], gast.Name)
                and prev.targets[0].id == stmt.target.id
                and not isinstance(prev.value, gast.Name)
                and stmt.target.id not in syntax.names_in(stmt.value)
                and max(_depth(prev.value), _depth(stmt.value)) < MAX_DEPTH):
            prev.value = gast.BinOp(left=prev.value, op=gast.Add(), right=stmt.value)
            continue
        out.append(stmt)
    return out


def is_elementwise(func: Any) -> bool:
    """Does ``func`` apply elementwise (its result has its operands' broadcast shape)?"""
    if isinstance(func, np.ufunc):
        return True
    if getattr(func, "__s2s_elementwise__", False):
        return True
    return getattr(func, "__module__", None) == "math"


# -- sizes ---------------------------------------------------------------------------------
_SIZE_FUNCTIONS = {"size", "shape", "ndim"}


def sizes_from_representatives(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """``np.size(x_sq)`` reads ``np.size(x)`` when shape classes prove them equal and ``x``
    comes first: then ``x_sq`` need not be computed at all if nothing else reads it.

        x_sq = x ** 2                            (gone, when only its size was read)
        dx = ... / np.size(x_sq)         ->      dx = ... / np.size(x)
    """
    first: Dict[Any, str] = {}
    for arg in fn.args.args + fn.args.posonlyargs + fn.args.kwonlyargs:
        cls = classes.get(arg.id)
        if cls is not None and cls != SCALAR:
            first.setdefault(cls, arg.id)
    counts = _assign_counts(fn.body)
    for stmt in fn.body:
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], gast.Name):
            target = stmt.targets[0].id
            cls = classes.get(target)
            if cls is not None and cls != SCALAR and counts.get(target) == 1 \
                    and target not in ctx.cotangent_of:
                first.setdefault(cls, target)
    for node in syntax.walk(fn):
        if (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                and node.func.attr in _SIZE_FUNCTIONS and len(node.args) == 1
                and isinstance(node.args[0], gast.Name)):
            cls = classes.get(node.args[0].id)
            representative = first.get(cls) if cls is not None else None
            if representative is not None:
                node.args[0].id = representative


# -- seeds of scalar outputs ---------------------------------------------------------------------
def scalar_seeds(fn: gast.FunctionDef, classes, ctx: Context) -> None:
    """A scalar output's seed is ``1.0``; a scalar spread over an array by a full reduction's
    adjoint stays a scalar where every use multiplies it by an array of that shape.

        dout = ones_like(out)                          dout = 1.0
        dx_sum = expand_reduced(dout, x_sum, None, False)   ->  dx_sum = 1.0
        dx = dx_sum * (2 * x)                          dx = 1.0 * (2 * x)   (then folded)
    """
    ones, expand = ctx.helpers.get("ones_like"), ctx.helpers.get("expand_reduced")
    loads: Dict[str, List[ast.AST]] = {}
    parents: Dict[int, ast.AST] = {}
    for node in syntax.walk(fn):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
            loads.setdefault(node.id, []).append(node)
    for node in syntax.walk(fn):
        if not (isinstance(node, gast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], gast.Name) and isinstance(node.value, gast.Call)
                and isinstance(node.value.func, gast.Name)):
            continue
        call, target = node.value, node.targets[0].id
        if call.func.id == ones and len(call.args) == 1 \
                and class_of(call.args[0], classes, ctx) == SCALAR:
            node.value = gast.Constant(value=1.0, kind=None)
        elif call.func.id == expand and len(call.args) == 4 and _is_none(call.args[2]) \
                and _is_false(call.args[3]) and target in ctx.generated:
            spread = class_of(call.args[1], classes, ctx)
            if spread is None or spread == SCALAR:
                continue
            uses = loads.get(target, [])
            if uses and all(_multiplies_array_of(parents.get(id(u)), u, spread, classes, ctx)
                            for u in uses):
                node.value = call.args[0]


def _multiplies_array_of(parent, use, cls, classes, ctx) -> bool:
    if not (isinstance(parent, gast.BinOp) and isinstance(parent.op, (gast.Mult, gast.Div))):
        return False
    other = parent.right if parent.left is use else parent.left
    if isinstance(parent.op, gast.Div) and parent.left is not use:
        return False
    return class_of(other, classes, ctx) == cls


def _is_none(node) -> bool:
    return isinstance(node, gast.Constant) and node.value is None


def _is_false(node) -> bool:
    return isinstance(node, gast.Constant) and node.value is False


# -- 2. copies and algebra -------------------------------------------------------------------
def _assign_counts(body: List[ast.AST]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for node in syntax.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def propagate_copies(body: List[ast.AST], ctx: Context) -> List[ast.AST]:
    """``da = db``, ``da`` bound once: read ``db`` instead, while ``db`` is unchanged.

    Works block by block (loop and branch bodies too); a copy is folded only when every
    read of ``da`` follows it in the same block with no assignment to ``db`` in between.
    """
    counts = _assign_counts(body)
    loads = _load_counts(body)
    mutated = _mutated_in_place(body)
    return _propagate_block(body, ctx, counts, loads, mutated)


def _propagate_block(stmts, ctx, counts, loads, mutated):
    uses = _BlockUses(stmts)
    out = uses.stmts
    for i, stmt in enumerate(out):
        nested = False
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner:
                setattr(stmt, field, _propagate_block(inner, ctx, counts, loads, mutated))
                nested = True
        if nested:
            uses.rescan(i)
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)):
            continue
        a = stmt.targets[0].id
        if (_is_plain_number(stmt.value) and a in ctx.generated and counts.get(a) == 1
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
    the block."""

    def __init__(self, stmts):
        self.stmts = list(stmts)
        self.reads: Dict[str, List[Any]] = {}       # name -> [position, Name node] of its loads
        self.binds: Dict[str, List[int]] = {}       # name -> sorted positions binding it
        self.bound: List[Set[str]] = []             # position -> names it binds
        self.augmented: List[int] = []              # positions of ``x += v`` statements
        self.deleted: Set[int] = set()
        for at, stmt in enumerate(self.stmts):
            bound = set()
            for n in syntax.walk(stmt):
                if isinstance(n, gast.Name):
                    if isinstance(n.ctx, gast.Load):
                        self.reads.setdefault(n.id, []).append((at, n))
                    elif isinstance(n.ctx, gast.Store):
                        bound.add(n.id)
            self.bound.append(bound)
            for name in bound:
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
        kept, moved = [], self.reads.setdefault(new, [])
        for entry in self.reads.get(old, ()):
            if entry[0] > at:
                entry[1].id = new
                moved.append(entry)
            else:
                kept.append(entry)
        self.reads[old] = kept

    def replace_reads(self, at: int, old: str, value) -> None:
        """Every later read of ``old`` is a copy of ``value`` (which reads no name)."""
        later = sorted({position for position, _ in self.reads.get(old, ()) if position > at})
        for position in later:
            _replace_reads(self.stmts[position], old, value)
        self.reads[old] = [entry for entry in self.reads.get(old, ()) if entry[0] <= at]


def _load_counts(body) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for node in syntax.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
            counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def _is_plain_number(node) -> bool:
    return isinstance(node, gast.Constant) and type(node.value) in (int, float)


def _mutated_in_place(body) -> Set[str]:
    """Names whose array some statement changes in place: ``x[i] = v``, ``x[i] += v``, the
    item helpers (``add_at``, ``clear_item``, ``restore_item``). A copy ``a = x`` of such a
    name, or ``1.0 * x`` folded to ``x``, would see those changes."""
    names = set()
    for node in syntax.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, (gast.AugAssign, gast.Assign)):
            for target in (node.targets if isinstance(node, gast.Assign) else [node.target]):
                if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
                    names.add(target.value.id)
        elif isinstance(node, gast.Call) and node.args and isinstance(node.args[0], gast.Name):
            func = node.func
            if isinstance(func, gast.Name) and func.id.startswith(
                    ("add_at", "clear_item", "restore_item")):
                names.add(node.args[0].id)
    return names


def _is_number(node, value) -> bool:
    return (isinstance(node, gast.Constant) and type(node.value) in (int, float)
            and node.value == value)


def _fold_adjoint(fn) -> None:
    """Fold algebra in the adjoint sweep only: in the primal, ``y = x * 1.0`` makes a copy
    that the user may update in place. Likewise a cotangent later updated in place keeps
    its ``1.0 * g``: folded to ``g`` it would share g's array."""
    updated = _updated_in_place(fn.body)
    mutated = _mutated_in_place(fn.body)
    seen_sentinel = False
    for stmt in fn.body:
        if is_marker(stmt):
            seen_sentinel = True
            continue
        if not seen_sentinel:
            continue
        for node in syntax.walk(stmt):
            if isinstance(node, gast.Assign):
                node.s2s_keep = False
            if isinstance(node, gast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], gast.Name) \
                    and node.targets[0].id in updated:
                folded = _Fold(mutated).visit(copy.deepcopy(node.value))
                if not isinstance(folded, gast.Name):
                    node.value = folded
                node.s2s_keep = True
        _Fold(mutated).visit(stmt)


def _updated_in_place(body) -> Set[str]:
    """Names changed in place (see ``_mutated_in_place``) or updated with ``x += v``."""
    names = _mutated_in_place(body)
    for node in syntax.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            names.add(node.target.id)
    return names


def _factors(node) -> List[ast.AST]:
    """The operands of a chain of ``*`` (a single operand for anything else); ``x ** 2``
    counts as ``x * x``."""
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Mult):
        return _factors(node.left) + _factors(node.right)
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Pow) \
            and isinstance(node.left, gast.Name) and _is_number(node.right, 2):
        return [node.left, copy.deepcopy(node.left)]
    return [node]


def _product(factors: List[ast.AST]) -> ast.AST:
    if not factors:
        return gast.Constant(value=1.0, kind=None)
    out = factors[0]
    for f in factors[1:]:
        out = gast.BinOp(left=out, op=gast.Mult(), right=f)
    return out


def _common_factor(left, right):
    """``d * a * b + d * c`` becomes ``d * (a * b + c)``: one multiplication less per term.
    Only a plain name counts as a common factor (elementwise ``*`` commutes)."""
    lf, rf = _factors(left), _factors(right)
    if len(lf) < 2 or len(rf) < 2:
        return None
    for i, f in enumerate(lf):
        if not isinstance(f, gast.Name):
            continue
        for j, g in enumerate(rf):
            if isinstance(g, gast.Name) and g.id == f.id:
                rest = gast.BinOp(left=_product(lf[:i] + lf[i + 1:]), op=gast.Add(),
                                  right=_product(rf[:j] + rf[j + 1:]))
                return gast.BinOp(left=gast.Name(id=f.id, ctx=gast.Load(), annotation=None,
                                                 type_comment=None),
                                  op=gast.Mult(), right=rest)
    return None


def _merge_constants(node) -> Optional[ast.AST]:
    """``3 * (2 * x)`` becomes ``6 * x``: the numbers of a chain of ``*`` multiplied once."""
    def flatten(n):
        if isinstance(n, gast.BinOp) and isinstance(n.op, gast.Mult):
            return flatten(n.left) + flatten(n.right)
        return [n]
    factors = flatten(node)
    numbers = [f for f in factors if isinstance(f, gast.Constant)
               and type(f.value) in (int, float)]
    if len(numbers) < 2:
        return None
    value = 1
    for n in numbers:
        value *= n.value
    rest = [f for f in factors if not any(f is n for n in numbers)]
    return _product([gast.Constant(value=value, kind=None)] + rest)


class _Fold(ast.NodeTransformer):
    """``g * 1``, ``1.0 * g``, ``g / 1``, ``-(-g)``. Never folds ``g * 0``: shapes matter."""

    def __init__(self, mutated: Set[str] = frozenset()):
        self.mutated = mutated          # arrays changed in place later: 1.0 * x stays a copy

    def visit_Assign(self, node):
        if getattr(node, "s2s_keep", False):
            return node
        self.generic_visit(node)
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.Add):
            factored = _common_factor(node.left, node.right)
            if factored is not None:
                return factored
        if isinstance(node.op, gast.Mult):
            if _is_number(node.right, 1) and not self._shared(node.left):
                return node.left
            if _is_number(node.left, 1) and not self._shared(node.right):
                return node.right
            merged = _merge_constants(node)
            if merged is not None:
                return merged
        if isinstance(node.op, gast.Div) and _is_number(node.right, 1):
            return node.left
        return node

    def _shared(self, node) -> bool:
        return isinstance(node, gast.Name) and node.id in self.mutated

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if (isinstance(node.op, gast.USub) and isinstance(node.operand, gast.UnaryOp)
                and isinstance(node.operand.op, gast.USub)):
            return node.operand.operand
        return node


# -- 3. dead code ---------------------------------------------------------------------------
def remove_dead(body: List[ast.AST], removable: Set[str]) -> List[ast.AST]:
    """Drop assignments to pipeline names that nothing reads afterwards (loops: anywhere)."""
    while True:
        reads: Set[str] = set()
        self_reads: Set[int] = set()
        for node in syntax.walk(gast.Module(body=body, type_ignores=[])):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) \
                    and id(node) not in self_reads:
                reads.add(node.id)
            elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
                reads.add(node.target.id)
            elif isinstance(node, gast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], gast.Name) and _arithmetic(node.value):
                # steps = steps + 1 reads steps only to compute steps again
                self_reads.update(id(n) for n in syntax.walk(node.value)
                                  if isinstance(n, gast.Name) and n.id == node.targets[0].id)
        dead = {n for n in removable if n not in reads}
        new_body, removed = _drop_assignments(body, dead)
        body = new_body
        if not removed:
            return body


def _arithmetic(value) -> bool:
    """Names and numbers combined by operators: no call, no side effect."""
    return all(isinstance(n, (gast.BinOp, gast.UnaryOp, gast.Name, gast.Constant, gast.Load,
                              gast.operator, gast.unaryop)) for n in syntax.walk(value))


def _drop_assignments(body, dead):
    removed = False
    out = []
    for stmt in body:
        if (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id in dead):
            removed = True
            continue
        if (isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Subscript)
                and isinstance(stmt.target.value, gast.Name) and stmt.target.value.id in dead):
            removed = True
            continue
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner:
                new_inner, r = _drop_assignments(inner, dead)
                removed |= r
                setattr(stmt, field, new_inner or ([gast.Pass()] if field == "body" else []))
        out.append(stmt)
    return out, removed


def sink_into_adjoint(body: List[ast.AST], ctx: Context) -> List[ast.AST]:
    """A cheap primal value only the adjoint reads, once, is computed where it is read:
    no array is kept alive from the primal sweep for it, and the algebra of the adjoint
    can see into it (``x ** 2`` shares the factor x with ``2 * x``).

        out_pow = x ** 2                        (gone)
        dx = t * (2 * x) + out_pow * dt   ->    dx = x * (t * 2 + x * dt)   (after folding)
    """
    marker = next((i for i, s in enumerate(body) if is_marker(s)), None)
    if marker is None:
        return body
    uses = _load_counts(body)
    stores = _assign_counts(body)
    for n in _maybe_written_through(body, ctx):
        stores[n] = 2           # an array some statement may change in place: not stable
    named_at: Dict[str, List[int]] = {}         # name -> positions of statements naming it
    for at, stmt in enumerate(body):
        for n in syntax.names_in(stmt):
            named_at.setdefault(n, []).append(at)
    removed: Set[int] = set()
    for at, stmt in enumerate(body[:marker]):
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)):
            continue
        target = stmt.targets[0].id
        if target not in ctx.primal_temps or uses.get(target) != 1 \
                or stores.get(target) != 1 or not _cheap(stmt.value, stores):
            continue
        positions = named_at[target]
        k = bisect.bisect_right(positions, at)     # statements after ``at`` are all still there
        if k == len(positions):
            continue
        user_at = positions[k]
        user = body[user_at]
        # the first adjoint statements, one per temporary sunk so far, take none: the
        # marker's position used to be compared with positions in the shortened body, and
        # the generated code is kept as it was
        if user_at - len(removed) <= marker \
                or not isinstance(user, (gast.Assign, gast.AugAssign)):
            continue
        removed.add(at)
        _substitute(user, target, stmt.value)
        for n in syntax.names_in(stmt.value):
            positions = named_at.setdefault(n, [])
            k = bisect.bisect_left(positions, user_at)
            if k == len(positions) or positions[k] != user_at:
                positions.insert(k, user_at)
    return [stmt for at, stmt in enumerate(body) if at not in removed]


def _maybe_written_through(body, ctx) -> Set[str]:
    """Names whose value some statement may change in place: ``x[i] = v``, ``x += v``,
    ``x.append(v)``, or passing ``x`` to a function that is not an elementwise operation."""
    names = set()
    for node in syntax.walk(gast.Module(body=body, type_ignores=[])):
        target = None
        if isinstance(node, (gast.Subscript, gast.Attribute)) \
                and isinstance(node.ctx, gast.Store):
            target = node.value
        elif isinstance(node, gast.AugAssign):
            target = node.target.value if isinstance(node.target, gast.Subscript) \
                else node.target
        elif isinstance(node, gast.Call):
            if isinstance(node.func, gast.Attribute) and isinstance(node.func.value, gast.Name):
                names.add(node.func.value.id)
            if not (ctx.elementwise(node) or ctx.reduction(node)):
                names.update(a.id for a in node.args if isinstance(a, gast.Name))
                names.update(k.value.id for k in node.keywords
                             if isinstance(k.value, gast.Name))
        if isinstance(target, gast.Name):
            names.add(target.id)
    return names


def _cheap(value, stores) -> bool:
    """One elementwise operation on names bound once (or never) and numbers."""
    if isinstance(value, gast.UnaryOp):
        operands = [value.operand]
    elif isinstance(value, gast.BinOp) and not isinstance(value.op, gast.MatMult):
        operands = [value.left, value.right]
    else:
        return False
    return all(isinstance(o, gast.Constant) and type(o.value) in (int, float)
               or isinstance(o, gast.Name) and stores.get(o.id, 0) <= 1 for o in operands)


# -- 4. primal temporaries back into their expressions --------------------------------------
def inline_temporaries(body: List[ast.AST], temps: Set[str],
                       adjoint_temps: Set[str] = frozenset()) -> List[ast.AST]:
    """``t = a * b; y = t + c`` becomes ``y = a * b + c`` when only that use reads ``t``.

    Only the statement right after a temporary's definition may absorb it, which keeps
    the user's order of evaluation.
    """
    uses = _load_counts(body)
    stores = _assign_counts(body)
    return _inline_block(body, temps, uses, stores, adjoint_temps)


def _inline_block(body, temps, uses, stores, adjoint_temps):
    out: List[ast.AST] = []
    for stmt in body:
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner:
                setattr(stmt, field, _inline_block(inner, temps, uses, stores, adjoint_temps))
        # adjoint temporaries fuse into the next adjoint statement, never into the return:
        # the gradients keep their names there
        adjoint = adjoint_temps if not isinstance(stmt, gast.Return) else ()
        while (out and _inlinable(out[-1], temps, adjoint, uses)
               and stores.get(out[-1].targets[0].id) == 1
               and _single_use_in(stmt, out[-1])):
            prev = out.pop()
            stmt = _substitute(stmt, prev.targets[0].id, prev.value)
        out.append(stmt)
    return out


def _inlinable(stmt, temps, adjoint_temps, uses) -> bool:
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name)):
        return False
    target = stmt.targets[0].id
    return (target in temps or target in adjoint_temps) and uses.get(target) == 1


def _single_use_in(stmt, prev) -> bool:
    """Does ``stmt`` read ``prev``'s target exactly once, and stay shallow with ``prev``'s
    value in its place? (A chain of 250 statements fused into one expression would take
    every later stage, and Python's compiler, as deep as the chain is long.)"""
    if not isinstance(stmt, (gast.Assign, gast.Return, gast.AugAssign)):
        return False
    target = prev.targets[0].id
    value = stmt.value
    if value is None:
        return False
    depths = [d for d, n in _with_depth(value) if isinstance(n, gast.Name) and n.id == target]
    return len(depths) == 1 and depths[0] + _depth(prev.value) <= MAX_DEPTH


MAX_DEPTH = 24      # deepest expression the passes make by fusing statements


def _with_depth(root) -> List[Any]:
    """``(depth, node)`` for ``root`` (depth 0) and every node below it, without recursion."""
    out = [(0, root)]
    for depth, node in out:     # the list grows while it is read
        for child in ast.iter_child_nodes(node):
            out.append((depth + 1, child))
    return out


def _depth(root) -> int:
    return max(d for d, _ in _with_depth(root))


def _substitute(stmt, target, value):
    """``stmt`` reads ``value`` where it read ``target``, its one read: ``value`` moves
    there, uncopied (ast.unparse adds the parentheses precedence needs)."""
    stmt.value = _replace_reads(stmt.value, target, value, move=True)
    return stmt


def _replace_reads(root, name, value, move=False):
    """``root`` with a copy of ``value`` wherever it reads ``name`` (the copies are not
    searched again); with ``move``, the first read gets ``value`` itself."""
    if _is_load_of(root, name):
        return value if move else copy.deepcopy(value)
    found = []
    for node in syntax.walk(root):
        for field, child in ast.iter_fields(node):
            if _is_load_of(child, name):
                found.append((node, field, False))
            elif isinstance(child, list):
                found.extend((child, j, True) for j, item in enumerate(child)
                             if _is_load_of(item, name))
    for holder, key, in_list in found:
        new = value if move else copy.deepcopy(value)
        move = False
        if in_list:
            holder[key] = new
        else:
            setattr(holder, key, new)
    return root


def _is_load_of(node, name) -> bool:
    return isinstance(node, gast.Name) and node.id == name and isinstance(node.ctx, gast.Load)
