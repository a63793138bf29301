"""The rule audit: every registered rule, through the real transforms, against finite differences.

``harness.py`` runs a rule's body by hand. The audit checks what a user gets: a small program
around the primitive goes through ``s2s.vjp``, ``s2s.grad`` and ``s2s.jvp``, and every result is
compared with central differences in float64 (``tests/finite_diff.py``). The two modes must also
agree with each other: ``<cotangent, J tangent> == <J^T cotangent, tangent>``.

The rules of the helpers that generated gradient code calls (``unbroadcast``, ``untake`` ...)
only run when a gradient is differentiated again, so their rows are of second order: the
Hessian-vector product by forward over reverse (``s2s.hvp``, the helpers' tangent rules) and by
reverse over reverse (``s2s.grad`` of ``<grad f, v>``, their reverse rules), both against
central differences of a central-difference gradient.

A row names the rules it audits, then the program: an expression (or a body ending in
``return``) over the inputs, which are all differentiated; ``given`` holds constants the
program reads (index arrays, masks) as globals. An input that is not a float (an integer,
None) is passed as an argument but not differentiated: an axis only known at run time. Edge points carry a ``note`` with the convention that
makes the answer well defined::

    audit(np.maximum, "np.maximum(x, y)", x=TIED, y=TIED_TOO,
          note="ties split the cotangent in half, as central differences do")

The audit records the rule lookups the transforms make, so a row cannot claim a rule its
program never reaches. A ``zero`` row audits a function of the nondifferentiable list: its
gradient and tangent must be exactly zero, and finite differences (taken away from jumps)
agree.
"""
from __future__ import annotations

import builtins
import contextlib
import copy
import itertools
import linecache
import math
import operator
import textwrap
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import numpy as np

import s2s
from s2s import rules
from tests.finite_diff import as_float64, assert_close, flatten, numerical_grad
from tests.rules.harness import key, label

#: The outer step of the second-order oracle. The inner central difference (finite_diff.STEP)
#: carries a rounding error near 1e-16 * sum|f| / 1e-6, which this step divides again: about
#: 4e-7 * sum|f| at half the step; Richardson's extrapolation over the step and its half leaves
#: a truncation error of order step**4.
OUTER_STEP = 1e-3
STEP = 1e-6

_numbers = itertools.count()


class AuditRow:
    """One audited program; ``covers`` are the registry keys whose rules it must reach."""

    def __init__(self, covers: Sequence[Any], source: str, inputs: Dict[str, Any],
                 given: Dict[str, Any], modes: Tuple[str, ...], order: int, note: str,
                 zero: bool, rtol: float):
        self.covers = tuple(key(p) for p in covers)
        self.source, self.inputs, self.given = source, inputs, given
        self.modes, self.order, self.note, self.zero, self.rtol = modes, order, note, zero, rtol

    def __repr__(self) -> str:
        return f"audit({', '.join(label(k) for k in self.covers)}: {self.source!r})"

    def function(self):
        """The program as a function with a source s2s can read (kept in linecache)."""
        body = self.source if "return" in self.source else f"return {self.source}"
        text = (f"def audited({', '.join(self.inputs)}):\n"
                + textwrap.indent(textwrap.dedent(body).strip() + "\n", "    "))
        filename = f"<audit {next(_numbers)}>"
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        namespace = dict(np=np, math=math, builtins=builtins, operator=operator, s2s=s2s,
                         **self.given)
        exec(compile(text, filename, "exec"), namespace)
        return namespace["audited"]

    def args(self) -> List[Any]:
        return copy.deepcopy(list(self.inputs.values()))

    def active(self) -> Tuple[int, ...]:
        """The positions of the differentiated inputs: floats, float arrays, lists of them
        (an integer, an index array or None is passed as a constant)."""
        def is_float(value):
            if isinstance(value, (list, tuple)):
                return bool(value) and all(is_float(v) for v in value)
            return isinstance(value, (float, complex, np.floating, np.complexfloating)) or (
                isinstance(value, np.ndarray) and value.dtype.kind in "fc")
        return tuple(i for i, v in enumerate(self.inputs.values()) if is_float(v))


