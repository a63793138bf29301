"""From a generated gradient to the same gradient compiled by Numba.

In: a generated function (from ``codegen``) and the arguments of the call that wants it. Out: a
callable with the same signature that runs the Numba-compiled version of its code:

    grad_f (Python, reads DT)          grad_f (Python, two lines)        grad_f (njit)
    def grad_f(x):              ->     def grad_f(x):               ->   def grad_f(x, DT):
        ... DT ...                         return numba_code(x, DT)          ... DT ...

The source is parsed back, rewritten into the Numba dialect (``dialect``), and written to a
file of its own (named by a hash of its text) in ``s2s_jit_cache_dir()``, so that
``inspect.getsource`` shows it and Numba's on-disk cache can serve a later process.

Names the code reads from the user's module are of two kinds. Modules and functions are
frozen into the compiled code, as Numba does with globals; the grad object's cache already
watches them and builds again when one is rebound. Numbers and arrays (``DT = 0.01``) are
passed as extra arguments by a small wrapper that reads them on each call, so changing one
never leaves a stale value in compiled code. Numba's disk cache is used only when every
frozen object is a module or comes from NumPy, ``math`` or s2s: Numba does not check the
frozen objects when it loads cached code.
"""
from __future__ import annotations

import ast
import builtins
import hashlib
import os
import re
import sys
import types
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import gast
import numpy as np

from s2s.compiler import codegen, linemap, syntax
from s2s.compiler.jit import dialect, stacks
from s2s.errors import JitError

_DATA = (float, int, bool, complex, np.ndarray, np.generic)
# Numba's disk cache does not see the helpers compiled into a gradient: their source and
# s2s's version name the file, so a changed helper compiles anew
_HELPERS_DIGEST = hashlib.sha256(b"".join(
    (Path(__file__).parent / name).read_bytes()
    for name in ("overloads.py", "stacks.py"))).digest()
_SAFE_MODULES = ("numpy", "math", "cmath", "builtins", "s2s", "numba")
_HINT = ("pass jit='auto' to fall back to the NumPy gradient, or rewrite the line with "
         "NumPy calls that Numba supports")
# the Numba versions loaded, by the file Numba's messages name (a compile for new argument
# types fails when a gradient is called, long after numba_version returned)
_LOADED: Dict[str, "NumbaVersion"] = {}


def cache_dir() -> str:
    """Where the Numba versions of gradients are written (``S2S_JIT_CACHE`` if set)."""
    found = os.environ.get("S2S_JIT_CACHE")
    if found:
        return found
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "s2s", "numba")


def numba_module():
    """``numba``, or a ``JitError`` saying how to install it."""
    try:
        import numba
    except ImportError:
        raise JitError("jit=True compiles gradients with Numba, which is not installed",
                       hint="pip install 's2s[jit]' (or pip install numba), or pass "
                            "jit='auto' to use NumPy when Numba is missing") from None
    from s2s.compiler.jit import overloads       # registers the helpers' Numba versions
    del overloads
    return numba


