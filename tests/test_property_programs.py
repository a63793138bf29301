"""Property test: programs written the way users write them, against finite differences.

Hypothesis writes a module as source text: a function ``f`` of one to three arguments
(floats, arrays of shape (3,), or a pytree of those) whose body builds lists (literals joined
with ``+``, repeated with ``*``, comprehensions, ``append``/``extend``/``+=``, item updates),
tuples (joined, repeated, unpacked), dicts, local functions and lambdas closing over its
variables, the builtins ``max``/``min``/``sum``/``abs`` over literals and lists, arrays built
from nested lists (``np.array``, ``np.asarray``, ``np.stack``, ``np.concatenate``), fancy
indexes with repeated entries (read, stored and added), and pytrees handed to helpers
(``dense((w, b), u)``, ``predict({"w": w, "b": b}, u)``). Every expression is typed (a float
or a (3,) array) as it is written, so NumPy accepts every program.

Each example is checked against central finite differences in float64 by one of
``s2s.grad`` (the gradient of ``sum(f)``), ``s2s.vjp`` (with a random cotangent) and
``s2s.jvp`` (with random tangents), in turn: a transform costs more than all the rest of an
example, so a third of the programs go through each. A mismatch fails, and so does any exception that is not
an ``S2SError``. An ``S2SError`` passes only if it is located in the generated file and the
program uses a construct the README documents as refused in that mode (``REFUSABLE``).

Finite differences are only an oracle away from kinks: an instrumented run records how
close every ``max``/``min`` came to a tie and every ``abs`` to zero, and examples within
``MARGIN`` are discarded with ``assume``.

``S2S_FUZZ_EXAMPLES`` sets the number of examples of the full test (2,000 by default), and
``S2S_FUZZ_SEED`` draws them from a seed instead of the fixed derandomized sequence, so a
long run is one command, for example::

    S2S_FUZZ_EXAMPLES=20000 S2S_FUZZ_SEED=1 .venv/bin/python -m pytest -q \\
        tests/test_property_programs.py -k full
"""
import builtins
import copy
import itertools
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, note, seed, settings
from hypothesis import strategies as st

import s2s
from finite_diff import STEP, assert_close, flatten, numerical_grad
from source_modules import import_source
from s2s.errors import S2SError

#: Smallest distance allowed between a kink and the point; finite differences move values
#: by about 1e-6, far less than this.
MARGIN = 1e-3
SCALAR, VECTOR = "s", "v"
#: The transforms an example is checked with, one per example in turn.
MODES = ("grad", "vjp", "jvp")
#: How many statements a program has (a few keep the transforms fast).
STATEMENTS = (1, 3)

CONSTANTS = [0.5, -0.3, 1.5, 2.0, -1.2, 0.25, 0.75]
WEIGHTS = "np.array([0.5, -1.0, 2.0])"
UNARY = ["np.sin({})", "np.cos({})", "np.tanh({})", "np.exp(np.sin({}))", "({0} * {0})"]
BINARY = ["({0} + {1})", "({0} - {1})", "({0} * {1})", "({0} / (1.5 + {1} * {1}))"]
REPEATED_INDEXES = ["[0, 0, 2]", "[2, 1, 1]", "np.array([1, 1, 1])", "[0, 2, 0]"]

#: Constructs the README documents as refused: tag -> (modes that may refuse it, a piece of
#: the error's message).
REFUSABLE = {
    "local function calling a local function": (("grad", "vjp"), "local function"),
    # "any other call that receives a differentiated value and has no rule"
    "list() of a tuple": (("grad", "vjp", "jvp"), "rule for list"),
    "tuple() of a list": (("grad", "vjp", "jvp"), "rule for tuple"),
}

#: Constructs that s2s gets wrong today, left out of the programs until they are fixed, so
#: that the rest is still fuzzed. Each entry names the failure the fuzzer found.
KNOWN_BUGS: dict = {}



