"""Read a Python module without importing or running it.

``s2s convert`` must never run the user's module: its top level may train a model, print,
write files or raise. This module builds, from the module's syntax tree alone, a namespace
in which the module's functions can be transformed:

- ``import numpy as np`` and ``from math import sin`` (installed packages) are imported for
  real; modules next to the file (``import helpers``, ``from .helpers import g``) are read as
  source the same way, recursively, and never imported;
- each top-level ``def`` is compiled on its own (decorators and annotations dropped, default
  values only literals or names already resolved), with the namespace as its globals;
- top-level constants are literals, or pure NumPy calls on literals (``SCALE = np.sqrt(2.0)``),
  evaluated by ``s2s.convert.constants``;
- everything else (``net = Net()``, names bound under ``if``/``try``/``for``, ``X += 1``) is
  left unresolved, with the line that bound it, so that a function that needs it gets an
  error pointing at the use, saying why.

    import numpy as np                  namespace: np -> numpy, SCALE -> 2.0, f -> <function f>
    SCALE = 2.0                 ->      unresolved: net (line 4: static reading does not
    def f(x): return SCALE * x                       run `net = Net()`)
    net = Net()
"""
from __future__ import annotations

import ast
import builtins
import copy
import importlib
import importlib.util
import linecache
import os
import site
import symtable
import sys
import sysconfig
import types
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import gast

from s2s.convert.constants import NotConstant, evaluate
from s2s.errors import S2SError, SourceUnavailableError


@dataclass
class Unresolved:
    """A top-level name that static reading could not give a value, and why."""

    lineno: int
    col: int
    why: str
    failed_import: bool = False


@dataclass
class StaticModule:
    """A module read from source: its namespace and what could not be resolved."""

    path: str                           # real path of the file
    name: str                           # dotted module name
    text: str
    tree: ast.Module
    module: types.ModuleType            # holds the namespace (module.__dict__)
    defs: Dict[str, ast.FunctionDef] = field(default_factory=dict)   # top-level defs, in order
    functions: Dict[str, types.FunctionType] = field(default_factory=dict)  # the defs compiled
    bindings: Dict[str, ast.stmt] = field(default_factory=dict)  # name -> statement binding it
    unresolved: Dict[str, Unresolved] = field(default_factory=dict)
    # names bound by `from <module read as source> import name`: (that module, its name)
    imported: Dict[str, Tuple["StaticModule", str]] = field(default_factory=dict)
    broken: Dict[str, S2SError] = field(default_factory=dict)   # defs that could not compile

    @property
    def namespace(self) -> dict:
        return self.module.__dict__

    def error(self, node: ast.AST, message: str, hint: str,
              function: Optional[str] = None) -> S2SError:
        return S2SError(message, filename=self.path, lineno=getattr(node, "lineno", None),
                        col_offset=getattr(node, "col_offset", None), hint=hint,
                        function=function)

    def unresolved_error(self, name: str, use: ast.AST, function: str) -> S2SError:
        """The error for ``function`` reading ``name``, which static reading left unset."""
        where = os.path.basename(self.path)
        info = self.unresolved.get(name)
        if info is None:
            return self.error(use, f"name '{name}' is not defined in {where}",
                              "define it at the top level of the module, or import it",
                              function)
        if name in self.broken:
            return self.error(use, f"s2s cannot use '{name}': {self.broken[name].message}",
                              self.broken[name].hint or "", function)
        line = linecache.getline(self.path, info.lineno).strip()
        if info.failed_import:
            return self.error(
                use, f"s2s cannot resolve '{name}': {info.why}",
                f"'{name}' comes from `{line}` (line {info.lineno}); check that the module "
                f"defines it, and install it or put its folder on PYTHONPATH", function)
        return self.error(
            use, f"s2s cannot resolve '{name}' without running {where}",
            f"'{name}' is set at line {info.lineno} by `{line}`: {info.why}. Static reading "
            f"only runs imports, defs, literal constants and pure NumPy calls on them; pass "
            f"'{name}' as an argument or make it a literal constant", function)


