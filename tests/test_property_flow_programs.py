"""Property test: loops, branches, matrices, objects and second derivatives, the way users
write them, against finite differences.

Hypothesis writes a module as source text: a function ``f`` of one to three arguments
(floats, arrays of shape (3,), (2, 3) or (3, 3)) whose body holds what
test_property_programs.py leaves out:

- control flow: ``for`` over ``range(n)``, over a list and over the rows of an array,
  ``while`` loops with a counter, ``if``/``elif``/``else`` on differentiated values and on
  module constants, ``break``/``continue``, an early ``return`` inside a loop, nested loops,
  accumulation ``acc = acc + ...`` and item stores in loops (``out[i] = ...``,
  ``out[i, :] = ...``, ``out[:, j] = ...``);
- arrays of shape (2, 3) and (3, 3): ``@``, ``np.dot``, ``.T``, broadcasting with (3,)
  arrays, columns and scalars, reductions with ``axis=`` and ``keepdims=``, slices with
  steps, ``np.where``, ``np.maximum``, ``np.max`` over an axis, ``reshape``, ``np.concatenate``
  along either axis, ``np.stack``, ``np.outer``;
- objects: methods of a module-level instance and of one built in ``f`` from constants,
  reading ``self`` attributes; a small ``s2s.nn.Cell`` holding a ``Dense`` layer.

Each example is checked, in turn, by ``s2s.grad``, ``s2s.vjp``, ``s2s.jvp`` (against central
differences of ``f``), ``s2s.hessian`` (against second-order central differences of ``f``
itself: never of an s2s gradient) and, for a cell, ``s2s.grad`` with ``weights=`` (against
central differences moving each parameter in place). A mismatch fails, and so does any
exception that is not an ``S2SError``; an ``S2SError`` passes only if it is located in the
program and of a construct the README documents as refused (``REFUSABLE``).

Finite differences are only an oracle away from kinks: an instrumented run records how
close every comparison of floats, ``np.maximum``/``np.minimum`` and ``np.max``/``np.min``
came to a tie, and examples within ``MARGIN`` are discarded with ``assume``.

``S2S_FUZZ_EXAMPLES`` sets the number of examples of the full test (250 by default, about
20 s), and ``S2S_FUZZ_SEED`` draws them from a seed, so a long run is one command::

    S2S_FUZZ_EXAMPLES=5000 S2S_FUZZ_SEED=1 .venv/bin/python -m pytest -q \\
        tests/test_property_flow_programs.py -k full
"""
import ast
import copy
import itertools
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, note, seed, settings
from hypothesis import strategies as st

import s2s
from finite_diff import assert_close, flatten, numerical_grad
from source_modules import import_source
from s2s.errors import S2SError
from test_property_programs import _check_jvp, _check_vjp, _close

MARGIN = 1e-3
#: Kinds of values, by shape.
S, V, M, Q = "s", "v", "m", "q"
SHAPES = {S: (), V: (3,), M: (2, 3), Q: (3, 3)}
#: Constant arrays of each kind (module globals of every program).
CONSTANT_ARRAYS = {V: "W3", M: "W23", Q: "W33"}
MODES = ("grad", "vjp", "jvp", "hessian", "grad of grad")
STATEMENTS = (1, 3)

CONSTANTS = [0.5, -0.3, 1.5, 2.0, -1.2, 0.25, 0.75]
THRESHOLDS = [-1.0, -0.5, 0.0, 0.3, 0.8, 1.5]
UNARY = ["np.sin({})", "np.cos({})", "np.tanh({})", "np.exp(np.sin({}))", "({0} * {0})"]
BINARY = ["({0} + {1})", "({0} - {1})", "({0} * {1})", "({0} / (1.5 + {1} * {1}))"]
#: Operand kinds that broadcast to each kind.
BROADCASTS = {S: [(S, S)], V: [(V, V), (V, S), (S, V)],
              M: [(M, M), (M, V), (V, M), (M, S), (S, M)],
              Q: [(Q, Q), (Q, V), (V, Q), (Q, S), (S, Q)]}

