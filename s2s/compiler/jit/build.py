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

Functions of the user's that the code calls, and the generated code of those calls
(``vjp_g``, ``jvp_g``), get Numba versions of their own (``callees``), frozen in their
place: a callee's data are passed down from the outermost function's arguments.
"""
from __future__ import annotations

import ast
import builtins
import copy
import hashlib
import inspect
import os
import re
import sys
import textwrap
import types
import warnings
import weakref
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import gast
import numpy as np

from s2s import runtime
from s2s.compiler import cache, codegen, linemap, syntax
from s2s.compiler.jit import callees, dialect, fusion, objects, stacks
from s2s.errors import JitError

_DATA = (float, int, bool, complex, np.ndarray, np.generic)
# Numba's disk cache does not see the helpers compiled into a gradient: their source and
# s2s's version name the file, so a changed helper compiles anew
_HELPERS_DIGEST = hashlib.sha256(b"".join(
    (Path(__file__).parent / name).read_bytes()
    for name in ("overloads.py", "stacks.py"))).digest()
_DIALECT_NAMES = ("saves", "push", "sum_axes")      # what the dialect writes (stacks)
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
    """The parts of a generated function's Numba version, before it is compiled.

    ``compiled`` is a generated function, or a user's function that generated code calls
    (its forward code); ``callers`` are the functions whose versions are being made and
    that call it. The functions it calls get Numba versions of their own, compiled in: a
    callee's pullback becomes a function of its own (``callees``), and the data a callee
    reads are passed down from the outermost function's arguments."""

    def __init__(self, compiled: types.FunctionType, callers: tuple = ()):
        self.compiled = compiled
        self.name = compiled.__name__
        self.callers = callers + (compiled,)
        tree = self._parse()
        generated = hasattr(compiled, "__s2s_source__")
        self.pullback = callees.lift_pullback(tree) if callers and generated else None
        functions = [tree] + ([self.pullback] if self.pullback is not None else [])
        ranges = callees.range_names(tree)
        for function in functions:
            try:
                dialect.refuse_unsupported(function)
            except dialect.Refused as refused:
                raise self.error(f"Numba cannot compile {refused.construct}",
                                 getattr(refused.node, "user_line", None), refused.construct,
                                 f"{refused.hint}, or pass jit='auto' to keep NumPy") from None
            dialect.rewrite(function, ranges if function is self.pullback else frozenset())
        reads = self._attribute_reads(functions)
        self.frozen, self.readers = self._classify(functions)
        self.readers += reads
        self.reported = self._weight_cotangents(tree, [r[0] for r in reads])
        self._compile_callees(functions)
        if self.pullback is not None:
            read = set(_free_names(self.pullback))
            callees.add_residuals(tree, self.pullback,
                                  [r[0] for r in self.readers if r[0] in read])
        self.data = [r[0] for r in self.readers]
        self._parameters(tree)
        self.tree = tree
        self.functions = functions
        self.unfused: Optional[NumbaVersion] = None
        self._write()

    def _write(self) -> None:
        self.text = (f"# The Numba version of {self.name}, written by s2s (jit=True).\n"
                     + "\n\n".join(codegen.to_source(f) for f in self.functions))
        self.lines = _line_map(self.functions, self.text)

    def fuse(self, argument_types: tuple) -> None:
        """Fuse the runs of elementwise statements into loops over elements (``fusion``),
        by the kinds Numba's type inference finds for these argument types; ``unfused``
        keeps the version as it was, for calls of other types. Where the inference fails,
        nothing changes: Numba's compile then reports the error."""
        from s2s.compiler.jit import infer
        namespace = dict(self.frozen)
        exec(compile(self.text, f"<s2s numba typing of {self.name}>", "exec"), namespace)
        try:
            with warnings.catch_warnings():     # the compile that follows says them once
                warnings.simplefilter("ignore")
                kinds = infer.local_kinds(namespace[self.name], argument_types)
        except Exception:           # an optimization only: the compile says what is wrong
            return
        numpy_name = next((name for name, value in self.frozen.items() if value is np), None)
        if numpy_name is None:
            numpy_name = _fresh("numpy_module", syntax.names_in(self.tree) | set(self.frozen))
        unfused = copy.copy(self)
        if fusion.fuse(self.tree, kinds, numpy_name):
            self.unfused = unfused
            self.frozen = dict(self.frozen, same_or_apart=fusion.same_or_apart)
            self.frozen[numpy_name] = np
            self._write()

    def _parameters(self, tree: gast.FunctionDef) -> None:
        """Keyword-only parameters become positional ones (Numba has none), then the data
        parameters follow. Defaults are the function's own values (evaluated once, when it
        was defined), frozen in; a parameter after one with a default gets None, which no
        call uses (the outermost function's caller passes every argument, and a caller
        passes a callee's data by keyword)."""
        compiled = self.compiled
        args = tree.args
        kwdefaults = compiled.__kwdefaults__ or {}
        names = [a.id for a in args.args] + [a.id for a in args.kwonlyargs] + self.data
        values = dict(zip([a.id for a in args.args][len(args.args) -
                                                    len(compiled.__defaults__ or ()):],
                          compiled.__defaults__ or ()))
        values.update(kwdefaults)
        args.args = [syntax.name(n, gast.Param()) for n in names]
        args.kwonlyargs, args.kw_defaults = [], []
        defaults = []
        for n in names:
            if n in values:
                value = values[n]
                if value is None or isinstance(value, (bool, int, float, str)):
                    defaults.append(syntax.const(value))
                else:
                    frozen = f"__s2s_default_{n}"
                    self.frozen[frozen] = value
                    defaults.append(syntax.name(frozen))
            elif defaults:
                defaults.append(syntax.const(None))
        args.defaults = defaults

    def _parse(self) -> gast.FunctionDef:
        """The tree of ``compiled``, each statement with the user's line behind it."""
        compiled = self.compiled
        self.first_line = None
        source = getattr(compiled, "__s2s_source__", None)
        if source is not None:
            tree = gast.parse(source).body[0]
            code = compiled.__code__
            shift = code.co_firstlineno - 1
            where = lambda line: _through_generated(  # noqa: E731
                linemap.user_line(code, line + shift))
        else:           # a user's function, called by generated code
            try:
                source = textwrap.dedent(inspect.getsource(compiled))
            except (OSError, TypeError):
                raise self.error(f"it calls '{self.name}', whose source s2s cannot read",
                                 None, "a function without source") from None
            tree = gast.parse(source).body[0]
            if not isinstance(tree, gast.FunctionDef):
                raise self.error(f"it calls '{self.name}', which is not a def",
                                 None, "a function that is not a def",
                                 "call a function written with def")
            tree.decorator_list = []
            filename = compiled.__code__.co_filename
            shift = compiled.__code__.co_firstlineno - 1
            where = lambda line: (filename, line + shift)  # noqa: E731
        for statement in syntax.walk_statements(tree.body):
            if isinstance(statement, gast.stmt):
                statement.user_line = where(statement.lineno)
                self.first_line = self.first_line or statement.user_line
        return tree

    def _root(self, name: str) -> Optional[tuple]:
        """(holder, key) of a free name of the code (see ``_classify``), else None."""
        compiled = self.compiled
        for cell_name, cell in zip(compiled.__code__.co_freevars, compiled.__closure__ or ()):
            if cell_name == name:
                return cell, None
        if name in compiled.__globals__:
            return compiled.__globals__, name
        return None

    def _attribute_reads(self, functions) -> List[tuple]:
        """Reads of numbers and arrays that are attributes of objects (``model.w``) become
        data to pass (``objects``): readers with the attributes to follow."""
        free = {n for f in functions for n in _free_names(f)}

        def is_data(root: str, attrs: tuple) -> bool:
            found = self._root(root) if root in free else None
            if found is None:
                return False
            try:
                value = _read(*found, ())
            except ValueError:          # an empty cell
                return False
            if isinstance(value, types.ModuleType) and \
                    value.__name__.split(".")[0] in _SAFE_MODULES:
                return False            # np.pi, math.e: constants
            for attr in attrs:
                value = getattr(value, attr, None)
            return isinstance(value, _DATA)
        used = {n for f in functions for n in syntax.names_in(f)}
        return [(param,) + self._root(root) + (attrs,)
                for param, root, attrs in objects.attribute_reads(functions, is_data, used)]

    def _weight_cotangents(self, tree: gast.FunctionDef, reads: List[str]) -> List[str]:
        """The attribute reads whose cotangents the code returns with its result, for
        ``weights=`` (``objects.returned_cotangents``)."""
        names = syntax.names_in(tree) | (syntax.names_in(self.pullback)
                                          if self.pullback is not None else set())
        if "weight_cotangent" not in names:
            return []
        if len(self.callers) > 1:
            raise self.error(
                "a function it calls reads a weight (weights=)",
                _line_of([tree] + ([self.pullback] if self.pullback else []),
                         "weight_cotangent"),
                "a weight read in a called function",
                "read the weights in the differentiated function and pass them to the "
                "functions it calls, or pass jit='auto' to keep NumPy")
        helpers = {}
        for helper in (runtime.zeros_like, runtime.add):
            name = helper.__name__
            while (name in names or name in self.frozen) and self.frozen.get(name) is not helper:
                name += "_"
            helpers[helper.__name__] = name
            self.frozen[name] = helper
        try:
            return objects.returned_cotangents(tree, reads, helpers["zeros_like"],
                                               helpers["add"])
        except dialect.Refused as refused:
            raise self.error(f"Numba cannot compile {refused.construct}",
                             getattr(refused.node, "user_line", None), refused.construct,
                             f"{refused.hint}, or pass jit='auto' to keep NumPy") from None

    def _classify(self, functions) -> Tuple[Dict[str, Any], List[tuple]]:
        """The objects to freeze into the module, and the data to pass: (parameter, holder,
        key, attributes) where ``holder[key]`` is the value (a namespace), or ``holder`` is
        a cell that holds it, then each attribute of ``attributes`` read in turn."""
        compiled = self.compiled
        cells = dict(zip(compiled.__code__.co_freevars, compiled.__closure__ or ()))
        frozen: Dict[str, Any] = {"saves": stacks.saves, "push": stacks.push,
                                  "sum_axes": stacks.sum_axes}
        readers: List[tuple] = []
        names: Dict[str, None] = {}
        for function in functions:
            names.update(dict.fromkeys(_free_names(function)))
        for name in names:
            if name in cells:
                value, reader = cells[name].cell_contents, (name, cells[name], None, ())
            elif name in compiled.__globals__:
                value = compiled.__globals__[name]
                reader = (name, compiled.__globals__, name, ())
            else:
                continue        # a builtin, or a name Numba will report
            if isinstance(value, cache.Pending):       # a recursive call's callee
                value = value.compiled
            if isinstance(value, _DATA):
                readers.append(reader)
            else:
                frozen[name] = value
        return frozen, readers

    def _compile_callees(self, functions) -> None:
        """Give each function of the user's that the code calls (or a generated function
        of one) a Numba version of its own, frozen in its place; a callee's pullback
        function is frozen too, its calls written in, and its data passed on."""
        lifted: Dict[str, str] = {}
        used = set(self.frozen) | {n for f in functions for n in syntax.names_in(f)}
        for name, value in list(self.frozen.items()):
            if not _is_user_function(value):
                continue
            if value in self.callers:
                raise self.error("it calls a function from inside itself (a recursion), "
                                 "which Numba compiles only with declared types",
                                 _line_of(functions, name), "a recursive function",
                                 "write the recursion as a loop, or pass jit='auto' to "
                                 "keep NumPy")
            try:
                callee = _callee_version(value, self.callers)
            except JitError as exc:
                if exc.filename and not exc.filename.startswith("<"):
                    raise
                # a line of code generated from generated code: the call's line instead
                filename, lineno = _line_of(functions, name) or (None, None)
                raise JitError(exc.message, filename=filename, lineno=lineno,
                               construct=exc.construct, hint=exc.hint) from None
            self.frozen[name] = callee.dispatcher
            if callee.pullback is not None:
                pullback_name = _fresh(callee.pullback.name, used)
                self.frozen[pullback_name] = callee.pullback_dispatcher
                lifted[name] = pullback_name
            if callee.readers:
                passed = {}
                for param, holder, key, attrs in callee.readers:
                    mine = _fresh(f"{name}_{param}", used)
                    self.readers.append((mine, holder, key, attrs))
                    passed[param] = mine
                _pass_data(functions, name, passed)
        if lifted:
            variables = callees.pullback_variables(functions[0], lifted)
            for function in functions:
                callees.pullback_calls(function, variables)

    def cacheable(self) -> bool:
        return all(isinstance(v, types.ModuleType)
                   or str(getattr(v, "__module__", None) or "").split(".")[0] in _SAFE_MODULES
                   or isinstance(v, np.ufunc) for v in self.frozen.values())

    def error(self, message: str, where: Optional[tuple], construct: str,
              hint: str = _HINT) -> JitError:
        filename, lineno = where if where else (None, None)
        outermost = self.callers[0].__name__        # the gradient the user asked for
        return JitError(f"s2s cannot compile the gradient {outermost} with Numba (jit=True): "
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
        # the line of this function's file or of a callee's that Numba names last
        found = re.findall(r'(_s2s_numba_\w+\.py)"?,?:? ?(?:line |Line |\()(\d+)', text)
        where = next((_LOADED[base].lines[int(n)] for base, n in reversed(found)
                      if base in _LOADED and _LOADED[base].lines.get(int(n))), None)
        if not types:
            return self.error(self._what_failed(text), where, "a construct Numba cannot compile")
        return self.error(f"a call with new argument types ({types}) compiles the gradient "
                          f"again, and Numba cannot compile it for them: "
                          f"{self._what_failed(text)}", where or self.first_line,
                          "a new argument type Numba cannot compile",
                          "call it with the argument types of its first call (cast them, "
                          "e.g. to float64), or pass jit='auto' to fall back to NumPy")

    def crashed(self, exc: BaseException, args: tuple, kinds: str = "") -> JitError:
        """A JitError for an exception Numba raised from its own code while it compiled
        this version for ``args`` (``kinds``: their types, for a compile anew)."""
        what = (f"a call with new argument types ({kinds}) compiles the gradient again, "
                f"and Numba failed inside its own code" if kinds else
                f"Numba failed inside its own code compiling it for these argument types "
                f"({', '.join(_type_name(a) for a in args)})")
        return self.error(f"{what}: {type(exc).__name__}: {exc}", self.first_line,
                          "an argument type Numba cannot compile",
                          "call it with the argument types of its first call (cast them, "
                          "e.g. to float64), or pass jit='auto' to fall back to NumPy")

    def _what_failed(self, text: str) -> str:
        """The informative line of a Numba error message."""
        lines = text.splitlines()
        for i, line in enumerate(lines):
            line = line.strip()
            if not line or line.startswith(("Failed in", "During:", "File", "There are",
                                            "- Of which", "Overload", "With argument",
                                            "- Resolution failure")):
                continue
            if line.startswith("No implementation of function"):
                called = next((s.strip()[4:] for s in lines[i:] if s.strip().startswith(">>> ")),
                              None)
                reason = re.search(r"TypingError: (.*)", "\n".join(lines[i + 1:]))
                if called is not None:
                    return (f"Numba has no version of {called}"
                            + (f" ({reason.group(1).strip()})" if reason else ""))[:300]
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
    kinds = ", ".join(_type_name(a) for a in args)
    if isinstance(exc, NotImplementedError):    # a type Numba reads but cannot compile
        version = _compiling(exc)
        if version is None:
            return None
        return version.error(f"a call with new argument types ({kinds}) compiles the "
                             f"gradient again, and Numba cannot compile it for them: "
                             f"{exc} is not supported", version.first_line,
                             "an argument type Numba cannot compile",
                             "cast the arguments (to float64), or pass jit='auto' to keep "
                             "NumPy")
    if not type(exc).__module__.startswith("numba"):
        version = _compiling(exc)       # Numba failed inside its own typing
        return None if version is None else version.crashed(exc, args, kinds)
    text = str(exc)
    for base, version in list(_LOADED.items()):
        if base in text:
            return version.located(exc, kinds)
    return None


def run_error(exc: BaseException) -> Optional[JitError]:
    """``exc`` as a located ``JitError`` if it is the refusal of a helper's Numba version
    at run time (a ``ValueError`` or ``IndexError`` saying ``s2s (Numba): ...``), raised by
    compiled code that a frame of the traceback holds. Numba's code has no lines to show,
    so the error names the first line of the user's function, and the refusal says what
    failed. Generated code leaves its arguments as they were, so ``jit='auto'`` may run the
    NumPy code for the same call."""
    if type(exc) not in (ValueError, IndexError) or not str(exc).startswith("s2s (Numba)"):
        return None
    tb, found = exc.__traceback__, None
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            for _ in range(3):          # a caller passing data, a choice of fused code
                code = getattr(getattr(value, "py_func", None), "__code__", None)
                if code is not None:
                    found = _LOADED.get(os.path.basename(code.co_filename)) or found
                    break
                value = getattr(value, "__wrapped__", None)
        tb = tb.tb_next
    if found is None:
        return None
    message = str(exc)[len("s2s (Numba): "):].split("; pass jit=False")[0]
    return found.error(f"the compiled code stopped at run time (Numba does not say at "
                       f"which line of the function): {message}", found.first_line,
                       "a run-time case the Numba version does not handle",
                       "pass jit=False (or jit='auto') for this function")


def _compiling(exc: BaseException) -> Optional["NumbaVersion"]:
    """The Numba version a dispatcher was compiling when ``exc`` was raised, if any."""
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        code = getattr(getattr(owner, "py_func", None), "__code__", None)
        if code is not None:
            found = _LOADED.get(os.path.basename(code.co_filename))
            if found is not None:
                return found
        tb = tb.tb_next
    return None


def _untypable(version: NumbaVersion, compiled: types.FunctionType, args: tuple,
               values: list, numba) -> JitError:
    """The JitError for arguments (or data the code reads) that Numba cannot type: each
    named, at the first line of the user's function."""
    names = list(inspect.signature(compiled).parameters)[:len(args)] + \
        [reader[0] for reader in version.readers]
    untyped = []
    for name, value in zip(names, list(args) + values):
        try:
            numba.typeof(value)
        except ValueError:
            untyped.append(f"'{name}' (a {type(value).__name__})")
    return version.error(f"Numba cannot take {', '.join(untyped)} as an argument",
                         version.first_line, "an argument Numba cannot take",
                         "pass numbers, arrays or tuples of them, or pass jit='auto' to keep "
                         "NumPy")


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
    return [n for n in loads if n not in bound and n not in _DIALECT_NAMES]


def _line_map(functions: List[gast.FunctionDef], text: str) -> Dict[int, tuple]:
    """{line of ``text``: (user file, user line)} for the statements of ``functions``."""
    written = ast.parse(text).body
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
    for function, parsed in zip(functions, written):
        pair(function.body, parsed.body)
    return found


def _line_of(functions: List[gast.FunctionDef], name: str) -> Optional[tuple]:
    """The user's line of the first statement of ``functions`` that reads ``name``."""
    for function in functions:
        for statement in syntax.walk_statements(function.body):
            if getattr(statement, "user_line", None) and not isinstance(
                    statement, (gast.For, gast.While, gast.If)) and any(
                    isinstance(n, gast.Name) and n.id == name for n in syntax.walk(statement)):
                return statement.user_line
    return None


def _through_generated(where: Optional[tuple]) -> Optional[tuple]:
    """The user's line behind ``where`` when it is a line of generated code itself (code
    generated from a gradient, as a Hessian's is), else ``where``."""
    while where is not None and where[0].startswith("<"):
        found = linemap.origin(*where)          # one transform back
        if found is None:
            break
        where = found
    return where


def _is_user_function(value: Any) -> bool:
    """A Python function the generated code calls that is neither NumPy's, ``math``'s nor
    s2s's (those have Numba versions): the user's, or generated from the user's."""
    return isinstance(value, types.FunctionType) and \
        str(getattr(value, "__module__", None) or "").split(".")[0] not in _SAFE_MODULES


class _Callee:
    """A callee's Numba version: its dispatcher, and its pullback's where it has one."""

    def __init__(self, fn: types.FunctionType, callers: tuple):
        numba = numba_module()
        version = NumbaVersion(fn, callers)
        module = version.load()
        self.dispatcher = numba.njit(module.__dict__[version.name])
        self.pullback = version.pullback
        self.pullback_dispatcher = None if version.pullback is None \
            else numba.njit(module.__dict__[version.pullback.name])
        self.readers = version.readers


# callee -> its _Callee; the Numba versions of generated callees die with them
_CALLEES: "weakref.WeakKeyDictionary[types.FunctionType, _Callee]" = \
    weakref.WeakKeyDictionary()


def _callee_version(fn: types.FunctionType, callers: tuple) -> _Callee:
    found = _CALLEES.get(fn)
    if found is None:
        found = _CALLEES[fn] = _Callee(fn, callers)
    return found


def _pass_data(functions: List[gast.FunctionDef], callee: str, passed: Dict[str, str]) -> None:
    """Each call of ``callee`` in ``functions`` also passes its data parameters, by keyword
    (``passed``: {the callee's parameter: the name that holds it here})."""
    for function in functions:
        for node in syntax.walk(function):
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
                    and node.func.id == callee:
                node.keywords = list(node.keywords) + [
                    gast.keyword(arg=param, value=syntax.name(mine))
                    for param, mine in passed.items()]


def _fresh(base: str, used: set) -> str:
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}_{n}", n + 1
    used.add(candidate)
    return candidate