class NumbaVersion:
    """The parts of a generated function's Numba version, before it is compiled."""

    def __init__(self, compiled: types.FunctionType):
        self.compiled = compiled
        self.name = compiled.__name__
        tree = gast.parse(compiled.__s2s_source__).body[0]
        self._remember_user_lines(tree)
        try:
            dialect.refuse_unsupported(tree)
        except dialect.Refused as refused:
            raise self.error(f"Numba cannot compile {refused.construct}",
                             getattr(refused.node, "user_line", None), refused.construct,
                             f"{refused.hint}, or pass jit='auto' to keep NumPy") from None
        dialect.rewrite(tree)
        self.frozen, self.data = self._classify(tree)
        for name in self.data:
            tree.args.args.append(syntax.name(name, gast.Param()))
        tree.args.args.extend(tree.args.kwonlyargs)       # all passed by position
        tree.args.kwonlyargs, tree.args.kw_defaults = [], []
        self.tree = tree
        self.text = (f"# The Numba version of {self.name}, written by s2s (jit=True).\n"
                     + codegen.to_source(tree))
        self.lines = _line_map(tree, self.text)

    def _remember_user_lines(self, tree: gast.FunctionDef) -> None:
        code = self.compiled.__code__
        shift = code.co_firstlineno - 1
        self.first_line = None
        for statement in syntax.walk_statements(tree.body):
            if isinstance(statement, gast.stmt):
                statement.user_line = linemap.user_line(code, statement.lineno + shift)
                self.first_line = self.first_line or statement.user_line

    def _classify(self, tree: gast.FunctionDef) -> Tuple[Dict[str, Any], List[str]]:
        """The objects to freeze into the module, and the names of data to pass."""
        compiled = self.compiled
        cells = dict(zip(compiled.__code__.co_freevars, compiled.__closure__ or ()))
        frozen: Dict[str, Any] = {"saves": stacks.saves, "push": stacks.push}
        data: List[str] = []
        for name in _free_names(tree):
            if name in cells:
                value = cells[name].cell_contents
            elif name in compiled.__globals__:
                value = compiled.__globals__[name]
            else:
                continue        # a builtin, or a name Numba will report
            if isinstance(value, _DATA):
                data.append(name)
            else:
                frozen[name] = value
        return frozen, data

    def cacheable(self) -> bool:
        return all(isinstance(v, types.ModuleType)
                   or str(getattr(v, "__module__", None) or "").split(".")[0] in _SAFE_MODULES
                   or isinstance(v, np.ufunc) for v in self.frozen.values())

    def error(self, message: str, where: Optional[tuple], construct: str,
              hint: str = _HINT) -> JitError:
        filename, lineno = where if where else (None, None)
        return JitError(f"s2s cannot compile the gradient {self.name} with Numba (jit=True): "
                        f"{message}", filename=filename, lineno=lineno, construct=construct,
                        hint=hint, function=None)

    def load(self):
        """The module of this Numba version: its file written if new, then executed."""
        digest = hashlib.sha256(self.text.encode() + _HELPERS_DIGEST)
        for name, value in sorted(self.frozen.items()):
            digest.update(f"{name}={getattr(value, '__module__', '')}."
                          f"{getattr(value, '__qualname__', type(value).__name__)}".encode())
        module_name = f"_s2s_numba_{self.name}_{digest.hexdigest()[:16]}"
        folder = cache_dir()
        os.makedirs(folder, exist_ok=True)
        self.path = os.path.join(folder, module_name + ".py")
        if not os.path.exists(self.path):
            temporary = f"{self.path}.{os.getpid()}.tmp"
            with open(temporary, "w") as out:
                out.write(self.text)
            os.replace(temporary, self.path)        # atomic: another process may race
        module = sys.modules.get(module_name)
        if module is None:
            module = types.ModuleType(module_name)
            module.__file__ = self.path
            module.__dict__.update(self.frozen)
            exec(compile(self.text, self.path, "exec"), module.__dict__)
            # Numba's disk cache imports the module by name when it loads compiled code
            sys.modules[module_name] = module
        _LOADED[os.path.basename(self.path)] = self
        return module

    def located(self, exc: Exception, types: str = "") -> JitError:
        """A Numba compile error, at the user's line behind the line it names; ``types``
        names the argument types of a call that compiled the code anew."""
        text = str(exc)
        base = re.escape(os.path.basename(self.path))
        lines = [int(n) for n in re.findall(base + r'"?,?:? ?(?:line |Line |\()(\d+)', text)]
        where = next((self.lines[n] for n in reversed(lines) if self.lines.get(n)), None)
        if not types:
            return self.error(self._what_failed(text), where, "a construct Numba cannot compile")
        return self.error(f"a call with new argument types ({types}) compiles the gradient "
                          f"again, and Numba cannot compile it for them: "
                          f"{self._what_failed(text)}", where or self.first_line,
                          "a new argument type Numba cannot compile",
                          "call it with the argument types of its first call (cast them, "
                          "e.g. to float64), or pass jit='auto' to fall back to NumPy")

    def _what_failed(self, text: str) -> str:
        """The informative line of a Numba error message."""
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith(("Failed in", "During:", "File", "There are",
                                            "- Of which", "Overload", "With argument")):
                continue
            found = re.search(r"Untyped global name '(\w+)'", line)
            if found:
                return self._untyped(found.group(1))
            found = re.search(r"TypingError: (.*)", text)
            if found and "No implementation" in line:
                return found.group(1).strip()
            return line[:300]
        return text[:300]

    def _untyped(self, name: str) -> str:
        value = self.frozen.get(name)
        module = str(getattr(value, "__module__", None) or "")
        if name.startswith("vjp_") or name.startswith("jvp_"):
            return (f"it calls the Python function '{name[4:]}', whose gradient is Python "
                    f"code with a pullback (a closure)")
        if module.startswith("s2s."):
            return (f"its gradient calls s2s's run-time helper '{name}', which has no "
                    f"Numba version yet")
        return f"it calls '{name}', which is not a function Numba can compile"


def compile_error(exc: BaseException, args: tuple) -> Optional[JitError]:
    """``exc`` as a located ``JitError`` if it is Numba's error for a compiled gradient
    that a call with new argument types compiled again (else None)."""
    if not type(exc).__module__.startswith("numba"):
        return None
    text = str(exc)
    for base, version in list(_LOADED.items()):
        if base in text:
            return version.located(exc, ", ".join(_type_name(a) for a in args))
    return None


