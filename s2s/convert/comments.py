"""Comments that name the user line behind each part of the adjoint sweep.

The reverse builder that conversion uses marks (``mark_adjoint_lines``) every statement of
the adjoint sweep, and the expressions in it, with the user line it comes from. Once the
generated function is optimized and written out, ``adjoint_notes`` finds the first written
statement that does each line's adjoint work, and ``with_comments`` puts the line above it:

    def loss(w, x):                        def grad_loss(w, x):
        pred = np.tanh(x @ w)                  pred = np.tanh(x @ w)
        return np.sum(pred ** 2)     ->        out = np.sum(pred ** 2)
                                               # adjoint of line 5: return np.sum(pred ** 2)
                                               # adjoint of line 4: pred = np.tanh(x @ w)
                                               dw = matmul_adjoint_x2(2 * pred * ..., x, w)
"""
from __future__ import annotations

import ast
import linecache
import types
from typing import Dict, List, Tuple

import gast

from s2s.convert.static import static_module_of


def mark_adjoint_lines(block) -> None:
    """Marks each statement of an adjoint block, and the expressions in it, with the user
    line it comes from (``s2s_adjoint_of``), so that the written module can say so in
    comments; the reverse builder calls it on every block it reverses (``on_adjoint_block``).
    Expressions are marked too because the optimizer folds single-use temporaries into the
    statement that reads them: one written statement may then do the work of several user
    lines. Primal and seed code carries no mark."""
    for stmt in block:
        line = getattr(stmt, "lineno", None)
        stmt.s2s_adjoint_of = line
        if line is None:
            continue
        for node in _own_expressions(stmt):
            if not hasattr(node, "s2s_adjoint_of"):    # inner blocks are marked first
                node.s2s_adjoint_of = line


_BLOCKS = ("body", "orelse", "finalbody", "handlers")


def _paired_blocks(a, b):
    """The statement lists of two trees of the same shape, side by side (``a`` and ``b``
    are a statement each, or an except clause). Raises ValueError where the shapes differ."""
    for field in _BLOCKS:
        left, right = getattr(a, field, None), getattr(b, field, None)
        if not isinstance(left, list) and not isinstance(right, list):
            continue
        if not isinstance(left, list) or not isinstance(right, list) \
                or len(left) != len(right) \
                or any(type(x).__name__ != type(y).__name__ for x, y in zip(left, right)):
            raise ValueError("the trees differ")
        yield left, right
        for x, y in zip(left, right):
            yield from _paired_blocks(x, y)


def _own_expressions(stmt: ast.AST):
    """The expressions of ``stmt`` itself, not those of the statements nested in it."""
    stack = [stmt]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.stmt, ast.excepthandler)):
                continue
            if isinstance(child, ast.expr):
                yield child
            stack.append(child)


def adjoint_notes(generated: gast.FunctionDef, tree: ast.Module, fn: types.FunctionType,
                  filename: str) -> Dict[int, Tuple[ast.stmt, List[str]]]:
    """Comments such as ``# adjoint of line 12: pred = np.tanh(x @ w + b)`` above the first
    statement that does the adjoint work of each user line, once per block of the adjoint
    sweep; keyed by ``id`` of the statements of ``tree`` (the generated function parsed
    back from its source); ``generated`` is the tree the builder marked, ``fn`` the user
    function and ``filename`` its file."""
    notes: Dict[int, Tuple[ast.stmt, List[str]]] = {}
    try:
        blocks = list(_paired_blocks(gast.Module(body=[generated], type_ignores=[]), tree))
    except ValueError:
        return notes
    for generated, parsed in blocks:
        seen = set()
        for stmt, twin in zip(generated, parsed):
            line = getattr(stmt, "s2s_adjoint_of", None)
            if not isinstance(line, int):
                continue
            lines = {line} | {getattr(n, "s2s_adjoint_of", None)
                              for n in _own_expressions(stmt)}
            # the adjoint sweep runs through the user's lines backwards
            lines = sorted((n for n in lines if isinstance(n, int) and n not in seen),
                           reverse=True)
            seen.update(lines)
            comments = []
            for n in lines:
                text = _user_line(fn, filename, n)
                if text:
                    comments.append(f"# adjoint of line {n}: {text}")
            if comments:
                notes[id(twin)] = (twin, comments)
    return notes


def _user_line(fn: types.FunctionType, filename: str, line: int) -> str:
    """The user's statement at ``line``, on one line: a simple statement written over
    several lines is joined, a compound one gives its first line (``for k in range(n):``)."""
    module = static_module_of(fn)
    if module is None:
        return linecache.getline(filename, line).strip()
    lines = module.text.splitlines()
    if not 0 < line <= len(lines):
        return ""
    end = line
    for node in ast.walk(module.tree):
        if isinstance(node, ast.stmt) and node.lineno == line and not hasattr(node, "body"):
            end = max(end, node.end_lineno or line)
    text = " ".join(part.strip() for part in lines[line - 1:end])
    return text if len(text) <= 100 else text[:96].rstrip() + " ..."


def with_comments(text: str, tree: ast.Module, notes) -> str:
    """``text`` (``tree`` unparsed) with each note's comment above its statement, at the
    statement's indentation."""
    if not notes:
        return text
    try:
        blocks = list(_paired_blocks(tree, ast.parse(text)))
    except (ValueError, SyntaxError):
        return text
    lines = text.split("\n")
    above: Dict[int, List[str]] = {}
    for written, parsed in blocks:
        for stmt, twin in zip(written, parsed):
            note = notes.get(id(stmt))
            if note is None or note[0] is not stmt:
                continue
            source = lines[twin.lineno - 1]
            if source.lstrip().startswith("elif "):     # no room for a comment there
                continue
            indent = source[:len(source) - len(source.lstrip())]
            above[twin.lineno - 1] = [indent + comment for comment in note[1]]
    out = []
    for i, line in enumerate(lines):
        out += above.get(i, [])
        out.append(line)
    return "\n".join(out)