def static_module_of(obj) -> Optional[StaticModule]:
    """The ``StaticModule`` a function compiled by static reading (or a read module) came from."""
    namespace = getattr(obj, "__globals__", None)
    if namespace is None and isinstance(obj, types.ModuleType):
        namespace = obj.__dict__
    if isinstance(namespace, dict):
        found = namespace.get("__s2s_static__")
        if isinstance(found, StaticModule):
            return found
    return None


class StaticReader:
    """Reads modules as source, each file once (imports between them may form cycles)."""

    def __init__(self):
        self.modules: Dict[str, StaticModule] = {}

    def read(self, path: str, name: Optional[str] = None) -> StaticModule:
        real = os.path.realpath(path)
        if real in self.modules:
            return self.modules[real]
        try:
            with open(real, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceUnavailableError(f"s2s cannot read {path}: {exc}",
                                         hint="pass the path of a Python source file") from None
        try:
            tree = ast.parse(text, filename=real)
        except SyntaxError as exc:
            raise S2SError(f"{path} is not valid Python: {exc.msg}", filename=real,
                           lineno=exc.lineno, col_offset=(exc.offset or 1) - 1,
                           hint="fix the syntax error first") from None
        # inspect (and so s2s.parse) reads function source through linecache
        stat = os.stat(real)
        linecache.cache[real] = (stat.st_size, stat.st_mtime, text.splitlines(True), real)
        name = name or os.path.splitext(os.path.basename(real))[0]
        module = types.ModuleType(name)
        module.__file__ = real
        static = StaticModule(real, name, text, tree, module)
        module.__dict__["__s2s_static__"] = static
        self.modules[real] = static
        for stmt in tree.body:
            self._statement(static, stmt)
        return static

    # -- top-level statements ------------------------------------------------------------
    def _statement(self, module: StaticModule, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.FunctionDef):
            self._define(module, stmt)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            self._import(module, stmt)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            self._assign(module, stmt)
        elif isinstance(stmt, ast.Expr) or isinstance(stmt, ast.Pass):
            pass                                  # a docstring, or code we never run
        elif isinstance(stmt, ast.If) and _is_main_guard(stmt.test):
            pass                                  # never runs on import
        else:
            why = {ast.AugAssign: "an augmented assignment", ast.ClassDef: "a class",
                   ast.AsyncFunctionDef: "an async function",
                   ast.Delete: "a del statement"}.get(
                type(stmt), f"a top-level {type(stmt).__name__.lower()} block")
            for target in _bound_names(stmt):
                self._unset(module, target, stmt, f"it is bound by {why}")

    def _bind(self, module: StaticModule, name: str, value, stmt: ast.stmt,
              source: Optional[Tuple[StaticModule, str]] = None) -> None:
        module.namespace[name] = value
        module.bindings[name] = stmt
        module.unresolved.pop(name, None)
        module.broken.pop(name, None)
        module.imported.pop(name, None)
        if source is not None:
            module.imported[name] = source

    def _unset(self, module: StaticModule, name: str, node: ast.AST, why: str,
               failed_import: bool = False) -> None:
        module.namespace.pop(name, None)
        module.bindings.pop(name, None)
        module.imported.pop(name, None)
        module.unresolved[name] = Unresolved(node.lineno, node.col_offset, why, failed_import)

    def _assign(self, module: StaticModule, stmt) -> None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if stmt.value is None:                    # `x: int` binds nothing
            return
        why_not = "its value is not a literal"
        try:
            value = ast.literal_eval(stmt.value)
            literal = True
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            try:
                value, literal = evaluate(stmt.value, module.namespace), True
            except NotConstant as exc:
                value, literal = None, False
                why_not = (f"its value is neither a literal nor a pure NumPy call on "
                           f"literals ({exc})")
        for target in targets:
            if literal and isinstance(target, ast.Name):
                self._bind(module, target.id, value, stmt)
            elif (literal and isinstance(target, (ast.Tuple, ast.List))
                  and isinstance(value, (tuple, list)) and len(value) == len(target.elts)
                  and all(isinstance(e, ast.Name) for e in target.elts)):
                for element, item in zip(target.elts, value):
                    self._bind(module, element.id, item, stmt)
            else:
                why = why_not if isinstance(target, ast.Name) else "it is updated in place"
                for name in _target_names(target):
                    self._unset(module, name, stmt, why)

    # -- functions -------------------------------------------------------------------------
    def _define(self, module: StaticModule, stmt: ast.FunctionDef) -> None:
        """Compile one def: no decorator, no annotation, default values known statically."""
        module.defs[stmt.name] = stmt
        args = stmt.args
        try:
            defaults = tuple(self._default(module, d, stmt) for d in args.defaults)
            kwdefaults = {a.arg: self._default(module, d, stmt)
                          for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
        except S2SError as exc:
            self._unset(module, stmt.name, stmt, exc.message)
            module.functions.pop(stmt.name, None)
            module.broken[stmt.name] = exc
            return
        bare = _strip_def(stmt)
        code = compile(ast.Module(body=[bare], type_ignores=[]), module.path, "exec")
        namespace = module.namespace
        exec(code, namespace)                 # a def statement: runs no user code
        fn = namespace[stmt.name]
        fn.__defaults__ = defaults or None
        fn.__kwdefaults__ = kwdefaults or None
        module.functions[stmt.name] = fn
        self._bind(module, stmt.name, fn, stmt)

    def _default(self, module: StaticModule, node: ast.expr, stmt: ast.FunctionDef):
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            pass
        chain = _dotted(node)
        if chain is not None and chain[0] in module.namespace:
            value = module.namespace[chain[0]]
            try:
                for attr in chain[1:]:
                    value = getattr(value, attr)
                return value
            except AttributeError:
                pass
        raise module.error(
            node, f"the default value of a parameter of '{stmt.name}' is not a literal",
            "static reading does not run code; use a literal (a number, string, tuple, "
            "None) or a name bound to one", stmt.name)

    # -- imports ---------------------------------------------------------------------------
    def _import(self, module: StaticModule, stmt) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                top = alias.name.split(".")[0]
                try:
                    loaded = self._load(module, alias.name, 0)
                    value = loaded if alias.asname else self._load(module, top, 0)
                except _ImportFailed as exc:
                    self._unset(module, alias.asname or top, stmt, str(exc), True)
                    continue
                self._bind(module, alias.asname or top, value, stmt)
            return
        if stmt.module == "__future__":
            return
        try:
            source = self._load(module, stmt.module or "", stmt.level)
        except _ImportFailed as exc:
            for alias in stmt.names:
                self._unset(module, alias.asname or alias.name, stmt, str(exc), True)
            return
        for alias in stmt.names:
            if alias.name == "*":
                self._import_star(module, source, stmt)
                continue
            bound = alias.asname or alias.name
            other = static_module_of(source)
            if alias.name in vars(source):
                self._bind(module, bound, getattr(source, alias.name), stmt,
                           (other, alias.name) if other is not None else None)
                continue
            try:        # a submodule: from package import module
                prefix = stmt.module + "." if stmt.module else ""
                value = self._load(module, prefix + alias.name, stmt.level)
            except _ImportFailed:
                if other is not None and alias.name in other.unresolved:
                    info = other.unresolved[alias.name]
                    self._unset(module, bound, stmt, f"{os.path.basename(other.path)} line "
                                f"{info.lineno} cannot be read statically ({info.why})")
                else:
                    self._unset(module, bound, stmt, f"{getattr(source, '__name__', 'the module')}"
                                f" has no '{alias.name}'", True)
                continue
            self._bind(module, bound, value, stmt)

    def _import_star(self, module, source, stmt) -> None:
        names = getattr(source, "__all__", None)
        if names is None:
            names = [n for n in vars(source) if not n.startswith("_")]
        other = static_module_of(source)
        for n in names:
            if n in vars(source):
                self._bind(module, n, getattr(source, n), stmt,
                           (other, n) if other is not None else None)

    def _load(self, module: StaticModule, dotted: str, level: int):
        """The module ``dotted`` as seen from ``module``: read as source if it is a local
        file, imported if it is an installed package."""
        if level:
            base = os.path.dirname(module.path)
            for _ in range(level - 1):
                base = os.path.dirname(base)
            return self._load_local(base, dotted)
        top = dotted.split(".")[0]
        for folder in _search_folders(module.path):
            if _local_file(folder, top) is not None:
                return self._load_local(folder, dotted)
        origin = _project_origin(top, module.path)
        if origin is not None:      # found on the path, but not installed: the user's code
            folder = os.path.dirname(origin)
            if os.path.basename(origin) == "__init__.py":
                folder = os.path.dirname(folder)
            return self._load_local(folder, dotted)
        return _import_installed(dotted, module.path)

    def _load_local(self, folder: str, dotted: str):
        parts = dotted.split(".") if dotted else []
        path = _local_file(folder, "") if not parts else None
        value = None
        for i, part in enumerate(parts):
            path = _local_file(folder, part)
            if path is None:
                raise _ImportFailed(f"there is no module {'.'.join(parts[:i + 1])} "
                                    f"in {folder}")
            try:
                child = self.read(path, ".".join(parts[:i + 1])).module
            except S2SError as exc:
                raise _ImportFailed(f"{os.path.basename(path)} cannot be read: "
                                    f"{exc.message}") from None
            if value is not None:
                value.__dict__.setdefault(part, child)
            value = child
            folder = os.path.dirname(path) if path.endswith("__init__.py") else folder
        if value is None:       # `from . import x`: the package itself
            if path is None:
                return _FolderModule(folder)
            value = self.read(path, os.path.basename(folder)).module
        return value


class _ImportFailed(Exception):
    pass


class _FolderModule(types.ModuleType):
    """A folder without ``__init__.py`` seen by ``from . import helpers``: no names of its own."""

    def __init__(self, folder: str):
        super().__init__(os.path.basename(folder))
        self.__path__ = [folder]


def _local_file(folder: str, name: str) -> Optional[str]:
    """``folder/name.py`` or ``folder/name/__init__.py`` (``name`` empty: the folder's)."""
    if not name:
        init = os.path.join(folder, "__init__.py")
        return init if os.path.isfile(init) else None
    for candidate in (os.path.join(folder, name + ".py"),
                      os.path.join(folder, name, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


def _search_folders(path: str) -> List[str]:
    """Where a local absolute import is looked for: the file's folder, and the folder its
    package lives in."""
    folder = os.path.dirname(path)
    folders = [folder]
    root = folder
    while os.path.isfile(os.path.join(root, "__init__.py")):
        root = os.path.dirname(root)
    if root != folder:
        folders.append(root)
    return folders


def _project_origin(top: str, importer: str) -> Optional[str]:
    """The file of top-level module ``top`` if it would be found outside the installation
    (a folder on PYTHONPATH, an editable install): code of the user's, to read, not run."""
    if top in sys.modules:
        return None             # already imported: importing it again runs nothing
    saved = list(sys.path)
    sys.path[:] = _import_path(importer)
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    finally:
        sys.path[:] = saved
    origin = getattr(spec, "origin", None)
    if spec is None or not origin or not os.path.isfile(origin) or not origin.endswith(".py"):
        return None
    real = os.path.realpath(origin)
    return None if any(real.startswith(p + os.sep) for p in _installed_folders()) else real


def _installed_folders() -> List[str]:
    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    folders.update(sysconfig.get_paths().values())
    folders.update(getattr(site, "getsitepackages", lambda: [])())
    folders.add(getattr(site, "getusersitepackages", lambda: "")() or sys.prefix)
    return sorted({os.path.realpath(f) for f in folders if f})


def _import_path(importer: str) -> List[str]:
    """``sys.path`` without the current folder and the importing file's folder."""
    blocked = {os.path.realpath(os.getcwd()), os.path.dirname(importer)}
    return [p for p in sys.path if p not in ("", ".") and os.path.realpath(p) not in blocked]


def _import_installed(dotted: str, importer: str):
    """Import an installed package for real; the current folder is not searched, so a
    user's file that happens to sit there is never run."""
    saved = list(sys.path)
    sys.path[:] = _import_path(importer)
    try:
        return importlib.import_module(dotted)
    except ImportError as exc:
        raise _ImportFailed(f"the import failed ({exc})") from None
    except Exception as exc:        # the package itself failed to import
        raise _ImportFailed(f"importing {dotted} raised {type(exc).__name__}: {exc}") from None
    finally:
        sys.path[:] = saved


# -- small syntax helpers --------------------------------------------------------------------
def _is_main_guard(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__")


def _strip_def(stmt: ast.FunctionDef) -> ast.FunctionDef:
    """A copy of the def that evaluates nothing when it runs: no decorators, no annotations,
    defaults ``None`` (the real values are set on the function afterwards)."""
    bare = _bare_copy(stmt)
    args = bare.args
    args.defaults = [ast.copy_location(ast.Constant(None), d) for d in args.defaults]
    args.kw_defaults = [None if d is None else ast.copy_location(ast.Constant(None), d)
                        for d in args.kw_defaults]
    return bare


def _dotted(node: ast.expr) -> Optional[Tuple[str, ...]]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return tuple([node.id] + parts[::-1])
    return None


def _target_names(target: ast.expr) -> List[str]:
    """The module-level names an assignment target binds or changes (``a.b[1] = v``: a)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for e in target.elts for n in _target_names(e)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        target = target.value
    return [target.id] if isinstance(target, ast.Name) else []


def _bound_names(stmt: ast.stmt) -> List[str]:
    """Names a compound statement may bind at module level (not inside defs it contains)."""
    names: List[str] = []
    todo = [stmt]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
            continue                           # its body has its own scope
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"]
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.append(node.id)
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(
                getattr(node, "ctx", None), (ast.Store, ast.Del)):
            names += _target_names(node)
        todo.extend(ast.iter_child_nodes(node))
    return list(dict.fromkeys(names))


def global_reads(fn: ast.AST) -> List[Tuple[str, ast.AST]]:
    """The names a def reads from its module (not its own locals), with their first use.

    Default values count (they are evaluated in the module); annotations do not (generated
    modules never evaluate them). Works on ``ast`` and ``gast`` trees; the order is the order
    of first use in the source.
    """
    top = symtable.symtable(ast.unparse(_bare_copy(_as_ast(fn))), "<function>", "exec")
    free = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    todo = list(top.get_children())
    while todo:
        scope = todo.pop()
        free.update(s.get_name() for s in scope.get_symbols()
                    if s.is_referenced() and s.is_global())
        todo.extend(scope.get_children())
    uses: Dict[str, ast.AST] = {}
    annotations = {id(n) for a in annotations_of(fn) for n in ast.walk(a)}
    for name in sorted((n for n in ast.walk(fn) if type(n).__name__ == "Name"
                        and id(n) not in annotations),
                       key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
        if name.id in free and name.id not in uses:
            uses[name.id] = name
    return [(n, uses[n]) for n in uses]


def _parameters(fn: ast.AST) -> List[ast.AST]:
    """Every parameter of a def: positional-only, positional, ``*args``, keyword-only and
    ``**kwargs``."""
    args = fn.args
    return [a for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]
            if a is not None]


def annotations_of(fn: ast.AST) -> List[ast.AST]:
    """The annotation expressions of a def's signature."""
    found = [fn.returns] + [a.annotation for a in _parameters(fn)]
    return [a for a in found if a is not None]


def strip_annotations(fn: ast.AST) -> None:
    """Drop the annotations of a def's signature, in place."""
    fn.returns = None
    for a in _parameters(fn):
        a.annotation = None


def _bare_copy(fn: ast.AST) -> ast.AST:
    """A copy of a def without its decorators and annotations."""
    bare = copy.deepcopy(fn)
    bare.decorator_list = []
    strip_annotations(bare)
    return bare


def _as_ast(node: ast.AST) -> ast.AST:
    if isinstance(node, ast.AST) and type(node).__module__ == "ast":
        return node
    return gast.gast_to_ast(node)


def check_reads(fn: types.FunctionType, node: ast.AST) -> None:
    """Raise an error at the first name ``fn`` reads that static reading could not resolve.

    ``node`` is the parsed def (user line numbers). Functions not read by this module (an
    installed package's) are not checked: their globals are real.
    """
    module = static_module_of(fn)
    if module is None:
        return
    for name, use in global_reads(node):
        if name in module.namespace or (name not in module.unresolved
                                        and hasattr(builtins, name)):
            continue
        raise module.unresolved_error(name, use, fn.__name__)
