"""The source writer (s2s/compiler/unparse.py) against ``ast.unparse``, the line map and free
names it gives codegen, and the quick reading of a def's lines (frontend/parse.py) against
``inspect.getsourcelines``."""
import ast
import inspect
import linecache
import textwrap

import gast
import pytest

from s2s.compiler import codegen
from s2s.compiler.frontend.parse import _def_lines, parse_function
from s2s.compiler.unparse import Unsupported, unparse

# what ast.unparse writes changes with the Python version: checked under each (.ci/run)
pytestmark = pytest.mark.quick

# each a function body: precedence, tuples, calls, slices, blocks, nested defs, docstrings
BODIES = [
    "y = a * b + c",
    "y = a * (b + c)",
    "y = (a + b) * c - -d",
    "y = a - (b - c)",
    "y = a ** b ** c",
    "y = (a ** b) ** c",
    "y = -a ** 2",
    "y = (-a) ** 2",
    "y = not a and (b or c)",
    "y = a if b else (c if d else e)",
    "y = (a if b else c) + 1",
    "y = a < b <= c is not None",
    "y = (a < b) + 1",
    "y = f(a, *b, k=1, **kw)",
    "y = np.sum(x, axis=(0, 1), keepdims=True)",
    "y = x[1:2, ::3, None]",
    "y = x[i]",
    "y = x[()]",
    "y = x[(1,)]",
    "y = (a,)",
    "y = ()",
    "a, b = b, a",
    "a, (b, c) = t",
    "x[i] += g",
    "y = [a, b][0]",
    "y = {'k': a, **d}",
    "y = lambda u, v=2: u * v",
    "y = (lambda: 1)()",
    "y = (3).real + 3 .imag",
    "y = 1e400 - 1e400 * 1j",
    "y = 'a\\nb' + \"it's\" + b'x'",
    "y = ...",
    "y = a @ b.T @ c",
    "y = a // b % c << 1 | d ^ e & f",
    "y = *a, b",
    "f(x)",
    "(a, b)",
    "del a, b[0]",
    "assert a, 'message'",
    "raise ValueError('v') from None",
    "for i, v in enumerate(xs):\n    pass\nelse:\n    break",
    "while a:\n    continue",
    "if a:\n    b = 1\nelif c:\n    b = 2\nelse:\n    b = 3",
    "if a:\n    b = 1\nelse:\n    if c:\n        b = 2\n    b = 3",
    "def inner(d, *rest, k=1, **kw):\n    '''Doc.'''\n    return d\nreturn inner",
    "global g\nreturn g",
]


def _function(body: str, header: str = "def f(x, y=1, /, z=2):") -> gast.FunctionDef:
    text = header + "\n    \"\"\"Gradient of f.\n\n    Returns dx.\n    \"\"\"\n" \
        + textwrap.indent(body, "    ") + "\n"
    return gast.parse(text).body[0]


@pytest.mark.parametrize("body", BODIES)
def test_writes_what_ast_unparse_writes(body):
    fn = _function(body)
    text, lines, free = unparse(fn)
    assert text == ast.unparse(gast.gast_to_ast(fn))
    assert sorted(free) == sorted(codegen._free_names(fn))     # the order tells nothing
    written = ast.parse(text).body[0]
    pairs = list(zip(ast.walk(written), ast.walk(gast.gast_to_ast(fn))))
    made = {id(s): s for s in gast.walk(fn) if isinstance(s, gast.stmt)}
    assert len(lines) == len(made)
    for ours, theirs in pairs:        # each statement on the line the parsed text says
        if isinstance(ours, ast.stmt):
            assert any(lines[i] == ours.lineno and type(made[i]).__name__ == type(ours).__name__
                       for i in lines)


@pytest.mark.parametrize("body", ["try:\n    a = 1\nexcept E:\n    pass", "y = f'{a}'",
                                  "with c as d:\n    pass"])