class Writer:
    """Draws one program, tracking the kind of every name it defines.

    ``values`` maps a name to its kind (SCALAR or VECTOR); ``lists`` and ``tuples`` map a
    name to (element kind, length); ``dicts`` maps a name to its keys' kinds; ``functions``
    maps a local function to (parameter kind, kind it returns).
    """

    def __init__(self, draw):
        self.draw = draw
        self.values = {}
        self.lists = {}
        self.tuples = {}
        self.dicts = {}
        self.functions = {}
        self.tags = set()
        self.used = set()
        self.lines = []
        self.counter = itertools.count()

    def fresh(self, prefix):
        return f"{prefix}{next(self.counter)}"

    def choice(self, options):
        return self.draw(st.sampled_from(options))

    def chance(self, one_in):
        return self.draw(st.integers(0, one_in - 1)) == 0

    def index(self, length):
        return self.draw(st.integers(-length, length - 1))

    def construct(self, table):
        """Writes one construct of ``table`` (name -> writer), leaving out KNOWN_BUGS."""
        name = self.choice([n for n in table if n not in KNOWN_BUGS])
        self.used.add(name)
        return table[name]()

    # --- expressions --------------------------------------------------------------------

    def expression(self, kind, depth, extra=None):
        """The source of an expression of ``kind`` over the names defined so far.

        ``extra`` maps further names (a comprehension's or a function's parameter) to kinds.
        """
        if depth <= 0:
            return self.atom(kind, extra)
        shape = self.choice(["atom", "unary", "binary", "binary", "special", "special"])
        if shape == "atom":
            return self.atom(kind, extra)
        if shape == "unary":
            return self.choice(UNARY).format(self.expression(kind, depth - 1, extra))
        if shape == "binary":
            kinds = [kind, kind] if kind == SCALAR else self.choice(
                [[VECTOR, VECTOR], [VECTOR, SCALAR], [SCALAR, VECTOR]])
            return self.choice(BINARY).format(*(self.expression(k, depth - 1, extra)
                                                for k in kinds))
        e = lambda k: self.expression(k, depth - 1, extra)  # noqa: E731
        return self.construct(self.scalar_constructs(e) if kind == SCALAR
                              else self.vector_constructs(e))

    def atom(self, kind, extra):
        scope = dict(self.values, **(extra or {}))
        names = [n for n, k in scope.items() if k == kind]
        items = [f"{n}[{self.index(length)}]" for table in (self.lists, self.tuples)
                 for n, (k, length) in table.items() if k == kind]
        items += [f"{n}[{key!r}]" for n, keys in self.dicts.items()
                  for key, k in keys.items() if k == kind]
        if items and self.chance(3):
            return self.choice(items)
        if names and not self.chance(6):
            return self.choice(names)
        constant = self.choice(CONSTANTS)
        return repr(constant) if kind == SCALAR else f"({constant!r} * {WEIGHTS})"

    def items(self, e, kind, low, high):
        return ", ".join(e(kind) for _ in range(self.draw(st.integers(low, high))))

    def scalar_constructs(self, e):
        """Constructs that give a float, by name."""
        S, V = SCALAR, VECTOR
        lists = [n for n, (k, _) in self.lists.items() if k == S]
        table = {
            "np.sum or np.mean": lambda: f"np.{self.choice(['sum', 'mean'])}({e(V)})",
            "array item": lambda: f"{e(V)}[{self.index(3)}]",
            "max of a list literal": lambda: f"max([{self.items(e, S, 2, 3)}, 0.5])",
            "min of a list literal": lambda: f"min([{self.items(e, S, 2, 3)}])",
            "max of arguments": lambda: f"max({self.items(e, S, 2, 3)})",
            "min of arguments": lambda: f"min({e(S)}, {e(S)}, -0.25)",
            "sum of a list literal": lambda: f"sum([{self.items(e, S, 1, 3)}])",
            "sum over an array": lambda: f"sum({e(V)})",
            "abs": lambda: f"abs({e(S)})",
            "np.dot of arrays": lambda: f"np.dot({e(V)}, {e(V)})",
            "matmul of arrays": lambda: f"({e(V)} @ {e(V)})",
            "np.dot of lists": lambda: f"np.dot([{e(S)}, 1.0], [2.0, {e(S)}])",
            "helper over a list literal": lambda: f"total([{self.items(e, S, 1, 3)}])",
        }
        if lists:
            table.update({
                "sum of a list": lambda: f"sum({self.choice(lists)})",
                "max of a list": lambda: f"max({self.choice(lists)})",
                "helper over a list": lambda: f"total({self.choice(lists)})",
            })
        return dict(table, **self.call_constructs(e, S))

    def vector_constructs(self, e):
        """Constructs that give an array of shape (3,), by name."""
        S, V = SCALAR, VECTOR
        return dict({
            "np.array of numbers": lambda: f"np.array([{e(S)}, {e(S)}, {e(S)}])",
            "np.asarray of a tuple": lambda: f"np.asarray(({e(S)}, {e(S)}, {e(S)}))",
            "np.stack of numbers": lambda: f"np.stack([{e(S)}, {e(S)}, {e(S)}])",
            "np.stack of arrays": lambda: f"np.sum(np.stack([{e(V)}, {e(V)}]), axis=0)",
            "np.concatenate of lists": lambda: f"np.concatenate([[{e(S)}], [{e(S)}, {e(S)}]])",
            "np.concatenate of slices": lambda: f"np.concatenate([{e(V)}[:1], {e(V)}[1:]])",
            "np.concatenate of a list and a slice":
                lambda: f"np.concatenate(([{e(S)}, {e(S)}], {e(V)}[2:]))",
            "repeated fancy index": lambda: f"{e(V)}[{self.choice(REPEATED_INDEXES)}]",
            "np.array of nested lists":
                lambda: f"(np.array([[{e(S)}, {e(S)}, {e(S)}], [{e(S)}, 1.0, {e(S)}]]).T "
                        f"@ np.array([0.5, -1.0]))",
            "np.array of an array and a list":
                lambda: f"(np.array([{e(V)}, [{e(S)}, {e(S)}, 0.5]]).T @ np.array([0.5, -1.0]))",
            "np.array of arrays times a nested list":
                lambda: f"np.sum(np.array([{e(V)}, {e(V)}]) * [[1.0], [-0.5]], axis=0)",
            "reversed slice": lambda: f"{e(V)}[::-1]",
        }, **self.call_constructs(e, V))

    def call_constructs(self, e, kind):
        """Calls of helpers with pytree arguments and of local functions, giving ``kind``."""
        S, V = SCALAR, VECTOR
        # w * u + b is a vector when any part is
        parts = lambda: [S] * 3 if kind == S else self.choice(  # noqa: E731
            [[V, S, S], [S, V, S], [S, S, V], [V, V, V]])

        def pytree_call(template):
            w, b, u = (e(k) for k in parts())
            return template.format(w=w, b=b, u=u)

        table = {
            "helper of a tuple": lambda: pytree_call("dense(({w}, {b}), {u})"),
            "helper of a dict": lambda: pytree_call('predict({{"w": {w}, "b": {b}}}, {u})'),
            "helper returning a tuple":
                lambda: f"stats(({e(kind)}, {e(kind)}))[{self.draw(st.integers(0, 1))}]",
        }
        dicts = [n for n, keys in self.dicts.items()
                 if kind == V or V not in keys.values()]
        if dicts:
            table["helper of a dict name"] = lambda: f"predict({self.choice(dicts)}, {e(kind)})"
        if self.functions:
            table["local function call"] = lambda: self.local_call(kind, e)
        return table

    def local_call(self, kind, e):
        name = self.choice(sorted(self.functions))
        param, returns = self.functions[name]
        call = f"{name}({e(param)})"
        if returns == kind:
            return call
        return f"np.sum({call})" if kind == SCALAR else f"({call} * {WEIGHTS})"

    # --- statements ---------------------------------------------------------------------

    def statement(self):
        kind = self.choice([SCALAR, VECTOR])
        e = lambda: self.expression(kind, 2)  # noqa: E731
        same = [n for n, (k, _) in self.lists.items() if k == kind]
        table = {
            "assignment": lambda: self.define("v", kind, self.expression(kind, 3)),
            "list join": lambda: self.new_list(
                kind, f"[{e()}] + [{e()}, {e()}]", 3),
            "list repeat": lambda: self.new_list(kind, f"[{e()}] * 3", 3),
            "list repeat on the left": lambda: self.new_list(kind, f"2 * [{e()}, {e()}]", 4),
            "list of a tuple": lambda: self.refusable(
                "list() of a tuple",
                lambda: self.new_list(kind, f"list(({e()}, {e()}))", 2)),
            "comprehension over range": lambda: self.new_list(
                kind, f"[{self.expression(kind, 2, {'k': SCALAR})} for k in range(3)]", 3),
            "tuple join": lambda: self.new_tuple(kind, f"({e()}, {e()}) + ({e()},)", 3),
            "tuple repeat": lambda: self.new_tuple(kind, f"({e()}, {e()}) * 2", 4),
            "tuple unpack": lambda: self.unpack(kind, f"{e()}, {e()}"),
            "tuple repeat unpack": lambda: self.unpack(kind, f"({e()},) * 2"),
            "dict literal": lambda: self.new_dict(kind),
            "local def": lambda: self.local_function(kind, lambda_=False),
            "lambda": lambda: self.local_function(kind, lambda_=True),
            "repeated fancy store": lambda: self.fancy_update("="),
            "repeated fancy add": lambda: self.fancy_update("+="),
            "loop over range": lambda: self.loop(kind, None),
        }
        if same:
            table.update({
                "list join names": lambda: self.join_lists(kind, same),
                "comprehension over a list": lambda: self.comprehension(kind, same, "u"),
                "comprehension over zip": lambda: self.comprehension(kind, same, "u, w"),
                "comprehension over enumerate": lambda: self.comprehension(kind, same, "i, u"),
                "tuple of a list": lambda: self.refusable(
                    "tuple() of a list", lambda: self.tuple_of_list(self.choice(same))),
                "list append": lambda: self.mutate(self.choice(same), ".append({})", 1),
                "list extend": lambda: self.mutate(self.choice(same), ".extend([{}, {}])", 2),
                "list plus equals": lambda: self.mutate(self.choice(same), " += [{}]", 1),
                "list set item": lambda: self.set_item(self.choice(same), "="),
                "list add item": lambda: self.set_item(self.choice(same), "+="),
                "loop over a list": lambda: self.loop(kind, self.choice(same)),
            })
        self.construct(table)

    def refusable(self, tag, write):
        self.tags.add(tag)
        return write()

    def define(self, prefix, kind, source):
        name = self.fresh(prefix)
        self.lines.append(f"{name} = {source}")
        self.values[name] = kind
        return name

    def new_list(self, kind, source, length):
        name = self.fresh("l")
        self.lines.append(f"{name} = {source}")
        self.lists[name] = (kind, length)

    def new_tuple(self, kind, source, length):
        name = self.fresh("t")
        self.lines.append(f"{name} = {source}")
        self.tuples[name] = (kind, length)

    def unpack(self, kind, source):
        names = [self.fresh("v") for _ in range(2)]
        self.lines.append(f"{', '.join(names)} = {source}")
        self.values.update(dict.fromkeys(names, kind))

    def join_lists(self, kind, same):
        a, b = self.choice(same), self.choice(same)
        self.new_list(kind, f"{a} + {b}", self.lists[a][1] + self.lists[b][1])

    def comprehension(self, kind, same, targets):
        a, b = self.choice(same), self.choice(same)
        scope = {"u": kind, "w": kind, "i": SCALAR}
        body = self.expression(kind, 2, {t: scope[t] for t in targets.split(", ")})
        if targets == "u":
            source, length = f"[{body} for u in {a}]", self.lists[a][1]
        elif targets == "u, w":
            source = f"[{body} for u, w in zip({a}, {b})]"
            length = min(self.lists[a][1], self.lists[b][1])
        else:
            source, length = f"[{body} for i, u in enumerate({a})]", self.lists[a][1]
        self.new_list(kind, source, length)

    def tuple_of_list(self, source_list):
        kind, length = self.lists[source_list]
        self.new_tuple(kind, f"tuple({source_list})", length)

    def mutate(self, name, template, added):
        kind, length = self.lists[name]
        values = [self.expression(kind, 2) for _ in range(added)]
        self.lines.append(name + template.format(*values))
        self.lists[name] = (kind, length + added)

    def set_item(self, name, operator):
        kind, length = self.lists[name]
        index = self.index(length)
        value = self.expression(kind, 2)
        if operator == "+=" and kind == VECTOR:
            # += on an array item would update in place an array that other items may share
            self.lines.append(f"{name}[{index}] = {name}[{index}] + {value}")
        else:
            self.lines.append(f"{name}[{index}] {operator} {value}")

    def new_dict(self, kind):
        name = self.fresh("d")
        other = self.choice([SCALAR, VECTOR])
        self.lines.append(f'{name} = {{"w": {self.expression(kind, 2)}, '
                          f'"b": {self.expression(other, 2)}}}')
        self.dicts[name] = {"w": kind, "b": other}
        if "dict set item" not in KNOWN_BUGS and self.chance(2):
            self.used.add("dict set item")
            self.lines.append(f'{name}["b"] = {self.expression(other, 2)}')

    def local_function(self, kind, lambda_):
        """A local def or lambda over the function's variables, called at once."""
        name = self.fresh("g")
        param = self.choice([SCALAR, VECTOR])
        others = set(self.functions)
        body = self.expression(kind, 2, {"u": param})
        if any(f"{g}(" in body for g in others):
            self.tags.add("local function calling a local function")
        if lambda_:
            self.lines.append(f"{name} = lambda u: {body}")
        else:
            self.lines += [f"def {name}(u):", f"    return {body}"]
        self.functions[name] = (param, kind)
        self.define("v", kind, f"{name}({self.expression(param, 1)})")

    def fancy_update(self, operator):
        name = self.fresh("y")
        start = self.choice(["np.zeros(3)", f"{self.expression(VECTOR, 2)} * 1.0"])
        index = self.choice(REPEATED_INDEXES)
        value = self.expression(self.choice([SCALAR, VECTOR]), 2)
        self.lines += [f"{name} = {start}", f"{name}[{index}] {operator} {value}"]
        self.values[name] = VECTOR

    def loop(self, kind, source_list):
        name = self.fresh("acc")
        self.lines.append(f"{name} = {self.expression(kind, 1)}")
        if source_list is not None:
            element = self.lists[source_list][0]
            body = self.expression(kind, 2, {"u": element, name: kind})
            self.lines += [f"for u in {source_list}:", f"    {name} = {name} * 0.5 + {body}"]
        else:
            body = self.expression(kind, 2, {"k": SCALAR, name: kind})
            self.lines += [f"for k in range({self.draw(st.integers(1, 3))}):",
                           f"    {name} = np.tanh({name}) + {body}"]
        self.values[name] = kind


