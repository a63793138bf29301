"""Write generated derivatives as a standalone Python module.

In: the ``Generated`` units of ``s2s.convert.transform``. Out: the text of a module that holds
``grad_f`` (or ``jvp_f``) for each of them and everything that code needs, as source:

- the generated functions of the user functions they call (``vjp_g``), built by the
  transformer through the engine's callee hooks, so that nothing has to be compiled first;
- the user's own helper functions and literal constants, copied from the user's files;
- NumPy and other installed modules as imports; ``np.sin`` as an attribute reference;
- s2s run-time helpers (``unbroadcast``, ``ones_like``, ...), copied from s2s with the
  helpers and constants they use in turn (``--runtime import`` imports them from s2s instead).

Only what is reachable from the generated functions is written, in a stable order, so
converting an unchanged file twice gives the same bytes.

    def f(x):                          import numpy as np
        return np.sum(np.sin(x))  ->
                                       def grad_f(x):
                                           \"\"\"Gradient of f (model.py, line 3). ...\"\"\"
                                           out_sin = np.sin(x)
                                           ...
                                           return (out, dx)
"""
from __future__ import annotations

import ast
import builtins
import copy
import keyword
import sys
import textwrap
import types
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import gast
import numpy as np

from s2s.compiler.codegen import to_source
from s2s.compiler import pipeline, syntax
from s2s.compiler.jit import callees, dialect
from s2s.compiler.frontend.parse import MISSING
from s2s.compiler.reverse.nodes import parameter_names
from s2s.compiler.reverse.outputs import numeric_output
from s2s.convert.comments import adjoint_notes, with_comments
from s2s.convert.static import (StaticModule, annotations_of, global_reads, static_module_of,
                                strip_annotations)
from s2s.convert.transform import Generated, Options
from s2s.errors import S2SError

_LITERALS = (bool, int, float, complex, str, bytes, type(None))
_NUMBA_STACKS = ("saves", "push", "sum_axes")       # what the Numba dialect's code calls
# s2s modules whose helpers may be copied into a standalone module
_COPYABLE = ("s2s.runtime", "s2s.templates.")
# how generated code conventionally names a module it imports itself
_ALIASES = {"numpy": "np"}


class ConstantOutput(S2SError):
    """A function whose output does not depend on its differentiated arguments: nothing to
    write (converting a whole module skips it with a note)."""

    def __init__(self, wrt: Tuple[str, ...], message: str, **where: Any):
        super().__init__(message, **where)
        self.wrt = wrt


class _LocalModule:
    """Stands for a name bound to a module read as source (``import helpers``): only its
    attributes can be used (``helpers.g`` becomes the copied ``g``)."""

    def __init__(self, module: StaticModule):
        self.module = module


class _Trusted:
    """An s2s module whose top-level statements may be copied as they are."""

    _cache: Dict[str, "_Trusted"] = {}

    def __init__(self, module: types.ModuleType):
        self.path = module.__file__
        with open(self.path, encoding="utf-8") as handle:
            self.text = handle.read()
        self.tree = ast.parse(self.text)
        self.namespace = module.__dict__
        self.bindings: Dict[str, ast.stmt] = {}
        for stmt in self.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
                self.bindings[stmt.name] = stmt
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for alias in stmt.names:
                    self.bindings[alias.asname or alias.name.split(".")[0]] = stmt
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                    and isinstance(stmt.targets[0], ast.Name):
                self.bindings[stmt.targets[0].id] = stmt

    @classmethod
    def of(cls, module: types.ModuleType) -> "_Trusted":
        found = cls._cache.get(module.__name__)
        if found is None:
            found = cls._cache[module.__name__] = cls(module)
        return found


@dataclass
class Converted:
    """A generated public function, for the module's docstring and for ``--check``."""

    name: str                   # in the output module
    function: str               # the user function
    kind: str                   # 'grad', 'value_and_grad' or 'jvp'
    lineno: int
    signature: str              # of the generated function: "x, y, dx"
    arguments: Tuple[Tuple[str, str, bool], ...]    # the user function's: (name, kind, default?)
    wrt: Tuple[str, ...]
    single: bool
    tangents: Tuple[str, ...]
    returns: str
    specialized: str            # "w (3,), x (5, 3)": the shapes of --example, or ""


