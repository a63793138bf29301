"""Random straight-line programs over arrays of mixed shapes, against finite differences.

Each seed writes a small module: a function of one to three arguments (Python floats, or
arrays of shapes that broadcast against each other or not) built from elementwise
functions, broadcasting arithmetic, ``@`` and ``.T``, and reductions over one axis. Programs
NumPy itself rejects (shapes that do not fit) are skipped. The gradient is specialized on
the argument shapes, so this exercises the transform-time shape reasoning: broadcasts
undone with sums written out, matrix-product adjoints, reductions. A second table writes
arrays by index in loops (reading earlier or later slots, writing slots twice), for the
lowering of item helpers, dropped restores and dropped clears.
"""
import importlib.util
import random

import numpy as np
import pytest

import s2s
from finite_diff import assert_close, numerical_grad

SHAPES = [(), (3,), (2, 3), (2, 1), (1, 3), (3, 2), (3, 3), (4, 2, 3)]
UNARY = ["np.sin({})", "np.tanh({})", "({} ** 2)", "np.exp(np.sin({}))", "(-{})", "{}.T",
         "np.sum({}, axis=-1)", "np.mean({}, axis=0, keepdims=True)", "np.sum({}, axis=0)"]
BINARY = ["({} + {})", "({} * {})", "({} - {})", "({} @ {})", "({} @ {}.T)"]


def load(source: str, name: str, folder):
    """Import ``source`` from a real file, so that s2s can read it like user code."""
    path = folder / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_gradients(f, args):
    """The gradient with respect to every argument, against finite differences."""
    grads = s2s.grad(f, grad_position=tuple(range(len(args))))(*args)
    for position, g in enumerate(grads):
        assert_close(g, numerical_grad(f, args, position))


def program(seed):
    """(source, arguments) of the program drawn with ``seed``."""
    draw = random.Random(seed)
    rng = np.random.default_rng(seed)
    names = [f"a{i}" for i in range(draw.randint(1, 3))]
    args = []
    for _ in names:
        shape = draw.choice(SHAPES)
        args.append(float(rng.normal()) if shape == () and draw.random() < 0.5
                    else rng.normal(size=shape))
    pool, lines = list(names), []
    for k in range(draw.randint(1, 5)):
        if draw.random() < 0.45:
            expr = draw.choice(UNARY).format(draw.choice(pool))
        else:
            expr = draw.choice(BINARY).format(draw.choice(pool), draw.choice(pool))
        lines.append(f"    t{k} = {expr}")
        pool.append(f"t{k}")
    source = (f"import numpy as np\n\n\ndef f({', '.join(names)}):\n" + "\n".join(lines)
              + f"\n    return np.sum({pool[-1]} * {pool[-1]}) + np.sum({pool[0]})\n")
    return source, tuple(args)


@pytest.mark.parametrize("seed", range(300))
def test_random_mixed_shape_program(seed, tmp_path):
    source, args = program(seed)
    module = load(source, f"shapes_{seed}", tmp_path)
    try:
        with np.errstate(all="raise"):
            module.f(*args)
    except (ValueError, TypeError, AttributeError, FloatingPointError):
        pytest.skip("NumPy rejects this program or it overflows")
    check_gradients(module.f, args)


# --- loops that write arrays by index -------------------------------------------------------
RECURRENCES = ["out[i - 1] * a + u[i]", "np.sin(out[i - 1]) + u[i] * a",
               "out[i - 2] * 0.5 + out[i - 1] * a", "u[i] * u[i - 1] * a",
               "out[i - 1] * out[i - 1] * 0.1 + u[i]", "np.tanh(out[i + 1] + u[i]) * a"]
SECOND_WRITES = ["", "out[i - 1] = out[i - 1] * 0.5", "out[i] = out[i] * a",
                 "tmp = out[i - 1]\n        out[i] = out[i] + tmp * 0.3",
                 "total = total + out[i] * a"]
RESULTS = ["np.sum(out)", "np.sum(out * out)", "np.sum(np.sin(out)) + total",
           "out[-1] * a + np.sum(out[1:])"]


def recurrence_program(seed):
    """(source, arguments): a loop writing ``out[i]`` from earlier (or later) slots."""
    draw = random.Random(seed)
    source = f"""import numpy as np


def f(a, u):
    out = np.zeros_like(u)
    total = 0.0
    out[0] = u[0] * a
    out[1] = u[1] + a
    for i in range({draw.choice([1, 2])}, {draw.choice(["len(u)", "len(u) - 1"])}):
        out[i] = {draw.choice(RECURRENCES)}
        {draw.choice(SECOND_WRITES)}
    return {draw.choice(RESULTS)}
"""
    rng = np.random.default_rng(seed)
    return source, (float(rng.normal()) * 0.5,
                    rng.normal(size=(6, 2) if draw.random() < 0.3 else 6))


@pytest.mark.parametrize("seed", range(100))
def test_random_loop_writing_by_index(seed, tmp_path):
    source, args = recurrence_program(seed)
    module = load(source, f"items_{seed}", tmp_path)
    try:
        module.f(*args)
    except IndexError:
        pytest.skip("the loop reads past the end of the array")
    check_gradients(module.f, args)