PRELUDE = '''import numpy as np

from s2s import nn

W3 = np.array([0.5, -1.0, 2.0])
W23 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
W33 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [-0.5, 1.0, 0.3]])
MODE = "tanh"
STEPS = 2


class Affine:
    def __init__(self, a, b):
        self.a = a
        self.b = b
        self.w = W3

    def apply(self, u):
        return np.tanh(self.a * u + self.b)

    def weigh(self, u):
        return np.sum(u * self.w)


AFFINE = Affine(0.5, -0.2)


class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(3, 3, weight_init=W33 * 0.7, bias_init=W3 * 0.1,
                              dtype=np.float64)
        self.scale = 0.5

    def construct(self, u):
        h = np.tanh(self.dense(u)) * self.scale
        return np.sum(h * h) + np.dot(self.dense.bias, u)


'''

#: Constructs the README documents as refused: tag -> (modes, a piece of the message).
REFUSABLE = {
    "method call differentiated twice": (("hessian", "grad of grad"), "through a bound method"),
}
#: The constructs that call a method, tagged with the refusal above.
METHODS = ("method of a module object", "method reading a self array",
           "method of a local object", "method of a module object on a vector")
#: Constructs that s2s gets wrong today in some modes: construct -> (modes, the failure).
#: Such programs are discarded in those modes until the bug is fixed.
STORE_TWICE = ("grad of grad",), (
    "refused, not always at the user's line: reverse over reverse of a gradient that stores "
    "items in a loop (its clear_item(dout, k) and restore_item(out, k, out_saved.pop()))")
KNOWN_BUGS: dict = {"item stores in a loop": STORE_TWICE}