def _argument(draw, kind):
    floats = st.floats(-1.5, 1.5, allow_nan=False, allow_infinity=False)
    if kind == SCALAR:
        return draw(floats)
    return np.array(draw(st.lists(floats, min_size=3, max_size=3)))


@st.composite
def programs(draw):
    """(module source, arguments, refusable tags, constructs used) of a function ``f``."""
    writer = Writer(draw)
    params, args = [], []
    for k in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from([SCALAR, VECTOR, VECTOR, "tuple", "dict"]))
        name = f"x{k}"
        params.append(name)
        if kind in (SCALAR, VECTOR):
            writer.values[name] = kind
            args.append(_argument(draw, kind))
            continue
        kinds = [draw(st.sampled_from([SCALAR, VECTOR])) for _ in range(2)]
        if kind == "tuple":
            kinds[1] = kinds[0]
        leaves = [_argument(draw, k) for k in kinds]
        if kind == "tuple":
            writer.tuples[name] = (kinds[0], 2)
            args.append(tuple(leaves))
        else:
            writer.dicts[name] = {"w": kinds[0], "b": kinds[1]}
            args.append({"w": leaves[0], "b": leaves[1]})
    for _ in range(draw(st.integers(STATEMENTS[0], STATEMENTS[1]))):
        writer.statement()
    # the output reads the last few names, so that they reach it
    recent = [n for n in list(writer.values)[-3:] if n not in params] or list(writer.values)
    out_kind = draw(st.sampled_from([SCALAR, VECTOR]))
    terms = [f"np.sum({n})" if out_kind == SCALAR and writer.values[n] == VECTOR else n
             for n in recent]
    terms.append(writer.expression(out_kind, 2))
    body = ["    " + line for line in writer.lines]
    source = "\n".join(["import numpy as np", "",
                        "from user_helpers import dense, predict, stats, total", "", "",
                        f"def f({', '.join(params)}):"]
                       + body + [f"    return {' + '.join(terms)}", ""])
    return source, tuple(args), frozenset(writer.tags), frozenset(writer.used)


