"""Property test: s2s.grad agrees with finite differences on random small programs.

Hypothesis writes a module as source text: a few helper functions (some of which branch)
and a function ``f`` of one to three float scalar or length-3 array arguments that mixes
arithmetic, NumPy calls with bounded arguments, ``if`` on intermediate values, ``for`` over
small ranges and calls to the helpers. The module is written to a real .py file and imported,
so that s2s can read its source like any user code.

Finite differences are only an oracle away from branch switches: every comparison in a
branch test is evaluated once on an instrumented copy of the program, and examples where a
compared value lies within ``MARGIN`` of its threshold are discarded with ``assume``.
"""
import ast

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import s2s
from finite_diff import assert_close, numerical_grad
from source_modules import import_source

#: Smallest distance allowed between a compared value and its threshold. Finite
#: differences move intermediate values by about 1e-6, far less than this.
MARGIN = 1e-3
ARRAY_SIZE = 3


CONSTANTS = st.sampled_from([0.5, -0.3, 1.5, 2.0, -1.2, 0.25, 0.75])
THRESHOLDS = st.sampled_from([-1.0, -0.5, 0.0, 0.3, 0.8, 1.5])
UNARY = ["np.sin({})", "np.cos({})", "np.tanh({})", "np.exp(np.sin({}))",
         "np.exp(np.tanh({}))", "np.log(1.0 + {0} * {0})", "np.sqrt(1.0 + {0} * {0})"]
BINARY = ["({0} + {1})", "({0} - {1})", "({0} * {1})", "({0} / (1.5 + {1} * {1}))"]


class Writer:
    """Draws the pieces of one program; remembers which names hold arrays."""

    def __init__(self, draw, helpers):
        self.draw = draw
        self.helpers = helpers            # [(name, number of parameters)]
        self.arrays = set()

    def expression(self, names, depth):
        """(source, is_array) of an expression over ``names``."""
        kind = self.draw(st.sampled_from(
            ["atom", "atom", "unary", "binary", "binary", "call"] if depth > 0 else ["atom"]))
        if kind == "call" and not self.helpers:
            kind = "unary"
        if kind == "atom":
            if self.draw(st.integers(0, 4)) == 0:
                return repr(self.draw(CONSTANTS)), False
            chosen = self.draw(st.sampled_from(names))
            return chosen, chosen in self.arrays
        if kind == "unary":
            inner, is_array = self.expression(names, depth - 1)
            return self.draw(st.sampled_from(UNARY)).format(inner), is_array
        if kind == "binary":
            left, left_array = self.expression(names, depth - 1)
            right, right_array = self.expression(names, depth - 1)
            return self.draw(st.sampled_from(BINARY)).format(left, right), \
                left_array or right_array
        helper, arity = self.draw(st.sampled_from(self.helpers))
        args = [self.expression(names, depth - 1) for _ in range(arity)]
        return f"{helper}({', '.join(a for a, _ in args)})", any(a for _, a in args)

    def condition(self, names):
        value = self.draw(st.sampled_from(names))
        operator = self.draw(st.sampled_from([">", "<"]))
        # a later statement (in a loop body) may still turn a scalar variable into an
        # array, so only arguments, which are never rebound, are compared bare
        bare = value.startswith("x") and value not in self.arrays
        tested = value if bare else f"np.sum({value})"
        return f"{tested} {operator} {self.draw(THRESHOLDS)!r}"

    def update(self, target, names, indent, loop_index=None):
        """A bounded new value for an existing name (so loops cannot blow up)."""
        usable = names + ([loop_index] if loop_index else [])
        value, is_array = self.expression(usable, 2)
        if is_array:
            self.arrays.add(target)
        if self.draw(st.booleans()):
            return [indent + f"{target} = np.tanh({value})"]
        return [indent + f"{target} = {target} * 0.5 + np.sin({value})"]

    def block(self, names, targets, indent, depth, loop_index=None):
        """Statements that only rebind existing ``targets``, so every name stays defined."""
        lines = []
        for _ in range(self.draw(st.integers(1, 2))):
            kind = self.draw(st.sampled_from(["update", "update", "if", "for"]
                                             if depth > 0 else ["update"]))
            if kind == "update":
                lines += self.update(self.draw(st.sampled_from(targets)), names, indent,
                                     loop_index)
            elif kind == "if":
                lines.append(indent + f"if {self.condition(names)}:")
                lines += self.block(names, targets, indent + "    ", depth - 1, loop_index)
                if self.draw(st.booleans()):
                    lines.append(indent + "else:")
                    lines += self.block(names, targets, indent + "    ", depth - 1,
                                        loop_index)
            else:
                index = f"i{len(indent)}"
                lines.append(indent + f"for {index} in range({self.draw(st.integers(1, 4))}):")
                lines += self.block(names, targets, indent + "    ", depth - 1, index)
        return lines