class Writer:
    """Draws one program; ``values`` maps each name to its kind, ``ints`` the loop counters
    in scope to the length of their range."""

    def __init__(self, draw, out_kind):
        self.draw = draw
        self.out_kind = out_kind
        self.values = {}
        self.lists = {}
        self.ints = {}
        self.tags = set()
        self.used = set()
        self.counter = itertools.count()

    def fresh(self, prefix):
        return f"{prefix}{next(self.counter)}"

    def choice(self, options):
        return self.draw(st.sampled_from(options))

    def chance(self, one_in):
        return self.draw(st.integers(0, one_in - 1)) == 0

    def construct(self, table):
        name = self.choice(list(table))
        self.used.add(name)
        if name in METHODS:
            self.tags.add("method call differentiated twice")
        return table[name]()

    # --- expressions --------------------------------------------------------------------

    def expression(self, kind, depth):
        if depth <= 0:
            return self.atom(kind)
        shape = self.choice(["atom", "unary", "binary", "binary", "special", "special"])
        if shape == "atom":
            return self.atom(kind)
        if shape == "unary":
            return self.choice(UNARY).format(self.expression(kind, depth - 1))
        if shape == "binary":
            kinds = self.choice(BROADCASTS[kind])
            return self.choice(BINARY).format(*(self.expression(k, depth - 1) for k in kinds))
        e = lambda k: self.expression(k, depth - 1)  # noqa: E731
        return self.construct(self.specials(kind, e))

    def atom(self, kind):
        names = [n for n, k in self.values.items() if k == kind]
        if kind == S and self.ints and self.chance(4):
            return f"({self.choice(sorted(self.ints))} * 0.5)"
        if names and not self.chance(6):
            return self.choice(names)
        constant = self.choice(CONSTANTS)
        return repr(constant) if kind == S else f"({constant!r} * {CONSTANT_ARRAYS[kind]})"

    def threshold(self):
        return repr(self.choice(THRESHOLDS))

    def specials(self, kind, e):
        table = getattr(self, f"specials_{kind}")(e)
        counters = sorted(self.ints)
        if counters:
            k = self.choice(counters)
            n = self.ints[k]
            table.update({
                S: {"array item at the counter": lambda: f"{e(V)}[{k} % 3]",
                    "matrix item at the counter": lambda: f"{e(Q)}[{k} % 3, ({k} + 1) % 3]"},
                V: {"matrix row at the counter": lambda: f"{e(M)}[{k} % 2]",
                    "matrix column at the counter": lambda: f"{e(Q)}[:, {k} % 3]"},
                M: {"rows from the counter": lambda: f"{e(Q)}[{k} % 2:{k} % 2 + 2]"},
                Q: {"scaled by the range length": lambda: f"({e(Q)} * {n - 1}.0)"},
            }[kind])
        return table

    def specials_s(self, e):
        i, j = self.draw(st.integers(-2, 1)), self.draw(st.integers(-3, 2))
        return {
            "np.sum of a matrix": lambda: f"np.sum({e(self.choice([M, Q]))})",
            "np.mean of a matrix": lambda: f"np.mean({e(self.choice([M, Q]))})",
            "vector @ vector": lambda: f"({e(V)} @ {e(V)})",
            "np.dot of vectors": lambda: f"np.dot({e(V)}, {e(V)})",
            "matrix item": lambda: f"{e(M)}[{i}, {j}]",
            "np.trace": lambda: f"np.trace({e(Q)})",
            "vector item": lambda: f"{e(V)}[{j}]",
            "np.max of a vector": lambda: f"np.max({e(V)})",
            "np.sum of np.maximum": lambda: f"np.sum(np.maximum({e(V)}, {self.threshold()}))",
            "strided slice sum": lambda: f"np.sum({e(M)}[:, ::2])",
            "method of a module object": lambda: f"AFFINE.apply({e(S)})",
            "method reading a self array": lambda: f"AFFINE.weigh({e(V)})",
            "method of a local object": lambda: f"Affine({self.choice(CONSTANTS)}, 0.1)"
                                                f".apply({e(S)})",
            "branch expression": lambda: f"({e(S)} if {e(S)} > {self.threshold()} else {e(S)})",
        }

    def specials_v(self, e):
        i, j = self.draw(st.integers(-2, 1)), self.draw(st.integers(-3, 2))
        return {
            "matrix @ vector": lambda: f"({e(Q)} @ {e(V)})",
            "vector @ matrix": lambda: f"({e(V)} @ {e(Q)})",
            "np.dot of a matrix and a vector": lambda: f"np.dot({e(Q)}, {e(V)})",
            "transpose @ constant": lambda: f"({e(M)}.T @ np.array([0.5, -1.0]))",
            "sum over axis 0": lambda: f"np.sum({e(M)}, axis=0)",
            "mean over axis 1": lambda: f"np.mean({e(Q)}, axis=1)",
            "keepdims row": lambda: f"np.sum({e(Q)}, axis=0, keepdims=True)[0]",
            "max over an axis": lambda: f"np.max({e(M)}, axis=0)",
            "matrix row": lambda: f"{e(M)}[{i}]",
            "matrix column": lambda: f"{e(Q)}[:, {j}]",
            "reversed row": lambda: f"{e(Q)}[{i}, ::-1]",
            "strided reshape": lambda: f"{e(M)}.reshape(6)[::2]",
            "np.maximum with a scalar": lambda: f"np.maximum({e(V)}, {e(S)})",
            "np.where": lambda: f"np.where({e(V)} > {self.threshold()}, {e(V)}, {e(V)})",
            "concatenate pieces": lambda: f"np.concatenate([{e(M)}[0, :2], {e(V)}[2:]])",
            "transposed row": lambda: f"{e(Q)}.T[{i}]",
            "broadcast reduce": lambda: f"np.sum({e(M)} * {e(V)}, axis=0)",
            "np.dot with a transpose": lambda: f"np.dot({e(V)}, {e(Q)}.T)",
            "method of a module object on a vector": lambda: f"AFFINE.apply({e(V)})",
        }

    def specials_m(self, e):
        return {
            "first rows": lambda: f"{e(Q)}[:2]",
            "strided rows": lambda: f"{e(Q)}[::2]",
            "last rows": lambda: f"{e(Q)}[1:, :]",
            "matrix @ square": lambda: f"({e(M)} @ {e(Q)})",
            "np.maximum of a matrix": lambda: f"np.maximum({e(M)}, {self.threshold()})",
            "np.where of a matrix": lambda: f"np.where({e(M)} > {self.threshold()}, "
                                            f"{e(M)}, 0.5 * {e(M)})",
            "reshape of a join": lambda: f"np.reshape(np.concatenate([{e(V)}, {e(V)}]), (2, 3))",
            "np.stack": lambda: f"np.stack([{e(V)}, {e(V)}])",
            "concatenate rows": lambda: f"np.concatenate([{e(V)}[None, :], {e(M)}[1:]], axis=0)",
            "concatenate columns": lambda: f"np.concatenate([{e(M)}[:, :1], {e(M)}[:, 1:]], "
                                           f"axis=1)",
            "reversed rows": lambda: f"{e(M)}[::-1]",
            "transpose twice": lambda: f"np.transpose({e(M)}.T)",
            "keepdims normalize": lambda: f"({e(M)} - np.mean({e(M)}, axis=0, keepdims=True))",
            "column broadcast": lambda: f"({e(M)} * np.sum({e(M)}, axis=1, keepdims=True))",
        }

    def specials_q(self, e):
        return {
            "square @ square": lambda: f"({e(Q)} @ {e(Q)})",
            "gram": lambda: f"({e(M)}.T @ {e(M)})",
            "np.dot with a transpose": lambda: f"np.dot({e(Q)}, {e(Q)}.T)",
            "transpose": lambda: f"{e(Q)}.T",
            "np.outer": lambda: f"np.outer({e(V)}, {e(V)})",
            "concatenate a row": lambda: f"np.concatenate([{e(M)}, {e(V)}[None, :]], axis=0)",
            "concatenate a column": lambda: f"np.concatenate([{e(M)}.T, {e(V)}[:, None]], "
                                            f"axis=1)",
            "np.maximum of a square": lambda: f"np.maximum({e(Q)}, {e(S)})",
            "column times a vector": lambda: f"({e(Q)} * {e(V)}[:, None])",
            "reshape of a reversed ravel": lambda: f"np.reshape({e(Q)}.ravel()[::-1], (3, 3))",
        }

    # --- statements ---------------------------------------------------------------------

    def block(self, indent, count):
        """``count`` statements at ``indent``: a list of source lines."""
        lines = []
        for _ in range(count):
            lines += self.statement(indent)
        return lines

    def statement(self, indent):
        kind = self.choice([S, V, M, Q])
        pad = "    " * indent
        table = {
            "assignment": lambda: self.assign(pad, kind),
            "accumulate over range": lambda: self.range_loop(indent, kind),
            "while with a counter": lambda: self.while_loop(indent, kind),
            "branch on a value": lambda: self.branch(indent, kind, on_value=True),
            "branch on a constant": lambda: self.branch(indent, kind, on_value=False),
            "loop over rows": lambda: self.row_loop(indent, kind),
            "item stores in a loop": lambda: self.store_loop(indent),
            "nested loops": lambda: self.nested_loops(indent),
            "list built in a loop": lambda: self.list_loop(indent, kind),
        }
        if self.lists:
            table["loop over a list"] = lambda: self.list_iteration(indent, kind)
        if indent > 1:
            # keep nesting shallow: bodies hold assignments and branches only
            table = {k: table[k] for k in ("assignment", "branch on a constant")}
        return self.construct(table)

    def assign(self, pad, kind):
        name = self.fresh("v")
        source = self.expression(kind, 3)
        self.values[name] = kind
        return [f"{pad}{name} = {source}"]

    def update(self, name, kind, depth=2):
        """The right side of ``name = ...``: a new value of the kind from the old one."""
        body = self.expression(kind, depth)
        return self.choice([f"{name} + {body}", f"np.tanh({name}) + {body}",
                            f"{name} * 0.5 + {body}"])

    def loop_control(self, pad, counter, acc, kind):
        """An optional break, continue or early return at the end of a loop body."""
        what = self.choice(["none", "none", "break", "continue", "return", "value break"])
        inner = pad + "    "
        if what in ("break", "continue"):
            self.used.add(f"{what} on the counter")
            return [f"{pad}if {counter} == 1:", f"{inner}{what}"]
        if what == "value break":
            self.used.add("break on a value")
            value = acc if kind == S else f"np.sum({acc})"
            return [f"{pad}if {value} > {self.threshold()}:", f"{inner}break"]
        if what == "return":
            self.used.add("early return in a loop")
            value = acc if kind == S else f"np.sum({acc})"
            return [f"{pad}if {value} > {self.threshold()}:",
                    f"{inner}return {self.output()}"]
        return []

    def range_loop(self, indent, kind):
        pad, inner = "    " * indent, "    " * (indent + 1)
        acc, k = self.fresh("acc"), self.fresh("k")
        n = self.draw(st.integers(1, 4))
        lines = [f"{pad}{acc} = {self.expression(kind, 1)}", f"{pad}for {k} in range({n}):"]
        self.ints[k] = n
        self.values[acc] = kind
        body = self.block(indent + 1, self.draw(st.integers(0, 1)))
        body.append(f"{inner}{acc} = {self.update(acc, kind)}")
        body += self.loop_control(inner, k, acc, kind)
        del self.ints[k]
        self.forget_loop_names(body)
        return lines + body

    def while_loop(self, indent, kind):
        pad, inner = "    " * indent, "    " * (indent + 1)
        acc, i = self.fresh("acc"), self.fresh("i")
        n = self.draw(st.integers(1, 3))
        lines = [f"{pad}{acc} = {self.expression(kind, 1)}", f"{pad}{i} = 0",
                 f"{pad}while {i} < {n}:"]
        self.ints[i] = n
        self.values[acc] = kind
        body = [f"{inner}{acc} = {self.update(acc, kind)}",
                f"{inner}{i} {self.choice(['+= 1', '= ' + i + ' + 1'])}"]
        del self.ints[i]
        return lines + body

    def branch(self, indent, kind, on_value):
        pad, inner = "    " * indent, "    " * (indent + 1)
        name = self.fresh("b")
        if on_value:
            tests = [f"{self.expression(S, 2)} > {self.threshold()}",
                     f"np.sum({self.expression(V, 1)}) < {self.threshold()}"]
        else:
            tests = ['MODE == "tanh"', "STEPS > 2"]
        branches = self.draw(st.integers(1, 3))   # if, if/else, if/elif/else
        if branches == 1:
            lines = [f"{pad}{name} = {self.expression(kind, 1)}",
                     f"{pad}if {tests[0]}:", f"{inner}{name} = {self.update(name, kind)}"]
        else:
            lines = [f"{pad}if {tests[0]}:", f"{inner}{name} = {self.expression(kind, 2)}"]
            if branches == 3:
                lines += [f"{pad}elif {tests[1]}:", f"{inner}{name} = {self.expression(kind, 2)}"]
            lines += [f"{pad}else:", f"{inner}{name} = {self.expression(kind, 2)}"]
        self.values[name] = kind
        return lines

    def row_loop(self, indent, kind):
        pad, inner = "    " * indent, "    " * (indent + 1)
        acc, row = self.fresh("acc"), self.fresh("row")
        source_kind = self.choice([M, Q, V])
        row_kind = {M: V, Q: V, V: S}[source_kind]
        lines = [f"{pad}{acc} = {self.expression(kind, 1)}",
                 f"{pad}for {row} in {self.expression(source_kind, 1)}:"]
        self.values[row] = row_kind
        self.values[acc] = kind
        body = [f"{inner}{acc} = {self.update(acc, kind)}"]
        del self.values[row]
        return lines + body

    def list_loop(self, indent, kind):
        pad, inner = "    " * indent, "    " * (indent + 1)
        name, k = self.fresh("l"), self.fresh("k")
        n = self.draw(st.integers(1, 3))
        lines = [f"{pad}{name} = []", f"{pad}for {k} in range({n}):"]
        self.ints[k] = n
        body = [f"{inner}{name}.append({self.expression(kind, 2)})"]
        del self.ints[k]
        self.lists[name] = kind
        return lines + body

    def list_iteration(self, indent, kind):
        pad, inner = "    " * indent, "    " * (indent + 1)
        source = self.choice(sorted(self.lists))
        acc, item = self.fresh("acc"), self.fresh("u")
        lines = [f"{pad}{acc} = {self.expression(kind, 1)}", f"{pad}for {item} in {source}:"]
        self.values[item] = self.lists[source]
        self.values[acc] = kind
        body = [f"{inner}{acc} = {self.update(acc, kind)}"]
        del self.values[item]
        return lines + body

    def store_loop(self, indent):
        pad, inner = "    " * indent, "    " * (indent + 1)
        out, k = self.fresh("out"), self.fresh("k")
        target = self.choice(["vector", "matrix rows", "matrix columns", "matrix items",
                              "list"])
        start = {"vector": ["np.zeros(3)", f"{self.expression(V, 1)} * 1.0"],
                 "matrix rows": ["np.zeros((2, 3))", f"{self.expression(M, 1)} * 1.0"],
                 "matrix columns": ["np.zeros((2, 3))"],
                 "matrix items": ["np.zeros((3, 3))", f"{self.expression(Q, 1)} * 1.0"],
                 "list": ["[0.0] * 3", "[0.0, 0.0, 0.0]"]}[target]
        n, kind, index = {"vector": (3, S, "{k}"), "matrix rows": (2, V, "{k}"),
                          "matrix columns": (3, None, ":, {k}"),
                          "matrix items": (3, S, "{k}, ({k} + 1) % 3"),
                          "list": (3, S, "{k}")}[target]
        lines = [f"{pad}{out} = {self.choice(start)}", f"{pad}for {k} in range({n}):"]
        self.ints[k] = n
        if kind is None:
            value = f"np.array([{self.expression(S, 1)}, {self.expression(S, 1)}])"
        else:
            value = self.expression(kind, 2)
        operator = self.choice(["=", "="]) if target != "list" else "="
        body = [f"{inner}{out}[{index.format(k=k)}] {operator} {value}"]
        del self.ints[k]
        if target == "list":
            self.values[self.fresh("v")] = S
            name = list(self.values)[-1]
            body.append(f"{pad}{name} = sum({out})")
        else:
            self.values[out] = {"vector": V, "matrix rows": M, "matrix columns": M,
                                "matrix items": Q}[target]
        return lines + body

    def nested_loops(self, indent):
        pad = "    " * indent
        in1, in2 = pad + "    ", pad + "    " * 2
        acc, i, j = self.fresh("acc"), self.fresh("i"), self.fresh("j")
        matrix = self.expression(self.choice([M, Q]), 1)
        lines = [f"{pad}{acc} = {self.expression(S, 1)}", f"{pad}mat_{acc} = {matrix}",
                 f"{pad}for {i} in range(mat_{acc}.shape[0]):",
                 f"{in1}for {j} in range(3):"]
        self.ints[i], self.ints[j] = 2, 3
        self.values[acc] = S
        body = [f"{in2}{acc} = {acc} + mat_{acc}[{i}, {j}] * {self.expression(S, 1)}"]
        if self.chance(3):
            body = [f"{in2}if {j} > {i}:", f"{in2}    continue"] + body
        del self.ints[i], self.ints[j]
        return lines + body

    def forget_loop_names(self, body):
        """Names first bound in a loop body that may run zero times are not read after it."""
        for line in body:
            target = line.strip().split(" = ")[0]
            if target.startswith("v") and target in self.values:
                del self.values[target]

    def output(self):
        recent = [n for n in list(self.values)[-3:]] or list(self.values)
        terms = [n if self.values[n] == self.out_kind
                 else (f"np.sum({n})" if self.out_kind == S else f"np.mean({n})")
                 for n in recent]
        terms.append(self.expression(self.out_kind, 1))
        return " + ".join(terms)