def audit(covers: Any, source: str, *, modes: str = "reverse forward", order: int = 1,
          note: str = "", given: Dict[str, Any] = None, rtol: float = 1e-5,
          **inputs: Any) -> AuditRow:
    """One row: ``covers`` is a primitive or a tuple of them; ``inputs`` are differentiated."""
    covers = covers if isinstance(covers, tuple) else (covers,)
    return AuditRow(covers, source, inputs, dict(given or {}), tuple(modes.split()), order,
                    note, False, rtol)


def audit_zero(covers: Any, source: str, *, modes: str = "reverse forward", note: str = "",
               given: Dict[str, Any] = None, **inputs: Any) -> AuditRow:
    """A row of a nondifferentiable function: exactly zero gradient and tangent."""
    covers = covers if isinstance(covers, tuple) else (covers,)
    return AuditRow(covers, source, inputs, dict(given or {}), tuple(modes.split()), 1, note,
                    True, 1e-5)


def row_id(row: AuditRow) -> str:
    return "+".join(label(k) for k in row.covers) + ":" + row.source.replace("\n", ";")[:60]


# --- what the transforms looked up ---------------------------------------------------------

class _RecordingTable(dict):
    def __init__(self, table: dict, seen: set):
        super().__init__(table)
        self.seen = seen

    def get(self, k, default=None):
        self.seen.add(k)
        return super().get(k, default)

    def __getitem__(self, k):
        self.seen.add(k)
        return super().__getitem__(k)

    def __contains__(self, k):
        self.seen.add(k)
        return super().__contains__(k)


class _RecordingSet(set):
    def __init__(self, members: set, seen: set):
        super().__init__(members)
        self.seen = seen

    def __contains__(self, k):
        self.seen.add(k)
        return super().__contains__(k)


@contextlib.contextmanager
def recording() -> Iterator[set]:
    """The registry keys looked up inside the block (rules of both modes, the
    nondifferentiable list)."""
    seen: set = set()
    saved = rules.REVERSE, rules.TANGENT, rules.NONDIFFERENTIABLE
    rules.REVERSE = _RecordingTable(saved[0], seen)
    rules.TANGENT = _RecordingTable(saved[1], seen)
    rules.NONDIFFERENTIABLE = _RecordingSet(saved[2], seen)
    try:
        yield seen
    finally:
        rules.REVERSE, rules.TANGENT, rules.NONDIFFERENTIABLE = saved


# --- the oracle ----------------------------------------------------------------------------

def plain(tree: Any) -> Any:
    """``tree`` with its named tuples (``slogdet``'s result) made plain tuples."""
    if isinstance(tree, tuple):
        return tuple(plain(item) for item in tree)
    if isinstance(tree, list):
        return [plain(item) for item in tree]
    return tree


def leaves(tree: Any) -> List[Any]:
    return flatten(tree)[0]


def random_like(tree: Any, rng: np.random.Generator) -> Any:
    """Random float64 values in ``tree``'s structure (a Python float stays a float); complex128
    where ``tree`` is complex."""
    values, rebuild = flatten(tree)
    drawn = []
    for value in values:
        sample = rng.standard_normal(np.shape(value))
        if as_float64(value).dtype.kind == "c":
            sample = sample + 1j * rng.standard_normal(np.shape(value))
            drawn.append(sample if isinstance(value, np.ndarray) else complex(sample))
            continue
        drawn.append(sample if isinstance(value, np.ndarray) else float(sample))
    return rebuild(drawn)


def pairing(a: Any, b: Any) -> float:
    """``<a, b>`` summed over the leaves of two trees of the same structure: the real part of
    the sum of products (the pairing of a complex value and its cotangent)."""
    return float(sum(np.real(np.sum(as_float64(x) * as_float64(y)))
                     for x, y in zip(leaves(a), leaves(b))))


def shifted(args: Sequence[Any], direction: Sequence[Any], step: float) -> List[Any]:
    """``args + step * direction``, leaf by leaf, each leaf keeping its kind."""
    out = []
    for arg, d in zip(args, direction):
        if d is None:           # a constant input
            out.append(arg)
            continue
        values, rebuild = flatten(arg)
        moved = [as_float64(v) + step * as_float64(t) for v, t in zip(values, leaves(d))]
        out.append(rebuild([m if isinstance(v, np.ndarray) else
                            complex(m) if m.dtype.kind == "c" else float(m)
                            for m, v in zip(moved, values)]))
    return out


