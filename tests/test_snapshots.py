"""Snapshots of generated gradient source, and properties every snapshot must have.

The generated code is a product: these tests pin it down so that a change to what s2s
writes is seen in review. ``inspect.getsource(s2s.grad(f, ...))`` is compared with
tests/snapshots/<name>.py.txt after replacing the docstring's "(file, line N)" by
"(<source>)", so that the snapshots do not depend on where the repository lives.

    S2S_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_snapshots.py

rewrites the files instead of comparing; read the diff before committing it. The
structural checks run either way: generated names come from user names, no cotangent is
computed and then never read, and loops save only what their adjoint reads.
"""
import ast
import inspect
import os
import pathlib
import re

import numpy as np
import pytest

import cases_flow as c
import s2s

SNAPSHOTS = pathlib.Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("S2S_UPDATE_SNAPSHOTS") == "1"

def _arrays(*shapes):
    rng = np.random.default_rng(0)
    return tuple(rng.normal(size=shape) for shape in shapes)


def _recurrence(a, u):
    out = np.zeros_like(u)
    out[0] = u[0]
    for i in range(1, len(u)):
        out[i] = out[i - 1] * a + u[i]
    return np.sum(out)


# name -> (function, grad_position, arguments of a first call or None)
# Without arguments the snapshot is the gradient for arguments of any shape; with them, the
# code grad specializes for those shapes (what a call of that shape runs).
CASES = {
    "scalar_loop": (c.scalar_loop, 0, None),
    "branch": (c.if_on_active_scalar, 0, None),
    "helper_call": (c.call_branching_helper, 0, None),
    "mlp_loss": (c.mlp_loss, (0, 1, 2, 3), None),
    "rnn_loop": (c.rnn_loop, (0, 1), None),
    "mlp_loss_shaped": (c.mlp_loss, (0, 1, 2, 3), _arrays((5, 6), (6,), (6, 3), (3,),
                                                          (4, 5), (4, 3))),
    "rnn_loop_shaped": (c.rnn_loop, (0, 1), _arrays((5, 5), (4, 5), (2, 5), (3, 2, 4))),
    "recurrence_shaped": (_recurrence, (0, 1), (0.9,) + _arrays((6,))),
}


def generated_source(name):
    fn, position, args = CASES[name]
    df = s2s.grad(fn, grad_position=position)
    if args is not None:
        df(*args)
    source = inspect.getsource(df)
    return re.sub(r"\([^()\n]*, line \d+\)", "(<source>)", source)


def _tree(name):
    return ast.parse(generated_source(name)).body[0]


def _stored_and_loaded(tree):
    stored, loaded = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (stored if isinstance(node.ctx, ast.Store) else loaded).add(node.id)
    return stored, loaded


def _stacks(tree):
    """Names of the lists that save primal values for the adjoint sweep."""
    return sorted(node.targets[0].id for node in ast.walk(tree)
                  if isinstance(node, ast.Assign) and isinstance(node.value, ast.List)
                  and not node.value.elts and node.targets[0].id.endswith("_stack"))


def _saved(tree):
    """What each stack saves: ``y_stack.append(y)`` saves y's value,
    ``y_stack.append(shape_of(y))`` only its shape. {name: 'value' | 'shape'}"""
    saved = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "append" and isinstance(node.func.value, ast.Name) \
                and node.func.value.id.endswith("_stack") and len(node.args) == 1:
            arg = node.args[0]
            if isinstance(arg, ast.Name):
                saved[arg.id] = "value"
            elif isinstance(arg, ast.Call) and len(arg.args) == 1 \
                    and isinstance(arg.args[0], ast.Name):
                saved[arg.args[0].id] = "shape"
    return saved