@st.composite
def helper_sources(draw, count):
    """Helper functions h0, h1, ...; a helper may call the ones before it and may branch."""
    helpers, lines = [], []
    for k in range(count):
        params = ["a", "b"][:draw(st.integers(1, 2))]
        writer = Writer(draw, helpers[:])
        lines.append(f"def h{k}({', '.join(params)}):")
        if draw(st.booleans()):
            tested = draw(st.sampled_from(params))
            lines.append(f"    if np.sum({tested}) > {draw(THRESHOLDS)!r}:")
            lines.append(f"        return {writer.expression(params, 2)[0]}")
        lines.append(f"    return {writer.expression(params, 2)[0]}")
        lines.append("")
        helpers.append((f"h{k}", len(params)))
    return helpers, lines


@st.composite
def programs(draw):
    """(module source, argument values) for a random differentiable function ``f``."""
    helpers, lines = draw(helper_sources(draw(st.integers(0, 2))))
    writer = Writer(draw, helpers)
    n_args = draw(st.integers(1, 3))
    names = [f"x{k}" for k in range(n_args)]
    args = []
    for arg in names:
        value = draw(st.floats(-1.5, 1.5, allow_nan=False, allow_infinity=False))
        if draw(st.booleans()):
            writer.arrays.add(arg)
            value = np.array(draw(st.lists(st.floats(-1.5, 1.5), min_size=ARRAY_SIZE,
                                           max_size=ARRAY_SIZE)))
        args.append(value)

    body = []
    for k in range(draw(st.integers(1, 3))):
        value, is_array = writer.expression(names, 3)
        if is_array:
            writer.arrays.add(f"v{k}")
        body.append(f"    v{k} = {value}")
        names.append(f"v{k}")
        body += writer.block(names, names[n_args:], "    ", 2)
    result, _ = writer.expression(names, 2)
    source = "\n".join(["import numpy as np", "", ""] + lines + [
        f"def f({', '.join(names[:n_args])}):"] + body + [f"    return {result}", ""])
    return source, tuple(args)


class _Instrument(ast.NodeTransformer):
    """Rewrites ``a > c`` in branch tests into ``__compare(a, '>', c)``."""

    def visit_If(self, node):
        self.generic_visit(node)
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            symbol = ">" if isinstance(test.ops[0], ast.Gt) else "<"
            node.test = ast.Call(func=ast.Name("__compare", ast.Load()),
                                 args=[test.left, ast.Constant(symbol), test.comparators[0]],
                                 keywords=[])
        return node


def _smallest_margin(source, args):
    """Run an instrumented copy of the program: (output, closest approach to a threshold)."""
    margins = [np.inf]

    def compare(value, symbol, threshold):
        margins.append(abs(float(value) - threshold))
        return value > threshold if symbol == ">" else value < threshold

    tree = ast.fix_missing_locations(_Instrument().visit(ast.parse(source)))
    namespace = {"__compare": compare}
    exec(compile(tree, "<instrumented>", "exec"), namespace)
    output = namespace["f"](*args)
    return output, min(margins)


def _import(source, directory):
    return import_source(source, directory, "s2s_generated")[0]


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("generated_programs")


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(program=programs())
def test_random_programs_match_finite_differences(program, module_dir):
    source, args = program
    with np.errstate(all="ignore"):
        output, margin = _smallest_margin(source, args)
    assume(margin > MARGIN)
    assume(np.all(np.isfinite(output)) and np.max(np.abs(output)) < 1e4)

    f = _import(source, module_dir).f
    positions = tuple(range(len(args)))
    expected = numerical_grad(f, args, positions)
    actual = s2s.grad(f, grad_position=positions)(*args)
    scale = 1.0 + max(float(np.max(np.abs(g))) for g in expected)
    assert_close(actual, expected, rtol=1e-4, atol=1e-6 * scale)
