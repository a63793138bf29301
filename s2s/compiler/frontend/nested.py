"""Local functions s2s cannot differentiate correctly, each refused at the user's line.

A local ``def`` or ``lambda`` that reads the enclosing function's variables is differentiated
through its closure. That model covers a closure called directly (or passed to a call); the
shapes below would lose the closed-over gradients, so they are refused in both modes rather
than give a wrong number:

- in forward mode, a recursive local function (reverse mode differentiates it through the
  cells it shares with itself);
- a default bound to a variable of the enclosing function (``lambda u, s=x: u * s``);
- a local function stored in a list, tuple, dict or comprehension (``[lambda u: u * x, ...]``);
- a local function that updates a list or dict of the enclosing function
  (``out.append(v * x)``, ``d[k] = v * x``, ``np.add.at(y, k, v * x)``);
- a local function stored by an update (``d["f"] = lambda ...``, ``fs.append(f)``);
- a local function that returns a local function;
- in reverse mode: a local function that calls another local function which reads an
  enclosing variable the caller does not read itself (a caller that reads it gets its
  gradient back through the cell they share), a lambda called in place
  (``(lambda u: u * x)(2.0)``), and a local function over a variable rebound after its
  definition (forward mode differentiates the first two and refuses the third where the
  variable is differentiated).

The enclosing function's variables stand in for the differentiated ones (the check runs before
activity is known), except those only ever assigned a literal (``n = 3``); a variable rebound
after the def and an update of an enclosing container are refused whatever the variable.
"""
from __future__ import annotations

from typing import Dict, Iterator, List, Set, Union

import gast

from s2s.compiler import syntax
from s2s.compiler.analysis.activity import free_names
from s2s.compiler.frontend.parse import Source

Local = Union[gast.FunctionDef, gast.Lambda]

# methods that update a list, dict or set in place
_UPDATES = {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault",
            "popitem", "add", "discard", "sort", "reverse", "__setitem__", "__delitem__"}
_ARGUMENTS = "pass the values it uses as arguments and return its result"


def _own_nodes(body: List[gast.AST]) -> Iterator[gast.AST]:
    """The nodes of ``body``, not descending into the local functions it defines."""
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, gast.FunctionDef):
            stack.extend(reversed(node.args.defaults))
            stack.extend(d for d in reversed(node.args.kw_defaults) if d is not None)
            stack.extend(reversed(node.decorator_list))
            continue
        if isinstance(node, gast.Lambda):
            stack.extend(reversed(node.args.defaults))
            stack.extend(d for d in reversed(node.args.kw_defaults) if d is not None)
            continue
        stack.extend(reversed(list(gast.iter_child_nodes(node))))


def _names_of(fn: Union[gast.FunctionDef, Local]) -> Set[str]:
    """Parameters of ``fn`` and the names its own body binds (nested bodies excluded)."""
    args = fn.args
    names = {a.id for a in list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs)
             + [args.vararg, args.kwarg] if isinstance(a, gast.Name)}
    body = fn.body if isinstance(fn.body, list) else [fn.body]
    for node in _own_nodes(body):
        if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Del)):
            names.add(node.id)
        elif isinstance(node, gast.FunctionDef):
            names.add(node.name)
    return names


def _constants(fn: gast.FunctionDef) -> Set[str]:
    """Local names of ``fn`` only ever assigned a literal (``n = 3``): never differentiated."""
    stores: Dict[str, bool] = {}
    literal = set()
    for node in _own_nodes(fn.body):
        if isinstance(node, gast.Assign) and isinstance(node.value, gast.Constant):
            literal.update(id(t) for t in node.targets if isinstance(t, gast.Name))
        if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Del)):
            stores[node.id] = stores.get(node.id, True) and id(node) in literal
    args = fn.args
    params = {a.id for a in list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs)
              + [args.vararg, args.kwarg] if isinstance(a, gast.Name)}
    return {n for n, constant in stores.items() if constant} - params


def _locals_in(fn: gast.FunctionDef) -> List[Local]:
    return [n for s in fn.body for n in syntax.walk(s)
            if isinstance(n, (gast.FunctionDef, gast.Lambda))]


def _local_function_names(fn: gast.FunctionDef) -> Dict[str, Local]:
    """Names bound to a local def or lambda in ``fn``'s own body."""
    found: Dict[str, Local] = {}
    for node in _own_nodes(fn.body):
        if isinstance(node, gast.FunctionDef):
            found[node.name] = node
        elif isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda):
            for t in node.targets:
                if isinstance(t, gast.Name):
                    found[t.id] = node.value
    return found


