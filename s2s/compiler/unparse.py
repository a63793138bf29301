"""Source text of a generated gast function, as ``ast.unparse`` writes it, at a third of the
cost: ``ast.unparse`` needs an ``ast`` tree (a copy of every node) and looks up a method and
a precedence per node; the generated functions of long user functions have tens of
thousands of nodes, and their text is written once per transform.

``unparse`` writes the statements and expressions that generated code is made of, with the
parentheses and spacing ``ast.unparse`` of the running Python would give them (Python 3.9
and 3.10 put tuples that are assigned to, or looped over, in parentheses, and write
``lambda : 1``; later ones do not). Anything else (``try``, ``with``, f-strings, ...) raises ``Unsupported``, and the
caller writes that function through ``ast.unparse`` instead. It also says on which line
each statement starts, so that no one parses the text again to find out:

    FunctionDef(name='f', args=[x], body=[Return(BinOp(x, Mult, 2))])
        ->  ('def f(x):\\n    return x * 2', {<Return>: 2})
"""
from __future__ import annotations

import sys
from typing import Dict, List, Set, Tuple

import gast

# precedences, from loosest to tightest binding, in the order of ast._Precedence
(_NAMED_EXPR, _TUPLE, _YIELD, _TEST, _OR, _AND, _NOT, _CMP, _BOR, _BXOR, _BAND, _SHIFT, _ARITH,
 _TERM, _FACTOR, _POWER, _AWAIT, _ATOM) = range(1, 19)

_BINOPS = {gast.Add: ("+", _ARITH), gast.Sub: ("-", _ARITH), gast.Mult: ("*", _TERM),
           gast.MatMult: ("@", _TERM), gast.Div: ("/", _TERM), gast.Mod: ("%", _TERM),
           gast.FloorDiv: ("//", _TERM), gast.Pow: ("**", _POWER),
           gast.LShift: ("<<", _SHIFT), gast.RShift: (">>", _SHIFT),
           gast.BitOr: ("|", _BOR), gast.BitXor: ("^", _BXOR), gast.BitAnd: ("&", _BAND)}
_UNARY = {gast.USub: "-", gast.UAdd: "+", gast.Invert: "~"}
_COMPARISONS = {gast.Eq: "==", gast.NotEq: "!=", gast.Lt: "<", gast.LtE: "<=", gast.Gt: ">",
                gast.GtE: ">=", gast.Is: "is", gast.IsNot: "is not", gast.In: "in",
                gast.NotIn: "not in"}
# before Python 3.11, a tuple assigned to or looped over is written in parentheses, and a
# lambda without parameters as ``lambda : 1``
_TARGET = _TEST if sys.version_info < (3, 11) else _TUPLE
_BARE_LAMBDA = "lambda " if sys.version_info < (3, 11) else "lambda"
_INFINITY = "1e" + repr(sys.float_info.max_10_exp + 1)


class Unsupported(Exception):
    """A node this writer does not write: let ``ast.unparse`` write the function."""


def unparse(fn: gast.FunctionDef) -> Tuple[str, Dict[int, int], List[str]]:
    """The source of ``fn``, ``{id(statement): line}`` for each of its statements (``fn``
    on line 1), and the names it reads but never binds (its parameters and the names it
    assigns are bound), in the order the text first reads them. Raises ``Unsupported`` for code
    it does not write."""
    writer = _Writer()
    writer.function(fn)
    bound = writer.bound
    return "".join(writer.parts), writer.lines, [n for n in writer.loads if n not in bound]


