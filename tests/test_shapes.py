"""Int-valued names in shape classes (analysis/shapes.py): the names that hold ints for sure,
as a table of functions and the names expected; everything else may hold something else."""
import builtins

import gast
import pytest

from s2s.compiler.analysis.shapes import INTS, shape_classes
from s2s.compiler.context import Context

CASES = [
    ("for i in range(n):\n    j = i - 1\n    k = j * 2 + i % 3", {"i", "j", "k"}),
    ("m = len(x)\nk = -m // 2", {"m", "k"}),
    ("r = range(3)\nfor i in r:\n    pass", {"i"}),
    ("for i in reversed(range(4)):\n    t = i", {"i", "t"}),
    ("i = 0\nwhile i < 3:\n    i += 1", {"i"}),
    ("i = 0\ni += 0.5", set()),
    ("a = 1\nb = a + c", {"a"}),                 # c is a parameter: not known to be an int
    ("a = b + 1\nb = a * 2", {"a", "b"}),        # each an int if the other is
    ("a = b + 1\nb = a * 2\nb = x.size", set()),
    ("a = 1\nb = a\nc = b / 2", {"a", "b"}),      # / of ints is a float
    ("a = 1\na = np.sin(a)", set()),
    ("a, b = 1, 2", set()),                       # unpacked: unknown
    ("a = None\na = 2", {"a"}),                   # a set-up to None is not a value
    ("for i in xs:\n    pass", set()),
]


def _callee(call):
    func = call.func
    if isinstance(func, gast.Name):
        return getattr(builtins, func.id, None)
    return None


@pytest.mark.parametrize("body, ints", CASES)
def test_int_names(body, ints):
    source = "def f(x, c, n, xs):\n" + "".join("    " + line + "\n"
                                                for line in body.splitlines())
    fn = gast.parse(source).body[0]
    ctx = Context(set(), set(), {}, lambda call: False, None, callee=_callee)
    classes = shape_classes(fn, ctx)
    assert set(classes[INTS]) == ints