def _argument(draw, kind):
    floats = st.floats(-1.5, 1.5, allow_nan=False, allow_infinity=False)
    if kind == S:
        return draw(floats)
    size = int(np.prod(SHAPES[kind]))
    return np.array(draw(st.lists(floats, min_size=size, max_size=size))).reshape(SHAPES[kind])


@st.composite
def programs(draw):
    """(module source, arguments, refusable tags, constructs used) of a function ``f``."""
    writer = Writer(draw, draw(st.sampled_from([S, S, V, M])))
    params, args = [], []
    for k in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from([S, V, V, M, Q]))
        params.append(f"x{k}")
        writer.values[f"x{k}"] = kind
        args.append(_argument(draw, kind))
    lines = writer.block(1, draw(st.integers(*STATEMENTS)))
    lines.append(f"    return {writer.output()}")
    source = PRELUDE + "\n".join([f"def f({', '.join(params)}):"] + lines) + "\n"
    return source, tuple(args), frozenset(writer.tags), frozenset(writer.used)


# --- the oracle -------------------------------------------------------------------------------

class _Recorder(ast.NodeTransformer):
    """Wraps each comparison ``a < b`` in ``_compare(a, b, '<')``, so that a run records how
    close its operands came."""

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) != 1 or not isinstance(node.ops[0], (ast.Lt, ast.Gt, ast.LtE, ast.GtE)):
            return node
        call = ast.Call(ast.Name("_compare", ast.Load()),
                        [node.left, node.comparators[0],
                         ast.Constant(type(node.ops[0]).__name__)], [])
        return ast.copy_location(call, node)


