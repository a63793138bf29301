"""The one cache of generated code (s2s/compiler/pipeline.py): what it shares, what it must not
reuse, what it lets go of, and its bounds. Every gradient is checked against finite
differences or a closed form."""
import gc
import importlib.util
import linecache
import sys
import tracemalloc
import weakref

import numpy as np
import pytest

import s2s
from s2s.compiler import cache, pipeline
from finite_diff import assert_close, numerical_grad


@pytest.fixture
def count_transforms(monkeypatch):
    """How many times the reverse-mode pipeline builds code (cache misses)."""
    built = []
    original = pipeline._reverse

    def counting(fn, *args):
        built.append(fn)
        return original(fn, *args)
    monkeypatch.setattr(pipeline, "_reverse", counting)
    return built


def _load(tmp_path, name, text):
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def make_loss(lam):
    def loss(w):
        return np.sum(w ** 2) * lam + np.sum(np.sin(w))
    return loss


def test_closures_of_one_def_transform_once(count_transforms):
    w = np.linspace(-1.0, 1.0, 5)
    lams = np.linspace(0.01, 2.0, 10_000)
    for lam in lams:
        s2s.grad(make_loss(float(lam)))(w)
    assert len(count_transforms) == 1
    for lam in (0.25, 1.5):        # each closure still reads its own value
        assert_close(s2s.grad(make_loss(lam))(w), 2 * lam * w + np.cos(w))


def test_a_closure_that_found_shared_code_keeps_it_alive(monkeypatch):
    s2s.clear_cache()
    built = []
    original = pipeline._reverse

    def counting(fn, *args):        # holds no function: dropping one must free it
        built.append(fn.__name__)
        return original(fn, *args)
    monkeypatch.setattr(pipeline, "_reverse", counting)
    w = np.linspace(-1.0, 1.0, 4)
    first = make_loss(0.5)
    assert_close(s2s.grad(first)(w), w + np.cos(w))
    second = make_loss(2.0)         # found through its definition, not transformed again
    assert_close(s2s.grad(second)(w), 4.0 * w + np.cos(w))
    dropped = weakref.ref(first)
    del first
    gc.collect()
    assert dropped() is None
    assert_close(s2s.grad(second)(w), 4.0 * w + np.cos(w))
    assert_close(s2s.grad(make_loss(0.5))(w), w + np.cos(w))
    assert built == ["loss"]


def test_closures_over_arrays_of_other_shapes_or_types_are_right():
    def make(c):
        def f(x):
            return np.sum(x * c)
        return f
    x = np.array([0.5, -1.0, 2.0])
    for c in (2.0, np.array([1.0, 2.0, 3.0]), np.array([[1.0], [2.0]]), 3):
        expected = numerical_grad(make(c), (x,))
        assert_close(s2s.grad(make(c))(x), expected)


def test_functions_that_differ_only_in_defaults_get_their_own_gradient():
    made = []
    for reduce in (np.sum, np.prod, np.max):
        def f(a, _r=reduce):
            return _r(a * a)
        made.append(f)
    a = np.array([0.5, 1.5, -2.0])
    for f in made:
        assert_close(s2s.grad(f)(a), numerical_grad(f, (a,)))
        value, _ = s2s.value_and_grad(f)(a)
        assert value == pytest.approx(f(a))


def test_defaults_that_are_numbers():
    made = [lambda x, k=k: x ** 3 * k for k in (1.0, 2.0, 5.0)]
    for f, k in zip(made, (1.0, 2.0, 5.0)):
        assert s2s.grad(f)(1.5) == pytest.approx(3 * 1.5 ** 2 * k)


def test_a_rebound_global_function_transforms_again(tmp_path):
    module = _load(tmp_path, "s2s_cache_rebind", (
        "import numpy as np\n"
        "act = np.sin\n"
        "def f(x):\n"
        "    return act(x) * 2.0\n"))
    try:
        assert s2s.grad(module.f)(0.3) == pytest.approx(2 * np.cos(0.3))
        module.act = np.tanh
        assert s2s.grad(module.f)(0.3) == pytest.approx(2 * (1 - np.tanh(0.3) ** 2))
    finally:
        del sys.modules["s2s_cache_rebind"]


def test_a_global_number_is_read_when_the_gradient_runs(tmp_path, count_transforms):
    module = _load(tmp_path, "s2s_cache_number", (
        "scale = 2.0\n"
        "def f(x):\n"
        "    return x * x * scale\n"))
    try:
        df = s2s.grad(module.f)
        assert df(1.5) == pytest.approx(6.0)
        module.scale = 4.0
        assert df(1.5) == pytest.approx(12.0)
        assert s2s.grad(module.f)(1.5) == pytest.approx(12.0)
        module.scale = np.ones(3)           # another kind of value: transformed again
        assert_close(s2s.grad(module.f)(np.full(3, 1.5)), np.full(3, 3.0))
        assert len(count_transforms) == 2
    finally:
        del sys.modules["s2s_cache_number"]