def _read(holder: Any, key: Optional[str], attrs: tuple) -> Any:
    value = holder.cell_contents if key is None else holder[key]
    for attr in attrs:
        value = getattr(value, attr)
    return value


def numba_version(compiled: types.FunctionType, args: tuple) -> Callable:
    """The Numba-compiled version of the generated function ``compiled``, compiled now for
    the types of ``args`` (later types compile on their first call). Raises ``JitError``
    where Numba cannot compile it."""
    known = compiled.__dict__.get("__s2s_numba__")
    if known is not None:
        return known
    numba = numba_module()
    version = NumbaVersion(compiled)
    values = [_read(*reader[1:]) for reader in version.readers]
    try:
        signature = tuple(numba.typeof(a) for a in list(args) + values)
    except ValueError:
        raise _untypable(version, compiled, args, values, numba) from None
    version.fuse(signature)
    module = version.load()
    dispatcher = numba.njit(cache=version.cacheable())(module.__dict__[version.name])
    try:
        dispatcher.compile(signature)
    except numba.core.errors.NumbaError as exc:
        raise version.located(exc) from None
    except NotImplementedError as exc:          # a type Numba reads but cannot compile
        kinds = ", ".join(_type_name(a) for a in args)
        raise version.error(f"Numba cannot compile it for these argument types ({kinds}): "
                            f"{exc} is not supported", version.first_line,
                            "an argument type Numba cannot compile",
                            "cast the arguments (to float64), or pass jit='auto' to keep "
                            "NumPy") from None
    except Exception as exc:        # Numba failed inside its own typing (a bug of Numba's)
        raise version.crashed(exc, args) from None
    runs = dispatcher
    if version.unfused is not None:
        runs = _fused_for(dispatcher, version.unfused, numba)
    if version.data or compiled.__defaults__ or compiled.__kwdefaults__:
        runs = _passing_data(compiled, runs, version.readers, version.reported)
    compiled.__s2s_numba__ = runs
    return runs