def directional(f, args: Sequence[Any], direction: Sequence[Any], step: float = STEP) -> Any:
    """Central difference of ``f`` along ``direction``, in the structure of ``f``'s output."""
    plus = f(*shifted(args, direction, step))
    minus = f(*shifted(args, direction, -step))
    values, rebuild = flatten(plus)
    diffs = [(as_float64(p) - as_float64(m)) / (2 * step) for p, m in zip(values, leaves(minus))]
    return rebuild([d if isinstance(v, np.ndarray) else complex(d) if d.dtype.kind == "c"
                    else float(d) for d, v in zip(diffs, values)])


def numerical_hvp(f, args: Sequence[Any], direction: Sequence[Any]) -> Tuple[Any, ...]:
    """``H v`` of ``sum(f)`` by central differences of a central-difference gradient."""
    positions = tuple(range(len(args)))

    def gradient(*point):
        return numerical_grad(f, point, positions)
    # Richardson's extrapolation cancels the outer step's h**2 error term
    coarse = leaves(directional(gradient, args, direction, OUTER_STEP))
    fine = directional(gradient, args, direction, OUTER_STEP / 2)
    values, rebuild = flatten(fine)
    better = [(4.0 * np.asarray(b, np.float64) - np.asarray(a, np.float64)) / 3.0
              for a, b in zip(coarse, values)]
    return tuple(rebuild([b if isinstance(v, np.ndarray) else float(b)
                          for b, v in zip(better, values)]))


# --- the checks ------------------------------------------------------------------------------

def _assert_reached(row: AuditRow, seen: set, mode: str) -> None:
    missed = [label(k) for k in row.covers if k not in seen]
    assert not missed, f"the {mode} transforms of {row!r} never looked up {missed}"


def _assert_zero(tree: Any, what: str) -> None:
    for n, leaf in enumerate(leaves(tree)):
        assert np.all(np.asarray(leaf) == 0.0), f"{what}[{n}] of a nondifferentiable row: {leaf}"


def check_first_order(row: AuditRow) -> None:
    transformed = row.function()

    def f(*point):
        return plain(transformed(*point))
    args = row.args()
    active = row.active()
    position = active if len(active) > 1 else active[0]
    rng = np.random.default_rng(len(row.source))
    out = f(*row.args())
    cotangent = random_like(out, rng)
    tangents = [random_like(a, rng) if i in active else None for i, a in enumerate(args)]
    tol = dict(rtol=row.rtol, atol=row.rtol * 1e-2)
    if "reverse" in row.modes:
        unchanged = copy.deepcopy(cotangent)
        with recording() as seen:
            value, pullback = s2s.vjp(transformed, *row.args())
            got = pullback(cotangent)
            is_tree = isinstance(out, (tuple, list))
            if not is_tree:
                gradient = s2s.grad(transformed, position)(*row.args())
        _assert_reached(row, seen, "reverse")
        assert_close(plain(value), out, rtol=1e-12, atol=0.0, path="vjp value")
        assert_close(cotangent, unchanged, rtol=0.0, atol=0.0, path="the cotangent given")
        got = tuple(got[i] for i in active)

        def weighted(*point):
            return pairing(f(*point), cotangent)
        assert_close(got, numerical_grad(weighted, args, active), path="vjp", **tol)
        if not is_tree:
            assert_close(gradient, numerical_grad(f, args, position), path="grad", **tol)
        if row.zero:
            _assert_zero(got, "vjp")
    if "forward" in row.modes:
        with recording() as seen:
            given = [t if i in active else a for i, (a, t) in enumerate(zip(row.args(), tangents))]
            value, tangent = s2s.jvp(transformed, tuple(row.args()), tuple(given))
        _assert_reached(row, seen, "forward")
        assert_close(plain(value), out, rtol=1e-12, atol=0.0, path="jvp value")
        tangent = plain(tangent)
        assert_close(tangent, directional(f, args, tangents), path="jvp", **tol)
        if row.zero:
            _assert_zero(tangent, "jvp")
    if set(row.modes) == {"reverse", "forward"}:
        forward = pairing(cotangent, tangent)
        reverse = pairing(got, tuple(tangents[i] for i in active))
        assert abs(forward - reverse) <= 1e-9 * max(1.0, abs(forward)), \
            f"<cotangent, jvp> = {forward} but <vjp, tangent> = {reverse}"