class _RecordingNumpy:
    """NumPy, with the functions that have kinks recording how close they came to one."""

    def __init__(self, margins):
        self.margins = margins

    def __getattr__(self, name):
        return getattr(np, name)

    def _gap(self, a, b):
        self.margins.append(float(np.min(np.abs(np.asarray(a) - np.asarray(b)))))

    def maximum(self, a, b):
        self._gap(a, b)
        return np.maximum(a, b)

    def minimum(self, a, b):
        self._gap(a, b)
        return np.minimum(a, b)

    def max(self, a, axis=None, **kwargs):
        ordered = np.sort(np.asarray(a), axis=axis) if axis is not None else np.sort(np.ravel(a))
        last = ordered.shape[axis if axis is not None else 0]
        if last > 1:
            top = np.take(ordered, [-1], axis=axis if axis is not None else 0)
            second = np.take(ordered, [-2], axis=axis if axis is not None else 0)
            self._gap(top, second)
        return np.max(a, axis=axis, **kwargs)

    def min(self, a, axis=None, **kwargs):
        self.max(-np.asarray(a), axis=axis)
        return np.min(a, axis=axis, **kwargs)


def _smallest_margin(source, args):
    """Run the program recording its kinks: (output, closest approach to a kink)."""
    margins = [np.inf]
    tree = ast.fix_missing_locations(_Recorder().visit(ast.parse(source)))

    def compare(a, b, op):
        if not (isinstance(a, int) and isinstance(b, int)):
            margins.append(float(np.min(np.abs(np.asarray(a) - np.asarray(b)))))
        return {"Lt": np.less, "Gt": np.greater, "LtE": np.less_equal,
                "GtE": np.greater_equal}[op](a, b)

    namespace = {"_compare": compare, "__name__": "instrumented"}
    exec(compile(tree, "<instrumented>", "exec"), namespace)
    namespace["np"] = _RecordingNumpy(margins)
    output = namespace["f"](*copy.deepcopy(args))
    return output, min(margins)