# --- the oracle -------------------------------------------------------------------------------

def _smallest_margin(source, args):
    """Run the program with recording max/min/abs: (output, closest approach to a kink)."""
    margins = [np.inf]

    def extremum(pick):
        def recording(*items):
            values = [float(v) for v in (items[0] if len(items) == 1 else items)]
            chosen = pick(values)
            # a tie is a kink too: s2s splits it evenly, which finite differences need not
            # agree with (max([x, x, c]) at x == c)
            others = values[:values.index(chosen)] + values[values.index(chosen) + 1:]
            margins.append(min((abs(v - chosen) for v in others), default=np.inf))
            return pick(items[0] if len(items) == 1 else items)
        return recording

    def recording_abs(value):
        margins.append(float(np.min(np.abs(value))))
        return builtins.abs(value)

    namespace = {"max": extremum(builtins.max), "min": extremum(builtins.min),
                 "abs": recording_abs}
    exec(compile(source, "<instrumented>", "exec"), namespace)
    output = namespace["f"](*copy.deepcopy(args))
    return output, min(margins)


def _directional(f, args, tangents):
    """Central difference of f along ``tangents`` (a pytree like ``args``)."""
    leaves, rebuild = flatten(list(args))
    directions, _ = flatten(list(tangents))
    sides = []
    for sign in (1.0, -1.0):
        moved = [np.asarray(a, dtype=np.float64) + sign * STEP * np.asarray(t)
                 for a, t in zip(leaves, directions)]
        moved = [m if isinstance(a, np.ndarray) else float(m) for m, a in zip(moved, leaves)]
        sides.append(np.asarray(f(*rebuild(moved)), dtype=np.float64))
    return (sides[0] - sides[1]) / (2.0 * STEP)