def check_local_functions(source: Source, fn: gast.FunctionDef, reverse: bool) -> None:
    """Raise an ``UnsupportedSyntaxError`` at the first local function s2s would get wrong."""
    if not any(isinstance(n, (gast.FunctionDef, gast.Lambda))
               for s in fn.body for n in syntax.walk(s)):
        return                  # the common case: one walk, nothing to check
    outer = _names_of(fn)
    varying = outer - _constants(fn)
    functions = _local_function_names(fn)
    closing = {n for n, node in functions.items()
               if free_names(node) & varying - set(functions)}
    # a function returned in a tuple is a result, as a pullback is (forward over reverse)
    returned = {id(n.value) for n in _own_nodes(fn.body) if isinstance(n, gast.Return)}
    for node in _own_nodes(fn.body):
        if id(node) in returned:
            continue
        if isinstance(node, (gast.List, gast.Tuple, gast.Set)):
            items = list(node.elts)
        elif isinstance(node, gast.Dict):
            items = list(node.values)
        elif isinstance(node, (gast.ListComp, gast.SetComp, gast.GeneratorExp)):
            items = [node.elt]
        elif isinstance(node, gast.DictComp):
            items = [node.value]
        else:
            continue
        for item in items:
            stored = (isinstance(item, gast.Lambda) and free_names(item) & varying) or \
                     (isinstance(item, gast.Name) and item.id in closing)
            if stored:
                raise source.error(item, "a local function that closes over the enclosing "
                                         "function's variables, stored in a container",
                                   "call it directly by name, or " + _ARGUMENTS)
    def stored_value(value):
        return (isinstance(value, gast.Lambda) and free_names(value) & varying) or \
               (isinstance(value, gast.Name) and value.id in closing)

    for node in _own_nodes(fn.body):
        if isinstance(node, gast.Assign) and not all(isinstance(t, gast.Name)
                                                     for t in node.targets):
            values = [node.value]           # d["f"] = lambda u: u * x
        elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                and node.func.attr in _UPDATES:
            values = list(node.args)        # fs.append(lambda u: u * x)
        elif reverse and isinstance(node, gast.Call) and isinstance(node.func, gast.Lambda):
            values = [node.func]            # (lambda u: u * x)(2.0)
        else:
            continue
        for value in values:
            if stored_value(value):
                raise source.error(value, "a local function that closes over the enclosing "
                                          "function's variables, stored or called in place",
                                   "bind it to a name and call it by that name, or "
                                   + _ARGUMENTS)
    own = [n for n in _own_nodes(fn.body) if isinstance(n, (gast.FunctionDef, gast.Lambda))]
    for local in _locals_in(fn):
        label = f"local function '{local.name}'" if isinstance(local, gast.FunctionDef) \
            else "lambda"
        defaults = list(local.args.defaults) + [d for d in local.args.kw_defaults if d]
        for d in defaults:
            bound = sorted({n.id for n in syntax.walk(d) if isinstance(n, gast.Name)} & varying)
            if bound:
                raise source.error(d, f"a default of a {label} bound to '{bound[0]}'",
                                   f"drop the default and read '{bound[0]}' from the "
                                   "enclosing function, or pass it at each call")
        free = free_names(local) & outer
        body = local.body if isinstance(local.body, list) else [local.body]
        nodes = [n for s in body for n in syntax.walk(s)]
        # forward mode differentiates no recursive local function
        if isinstance(local, gast.FunctionDef) and not reverse and any(
                isinstance(n, gast.Name) and n.id == local.name
                and isinstance(n.ctx, gast.Load) for n in nodes):
            raise source.error(local, f"a recursive {label}",
                               "define the recursive function at module level and "
                               "pass the values it uses as arguments")
        for n in nodes:
            base = None
            if isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute) \
                    and n.func.attr in _UPDATES:
                base = n.func.value
            elif isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute) \
                    and n.func.attr == "at" and n.args:
                base = n.args[0]        # np.add.at(y, rows, v) adds into y in place
            elif isinstance(n, gast.Call) and any(k.arg == "out" for k in n.keywords):
                base = next(k.value for k in n.keywords if k.arg == "out")
            elif isinstance(n, (gast.Subscript, gast.Attribute)) \
                    and isinstance(n.ctx, (gast.Store, gast.Del)):
                base = n.value
            while isinstance(base, (gast.Subscript, gast.Attribute)):
                base = base.value
            if isinstance(base, gast.Name) and base.id in free:
                raise source.error(n, f"a {label} that updates '{base.id}' of the "
                                      "enclosing function", _ARGUMENTS)
        if reverse:
            # a local function called from another reports the gradients of the cells they
            # share; one the caller does not read itself would be lost
            for n in nodes:
                if isinstance(n, gast.Call) and isinstance(n.func, gast.Name) \
                        and n.func.id in closing and n.func.id != getattr(local, "name", None):
                    unread = sorted(free_names(functions[n.func.id]) & varying - free
                                    - set(functions))
                    if unread:
                        raise source.error(
                            n, f"a call of local function '{n.func.id}', which reads "
                               f"'{unread[0]}' of the enclosing function where the {label} "
                               f"calling it does not",
                            f"pass '{unread[0]}' to {n.func.id} as an argument, or read it "
                            f"in the calling function too")
        inner = {n.name for n in nodes if isinstance(n, gast.FunctionDef)}
        returned = [n.value for n in nodes if isinstance(n, gast.Return)
                    and (isinstance(n.value, gast.Lambda)
                         or isinstance(n.value, gast.Name) and n.value.id in inner)]
        if returned and free & varying:
            raise source.error(returned[0], f"a {label} that returns a local function",
                               "call the inner function inside it and return the result, "
                               "or " + _ARGUMENTS)
        if reverse and local in own:
            end = getattr(local, "end_lineno", None) or local.lineno
            # np.add.at(y, ...) counts: reverse mode follows it as y bound to a new array
            later = sorted({n.id for n in _own_nodes(fn.body)
                            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)
                            and n.id in free and getattr(n, "lineno", 0) > end}
                           | {n.args[0].id for n in _own_nodes(fn.body)
                              if isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute)
                              and n.func.attr == "at" and n.args
                              and isinstance(n.args[0], gast.Name) and n.args[0].id in free
                              and getattr(n, "lineno", 0) > end})
            if later:
                raise source.error(local, f"a {label} over variables that change after "
                                          "its definition",
                                   f"'{later[0]}' is rebound later; define the function "
                                   "after the last assignment it depends on")