def check_second_order(row: AuditRow) -> None:
    f = row.function()
    args = row.args()
    rng = np.random.default_rng(len(row.source))
    direction = random_like(args, rng)
    want = numerical_hvp(f, args, direction)
    size = sum(float(np.sum(np.abs(leaf))) for leaf in leaves(f(*row.args())))
    tol = dict(rtol=max(row.rtol, 1e-4), atol=1e-5 * max(1.0, size))
    n = len(args)
    single = n == 1
    if "forward" in row.modes:
        with recording() as seen:
            got = s2s.hvp(f, args[0] if single else tuple(row.args()),
                          direction[0] if single else tuple(direction))
        _assert_reached(row, seen, "forward")
        assert_close((got,) if single else got, want, path="hvp (forward over reverse)", **tol)
    if "reverse" in row.modes:
        params = ", ".join(row.inputs)
        seeds = ", ".join(f"v_{p}" for p in row.inputs)
        text = (f"def along({params}, {seeds}):\n"
                f"    gradient = first({params})\n"
                + (f"    return np.sum(gradient * v_{params})\n" if single else
                   "    return " + " + ".join(f"np.sum(gradient[{i}] * v_{p})"
                                              for i, p in enumerate(row.inputs)) + "\n"))
        filename = f"<audit {next(_numbers)}>"
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        namespace = dict(np=np, first=s2s.grad(f, 0 if single else tuple(range(n))))
        exec(compile(text, filename, "exec"), namespace)
        with recording() as seen:
            got = s2s.grad(namespace["along"], 0 if single else tuple(range(n)))(
                *row.args(), *direction)
        _assert_reached(row, seen, "reverse")
        assert_close((got,) if single else got, want, path="grad of grad", **tol)


def check_audit_row(row: AuditRow) -> None:
    with np.errstate(divide="ignore", invalid="ignore"):
        if row.order == 1:
            check_first_order(row)
        else:
            check_second_order(row)


# --- complex rows --------------------------------------------------------------------------

def is_complex_row(row: AuditRow) -> bool:
    """Does the row take or give a complex value?"""
    values = leaves(list(row.inputs.values()))
    with np.errstate(all="ignore"):
        values += leaves(plain(row.function()(*row.args())))
    return any(np.iscomplexobj(v) for v in values)


def zeros_like_tree(tree: Any) -> Any:
    values, rebuild = flatten(tree)
    return rebuild([np.zeros_like(v) if isinstance(v, np.ndarray) else type(v)(0)
                    for v in values])


def _parts(tree: Any, rng: np.random.Generator) -> List[Tuple[str, Any]]:
    """Named directions in ``tree``'s structure: a random real one and, when ``tree`` has a
    complex leaf, a purely imaginary one and a random complex one (its real leaves take a
    real draw in each)."""
    real = random_like(tree, np.random.default_rng(int(rng.integers(1 << 30))))
    drawn = random_like(tree, rng)
    values, rebuild = flatten(drawn)
    kinds = [np.iscomplexobj(v) for v in leaves(tree)]
    if not any(kinds):
        return [("real", real)]

    def made(part):
        return rebuild([(complex(part(v)) if isinstance(v, complex) else part(v)) if k
                        else np.real(x) for v, x, k in zip(values, leaves(real), kinds)])
    return [("real", made(lambda v: np.real(v) + 0j)),
            ("imaginary", made(lambda v: 1j * np.imag(v))),
            ("complex", drawn)]


def _index_paths(tree: Any, prefix: str = "") -> List[str]:
    """The index expressions of ``tree``'s leaves (``[1][0]`` ...)."""
    if isinstance(tree, (tuple, list)):
        return [p for i, item in enumerate(tree) for p in _index_paths(item, f"{prefix}[{i}]")]
    return [prefix]