def _fused_for(fused, unfused: NumbaVersion, numba) -> Callable:
    """A function that runs ``fused`` for the argument types it was fused and compiled
    for, and the version without fusion (compiled on its first call) for any other: the
    fused loops were written for the kinds of those types (``fusion``)."""
    fused.disable_compile()
    plain = []

    def runs(*args):
        try:
            return fused(*args)
        except TypeError:
            if tuple(numba.typeof(a) for a in args) in fused.overloads:
                raise               # raised by the code itself, not by the dispatch
        if not plain:
            module = unfused.load()
            plain.append(numba.njit(cache=unfused.cacheable())(module.__dict__[unfused.name]))
        return plain[0](*args)

    runs.__wrapped__ = fused
    return runs


def _passing_data(compiled: types.FunctionType, dispatcher, readers: List[tuple],
                  reported: List[str]) -> Callable:
    """``def grad_f(x, scale=2.0): return numba_code(x, scale, DT)``: a function with the
    generated function's signature (and its cells) that reads the data the compiled code
    takes as arguments on each call (``readers``: see ``NumbaVersion._classify``); the data
    of the functions it calls are read from their own namespaces. Where the code returns
    the cotangents of attribute reads (``reported``, for ``weights=``), it reports them
    for the values it passed:

        def grad_g(x):
            m_w = m.w
            result, sums = numba_code(x, m_w)
            weight_cotangent(m_w, sums[0])
            return result
    """
    code = compiled.__code__
    count = code.co_argcount + code.co_kwonlyargcount
    params = list(code.co_varnames[:count])
    positional = params[:code.co_argcount]
    keyword = params[code.co_argcount:]
    signature = ", ".join(positional + (["*"] + keyword if keyword else []))
    cells = dict(zip(code.co_freevars, compiled.__closure__ or ()))
    cells["numba_code"] = types.CellType(dispatcher)
    reads = []
    for param, holder, key, attrs in readers:
        if key == param and holder is compiled.__globals__ or \
                key is None and cells.get(param) is holder:
            read = param                    # a name of the function's own
        else:
            held = f"__s2s_data_{len(cells)}"
            cells[held] = types.CellType(holder)
            read = f"{held}.cell_contents" if key is None else f"{held}[{key!r}]"
        reads.append(read + "".join(f".{a}" for a in attrs))
    if reported:
        cells["__s2s_report"] = types.CellType(runtime.weight_cotangent)
        names = [f"__s2s_read_{i}" for i in range(len(reads))]
        by_param = {r[0]: n for r, n in zip(readers, names)}
        body = [f"{n} = {r}" for n, r in zip(names, reads)]
        body.append(f"__s2s_result, __s2s_sums = numba_code({', '.join(params + names)})")
        body += [f"__s2s_report({by_param[p]}, __s2s_sums[{i}])"
                 for i, p in enumerate(reported)]
        body.append("return __s2s_result")
    else:
        body = [f"return numba_code({', '.join(params + reads)})"]
    cell_names = ["numba_code"] + [n for n in cells if n != "numba_code"]
    text = (f"def __s2s_factory__({', '.join(cell_names)}):\n"
            f"    def {compiled.__name__}({signature}):\n"
            + "".join(f"        {line}\n" for line in body)
            + f"    return {compiled.__name__}\n")
    factory = compile(text, f"<s2s numba caller of {compiled.__name__}>", "exec")
    inner = next(c for c in factory.co_consts[0].co_consts if isinstance(c, types.CodeType))
    caller = types.FunctionType(inner, compiled.__globals__, compiled.__name__,
                                compiled.__defaults__,
                                tuple(cells[n] for n in inner.co_freevars))
    caller.__kwdefaults__ = compiled.__kwdefaults__
    caller.__wrapped__ = dispatcher
    return caller
