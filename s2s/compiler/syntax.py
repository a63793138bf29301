"""Small functions over syntax trees that every stage of the compiler shares.

``walk`` yields every node in ``ast.walk``'s order, at less cost, except contexts and operators
(``Load``, ``Add``: no question the passes ask is about them, and they are nearly half of a
tree's nodes): the transform walks its trees many times over (activity, shape classes, dead
code), and ``ast.walk`` spends most of its time in generators; this one keeps one list. ``copy_tree`` is ``copy.deepcopy`` for syntax trees. ``names_in``, ``loaded_names`` and ``rename_loads``
are the questions and the rewrite that the passes ask of names. ``name``, ``const`` and
``assign`` build the nodes every pass writes (``assign("y", name("x"))`` is ``y = x``);
``dotted`` reads ``np.linalg.norm`` back as a string. ``Transformer`` is
``ast.NodeTransformer`` at a third of the cost, for the passes that rewrite whole functions,
and ``to_gast`` is ``gast.ast_to_gast`` at a third of the cost, for the parser.
"""
import ast
import sys
from ast import AST
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import gast


# fields that hold a name, a number, a flag, a context or an operator: walks skip them
_LEAF_FIELDS = frozenset({"id", "attr", "arg", "kind", "type_comment", "level", "module",
                          "conversion", "is_async", "simple", "ctx", "op", "ops"})
_CHILD_FIELDS: Dict[type, Tuple[str, ...]] = {}


def child_fields(cls: type) -> Tuple[str, ...]:
    """The fields of nodes of class ``cls`` that may hold nodes other than contexts and
    operators, in ``_fields`` order."""
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = _CHILD_FIELDS[cls] = tuple(f for f in cls._fields if f not in _LEAF_FIELDS)
    return fields


def walk(root: AST) -> Iterator[AST]:
    """Yield ``root`` and all nodes below it but contexts and operators, breadth first, like
    ``ast.walk``."""
    todo = [root]
    append = todo.append
    known = _CHILD_FIELDS
    for node in todo:           # the list grows while it is read: that is the queue
        yield node
        cls = node.__class__
        fields = known.get(cls) or child_fields(cls)
        attrs = node.__dict__   # a field never set reads as None, as getattr's default
        for field in fields:
            value = attrs.get(field)
            if value is None:
                continue
            if type(value) is list:
                for item in value:
                    if isinstance(item, AST):
                        append(item)
            elif isinstance(value, AST):
                append(value)



def walk_statements(body: List[AST]) -> Iterator[AST]:
    """Yield the statements of ``body`` and the statements of the blocks below them (loop,
    branch and handler bodies, nested functions), without walking into expressions, which
    hold most of a tree's nodes but never a statement. The handlers and other non-expression
    parts that hold those blocks come too."""
    todo = list(body)
    for node in todo:
        yield node
        attrs = node.__dict__
        for field in _CHILD_FIELDS.get(node.__class__) or child_fields(node.__class__):
            value = attrs.get(field)
            if type(value) is list:
                todo.extend(item for item in value
                            if isinstance(item, AST) and not isinstance(item, gast.expr))

class Transformer:
    """``ast.NodeTransformer``, faster: ``visit`` calls ``visit_<Class>`` or
    ``generic_visit``, which visits the children and puts back what the visits return (None
    removes a node, a list replaces one item of a list by several). The method for each
    node class is looked up once per transformer class, not once per node; as ``walk``,
    it does not visit contexts and operators."""

    _methods: Dict[type, Any]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._methods = {}

    def _method(self, node_class: type):
        method = getattr(type(self), "visit_" + node_class.__name__, None)
        self._methods[node_class] = method
        return method

    def visit(self, node: AST):
        cls = node.__class__
        methods = self._methods
        method = methods[cls] if cls in methods else self._method(cls)
        return self.generic_visit(node) if method is None else method(self, node)

    def generic_visit(self, node: AST) -> AST:
        methods = self._methods
        attrs = node.__dict__
        for field in _CHILD_FIELDS.get(node.__class__) or child_fields(node.__class__):
            old = attrs.get(field)
            if old is None:
                continue
            if type(old) is list:
                new = []
                for item in old:
                    if isinstance(item, AST):
                        cls = item.__class__
                        method = methods[cls] if cls in methods else self._method(cls)
                        item = self.generic_visit(item) if method is None else method(self, item)
                        if item is None:
                            continue
                        if not isinstance(item, AST):
                            new.extend(item)
                            continue
                    new.append(item)
                old[:] = new
            elif isinstance(old, AST):
                cls = old.__class__
                method = methods[cls] if cls in methods else self._method(cls)
                value = self.generic_visit(old) if method is None else method(self, old)
                if value is None:
                    delattr(node, field)
                elif value is not old:
                    attrs[field] = value
        return node


def copy_tree(node: AST) -> AST:
    """A deep copy of ``node``, attributes and positions included, as ``copy.deepcopy``
    makes it, several times faster (the transform copies whole function bodies)."""
    cls = node.__class__
    new = cls.__new__(cls)
    attrs = new.__dict__
    for key, value in node.__dict__.items():
        if type(value) is list:
            value = [copy_tree(item) if isinstance(item, AST) else item for item in value]
        elif isinstance(value, AST):
            value = copy_tree(value)
        attrs[key] = value
    return new