def _real_loss(row: AuditRow, out: Any):
    """``sum |f|**2`` over the row's output leaves, with the row's program as a helper that s2s
    reads through."""
    params = ", ".join(row.inputs)
    text = (f"def loss({params}):\n"
            f"    out = audited({params})\n"
            "    return " + " + ".join(f"np.sum(np.abs(out{p}) ** 2)"
                                       for p in _index_paths(out)) + "\n")
    filename = f"<audit {next(_numbers)}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = dict(np=np, audited=row.function())
    exec(compile(text, filename, "exec"), namespace)
    return namespace["loss"]


def _assert_kinds(got: Any, like: Any, what: str) -> None:
    """A real input's cotangent is real; a complex input's is complex."""
    for n, (g, a) in enumerate(zip(leaves(got), leaves(like))):
        assert np.iscomplexobj(g) == np.iscomplexobj(a), \
            f"{what}[{n}] is {np.asarray(g).dtype} for a {np.asarray(a).dtype} input"


def check_complex_row(row: AuditRow) -> None:
    """The four checks of a row that takes or gives complex values, each against central
    differences along the real and the imaginary direction of every input (the convention:
    a real ``L`` gives a complex ``z`` the cotangent ``dL/dRe(z) - 1j * dL/dIm(z)``):

    - jvp along a real, an imaginary and a complex direction of each input in turn (the others
      held), and along a random direction of all inputs at once;
    - vjp of a real, an imaginary and a complex cotangent (a real output leaf takes real
      ones), against the gradient of ``Re <cotangent, f>``; a real input's cotangent is real;
    - grad of the real loss ``sum |f|**2``, and its agreement with the vjp of ``2 * conj(f)``,
      the cotangent this loss gives the output;
    - ``Re <u, jvp(v)> == Re <vjp(u), v>`` for every pair of those: the pairing, without a
      conjugate, that the convention implies.
    """
    transformed = row.function()

    def f(*point):
        return plain(transformed(*point))
    args = row.args()
    active = row.active()
    rng = np.random.default_rng(len(row.source) + 11)
    out = f(*row.args())
    tol = dict(rtol=row.rtol, atol=row.rtol * 1e-2)
    directions = [(f"input {i} {kind}", [d if j == i else zeros_like_tree(a) if j in active
                                          else None for j, a in enumerate(args)])
                  for i in active for kind, d in _parts(args[i], rng)]
    directions.append(("all inputs", [random_like(a, rng) if i in active else None
                                      for i, a in enumerate(args)]))
    tangents = []
    for name, direction in directions:
        given = [direction[i] if i in active else a for i, a in enumerate(row.args())]
        _, tangent = s2s.jvp(transformed, tuple(row.args()), tuple(given))
        tangent = plain(tangent)
        assert_close(tangent, directional(f, args, direction), path=f"jvp along {name}", **tol)
        tangents.append((name, tangent, tuple(direction[i] for i in active)))
    pulled = []
    for kind, u in _parts(out, rng):
        _, pullback = s2s.vjp(transformed, *row.args())
        got = tuple(pullback(copy.deepcopy(u))[i] for i in active)

        def weighted(*point, u=u):
            return pairing(f(*point), u)
        what = f"vjp of a {kind} cotangent"
        assert_close(got, numerical_grad(weighted, args, active), path=what, **tol)
        _assert_kinds(got, [args[i] for i in active], what)
        pulled.append((kind, u, got))
    loss = _real_loss(row, out)
    gradient = s2s.grad(loss, active)(*row.args())
    assert_close(gradient, numerical_grad(loss, args, active), path="grad of sum |f|**2", **tol)
    _assert_kinds(gradient, [args[i] for i in active], "grad of sum |f|**2")
    values, rebuild = flatten(out)
    seed = rebuild([complex(2.0 * np.conj(v)) if isinstance(v, complex) else 2.0 * np.conj(v)
                    for v in values])
    through_vjp = tuple(s2s.vjp(transformed, *row.args())[1](seed)[i] for i in active)
    assert_close(gradient, through_vjp, rtol=1e-9, atol=1e-12,
                 path="grad of sum |f|**2 against the vjp of 2 conj(f)")
    for kind, u, got in pulled:
        for name, tangent, v in tangents:
            forward, reverse = pairing(u, tangent), pairing(got, v)
            assert abs(forward - reverse) <= 1e-9 * max(1.0, abs(forward)), \
                f"Re <{kind} u, jvp along {name}> = {forward} but Re <vjp(u), v> = {reverse}"