def test_a_dropped_function_is_collected_with_its_module(tmp_path):
    module = _load(tmp_path, "s2s_cache_dropped", (
        "import numpy as np\n"
        "def helper(x):\n"
        "    return np.tanh(x) * x\n"
        "def f(x):\n"
        "    return helper(x) + x ** 2\n"))
    df = s2s.grad(module.f)
    assert df(0.7) == pytest.approx(numerical_grad(module.f, (0.7,)))
    generated = [name for name in linecache.cache if "of f #" in name or "of helper #" in name]
    assert generated
    fn_ref, module_ref = weakref.ref(module.f), weakref.ref(module)
    del sys.modules["s2s_cache_dropped"], module, df
    gc.collect()
    assert fn_ref() is None and module_ref() is None
    assert not [name for name in generated if name in linecache.cache]


def test_clear_cache_empties_everything(count_transforms):
    def f(x):
        return np.sin(x) * x
    s2s.grad(f)(0.4)
    assert any(name.startswith("<s2s ") for name in linecache.cache)
    s2s.clear_cache()
    assert not any(name.startswith("<s2s ") for name in linecache.cache)
    assert cache._total[0] == 0
    assert s2s.grad(f)(0.4) == pytest.approx(np.cos(0.4) * 0.4 + np.sin(0.4))
    assert len(count_transforms) == 2


def _distinct_functions(tmp_path, name, count):
    text = "".join(f"def f{i}(x):\n    return x * {i + 0.5} + x ** 2\n\n" for i in range(count))
    return _load(tmp_path, name, text)


def test_the_cache_is_bounded(tmp_path):
    module = _distinct_functions(tmp_path, "s2s_cache_bounded", 60)
    previous = s2s.cache_limit(20)
    try:
        for i in range(60):
            f = getattr(module, f"f{i}")
            assert s2s.grad(f)(1.25) == pytest.approx(i + 0.5 + 2.5)
        assert cache._total[0] <= 20
        assert len(cache._recent) <= 20
    finally:
        s2s.cache_limit(previous)
        del sys.modules["s2s_cache_bounded"]


def test_memory_stays_flat_over_distinct_functions(tmp_path):
    """Live functions beyond the limit: the cache forgets the oldest; memory stops growing.
    (benchmarks/cache_memory.py measures the same over 10,000 functions.)"""
    module = _distinct_functions(tmp_path, "s2s_cache_memory", 240)
    previous = s2s.cache_limit(40)
    tracemalloc.start()
    try:
        for i in range(80):
            s2s.grad(getattr(module, f"f{i}"))(1.0)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(80, 240):
            s2s.grad(getattr(module, f"f{i}"))(1.0)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        # a cached gradient takes about 6 kB; what stays per function past the limit is
        # the attribute dict of the user's function (a few hundred bytes)
        assert grown < 160_000, grown
    finally:
        tracemalloc.stop()
        s2s.cache_limit(previous)
        del sys.modules["s2s_cache_memory"]


def test_the_shape_cap_is_per_function(count_transforms):
    def f(x):
        return np.sum(np.tanh(x))
    for n in range(1, 30):
        x = np.linspace(-1, 1, n)
        assert_close(s2s.grad(f)(x), 1 - np.tanh(x) ** 2)     # a new grad object each time
    assert len(count_transforms) == cache.MAX_SHAPE_SETS + 1


def test_cache_limit_takes_a_positive_int():
    with pytest.raises(ValueError):
        s2s.cache_limit(0)


def test_a_grad_object_sees_a_rebound_global_function(tmp_path):
    """The same grad object, called before and after a global helper is rebound: value and
    gradient both follow the new helper (never the old derivative with the new value)."""
    module = _load(tmp_path, "s2s_cache_same_object", (
        "import numpy as np\n"
        "act = np.sin\n"
        "def f(x):\n"
        "    return act(x) * 2.0\n"))
    try:
        for make in (s2s.grad, s2s.value_and_grad):
            module.act = np.sin
            df = make(module.f)
            df(0.3)
            module.act = np.tanh
            result = df(0.3)
            grad = result[1] if make is s2s.value_and_grad else result
            assert grad == pytest.approx(numerical_grad(module.f, (0.3,)))
            if make is s2s.value_and_grad:
                assert result[0] == pytest.approx(2 * np.tanh(0.3))
    finally:
        del sys.modules["s2s_cache_same_object"]
