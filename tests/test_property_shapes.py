"""Random straight-line programs over arrays of mixed shapes, against finite differences.

Each seed writes a small module: a function of one to three arguments (Python floats, or
arrays of shapes that broadcast against each other or not) built from elementwise
functions, broadcasting arithmetic, ``@`` and ``.T``, and reductions over one axis. Programs
NumPy itself rejects (shapes that do not fit) are skipped. The gradient is specialized on
the argument shapes, so this exercises the transform-time shape reasoning: broadcasts
undone with sums written out, matrix-product adjoints, reductions.
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
    path = tmp_path / f"shapes_{seed}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"shapes_{seed}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        with np.errstate(all="raise"):
            module.f(*args)
    except (ValueError, TypeError, AttributeError, FloatingPointError):
        pytest.skip("NumPy rejects this program or it overflows")
    grads = s2s.grad(module.f, grad_position=tuple(range(len(args))))(*args)
    for position, g in enumerate(grads):
        assert_close(g, numerical_grad(module.f, args, position))