def _second_differences(f, x, h):
    """The Hessian of sum(f) at the float or array ``x``, by second-order central
    differences of f (no gradient of s2s involved)."""
    base = np.array(x, dtype=np.float64)
    size = base.size

    def total(shift):
        moved = (base.ravel() + shift).reshape(base.shape)
        return float(np.sum(f(moved if isinstance(x, np.ndarray) else float(moved))))

    hessian = np.zeros((size, size))
    unit = np.eye(size) * h
    centre = total(np.zeros(size))
    for a in range(size):
        hessian[a, a] = (total(unit[a]) - 2.0 * centre + total(-unit[a])) / h ** 2
        for b in range(a):
            hessian[a, b] = hessian[b, a] = (
                total(unit[a] + unit[b]) - total(unit[a] - unit[b])
                - total(unit[b] - unit[a]) + total(-unit[a] - unit[b])) / (4.0 * h ** 2)
    return hessian.reshape(base.shape + base.shape)


def _check_second_order(f, args, reverse_over_reverse):
    """``s2s.hessian`` (forward over reverse), or ``s2s.grad`` of ``s2s.grad`` (reverse over
    reverse: the gradient of the sum of the first gradient, the Hessian's row sums), of the
    first argument."""
    first = args[0]
    expected = _second_differences(lambda x: f(x, *args[1:]), first, 1e-4)
    if reverse_over_reverse:
        axes = tuple(range(np.ndim(first), 2 * np.ndim(first)))
        expected = np.sum(expected, axis=axes) if axes else expected
        actual = np.asarray(s2s.grad(s2s.grad(f))(*args), dtype=np.float64)
    else:
        actual = np.asarray(s2s.hessian(f)(*args), dtype=np.float64)
    scale = 1.0 + float(np.max(np.abs(expected)))
    assert_close(actual, expected, rtol=1e-3, atol=1e-4 * scale)


