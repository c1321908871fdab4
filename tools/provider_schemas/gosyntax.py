"""A small reader of Go composite literals, enough for provider schema declarations.

It does not type-check or evaluate Go: it tokenizes the source and parses expressions into
plain nodes (composite literals, calls, names, strings), so that the generator can read a
Terraform schema declaration (`map[string]*schema.Schema{...}` of the plugin SDK or
`schema.Schema{Attributes: ...}` of the plugin framework) the way a reviewer reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<raw>`[^`]*`)
  | (?P<str>"(?:\\.|[^"\\])*")
  | (?P<rune>'(?:\\.|[^'\\])+')
  | (?P<num>\d[\w.]*)
  | (?P<name>[A-Za-z_][\w]*)
  | (?P<op>:=|\.\.\.|&&|\|\||==|!=|<=|>=|<-|[-+*/%&|^<>=!.,;:(){}\[\]~])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Tok:
    kind: str
    text: str


def tokenize(source: str) -> list[Tok]:
    tokens: list[Tok] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise ValueError(f"cannot tokenize at {source[pos:pos + 40]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind == "ws":
            continue
        text = match.group()
        if kind == "raw":
            kind, text = "str", text[1:-1]
        elif kind == "str":
            text = bytes(text[1:-1], "utf-8").decode("unicode_escape")
        tokens.append(Tok(kind, text))
    return tokens


@dataclass
class Node:
    """One parsed expression.

    kind: ``composite`` (type, items), ``call`` (name, args), ``name``, ``str``, ``num``,
    ``func`` (the expression of its first ``return``), ``other`` (anything else).
    """

    kind: str
    name: str = ""
    value: str = ""
    items: list[tuple[Node | None, Node]] = field(default_factory=list)
    args: list[Node] = field(default_factory=list)
    ret: Node | None = None

    def field(self, key: str) -> Node | None:
        for k, v in self.items:
            if k is not None and k.kind == "name" and k.name == key:
                return v
        return None

    def flag(self, key: str) -> bool:
        value = self.field(key)
        return value is not None and value.kind == "name" and value.name == "true"


class Parser:
    def __init__(self, tokens: list[Tok]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self, ahead: int = 0) -> Tok | None:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else None

    def next(self) -> Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def at(self, text: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.text == text and tok.kind in ("op", "name")

    def expect(self, text: str) -> None:
        tok = self.next()
        if tok.text != text:
            raise ValueError(f"expected {text!r}, got {tok.text!r}")

    def skip_balanced(self, open_: str, close: str) -> None:
        self.expect(open_)
        depth = 1
        while depth:
            tok = self.next()
            if tok.kind == "op" and tok.text == open_:
                depth += 1
            elif tok.kind == "op" and tok.text == close:
                depth -= 1

    def type_expr(self) -> str:
        """A type as text: map[K]V, []T, *T, pkg.T, pkg.T[U]."""
        parts: list[str] = []
        while True:
            tok = self.peek()
            if tok is None:
                break
            if tok.text in ("*", "&"):
                parts.append(self.next().text)
            elif tok.text == "[":
                start = self.i
                self.skip_balanced("[", "]")
                parts.append("".join(t.text for t in self.toks[start : self.i]))
                if parts[-1] != "[]" and not parts[-1].startswith("[") :
                    break
            elif tok.text == "map":
                self.next()
                start = self.i
                self.skip_balanced("[", "]")
                parts.append("map" + "".join(t.text for t in self.toks[start : self.i]))
            elif tok.kind == "name":
                parts.append(self.qualified())
                if self.at("["):  # generic instantiation
                    start = self.i
                    self.skip_balanced("[", "]")
                    parts.append("".join(t.text for t in self.toks[start : self.i]))
                break
            else:
                break
        return "".join(parts)

    def qualified(self) -> str:
        name = self.next().text
        while self.at(".") and self.peek(1) is not None and self.peek(1).kind == "name":  # type: ignore[union-attr]
            self.next()
            name += "." + self.next().text
        return name

    def expr(self) -> Node:
        node = self.unary()
        while True:
            tok = self.peek()
            if tok is not None and tok.kind == "op" and tok.text in {"+", "-", "*", "/", "|", "&&", "||", "==", "!=", "<", ">", "<=", ">=", "%"}:
                op = self.next().text
                right = self.unary()
                node = Node("binop", value=op, args=[node, right])
            else:
                return node

    def unary(self) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.text in ("&", "-", "!", "*"):
            self.next()
            return self.unary()
        return self.primary()

    def primary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise ValueError("unexpected end")
        if tok.kind == "str":
            self.next()
            return Node("str", value=tok.text)
        if tok.kind == "num":
            self.next()
            return Node("num", value=tok.text)
        if tok.text == "func" and tok.kind == "name":
            return self.func_lit()
        if tok.text in ("map", "[", "*"):
            type_name = self.type_expr()
            if self.at("{"):
                return self.composite(type_name)
            return Node("other", name=type_name)
        if tok.text == "(":
            self.skip_balanced("(", ")")
            return Node("other")
        if tok.text == "{":  # elided type inside a composite
            return self.composite("")
        if tok.kind == "name":
            name = self.qualified()
            generic = ""
            if self.at("["):
                start = self.i
                self.skip_balanced("[", "]")
                generic = "".join(t.text for t in self.toks[start : self.i])
            node = Node("name", name=name, value=generic)
            while True:
                if self.at("("):
                    node = self.call(node)
                elif self.at("{"):
                    node = self.composite(name + generic)
                elif self.at(".") and self.peek(1) is not None and self.peek(1).kind == "name":  # type: ignore[union-attr]
                    self.next()
                    method = self.next().text
                    node = Node("name", name=f"{node.name}().{method}" if node.kind == "call" else f"{node.name}.{method}", args=node.args)
                elif self.at("["):
                    self.skip_balanced("[", "]")
                else:
                    return node
        raise ValueError(f"unexpected token {tok.text!r}")

    def call(self, callee: Node) -> Node:
        self.expect("(")
        args: list[Node] = []
        while not self.at(")"):
            args.append(self.expr())
            if self.at("..."):
                self.next()
            if self.at(","):
                self.next()
        self.expect(")")
        return Node("call", name=callee.name, value=callee.value, args=args)

    def composite(self, type_name: str) -> Node:
        self.expect("{")
        items: list[tuple[Node | None, Node]] = []
        while not self.at("}"):
            first = self.expr()
            if self.at(":"):
                self.next()
                items.append((first, self.expr()))
            else:
                items.append((None, first))
            if self.at(","):
                self.next()
        self.expect("}")
        return Node("composite", name=type_name, items=items)

    def func_lit(self) -> Node:
        self.expect("func")
        self.skip_balanced("(", ")")
        while not self.at("{"):  # result types
            if self.at("("):
                self.skip_balanced("(", ")")
            elif self.at("["):
                self.skip_balanced("[", "]")
            else:
                self.next()
        body_start = self.i
        self.skip_balanced("{", "}")
        body_end = self.i
        ret = find_return(self.toks[body_start:body_end])
        return Node("func", ret=ret)


def find_return(tokens: list[Tok]) -> Node | None:
    """The first ``return`` of a function body, outside nested blocks and closures."""
    depth = 0
    for index, tok in enumerate(tokens):
        if tok.kind == "op" and tok.text == "{":
            depth += 1
        elif tok.kind == "op" and tok.text == "}":
            depth -= 1
        elif tok.kind == "name" and tok.text == "return" and depth <= 1:
            try:
                return Parser(tokens[index + 1 :]).expr()
            except (ValueError, IndexError):
                continue
    return None


def find_composites(source: str, type_name: str) -> list[Node]:
    """Every composite literal of ``type_name`` in ``source`` (outermost first)."""
    tokens = tokenize(source)
    found: list[Node] = []
    for index in range(len(tokens) - 1):
        if tokens[index].text == type_name.split(".")[-1] and tokens[index + 1].text == "{":
            start = index
            parts = type_name.split(".")
            if len(parts) == 2:
                if index < 2 or tokens[index - 1].text != "." or tokens[index - 2].text != parts[0]:
                    continue
                start = index - 2
            parser = Parser(tokens[start:])
            try:
                found.append(parser.expr())
            except (ValueError, IndexError):
                continue
    return found


def function_return(source: str, func_name: str) -> Node | None:
    """The expression that function ``func_name`` in ``source`` returns first."""
    tokens = tokenize(source)
    for index in range(len(tokens) - 1):
        if tokens[index].text == "func" and tokens[index + 1].text == func_name:
            parser = Parser(tokens[index + 2 :])
            if parser.at("["):
                parser.skip_balanced("[", "]")
            parser.skip_balanced("(", ")")
            while not parser.at("{"):
                if parser.at("("):
                    parser.skip_balanced("(", ")")
                elif parser.at("["):
                    parser.skip_balanced("[", "]")
                else:
                    parser.next()
            start = parser.i
            parser.skip_balanced("{", "}")
            return find_return(parser.toks[start : parser.i])
    return None
