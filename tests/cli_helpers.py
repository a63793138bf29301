"""Running the command line as a user would, for the tests of ``s2s convert`` and ``s2s show``.

``s2s(*args, cwd=...)`` runs ``python -m s2s ARGS``; ``run_isolated`` imports converted
modules in a fresh interpreter where s2s cannot be imported (``-I -S`` with only NumPy's site
folder on the path) and calls their functions; ``importable`` imports the original modules.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NUMPY_SITE = str(Path(np.__file__).resolve().parent.parent)


def s2s(*args: str, cwd: Path, hashseed: str = "0", path: str = "") -> subprocess.CompletedProcess:
    """Run ``python -m s2s ARGS`` in ``cwd`` (``path``: more folders for PYTHONPATH)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), path) if p),
               PYTHONHASHSEED=hashseed)
    return subprocess.run([sys.executable, "-m", "s2s", *args], cwd=str(cwd), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=120)


# A fresh interpreter without s2s: only the standard library and NumPy's site folder.
ISOLATED = r"""
import importlib.util, json, sys
sys.path.append(sys.argv[1])
try:
    import s2s
except ImportError:
    pass
else:
    raise SystemExit("s2s is importable in the isolated interpreter")
import numpy as np

def plain(value):
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return np.asarray(value, dtype=float).tolist()

def argument(a):
    if isinstance(a, dict):
        return {k: argument(v) for k, v in a.items()}
    if isinstance(a, list):
        try:
            return np.array(a)
        except ValueError:          # arrays of different shapes: a list of them
            return [argument(v) for v in a]
    return a

results = []
for i, (path, name, args) in enumerate(json.loads(sys.argv[2])):
    spec = importlib.util.spec_from_file_location(f"converted_{i}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = [argument(a) for a in args]
    results.append(plain(getattr(module, name)(*args)))
assert not any(m == "s2s" or m.startswith("s2s.") for m in sys.modules)
print(json.dumps(results))
"""


def run_isolated(cases: list, cwd: Path) -> list:
    proc = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", ISOLATED, NUMPY_SITE,
                           json.dumps(cases)], cwd=str(cwd), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@contextmanager
def importable(folder: Path):
    """Import original modules from ``folder``; forget them afterwards."""
    before = set(sys.modules)
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        for name in set(sys.modules) - before:
            del sys.modules[name]