class _Writer:
    def __init__(self):
        self.parts: List[str] = []
        self.line = 0
        self.lines: Dict[int, int] = {}
        self.loads: Dict[str, None] = {}
        self.bound: Set[str] = set()
        self.nested = False         # in a def inside the function
        self.signature = False      # in the function's own parameters: they are bound

    # -- statements ---------------------------------------------------------------------------
    def fill(self, indent: str, stmt=None, text: str = "") -> None:
        """Start a new line (for ``stmt``, when given) with ``text``."""
        if self.parts:
            self.parts.append("\n")
        self.line += 1
        if stmt is not None:
            self.lines[id(stmt)] = self.line
        self.parts.append(indent + text)

    def block(self, body, indent: str) -> None:
        """The statements of a body; ``pass`` for an empty one, so that no pass before this
        one has to leave a statement in every block it empties."""
        if not body:
            self.fill(indent, None, "pass")
            return
        statement = self.statement
        for stmt in body:
            statement(stmt, indent)

    def statement(self, stmt, indent: str) -> None:
        cls = stmt.__class__
        write = self.parts.append
        if cls is gast.Assign:
            if stmt.type_comment is not None:
                raise Unsupported("type comment")
            self.fill(indent, stmt)
            for target in stmt.targets:
                self.expr(target, _TARGET)
                write(" = ")
            self.expr(stmt.value, _TEST)
        elif cls is gast.Expr:
            self.fill(indent, stmt)
            self.expr(stmt.value, _YIELD)
        elif cls is gast.AugAssign:
            self.fill(indent, stmt)
            self.expr(stmt.target, _TEST)
            write(" " + _BINOPS[stmt.op.__class__][0] + "= ")
            self.expr(stmt.value, _TEST)
        elif cls is gast.Return:
            self.fill(indent, stmt, "return")
            if stmt.value:
                write(" ")
                self.expr(stmt.value, _TEST)
        elif cls is gast.If:
            self.clause(stmt, indent, "if ", stmt.test)
            # an else holding only an if is written as an elif, as ast.unparse does
            while stmt.orelse and len(stmt.orelse) == 1 and stmt.orelse[0].__class__ is gast.If:
                stmt = stmt.orelse[0]
                self.clause(stmt, indent, "elif ", stmt.test)
            self.orelse(stmt, indent)
        elif cls is gast.For:
            if stmt.type_comment is not None:
                raise Unsupported("type comment")
            self.fill(indent, stmt, "for ")
            self.expr(stmt.target, _TARGET)
            self.clause(stmt, indent, " in ", stmt.iter, new_line=False)
            self.orelse(stmt, indent)
        elif cls is gast.While:
            self.clause(stmt, indent, "while ", stmt.test)
            self.orelse(stmt, indent)
        elif cls is gast.FunctionDef:
            write("\n")             # ast.unparse leaves a blank line before a nested def
            self.line += 1
            nested, self.nested = self.nested, True
            self.function(stmt, indent)
            self.nested = nested
        elif cls is gast.Pass or cls is gast.Break or cls is gast.Continue:
            self.fill(indent, stmt, cls.__name__.lower())
        elif cls is gast.Raise:
            self.fill(indent, stmt, "raise")
            if stmt.exc:
                write(" ")
                self.expr(stmt.exc, _TEST)
                if stmt.cause:
                    write(" from ")
                    self.expr(stmt.cause, _TEST)
            elif stmt.cause:
                raise Unsupported("raise from without an exception")
        elif cls is gast.Delete:
            self.fill(indent, stmt, "del ")
            self.sequence(stmt.targets, _TEST)
        elif cls is gast.Assert:
            self.fill(indent, stmt, "assert ")
            self.expr(stmt.test, _TEST)
            if stmt.msg:
                write(", ")
                self.expr(stmt.msg, _TEST)
        elif cls is gast.Global or cls is gast.Nonlocal:
            self.fill(indent, stmt, cls.__name__.lower() + " " + ", ".join(stmt.names))
        else:
            raise Unsupported(cls.__name__)

    def clause(self, stmt, indent: str, keyword: str, test, new_line: bool = True) -> None:
        """``keyword test:`` and ``stmt``'s body below it."""
        if new_line:
            self.fill(indent, stmt, keyword)
        else:
            self.parts.append(keyword)
        self.expr(test, _TEST)
        self.parts.append(":")
        self.block(stmt.body, indent + "    ")

    def orelse(self, stmt, indent: str) -> None:
        if stmt.orelse:
            self.fill(indent, None, "else:")
            self.block(stmt.orelse, indent + "    ")

    def function(self, fn, indent: str = "") -> None:
        if fn.decorator_list or fn.returns or fn.type_comment is not None \
                or getattr(fn, "type_params", None):
            raise Unsupported("decorated or annotated def")
        self.fill(indent, fn, "def " + fn.name + "(")
        write = self.parts.append
        self.signature = not self.nested
        self.arguments(fn.args)
        self.signature = False
        write("):")
        body = fn.body
        inner = indent + "    "
        if body and body[0].__class__ is gast.Expr and body[0].value.__class__ is gast.Constant \
                and type(body[0].value.value) is str:
            self.docstring(body[0], inner)
            body = body[1:]
        self.block(body, inner)

    def docstring(self, stmt, indent: str) -> None:
        """A docstring in triple quotes, its text as it is: only text that ``ast.unparse``
        would write so (no backslash, quote at its end, or unprintable character)."""
        text = stmt.value.value
        if stmt.value.kind is not None or "\\" in text or '"""' in text \
                or text.endswith('"') \
                or not text.replace("\n", "").replace("\t", "").isprintable():
            raise Unsupported("docstring")
        self.fill(indent, stmt, '"""' + text + '"""')
        self.line += text.count("\n")

    def arguments(self, args) -> None:
        write = self.parts.append
        positional = args.posonlyargs + args.args
        defaults = [None] * (len(positional) - len(args.defaults)) + args.defaults
        first = True
        for i, (arg, default) in enumerate(zip(positional, defaults), 1):
            if not first:
                write(", ")
            first = False
            self.parameter(arg)
            if default:
                write("=")
                self.expr(default, _TEST)
            if i == len(args.posonlyargs):
                write(", /")
        if args.vararg or args.kwonlyargs:
            if not first:
                write(", ")
            first = False
            write("*")
            if args.vararg:
                self.parameter(args.vararg)
        for arg, default in zip(args.kwonlyargs, args.kw_defaults):
            write(", ")
            self.parameter(arg)
            if default:
                write("=")
                self.expr(default, _TEST)
        if args.kwarg:
            if not first:
                write(", ")
            write("**")
            self.parameter(args.kwarg)

    def parameter(self, arg) -> None:
        if arg.__class__ is not gast.Name:
            raise Unsupported(arg.__class__.__name__)
        self.parts.append(arg.id)
        if self.signature:
            self.bound.add(arg.id)
        if arg.annotation is not None:
            self.parts.append(": ")
            self.expr(arg.annotation, _TEST)

    # -- expressions --------------------------------------------------------------------------
    def expr(self, node, precedence: int) -> None:
        """Write ``node`` where an expression of at least ``precedence`` may stand
        (ast.unparse's precedence of the place), in parentheses if it binds more loosely."""
        cls = node.__class__
        write = self.parts.append
        if cls is gast.Name:
            write(node.id)
            context = node.ctx.__class__
            if context is gast.Store:
                self.bound.add(node.id)
            elif context is not gast.Param:
                self.loads[node.id] = None
        elif cls is gast.Constant:
            self.constant(node)
        elif cls is gast.BinOp:
            operator, own = _BINOPS[node.op.__class__]
            left, right = (own + 1, own) if own == _POWER else (own, own + 1)
            if own < precedence:
                write("(")
            self.expr(node.left, left)
            write(" " + operator + " ")
            self.expr(node.right, right)
            if own < precedence:
                write(")")
        elif cls is gast.Call:
            self.expr(node.func, _ATOM)
            write("(")
            first = True
            for arg in node.args:
                if not first:
                    write(", ")
                first = False
                self.expr(arg, _TEST)
            for keyword in node.keywords:
                if not first:
                    write(", ")
                first = False
                write("**" if keyword.arg is None else keyword.arg + "=")
                self.expr(keyword.value, _TEST)
            write(")")
        elif cls is gast.Attribute:
            self.expr(node.value, _ATOM)
            if node.value.__class__ is gast.Constant and isinstance(node.value.value, int):
                write(" ")          # 3 .real: 3.real would not parse
            write("." + node.attr)
        elif cls is gast.Subscript:
            self.expr(node.value, _ATOM)
            write("[")
            index = node.slice
            if index.__class__ is gast.Tuple and index.elts:
                if any(e.__class__ is gast.Starred for e in index.elts):
                    raise Unsupported("starred index")
                self.items(index.elts)
            else:
                self.expr(index, _TEST)
            write("]")
        elif cls is gast.Tuple:
            parenthesized = not node.elts or precedence > _TUPLE
            if parenthesized:
                write("(")
            self.items(node.elts)
            if parenthesized:
                write(")")
        elif cls is gast.List:
            write("[")
            self.sequence(node.elts, _TEST)
            write("]")
        elif cls is gast.Slice:
            if node.lower:
                self.expr(node.lower, _TEST)
            write(":")
            if node.upper:
                self.expr(node.upper, _TEST)
            if node.step:
                write(":")
                self.expr(node.step, _TEST)
        elif cls in _OPERATIONS:
            own = _PRECEDENCE[cls](node)
            if own < precedence:
                write("(")
                _OPERATIONS[cls](self, node, own)
                write(")")
            else:
                _OPERATIONS[cls](self, node, own)
        elif cls is gast.Starred:
            write("*")
            self.expr(node.value, _BOR)
        elif cls is gast.Dict:
            write("{")
            for i, (key, value) in enumerate(zip(node.keys, node.values)):
                if i:
                    write(", ")
                if key is None:
                    write("**")
                    self.expr(value, _BOR)
                else:
                    self.expr(key, _TEST)
                    write(": ")
                    self.expr(value, _TEST)
            write("}")
        else:
            raise Unsupported(cls.__name__)

    def unary(self, node, own: int) -> None:
        self.parts.append("not " if own == _NOT else _UNARY[node.op.__class__])
        self.expr(node.operand, own)

    def compare(self, node, own: int) -> None:
        self.expr(node.left, own + 1)
        for op, right in zip(node.ops, node.comparators):
            self.parts.append(" " + _COMPARISONS[op.__class__] + " ")
            self.expr(right, own + 1)

    def bool_op(self, node, own: int) -> None:
        operator = " and " if own == _AND else " or "
        for i, value in enumerate(node.values):
            if i:
                self.parts.append(operator)
            self.expr(value, own + 1 + i)   # as ast.unparse: tighter at each operand

    def if_else(self, node, own: int) -> None:
        self.expr(node.body, own + 1)
        self.parts.append(" if ")
        self.expr(node.test, own + 1)
        self.parts.append(" else ")
        self.expr(node.orelse, own)

    def lambda_(self, node, own: int) -> None:
        args = node.args
        if args.posonlyargs or args.args or args.vararg or args.kwonlyargs or args.kwarg:
            self.parts.append("lambda ")
            self.arguments(args)
        else:
            self.parts.append(_BARE_LAMBDA)
        self.parts.append(": ")
        self.expr(node.body, own)

    def items(self, elts) -> None:
        """Tuple items: a single one takes a trailing comma."""
        self.sequence(elts, _TEST)
        if len(elts) == 1:
            self.parts.append(",")

    def sequence(self, elts, precedence: int) -> None:
        write = self.parts.append
        for i, elt in enumerate(elts):
            if i:
                write(", ")
            self.expr(elt, precedence)

    def constant(self, node) -> None:
        value = node.value
        kind = type(value)
        if kind is float or kind is complex:
            self.parts.append(repr(value).replace("inf", _INFINITY)
                              .replace("nan", f"({_INFINITY}-{_INFINITY})"))
        elif kind is int or kind is bool or value is None or kind is str or kind is bytes:
            if node.kind is not None:
                raise Unsupported("u-string")
            self.parts.append(repr(value))
        elif value is ...:
            self.parts.append("...")
        else:
            raise Unsupported(kind.__name__)


# operations that may need parentheses, other than binary operators: their writers and how
# tightly they bind
_OPERATIONS = {gast.UnaryOp: _Writer.unary, gast.Compare: _Writer.compare,
               gast.BoolOp: _Writer.bool_op, gast.IfExp: _Writer.if_else,
               gast.Lambda: _Writer.lambda_}
_PRECEDENCE = {gast.UnaryOp: lambda node: _NOT if node.op.__class__ is gast.Not else _FACTOR,
               gast.Compare: lambda node: _CMP,
               gast.BoolOp: lambda node: _AND if node.op.__class__ is gast.And else _OR,
               gast.IfExp: lambda node: _TEST, gast.Lambda: lambda node: _TEST}