def test_hands_other_code_to_ast_unparse(body):
    fn = _function(body)
    with pytest.raises(Unsupported):
        unparse(fn)
    assert codegen.to_source(fn) == ast.unparse(gast.gast_to_ast(fn)) + "\n"


def test_docstrings_it_would_escape_go_to_ast_unparse():
    fn = _function("return x")
    fn.body[0].value.value = 'ends with a quote "'
    with pytest.raises(Unsupported):
        unparse(fn)
    assert codegen.to_source(fn) == ast.unparse(gast.gast_to_ast(fn)) + "\n"


# every kind of block, emptied: passes that drop statements need not leave one behind
EMPTIED = ["if a:\n    b = 1\nelse:\n    b = 2", "for i in xs:\n    b = i",
           "while a:\n    b = 1", "def inner(d):\n    return d",
           "try:\n    a = 1\nexcept E:\n    b = 1", "with c as d:\n    b = 1"]


def _emptied(fn: gast.FunctionDef) -> gast.FunctionDef:
    for node in gast.walk(fn):
        if node is not fn and isinstance(getattr(node, "body", None), list):
            node.body = []
            if isinstance(getattr(node, "orelse", None), list):
                node.orelse = []
    return fn


@pytest.mark.parametrize("body", EMPTIED)
def test_no_written_block_is_empty(body):
    fn = _emptied(_function(body))
    text = codegen.to_source(fn)         # through unparse, or ast.unparse for try and with
    compiled = ast.parse(text).body[0]
    for node in ast.walk(compiled):
        if isinstance(getattr(node, "body", None), list):
            assert node.body, text
    assert "pass" in text
    # a function left with its docstring only is complete as it is, and so is the whole tree
    assert codegen.to_source(_emptied(_function("return x")))


# -- a def's lines ------------------------------------------------------------------------------
SOURCES = {
    "plain": "def f(x):\n    return x * 2\n\n\ndef g(x):\n    return x\n",
    "decorated": "@deco(\n    1)\n@other\ndef f(x):\n    return x\n# after\nz = 1\n",
    "closing header": "def f(\n    x,\n) -> float:\n    y = x\n    return y\n\nz = 1\n",
    "one line": "def f(x): return x\ny = 2\n",
    "comments": "def f(x):\n    y = x\n# a comment at column 0\n    return y\n\n# trailing\n",
    "string at column 0": 'def f(x):\n    s = """\ntext\n"""\n    return x\nz = 1\n',
    "continued": "def f(x):\n    return (x +\n1)\nz = 1\n",
    "nested": "class C:\n    def f(self, x):\n        return x\n    def g(self):\n        pass\n",
}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_def_lines_parse_as_inspect_reads_them(name, tmp_path):
    path = tmp_path / f"source_{name.replace(' ', '_')}.py"
    path.write_text(SOURCES[name])
    namespace = {"deco": lambda n: (lambda fn: fn), "other": lambda fn: fn}
    exec(compile(SOURCES[name], str(path), "exec"), namespace)
    fn = namespace["f"] if "f" in namespace else namespace["C"].f
    linecache.checkcache(str(path))
    theirs, first = inspect.getsourcelines(fn.__code__)
    found = _def_lines(fn.__code__)
    if found is not None:
        ours, our_first = found
        assert our_first == first
        try:
            tree = ast.dump(ast.parse(textwrap.dedent("".join(ours))))
        except SyntaxError:     # a misplaced end: parse_function asks inspect then
            tree = None
        if tree is not None:
            assert tree == ast.dump(ast.parse(textwrap.dedent("".join(theirs))))
    node = parse_function(fn).node
    expected = ast.parse(textwrap.dedent("".join(theirs))).body[0]
    assert node.lineno == first + expected.lineno - 1
    assert node.body[-1].lineno == first + expected.body[-1].lineno - 1
    assert [type(s).__name__ for s in node.body] == [type(s).__name__ for s in expected.body]
    assert node.col_offset == len(theirs[0]) - len(theirs[0].lstrip())