def _type_name(value: Any) -> str:
    if isinstance(value, (np.ndarray, np.generic)):
        return f"{value.dtype} {'array' if isinstance(value, np.ndarray) else 'number'}"
    return type(value).__name__


def _free_names(fn: gast.FunctionDef) -> List[str]:
    bound = {n.id for n in syntax.walk(fn.args) if isinstance(n, gast.Name)}
    loads: Dict[str, None] = {}
    for node in syntax.walk(fn):
        if isinstance(node, gast.Name):
            if isinstance(node.ctx, (gast.Store, gast.Del)):
                bound.add(node.id)
            elif isinstance(node.ctx, gast.Load):
                loads.setdefault(node.id, None)
    return [n for n in loads if n not in bound and n not in ("saves", "push")]


def _line_map(tree: gast.FunctionDef, text: str) -> Dict[int, tuple]:
    """{line of ``text``: (user file, user line)} for the statements of ``tree``."""
    written = ast.parse(text).body[0]
    found: Dict[int, tuple] = {}

    def pair(made, parsed):
        for a, b in zip(made, parsed):
            where = getattr(a, "user_line", None)
            if where:
                found[b.lineno] = where
            for field in ("body", "orelse"):
                left, right = getattr(a, field, None), getattr(b, field, None)
                if isinstance(left, list) and isinstance(right, list):
                    pair(left, right)
    pair(tree.body, written.body)
    return found


def numba_version(compiled: types.FunctionType, args: tuple) -> Callable:
    """The Numba-compiled version of the generated function ``compiled``, compiled now for
    the types of ``args`` (later types compile on their first call). Raises ``JitError``
    where Numba cannot compile it."""
    known = compiled.__dict__.get("__s2s_numba__")
    if known is not None:
        return known
    numba = numba_module()
    version = NumbaVersion(compiled)
    module = version.load()
    dispatcher = numba.njit(cache=version.cacheable())(module.__dict__[version.name])
    namespace, cells = compiled.__globals__, dict(zip(compiled.__code__.co_freevars,
                                                      compiled.__closure__ or ()))
    values = [cells[n].cell_contents if n in cells else namespace[n] for n in version.data]
    try:
        signature = tuple(numba.typeof(a) for a in list(args) + values)
    except ValueError:
        kinds = ", ".join(sorted({type(a).__name__ for a in list(args) + values
                                  if not isinstance(a, _DATA + (tuple,))}))
        raise version.error(f"it takes a {kinds}, which Numba cannot take as an argument",
                            None, "an argument Numba cannot take",
                            "pass numbers, arrays or tuples of them") from None
    try:
        dispatcher.compile(signature)
    except numba.core.errors.NumbaError as exc:
        raise version.located(exc) from None
    runs = dispatcher
    if version.data or compiled.__defaults__ or compiled.__kwdefaults__:
        runs = _passing_data(compiled, dispatcher, version.data)
    compiled.__s2s_numba__ = runs
    return runs


def _passing_data(compiled: types.FunctionType, dispatcher, data: List[str]) -> Callable:
    """``def grad_f(x, scale=2.0): return numba_code(x, scale, DT)``: a function with the
    generated function's signature (and its cells) that reads the data the compiled code
    takes as arguments on each call."""
    code = compiled.__code__
    count = code.co_argcount + code.co_kwonlyargcount
    params = list(code.co_varnames[:count])
    positional = params[:code.co_argcount]
    keyword = params[code.co_argcount:]
    signature = ", ".join(positional + (["*"] + keyword if keyword else []))
    call = ", ".join(params + data)
    cell_names = ["numba_code"] + list(code.co_freevars)
    text = (f"def __s2s_factory__({', '.join(cell_names)}):\n"
            f"    def {compiled.__name__}({signature}):\n"
            f"        return numba_code({call})\n"
            f"    return {compiled.__name__}\n")
    factory = compile(text, f"<s2s numba caller of {compiled.__name__}>", "exec")
    inner = next(c for c in factory.co_consts[0].co_consts if isinstance(c, types.CodeType))
    cells = dict(zip(code.co_freevars, compiled.__closure__ or ()))
    cells["numba_code"] = types.CellType(dispatcher)
    caller = types.FunctionType(inner, compiled.__globals__, compiled.__name__,
                                compiled.__defaults__,
                                tuple(cells[n] for n in inner.co_freevars))
    caller.__kwdefaults__ = compiled.__kwdefaults__
    caller.__wrapped__ = dispatcher
    return caller
