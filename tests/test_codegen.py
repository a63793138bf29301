"""The source writer (s2s/compiler/unparse.py) against ``ast.unparse``, and the line map and
free names it gives codegen."""
import ast
import textwrap

import gast
import pytest

from s2s.compiler import codegen
from s2s.compiler.unparse import Unsupported, unparse

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