def _random_like(tree, rng):
    leaves, rebuild = flatten(tree)
    return rebuild([rng.normal(size=np.shape(leaf)) if isinstance(leaf, np.ndarray)
                    else float(rng.normal()) for leaf in leaves])


def _close(actual, expected):
    leaves, _ = flatten(expected)
    scale = 1.0 + max((float(np.max(np.abs(leaf))) for leaf in leaves), default=0.0)
    assert_close(actual, expected, rtol=1e-4, atol=1e-6 * scale)


def _check_refusal(error, mode, tags, path):
    """A refusal must be located in the program and be of a documented construct."""
    assert error.filename == path and error.lineno is not None, \
        f"{mode}: an S2SError without a location in the program:\n{error}"
    allowed = [tag for tag in tags
               if mode in REFUSABLE[tag][0] and REFUSABLE[tag][1] in str(error)]
    assert allowed, f"{mode}: refused a program with no documented refused construct:\n{error}"


def check_program(program, directory, entropy):
    source, args, tags, _ = program
    note(source)
    with np.errstate(all="ignore"):
        output, margin = _smallest_margin(source, args)
    assume(margin > MARGIN)
    assume(np.all(np.isfinite(output)) and np.max(np.abs(output)) < 1e3)

    module, path = import_source(source, directory, "s2s_user_program")
    f = module.f
    positions = tuple(range(len(args)))
    rng = np.random.default_rng(entropy)
    checks = {
        "grad": lambda: _close(s2s.grad(f, grad_position=positions)(*args),
                               numerical_grad(f, args, positions)),
        "vjp": lambda: _check_vjp(f, args, output, rng),
        "jvp": lambda: _check_jvp(f, args, rng),
    }
    # a transform costs more than all the rest of an example: each example takes one
    # transform, in turn, so that the suite runs many programs
    mode = MODES[entropy % len(MODES)]
    try:
        checks[mode]()
    except S2SError as error:
        _check_refusal(error, mode, tags, path)