class ModuleWriter:
    """Collects generated functions and everything they reference, then renders a module."""

    SECTIONS = ("public", "callees", "user", "runtime")

    def __init__(self, options: Options, display: Callable[[str], str]):
        self.options = options
        self.display = display                  # real path -> path as the user wrote it
        self.names: Dict[str, Any] = {}         # output name -> key of what it holds
        self.done: Dict[Any, Any] = {}          # key -> expression (or _LocalModule)
        self.imports: Dict[str, None] = {}      # import lines, as an ordered set
        self.constants: List[str] = []          # the user's, written after the imports
        self.runtime_constants: List[str] = []  # s2s's, written above the s2s helpers
        self.sections: Dict[str, List[Optional[str]]] = {s: [] for s in self.SECTIONS}
        self.converted: List[Converted] = []
        self.where: List[Tuple[str, ast.AST, str]] = []     # user code being written out
        self.signatures: Dict[Generated, str] = {}

    # -- the public entry points ---------------------------------------------------------
    def add(self, unit: Generated) -> Converted:
        """Write ``unit`` and what it needs; on error, the module is left as it was."""
        saved = (dict(self.names), dict(self.done), dict(self.imports), list(self.constants),
                 list(self.runtime_constants), {k: list(v) for k, v in self.sections.items()})
        try:
            name = self._generated(unit)
        except BaseException:
            (self.names, self.done, self.imports, self.constants, self.runtime_constants,
             self.sections) = saved
            raise
        info = Converted(name, unit.fn.__name__, unit.kind, unit.source.node.lineno,
                         self.signatures[unit], _arguments(unit.source.node), unit.wrt,
                         unit.single, unit.tangents, _returns(unit),
                         _shapes_text(unit.shapes))
        self.converted.append(info)
        return info

    def render(self, header: List[str], title: str) -> str:
        lines = [f"# {line}" for line in header]
        summary = "\n".join(f"    {c.name}({c.signature}) -> {c.returns}"
                            + (f"\n        specialized for {c.specialized}" if c.specialized
                               else "")
                            for c in self.converted)
        modules = sorted({line.split()[1].split(".")[0] for line in self.imports
                          if line != _FUTURE})
        needs = (f"Needs only the modules it imports ({', '.join(modules)}), not s2s."
                 if self.options.runtime == "standalone" else
                 "Imports its run-time helpers from s2s.")
        lines.append(f'"""{title}\n\n{summary}\n\n{needs}\n"""')
        if self.imports:
            lines.append("\n".join(_import_block(self.imports)))
        if self.constants:
            lines.append("\n" + "\n".join(self.constants))
        text = "\n".join(lines) + "\n"
        comments = {"user": "# The source module's own functions that the code above calls.",
                    "runtime": "# Run-time helpers, copied from s2s."}
        for section in self.SECTIONS:
            blocks = [b for b in self.sections[section] if b]
            if section == "runtime" and self.runtime_constants:
                blocks.insert(0, "\n".join(self.runtime_constants))
            for i, block in enumerate(blocks):
                text += "\n\n"
                if i == 0 and section in comments:
                    text += comments[section] + "\n"
                text += block.rstrip("\n") + "\n"
        return text

    def generated_source(self) -> str:
        """Only the generated functions, for ``s2s show``."""
        blocks = [b for s in ("public", "callees") for b in self.sections[s] if b]
        return "\n\n".join(b.rstrip("\n") + "\n" for b in blocks)

    # -- names in the output module ------------------------------------------------------
    def _claim(self, wanted: str, key: Any) -> str:
        if keyword.iskeyword(wanted) or not wanted.isidentifier():
            wanted = wanted + "_"
        candidate, n = wanted, 2
        while candidate in self.names and self.names[candidate] != key:
            candidate = f"{wanted}_{n}"
            n += 1
        self.names[candidate] = key
        return candidate

    def _error(self, message: str, hint: str, use: Optional[ast.AST] = None) -> S2SError:
        path, node, function = self.where[-1] if self.where else (None, None, None)
        node = use or node
        return S2SError(message, filename=path, lineno=getattr(node, "lineno", None),
                        col_offset=getattr(node, "col_offset", None), hint=hint,
                        function=function)

    # -- generated functions -------------------------------------------------------------
    def _generated(self, unit: Generated) -> str:
        if unit in self.done:
            return self.done[unit].id
        name = self._claim(unit.wanted_name, unit)
        self.done[unit] = ast.Name(name, ast.Load())
        section = self.sections["public" if unit.public else "callees"]
        section.append(None)
        slot = len(section) - 1
        pullback, pullbacks = None, {}
        if self.options.target == "numba":
            node, pullback, pullbacks = self._numba_dialect(unit)
        else:
            node = unit.node
        section[slot] = self._write_function(unit, node, name, pullbacks, public=True)
        if pullback is not None:
            # the callee's pullback, a function of its own under numba.njit (Numba cannot
            # return a closure): callers call it with what the forward sweep returned
            pullback_name = self._pullback_name(unit)
            pullback.name = pullback_name
            pullback.body.insert(0, gast.Expr(value=syntax.const(
                f"Pullback of {unit.fn.__name__}, given the residuals {name} returned.")))
            section.append(self._write_function(unit, pullback, pullback_name, pullbacks,
                                                public=False))
        return name

    def _write_function(self, unit: Generated, node: gast.FunctionDef, name: str,
                        pullbacks: Dict[str, str], public: bool) -> str:
        """The text of ``node`` (``unit``'s code, or its lifted pullback) in the output,
        named ``name``, its free names written as the output module's (``pullbacks``: the
        names of callees' pullbacks, which are the output's own)."""
        tree = ast.parse(to_source(node))
        notes = adjoint_notes(node, tree, unit.fn, unit.source.filename)
        fdef = tree.body[0]
        fdef.name = name
        strip_annotations(fdef)         # the user's types do not describe derivatives
        if public:
            self.signatures[unit] = ast.unparse(fdef.args)
        self.where.append((unit.source.filename, unit.source.node, unit.fn.__name__))
        try:
            mapping = {n: self._generated_name(unit, n) if n not in _NUMBA_STACKS
                       else self._import_from("s2s.compiler.jit.stacks", n, n)
                       for n, _ in global_reads(fdef) if n not in pullbacks.values()}
            tree = _Rewriter(self, mapping).visit(tree)
        finally:
            self.where.pop()
        fdef = tree.body[0]
        if public:
            for check in (self._shape_check(unit, name), self._container_check(unit, name)):
                if check is not None:
                    fdef.body.insert(0, check)
            fdef.body.insert(0, ast.Expr(ast.Constant(self._docstring(unit))))
        if self.options.target == "numba":
            numba = self._import_module("numba", None)
            # registers the Numba versions of the s2s helpers the code imports
            self.imports["import s2s.compiler.jit.overloads"] = None
            fdef.decorator_list = [ast.Call(ast.Attribute(copy.deepcopy(numba), "njit",
                                                          ast.Load()),
                                            [], [ast.keyword("cache", ast.Constant(True))])]
        text = ast.unparse(ast.fix_missing_locations(tree))
        return with_comments(text, tree, notes) + "\n"

    def _pullback_name(self, unit: Generated) -> str:
        return self._claim(f"pullback_{unit.fn.__name__.strip('_<>')}", (unit, "pullback"))

    def _numba_dialect(self, unit: Generated) -> tuple:
        """A copy of the unit's code in the dialect Numba compiles, or a located error:
        (the code, its pullback lifted out as a function of its own or None, {name of a
        callee in the code: the output name of its lifted pullback})."""
        node = syntax.copy_tree(unit.node)
        pullback = callees.lift_pullback(node) if not unit.public else None
        functions = [node] + ([pullback] if pullback is not None else [])
        ranges = callees.range_names(node)
        for function in functions:
            try:
                dialect.refuse_unsupported(function)
            except dialect.Refused as refused:
                raise S2SError(
                    f"Numba cannot compile {refused.construct} in the derivative of "
                    f"'{unit.fn.__name__}'", filename=unit.source.filename,
                    lineno=getattr(refused.node, "lineno", None),
                    construct=refused.construct,
                    hint=f"{refused.hint}; or convert without --target numba",
                    function=unit.fn.__name__) from None
            dialect.rewrite(function, ranges if function is pullback else frozenset())
        lifted = {name: self._pullback_name(callee)
                  for name, callee in unit.injected.items()
                  if isinstance(callee, Generated) and not callee.public
                  and callee.node is not None and _returns_pullback(callee.node)}
        if lifted:
            variables = callees.pullback_variables(node, lifted)
            for function in functions:
                callees.pullback_calls(function, variables)
        return node, pullback, lifted

    def _shape_check(self, unit: Generated, name: str) -> Optional[ast.stmt]:
        """``if np.shape(x) != (5, 3): raise ValueError(...)``: code specialized for the shapes
        of ``--example`` refuses others at entry, with a clear error."""
        arrays = [(p, s) for p, s in unit.shapes.items() if isinstance(s, tuple)]
        if not arrays:
            return None
        numpy = self._import_module("numpy", None).id
        wanted = ", ".join(f"{p} of shape {s}" for p, s in arrays)
        got = ", ".join(f"{{{numpy}.shape({p})}}" for p, _ in arrays)
        test = " or ".join(f"{numpy}.shape({p}) != {s!r}" for p, s in arrays)
        message = (f"{name} was written for {wanted} (s2s convert --example), not {got}: "
                   f"convert again for these shapes, or without --example for code that "
                   f"takes any")
        return ast.parse(f"if {test}:\n    raise ValueError(f{message!r})").body[0]

    def _container_check(self, unit: Generated, name: str) -> Optional[ast.stmt]:
        """``if isinstance(ws, (list, tuple, dict)): raise TypeError(...)``: a differentiated
        parameter the function iterates, unpacks or measures, without an example showing
        it is a container, was converted as an array; a container then fails at entry with
        a clear error, not somewhere inside."""
        if not unit.public:
            return None
        used = _sequence_uses(unit.source.node)
        ambiguous = [p for p in unit.wrt if p in used and p not in unit.trees
                     and p not in unit.shapes]
        if not ambiguous:
            return None
        fn = unit.fn.__name__
        example = ", ".join(f"{p}=[(3,), (3,)]" for p in ambiguous)
        message = (f"{name} was written for {', '.join(ambiguous)} as an array or a number; "
                   f"for a list, tuple or dict of arrays, convert again with an example "
                   f"showing its structure: --example \"{fn}: {example}\"")
        test = " or ".join(f"isinstance({p}, (list, tuple, dict))" for p in ambiguous)
        return ast.parse(f"if {test}:\n    raise TypeError({message!r})").body[0]

    def _generated_name(self, unit: Generated, name: str) -> Any:
        """What a free name of generated code means, as an expression in the output."""
        if name in unit.injected:
            obj = unit.injected[name]
            if obj is numeric_output:
                wrt = ", ".join(unit.wrt)
                raise ConstantOutput(unit.wrt,
                    f"the output of '{unit.fn.__name__}' does not depend on {wrt}: its "
                    f"gradient is zero wherever it is defined, so s2s convert writes none",
                    filename=unit.source.filename, lineno=unit.source.node.lineno,
                    col_offset=unit.source.node.col_offset, function=unit.fn.__name__,
                    hint="differentiate with respect to other arguments (--grad-position), "
                         "or leave the function out (--function)")
            if self.options.runtime == "standalone" and (
                    obj is pipeline.call_vjp or obj is pipeline.call_jvp):
                raise self._error(
                    f"'{unit.fn.__name__}' calls a function that is only known at run time, "
                    f"and differentiating that call needs the s2s engine",
                    "call a module-level function directly, or convert with --runtime import",
                    self._dynamic_use(unit))
            return self._reference(obj, name)
        module = static_module_of(unit.fn)
        if module is not None:
            return self._global(module, name, _first_use(unit.source.node, name))
        value = unit.source._lookup(name)
        if value is MISSING:
            raise self._error(f"name '{name}' is not defined", "define or import it",
                              _first_use(unit.source.node, name))
        if name in unit.source.globals:
            return self._reference(value, name)
        return self._builtin(name)

    def _docstring(self, unit: Generated) -> str:
        fn = unit.fn.__name__
        where = f"{self.display(unit.source.filename)}, line {unit.source.node.lineno}"
        call = f"{fn}({', '.join(parameter_names(unit.source.node))})"
        wrt = ", ".join(unit.wrt)
        grads = ", ".join("d" + p for p in unit.wrt)
        if unit.kind in ("grad", "value_and_grad"):
            gradients = (f"d{wrt} is the gradient of {call} with respect to {wrt}"
                         if unit.single else f"{grads} are the gradients of {call} with "
                         f"respect to {wrt}")
            api = "grad" if unit.kind == "grad" else "value_and_grad"
            returns = (f"Returns {_returns(unit)}, as s2s.{api}({fn}"
                       f"{_position_argument(unit)}) does: {gradients}"
                       + (f", and value is {call}." if unit.kind == "value_and_grad" else "."))
            title = f"Gradient of {fn} ({where})."
            returns += (" An array output is summed first (every output is seeded with "
                        "ones).")
        elif unit.kind == "vjp" and self.options.target == "numba" \
                and _returns_pullback(unit.node):
            title = f"Forward sweep of {fn} ({where})."
            returns = (f"Returns (value, residuals): {self._pullback_name(unit)}(cotangent, "
                       f"residuals) returns ({grads},), the cotangents of {wrt}.")
        elif unit.kind == "vjp":
            title = f"Forward sweep of {fn} ({where})."
            returns = (f"Returns (value, pullback): pullback(cotangent) returns ({grads},), "
                       f"the cotangents of {wrt}.")
        else:
            title = f"Forward-mode derivative (JVP) of {fn} ({where})."
            returns = (f"Returns (value, tangent): value is {call} and tangent its derivative "
                       f"along {', '.join(unit.tangents)} (the tangents of {wrt}).")
        if unit.shapes:
            returns += (f" Specialized for {_shapes_text(unit.shapes)} (--example), as s2s.grad "
                        f"specializes its code for the shapes of a call; it checks the array "
                        f"shapes at entry.")
        body = textwrap.fill(returns, 84, initial_indent="    ", subsequent_indent="    ")
        return f"{title}\n\n{body}\n    "

    def _dynamic_use(self, unit: Generated) -> Optional[ast.AST]:
        """The first call in the user function whose callee is only known at run time."""
        module = static_module_of(unit.fn)
        calls = [n for n in ast.walk(unit.source.node) if type(n).__name__ == "Call"]
        for node in sorted(calls, key=lambda n: (n.lineno, n.col_offset)):
            func = node.func
            kind = type(func).__name__
            if kind == "Name":
                if (module is None or func.id not in module.namespace) \
                        and not hasattr(builtins, func.id):
                    return node
            elif kind != "Attribute":
                return node
        return None

    # -- names of user modules and s2s modules --------------------------------------------
    def _global(self, module, name: str, use: Optional[ast.AST] = None) -> Any:
        """The output expression for ``name`` at the top level of ``module`` (a module read
        as source, or an s2s module)."""
        key = ("global", module.path, name)
        if key in self.done:
            return self.done[key]
        if name not in module.namespace:
            if isinstance(module, StaticModule) and name in module.unresolved:
                self._raise_unresolved(module, name, use)
            if hasattr(builtins, name):
                return self._builtin(name)
            raise self._error(f"name '{name}' is not defined in {self.display(module.path)}",
                              "define or import it", use)
        value = module.namespace[name]
        stmt = module.bindings.get(name)
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            expr = self._imported(module, name, value, stmt, use)
        elif isinstance(stmt, ast.FunctionDef):
            expr = self._copy(module, name, stmt)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            expr = self._assigned(module, name, value, stmt)
        else:
            expr = self._reference(value, name, use)
        self.done[key] = expr
        return expr

    def _raise_unresolved(self, module: StaticModule, name: str, use) -> None:
        path, node, function = self.where[-1] if self.where else (module.path, None, None)
        error = module.unresolved_error(name, use or node, function or "")
        if path != module.path and use is None:
            error.filename = path
        raise error

    def _imported(self, module, name, value, stmt, use) -> Any:
        source = getattr(module, "imported", {}).get(name)
        if source is not None:          # from a module read as source: copy what it binds
            return self._global(source[0], source[1], use)
        if isinstance(value, types.ModuleType):
            local = static_module_of(value)
            if local is not None:
                return _LocalModule(local)
            return self._import_module(value.__name__, name, use)
        if isinstance(stmt, ast.ImportFrom) and stmt.level == 0 \
                and static_module_of(value) is None and not self._is_s2s(stmt.module):
            original = next((a.name for a in stmt.names if (a.asname or a.name) == name),
                            name)           # or bound by `from module import *`
            return self._import_from(stmt.module, original, name)
        return self._reference(value, name, use)

    def _assigned(self, module, name, value, stmt) -> Any:
        if isinstance(module, StaticModule):
            computed = isinstance(value, (np.ndarray, np.generic))    # SCALE = np.sqrt(2.0)
            if not computed and not isinstance(value, _LITERALS + (tuple, list, dict, set,
                                                                   frozenset)):
                return self._reference(value, name)
            out = self._claim(name, ("global", module.path, name))
            text = None
            if isinstance(stmt, ast.AnnAssign) or len(stmt.targets) == 1 \
                    and isinstance(stmt.targets[0], ast.Name):
                text = ast.get_source_segment(module.text, stmt.value)
                reads = {n.id: n for n in ast.walk(stmt.value) if isinstance(n, ast.Name)}
                if reads and text is not None:      # SCALE = np.sqrt(2.0): names rewritten
                    self.where.append((module.path, stmt, name))
                    try:
                        mapping = {n: self._global(module, n, use) for n, use in reads.items()}
                    finally:
                        self.where.pop()
                    node = _Rewriter(self, mapping, real_lines=True).visit(
                        copy.deepcopy(stmt.value))
                    text = ast.unparse(node)
            if text is None or "\n" in text:
                text = self._value_text(value)
            self.constants.append(f"{out} = {text}")
            return ast.Name(out, ast.Load())
        return self._copy(module, name, stmt)        # an s2s module-level value

    def _value_text(self, value: Any) -> str:
        """Source for a constant value: its repr, or a NumPy call for NumPy values."""
        if isinstance(value, (np.ndarray, np.generic)):
            numpy = self._import_module("numpy", None).id
            if isinstance(value, np.generic):
                return f"{numpy}.{type(value).__name__}({value.item()!r})"
            return f"{numpy}.array({value.tolist()!r}, dtype={numpy}.{value.dtype.name})"
        if isinstance(value, (tuple, list)) and any(isinstance(v, (np.ndarray, np.generic))
                                                    for v in value):
            items = ", ".join(self._value_text(v) for v in value)
            return f"({items},)" if isinstance(value, tuple) else f"[{items}]"
        return repr(value)

    def _copy(self, module, name: str, stmt: ast.stmt) -> ast.Name:
        """Copy a top-level def (or, from s2s, an assignment) with what it references."""
        key = ("global", module.path, name)
        if isinstance(stmt, ast.ClassDef):
            raise self._error(f"s2s convert cannot copy the class '{name}' into the "
                              f"generated module", "use functions and arrays")
        trusted = not isinstance(module, StaticModule)
        verbatim = "".join(module.text.splitlines(True)[stmt.lineno - 1:stmt.end_lineno])
        if isinstance(stmt, ast.Assign):
            # s2s modules share a few aliases (`_ndarray = np.ndarray`): write each once
            claim = ("assign", verbatim)
            if claim in self.done:
                self.done[key] = self.done[claim]
                return self.done[key]
        else:
            claim = key
        out = self._claim(name, claim)
        self.done[key] = self.done[claim] = ast.Name(out, ast.Load())
        section = self.sections["runtime" if trusted else "user"]
        if isinstance(stmt, ast.FunctionDef):
            section.append(None)
            slot = len(section) - 1
        self._forbid_imports(module, stmt)
        if isinstance(stmt, ast.FunctionDef):
            reads = global_reads(stmt)
            if annotations_of(stmt):        # copied as written, but never evaluated
                self.imports[_FUTURE] = None
        else:
            reads = [(n.id, n) for n in ast.walk(stmt.value)
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
        if not trusted:
            self.where.append((module.path, stmt, name))
        try:
            mapping = {n: self._global(module, n, use) for n, use in reads}
        finally:
            if not trusted:
                self.where.pop()
        changed = out != name or any(not (isinstance(e, ast.Name) and e.id == n)
                                     for n, e in mapping.items())
        if changed:
            node = copy.deepcopy(stmt)
            if isinstance(node, ast.FunctionDef):
                node.decorator_list = []
                node.name = out
            else:
                node.targets = [ast.Name(out, ast.Store())]
            node = _Rewriter(self, mapping, real_lines=not trusted).visit(node)
            text = ast.unparse(ast.fix_missing_locations(node)) + "\n"
        else:
            text = verbatim
        if isinstance(stmt, ast.FunctionDef):
            section[slot] = text
        else:
            self.runtime_constants.append(text.rstrip("\n"))
        return ast.Name(out, ast.Load())

    def _forbid_imports(self, module, stmt) -> None:
        """Code that imports s2s (or its siblings) at run time cannot stand alone."""
        for node in ast.walk(stmt):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                relative = isinstance(node, ast.ImportFrom) and node.level > 0
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                    [a.name for a in node.names]
                if relative or any(self._is_s2s(n) for n in names):
                    if self.options.runtime == "standalone" or relative:
                        raise self._error(
                            f"'{getattr(stmt, 'name', '?')}' needs the s2s engine at run "
                            f"time, so it cannot be written into a standalone module",
                            "a call whose target is only known at run time needs "
                            "--runtime import; or call a module-level function directly")

    # -- objects --------------------------------------------------------------------------
    def _reference(self, obj: Any, wanted: str, use: Optional[ast.AST] = None) -> Any:
        """An expression for ``obj`` in the output module (``wanted``: the name it had)."""
        if isinstance(obj, Generated):
            return ast.Name(self._generated(obj), ast.Load())
        if isinstance(obj, types.ModuleType):
            local = static_module_of(obj)
            if local is not None:
                return _LocalModule(local)
            return self._import_module(obj.__name__, wanted, use)
        if getattr(builtins, getattr(obj, "__name__", "") or "-", None) is obj \
                and not isinstance(obj, types.ModuleType):
            return self._builtin(obj.__name__)
        local = static_module_of(obj)
        if local is not None and isinstance(obj, types.FunctionType):
            stmt = local.defs.get(obj.__name__)
            if stmt is None or local.functions.get(obj.__name__) is not obj:
                raise self._error(f"s2s convert cannot copy '{wanted}'",
                                  "only top-level functions can be copied", use)
            key = ("global", local.path, obj.__name__)
            if key not in self.done:
                self.done[key] = self._copy(local, obj.__name__, stmt)
            return self.done[key]
        module_name = getattr(obj, "__module__", None) or ""
        if self._is_s2s(module_name) and isinstance(obj, types.FunctionType):
            if self.options.runtime == "import":
                return self._import_from(module_name, obj.__name__, wanted)
            if not module_name.startswith(_COPYABLE):
                raise self._error(
                    f"the generated code calls {module_name}.{obj.__name__} at run time",
                    "a standalone module cannot use the s2s engine; use --runtime import",
                    use)
            return self._global(_Trusted.of(sys.modules[module_name]), obj.__name__, use)
        if isinstance(obj, _LITERALS) or _is_literal(obj):
            key = ("literal", wanted, repr(obj))
            out = self._claim(wanted, key)
            if key not in self.done:
                self.done[key] = ast.Name(out, ast.Load())
                self.constants.append(f"{out} = {obj!r}")
            return self.done[key]
        path = _public_path(obj)
        if path is not None and not self._is_s2s(path[0]):
            top, attrs = path
            expr = self._import_module(top, None, use)
            for attr in attrs:
                expr = ast.Attribute(expr, attr, ast.Load())
            return expr
        raise self._error(f"s2s convert cannot write {obj!r} (the value of '{wanted}') into "
                          f"a module", "use NumPy functions, literal constants or module-level "
                          "functions", use)

    def _builtin(self, name: str) -> ast.Name:
        self.names.setdefault(name, ("builtin", name))
        return ast.Name(name, ast.Load())

    def _is_s2s(self, module_name: str) -> bool:
        return module_name == "s2s" or module_name.startswith("s2s.")

    def _import_module(self, module_name: str, alias: Optional[str],
                       use: Optional[ast.AST] = None) -> ast.Name:
        """``import module as alias``; ``alias`` None: any name it is already imported as."""
        if self._is_s2s(module_name) and self.options.runtime == "standalone":
            raise self._error(f"the generated code uses the module {module_name} at run time",
                              "a standalone module cannot import s2s; use --runtime import",
                              use)
        if alias is None:
            for key, expr in self.done.items():
                if isinstance(key, tuple) and key[:2] == ("import", module_name):
                    return expr
            alias = _ALIASES.get(module_name, module_name.split(".")[-1])
        key = ("import", module_name, alias)
        if key in self.done:
            return self.done[key]
        out = self._claim(alias, key)
        if out == module_name or "." in module_name and module_name.split(".")[0] == out:
            self.imports[f"import {module_name}"] = None
        else:
            self.imports[f"import {module_name} as {out}"] = None
        self.done[key] = ast.Name(out, ast.Load())
        return self.done[key]

    def _import_from(self, module_name: str, attr: str, alias: str) -> ast.Name:
        key = ("from", module_name, attr)
        if key in self.done:
            return self.done[key]
        out = self._claim(alias, key)
        self.imports[f"from {module_name} import {attr}"
                     + ("" if out == attr else f" as {out}")] = None
        self.done[key] = ast.Name(out, ast.Load())
        return self.done[key]


class _Rewriter(ast.NodeTransformer):
    """Replaces free names by their expressions in the output; ``helpers.g`` (a module read
    as source) by the copied ``g``."""

    def __init__(self, writer: ModuleWriter, mapping: Dict[str, Any], real_lines: bool = False):
        self.writer = writer
        self.mapping = mapping
        self.real_lines = real_lines        # do node positions point into the user's file?

    def visit_Attribute(self, node: ast.Attribute):
        chain = []
        base = node
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        if isinstance(base, ast.Name) and isinstance(self.mapping.get(base.id), _LocalModule):
            chain.reverse()
            module = self.mapping[base.id].module
            for i, attr in enumerate(chain):
                found = self.writer._global(module, attr, node if self.real_lines else None)
                if isinstance(found, _LocalModule):
                    module = found.module
                    continue
                expr = copy.deepcopy(found)
                for rest in chain[i + 1:]:
                    expr = ast.Attribute(expr, rest, ast.Load())
                return ast.copy_location(expr, node)
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name):
        found = self.mapping.get(node.id)
        if found is None or not isinstance(node.ctx, ast.Load):
            return node
        if isinstance(found, _LocalModule):
            raise self.writer._error(
                f"the module '{node.id}' (read as source) is used as a value",
                "use its functions (module.function) or import them by name",
                node if self.real_lines else None)
        if isinstance(found, ast.Name) and found.id == node.id:
            return node
        return ast.copy_location(copy.deepcopy(found), node)