def names_in(node: AST) -> Set[str]:
    """Every name that occurs in ``node``, read or written."""
    return {n.id for n in walk(node) if isinstance(n, gast.Name)}


def loaded_names(node: AST) -> Set[str]:
    """The names ``node`` reads."""
    return {n.id for n in walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


def rename_loads(node: AST, mapping: Dict[str, str]) -> AST:
    """Rename the names ``node`` reads, in place: ``{"x": "x_prev"}`` makes ``x + 1`` read
    ``x_prev + 1`` (assignments to ``x`` keep their name). Returns ``node``."""
    if mapping:
        for n in walk(node):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and n.id in mapping:
                n.id = mapping[n.id]
    return node


def _node(cls: type, **fields) -> AST:
    """``cls(**fields)`` for a gast class, without the Python call of gast's constructor
    (the transform makes tens of thousands of names)."""
    node = cls.__new__(cls)
    node.__dict__.update(fields)
    return node


def name(id_: str, ctx=None) -> gast.Name:
    """The name ``id_``, read (or stored, with ``ctx=gast.Store()``)."""
    return _node(gast.Name, id=id_, ctx=ctx or _node(gast.Load), annotation=None,
                 type_comment=None)


def const(value) -> gast.Constant:
    """The literal ``value``."""
    return _node(gast.Constant, value=value, kind=None)


def assign(target: str, value: ast.AST, like: Optional[ast.AST] = None) -> gast.Assign:
    """``target = value``, at the position of ``like`` when given."""
    stmt = _node(gast.Assign, targets=[name(target, _node(gast.Store))], value=value,
                 type_comment=None)
    if like is not None:
        ast.copy_location(stmt, like)
    return stmt


def dotted(node: ast.AST) -> Optional[str]:
    """``np.linalg.norm`` for an attribute chain rooted at a name, else None."""
    parts = []
    while isinstance(node, gast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, gast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def to_gast(node: AST) -> AST:
    """``gast.ast_to_gast(node)``, node for node the same tree, faster: most nodes keep
    their class name, fields and positions, so one loop copies them; the nodes gast changes
    (a name gains fields, a parameter becomes a name, a def gains ``type_params`` before
    Python 3.12) are made here as gast makes them, and the rare others are left to gast."""
    cls = node.__class__
    kind = _GAST_KIND.get(cls) or _gast_kind(cls)
    if kind is _AS_IS:
        return _copied_to_gast(node, _GAST_CLASS[cls])
    given = node.__dict__
    if kind is _NAME or kind is _ARG:
        new = gast.Name.__new__(gast.Name)
        attrs = new.__dict__
        if kind is _NAME:
            attrs.update(id=given["id"], ctx=to_gast(given["ctx"]), annotation=None,
                         type_comment=None)
        else:
            annotation = given.get("annotation")
            attrs.update(id=given["arg"], ctx=gast.Param(),
                         annotation=None if annotation is None else to_gast(annotation),
                         type_comment=given.get("type_comment"))
        for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
            if attr in given:
                attrs[attr] = given[attr]
        return new
    if kind is _DEF:
        new = _copied_to_gast(node, gast.FunctionDef)
        new.type_params = []
        return new
    return gast.ast_to_gast(node)


def _copied_to_gast(node: AST, target: type) -> AST:
    """A ``target`` node with ``node``'s fields, converted, and positions."""
    cls = node.__class__
    given = node.__dict__
    new = target.__new__(target)
    attrs = new.__dict__
    for field in cls._fields:
        if field in given:
            value = given[field]
            if type(value) is list:
                value = [to_gast(v) if isinstance(v, AST) else v for v in value]
            elif isinstance(value, AST):
                value = to_gast(value)
            attrs[field] = value
    for attr in cls._attributes:
        if attr in given:
            attrs[attr] = given[attr]
    return new


_AS_IS, _NAME, _ARG, _DEF, _GAST = "as is", "name", "arg", "def", "gast"
_GAST_KIND: Dict[type, str] = {}
_GAST_CLASS: Dict[type, type] = {}


def _gast_kind(cls: type) -> str:
    """How ``to_gast`` converts ast nodes of class ``cls``."""
    target = getattr(gast, cls.__name__, None)
    if cls is ast.Name:
        kind = _NAME
    elif cls is ast.arg:
        kind = _ARG
    elif cls is ast.FunctionDef and sys.version_info < (3, 12):
        kind = _DEF
    elif target is None or cls.__name__ in _LEFT_TO_GAST:
        kind = _GAST
    else:
        kind = _AS_IS
        _GAST_CLASS[cls] = target
    _GAST_KIND[cls] = kind
    return kind


# what gast converts in its own way on some Python versions
_LEFT_TO_GAST = frozenset({"AsyncFunctionDef", "ClassDef", "ExceptHandler", "alias",
                           "TypeVar", "TypeVarTuple", "ParamSpec", "Index", "ExtSlice",
                           "Num", "Str", "Bytes", "NameConstant", "Ellipsis"})