def _check_vjp(f, args, output, rng):
    cotangent = _random_like(output, rng)
    value, pullback = s2s.vjp(f, *args)
    _close(value, output)
    expected = numerical_grad(lambda *a: np.sum(cotangent * np.asarray(f(*a))), args,
                              tuple(range(len(args))))
    _close(pullback(cotangent), expected)


def _check_jvp(f, args, rng):
    tangents = _random_like(list(args), rng)
    value, tangent = s2s.jvp(f, args, tuple(tangents))
    _close(np.asarray(tangent, dtype=np.float64), _directional(f, args, tangents))


# --- the tests --------------------------------------------------------------------------------

FULL_EXAMPLES = int(os.environ.get("S2S_FUZZ_EXAMPLES", "2000"))
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
    return tmp_path_factory.mktemp("user_programs")


@_fuzz_settings(FULL_EXAMPLES)
@given(program=programs(), entropy=st.integers(0, 2 ** 32 - 1))
def test_full_user_programs_match_finite_differences(program, entropy, module_dir):
    check_program(program, module_dir, entropy)


@pytest.mark.quick
@_fuzz_settings(60)
@given(program=programs(), entropy=st.integers(0, 2 ** 32 - 1))
def test_quick_user_programs_match_finite_differences(program, entropy, module_dir):
    check_program(program, module_dir, entropy)