_FUTURE = "from __future__ import annotations"


def _returns_pullback(node: gast.FunctionDef) -> bool:
    """Does the forward sweep ``node`` end by returning its pullback (a nested def)?"""
    last = node.body[-1] if node.body else None
    returned = getattr(last, "value", None) if isinstance(last, gast.Return) else None
    return isinstance(returned, gast.Tuple) and len(returned.elts) == 2 \
        and isinstance(returned.elts[1], gast.Name) \
        and any(isinstance(s, gast.FunctionDef) and s.name == returned.elts[1].id
                for s in node.body)


def _import_block(imports) -> List[str]:
    """Sorted import lines: ``import x`` first, then ``from x import a, b`` grouped."""
    plain = sorted(line for line in imports if line.startswith("import "))
    grouped: Dict[str, List[str]] = {}
    for line in imports:
        if line.startswith("from ") and line != _FUTURE:
            module, _, names = line[len("from "):].partition(" import ")
            grouped.setdefault(module, []).append(names)
    froms = [f"from {m} import {', '.join(sorted(grouped[m]))}" for m in sorted(grouped)]
    future = [_FUTURE, ""] if _FUTURE in imports else []
    return future + plain + froms


def _sequence_uses(fn) -> set:
    """Names a (gast) def iterates (``for w in ws``), unpacks (``a, b = ws``) or passes to
    ``len``, ``zip``, ``enumerate``, ``list``, ``tuple`` or ``reversed``: arrays and
    containers both allow it, so the parameter's kind is not known from the code."""
    used = set()
    for node in gast.walk(fn):
        if isinstance(node, (gast.For, gast.comprehension)) \
                and isinstance(node.iter, gast.Name):
            used.add(node.iter.id)
        elif isinstance(node, gast.Assign) and isinstance(node.value, gast.Name) \
                and any(isinstance(t, (gast.Tuple, gast.List)) for t in node.targets):
            used.add(node.value.id)
        elif isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
                and node.func.id in ("len", "zip", "enumerate", "list", "tuple", "reversed"):
            used.update(a.id for a in node.args if isinstance(a, gast.Name))
    return used