def check_program(program, directory, entropy):
    source, args, tags, used = program
    note(source)
    mode = MODES[entropy % len(MODES)]
    assume(not any(mode in KNOWN_BUGS[name][0] for name in used & KNOWN_BUGS.keys()))
    with np.errstate(all="ignore"):
        output, margin = _smallest_margin(source, args)
    assume(margin > (1e-2 if mode in ("hessian", "grad of grad") else MARGIN))
    assume(np.all(np.isfinite(output)) and np.max(np.abs(output)) < 1e3)
    module, path = import_source(source, directory, "s2s_flow_program")
    f = module.f
    positions = tuple(range(len(args)))
    rng = np.random.default_rng(entropy)
    checks = {
        "grad": lambda: _close(s2s.grad(f, grad_position=positions)(*args),
                               numerical_grad(f, args, positions)),
        "vjp": lambda: _check_vjp(f, args, output, rng),
        "jvp": lambda: _check_jvp(f, args, rng),
        "hessian": lambda: _check_second_order(f, args, reverse_over_reverse=False),
        "grad of grad": lambda: _check_second_order(f, args, reverse_over_reverse=True),
    }
    try:
        checks[mode]()
    except S2SError as error:
        assert error.filename == path and error.lineno is not None, \
            f"{mode}: an S2SError without a location in the program:\n{error}"
        allowed = [tag for tag in tags
                   if mode in REFUSABLE[tag][0] and REFUSABLE[tag][1] in str(error)]
        assert allowed, f"{mode}: refused a program with no documented refused construct:\n{error}"


