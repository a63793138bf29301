"""The package's dependencies point one way, and no module imports itself back.

    api, convert  ->  compiler  ->  runtime, rules, errors      (nn -> api; templates -> runtime,
                                                                 rules)

Every import statement of every module counts, including those inside functions and under
``if TYPE_CHECKING``; importing ``s2s.a.b`` from outside ``s2s.a`` also runs the package's
``__init__``, so that counts too.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# which rooms a room may import from (besides itself)
ALLOWED = {
    "runtime": set(),
    "errors": set(),
    "rules": {"runtime"},
    "templates": {"runtime", "rules"},
    "compiler": {"runtime", "rules", "errors"},
    "api": {"compiler", "runtime", "rules", "errors"},
    "convert": {"compiler", "api", "runtime", "rules", "errors"},
    "nn": {"api", "runtime", "rules", "errors"},
}


def _modules():
    """module name -> path, for s2s and the templates (installed as s2s.templates)."""
    found = {}
    for base, prefix in ((ROOT / "s2s", "s2s"), (ROOT / "templates", "s2s.templates")):
        for path in base.rglob("*.py"):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([prefix] + parts)] = path
    return found


MODULES = _modules()


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _imports(module: str, path: Path):
    """The s2s modules ``module`` imports, with the line of each import."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "s2s":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(module, path)
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = package + ("." + node.module if node.module else "")
            else:
                base = node.module or ""
            if base.split(".")[0] != "s2s":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub if sub in MODULES else base), node.lineno


def _with_parents(target: str, importer: str):
    """``s2s.a.b`` and the packages importing it runs first: ``s2s.a`` (not ``s2s`` itself,
    nor a package the importer is inside of: that one is already being imported)."""
    parts = target.split(".")
    for i in range(2, len(parts) + 1):
        package = ".".join(parts[:i])
        if i == len(parts) or not importer.startswith(package + "."):
            yield package


def _graph():
    graph = {}
    for module, path in MODULES.items():
        edges = {}
        for target, line in _imports(module, path):
            for dep in _with_parents(target, module):
                if dep != module and dep in MODULES:
                    edges.setdefault(dep, line)
        graph[module] = edges
    return graph


GRAPH = _graph()


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "s2s"


def test_every_import_points_the_allowed_way():
    wrong = []
    for module, edges in GRAPH.items():
        room = _room(module)
        if room not in ALLOWED:         # the package root and __main__ may use anything
            continue
        for dep, line in edges.items():
            if _room(dep) != room and _room(dep) not in ALLOWED[room]:
                wrong.append(f"{MODULES[module].relative_to(ROOT)}:{line}: {room} imports "
                             f"{dep}")
    assert not wrong, "imports against the direction of the layers:\n" + "\n".join(wrong)


def test_runtime_imports_nothing_of_s2s():
    for module, edges in GRAPH.items():
        if _room(module) == "runtime":
            assert all(_room(dep) == "runtime" for dep in edges), (module, edges)


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    graph = {m: set(edges) - {"s2s"} for m, edges in GRAPH.items() if m != "s2s"}
    cycles = _cycles(graph)
    assert not cycles, "import cycles inside s2s:\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


def test_the_checker_sees_imports_inside_functions(tmp_path):
    """The instrument itself: a function-level import is an edge like any other."""
    path = tmp_path / "probe.py"
    path.write_text("def f():\n    from s2s.compiler import pipeline\n")
    assert ("s2s.compiler.pipeline", 2) in set(_imports("s2s.runtime.probe", path))
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_every_room_exists(room):
    assert any(_room(m) == room for m in MODULES), room