def _first_use(tree: ast.AST, name: str) -> Optional[ast.AST]:
    uses = [n for n in ast.walk(tree) if type(n).__name__ == "Name" and n.id == name]
    return min(uses, key=lambda n: (n.lineno, n.col_offset)) if uses else None


def _is_literal(obj: Any) -> bool:
    if isinstance(obj, (tuple, list, frozenset, set)):
        return all(_is_literal(o) for o in obj)
    if isinstance(obj, dict):
        return all(_is_literal(k) and _is_literal(v) for k, v in obj.items())
    return isinstance(obj, _LITERALS)


def _public_path(obj: Any) -> Optional[Tuple[str, List[str]]]:
    """``(module, attributes)`` such that importing the module and following the attributes
    gives ``obj``: ``np.sin`` -> ("numpy", ["sin"]), ``np.linalg.norm`` -> ("numpy",
    ["linalg", "norm"])."""
    name = getattr(obj, "__name__", None)
    module_name = getattr(obj, "__module__", None)
    if not isinstance(name, str) or not isinstance(module_name, str):
        return None
    parts = module_name.split(".")
    if parts[0].startswith("_") and parts[0][1:] in sys.modules:
        parts[0] = parts[0][1:]             # _operator.mul is operator.mul
    for cut in range(1, len(parts) + 1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is None:
            continue
        value = module
        attrs = parts[cut:] + [name]
        try:
            for attr in attrs:
                value = getattr(value, attr)
        except AttributeError:
            continue
        if value is obj and not any(a.startswith("_") for a in attrs[:-1]):
            return ".".join(parts[:cut]), attrs
    return None


def _arguments(node) -> Tuple[Tuple[str, str, bool], ...]:
    """The parameters of a parsed def: (name, kind, whether it has a default)."""
    args = node.args
    positional = list(args.posonlyargs) + list(args.args)
    first_default = len(positional) - len(args.defaults)
    out = [(a.id, "positional", i >= first_default) for i, a in enumerate(positional)]
    if args.vararg is not None:
        out.append((args.vararg.id, "vararg", True))
    out += [(a.id, "keyword", d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg is not None:
        out.append((args.kwarg.id, "varkw", True))
    return tuple(out)


def _returns(unit: Generated) -> str:
    if unit.kind == "jvp":
        return "(value, tangent)"
    grads = ", ".join("d" + p for p in unit.wrt)
    grads = grads if unit.single else f"({grads})"
    return grads if unit.kind == "grad" else f"(value, {grads})"


def _shapes_text(shapes: Dict[str, Any]) -> str:
    """``w (3,), x (5, 3), t a float``."""
    return ", ".join(f"{p} {s}" if isinstance(s, tuple) else f"{p} a float"
                     for p, s in shapes.items())


def _position_argument(unit: Generated) -> str:
    """``, grad_position=(0, 2)`` as s2s.grad would be called for ``unit`` ('' for 0)."""
    params = parameter_names(unit.source.node)
    positions = [params.index(p) for p in unit.wrt]
    if unit.single:
        return "" if positions == [0] else f", grad_position={positions[0]}"
    return f", grad_position={tuple(positions)}"