def _adjoint_loop_reads(tree):
    """(names read as values, names read at all) by the loops that pop from stacks.
    A value read excludes the shape argument of ``unbroadcast(g, x)``."""
    values, anything = set(), set()

    def visit(node, shape_only=False):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "unbroadcast":
            visit(node.args[0])
            for arg in node.args[1:]:
                visit(arg, shape_only=True)
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            anything.add(node.id)
            if not shape_only:
                values.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child, shape_only)

    for loop in tree.body:
        if isinstance(loop, (ast.For, ast.While)) and ".pop()" in ast.unparse(loop):
            visit(loop)
    return values, anything


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_source_matches_snapshot(name):
    source = generated_source(name)
    path = SNAPSHOTS / f"{name}.py.txt"
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(source)
    assert path.exists(), f"no snapshot {path.name}; create it with S2S_UPDATE_SNAPSHOTS=1"
    # compared as syntax trees: ast.unparse spells a few things differently across Pythons
    # (3.9 writes `(a, b) = f(x)`), the code is the same
    assert ast.dump(ast.parse(source)) == ast.dump(ast.parse(path.read_text())), \
        f"generated source of {name} changed; if intended, rerun with S2S_UPDATE_SNAPSHOTS=1"


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_names_come_from_user_names(name):
    stored, loaded = _stored_and_loaded(_tree(name))
    numbered = sorted(n for n in stored | loaded if re.search(r"_t\d+", n))
    assert not numbered, f"anonymous temporaries: {numbered}"


def _uses(tree):
    """Names read by some statement other than one that only recomputes them
    (``dx = dx + g`` reads dx to compute dx again: that is not a use)."""
    used = set()
    for stmt in ast.walk(tree):
        if isinstance(stmt, (ast.For, ast.While, ast.If)):
            parts = [stmt.iter if isinstance(stmt, ast.For) else stmt.test]
        elif isinstance(stmt, ast.stmt) and not isinstance(stmt, ast.FunctionDef):
            parts = [stmt]
        else:
            continue
        targets = {n.id for part in parts for n in ast.walk(part)
                   if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        used |= {n.id for part in parts for n in ast.walk(part)
                 if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                 and n.id not in targets}
    return used


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_cotangent_is_read(name):
    tree = _tree(name)
    stored, _ = _stored_and_loaded(tree)
    dead = sorted(n for n in stored if n.startswith("d") and n not in _uses(tree))
    assert not dead, f"cotangents computed and never read: {dead}"


def test_scalar_loop_is_plain():
    tree = _tree("scalar_loop")
    source = ast.unparse(tree)
    assert "unbroadcast(" not in source
    # the loop only rebinds dy, and ones_like already gives a fresh cotangent
    assert "own(" not in source
    assert len(_stacks(tree)) <= 1, _stacks(tree)


def test_rnn_loop_saves_only_what_its_adjoint_reads():
    tree = _tree("rnn_loop")
    saved = _saved(tree)
    values, anything = _adjoint_loop_reads(tree)
    assert saved, "the RNN loop must save h for its adjoint"
    unread = sorted(n for n, kind in saved.items()
                    if n not in (values if kind == "value" else anything))
    assert not unread, f"saved on a stack but never read by the adjoint: {unread}"
    # h @ wh and x_t @ wx are only added together: their adjoint needs h, x_t, wh and wx,
    # never the products themselves
    products = sorted(n for n, kind in saved.items() if "matmul" in n and kind == "value")
    assert not products, f"matmul products saved in full: {products}"


def test_mlp_loss_saves_nothing():
    assert _stacks(_tree("mlp_loss")) == []


@pytest.mark.parametrize("name", ["mlp_loss_shaped", "rnn_loop_shaped", "recurrence_shaped"])
def test_known_shapes_leave_no_runtime_shape_helpers(name):
    """With the argument shapes known, no helper decides a shape at run time and nothing
    but values is saved: the code is what one writes by hand."""
    tree = _tree(name)
    source = ast.unparse(tree)
    for helper in ("unbroadcast(", "matmul_adjoint", "shape_of(", "take_item(", "clear_item(",
                   "add_at(", "saved_item(", "restore_item("):
        assert helper not in source, f"{helper} left in {name}:\n{source}"
    assert all(kind == "value" for kind in _saved(tree).values()), _saved(tree)


def test_shaped_rnn_saves_only_states_and_inputs():
    assert sorted(_saved(_tree("rnn_loop_shaped"))) == ["h", "x_t"]