# --- the tests --------------------------------------------------------------------------------

FULL_EXAMPLES = int(os.environ.get("S2S_FUZZ_EXAMPLES", "250"))
FUZZ_SEED = os.environ.get("S2S_FUZZ_SEED")


def _fuzz_settings(examples):
    chosen = settings(max_examples=examples, deadline=None, derandomize=FUZZ_SEED is None,
                      database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                             HealthCheck.data_too_large])

    def apply(test):
        test = chosen(test)
        return seed(int(FUZZ_SEED))(test) if FUZZ_SEED is not None else test
    return apply


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("flow_programs")


@_fuzz_settings(FULL_EXAMPLES)
@given(program=programs(), entropy=st.integers(0, 2 ** 32 - 1))
def test_full_flow_programs_match_finite_differences(program, entropy, module_dir):
    check_program(program, module_dir, entropy)


def _parameter_differences(loss, params, args):
    """Central differences of loss(*args) moving each parameter entry in place."""
    grads = []
    for param in params:
        grad = np.zeros(param.shape)
        for index in np.ndindex(param.shape):
            kept = float(param[index])
            h = 1e-6 * max(1.0, abs(kept))
            sides = []
            for sign in (1.0, -1.0):
                param[index] = kept + sign * h
                sides.append(float(np.sum(loss(*args))))
            param[index] = kept
            grad[index] = (sides[0] - sides[1]) / (2.0 * h)
        grads.append(grad)
    return tuple(grads)


@_fuzz_settings(max(FULL_EXAMPLES // 10, 10))
@given(program=programs())
def test_cell_weights_match_finite_differences(program, module_dir):
    """A cell whose construct calls the written f: the gradients of its weights and of every
    input, by grad with weights= of a function calling the cell."""
    source, args, _, _ = program
    note(source)
    with np.errstate(all="ignore"):
        output, margin = _smallest_margin(source, args)
    assume(margin > MARGIN)
    assume(np.all(np.isfinite(output)) and np.max(np.abs(output)) < 1e3)
    params = ", ".join(f"x{k}" for k in range(len(args)))
    source += (f"\n\nclass Model(Net):\n"
               f"    def construct(self, u, {params}):\n"
               f"        return Net.construct(self, np.tanh(self.dense(u))) + np.sum(f({params}))\n"
               f"\n\nMODEL = Model()\n\n\n"
               f"def objective(u, {params}):\n"
               f"    return MODEL(u, {params})\n")
    module, _ = import_source(source, module_dir, "s2s_flow_cell")
    objective, weights = module.objective, module.MODEL.trainable_params()
    u = np.array([0.3, -0.7, 1.1])
    positions = tuple(range(len(args) + 1))
    dinputs, dweights = s2s.grad(objective, positions, weights=weights)(u, *args)
    _close(dinputs, numerical_grad(objective, (u,) + args, positions))
    _close(tuple(dweights), _parameter_differences(objective, weights, (u,) + args))
