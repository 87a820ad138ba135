"""Evaluate the subset of CEL that kfp emits for ``dsl.If`` / ``dsl.Elif`` / ``dsl.Else`` conditions.

kfp compiles ``dsl.If(n > 2)`` to ``int(inputs.parameter_values['pipelinechannel--n']) > 2`` and an
``Elif``/``Else`` to the conjunction of the negated earlier branches, e.g.
``!(x == 1) && inputs.parameter_values['pipelinechannel--msg'] == 'bye'``. The grammar handled here:

    expr    := and ('||' and)*
    and     := rel ('&&' rel)*
    rel     := unary (('=='|'!='|'<'|'<='|'>'|'>=') unary)?
    unary   := '!' unary | '-' unary | postfix
    postfix := primary ('.' NAME | '[' expr ']' | '(' args ')')*
    primary := STRING | NUMBER | true | false | null | NAME | '(' expr ')'

with the functions ``int``, ``double``, ``string``, ``bool`` and ``size``, and one variable, ``inputs``,
whose ``parameter_values`` maps a condition group's input names to their values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from local_runner.errors import ConditionError

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<num>\d+\.\d*(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?|\.\d+)
      | (?P<op>==|!=|<=|>=|&&|\|\||[<>!()\[\].,\-])
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ConditionError(
                f"condition {text!r}: cannot parse at position {pos}: {text[pos : pos + 20]!r}"
            )
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _to_int(v: Any) -> int:
    if isinstance(v, bool):
        raise ConditionError(f"int() of a boolean {v!r}")
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v)
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            raise ConditionError(f"int() of a non-integer string {v!r}") from None
    raise ConditionError(f"int() of {v!r}")


def _to_double(v: Any) -> float:
    if isinstance(v, bool):
        raise ConditionError(f"double() of a boolean {v!r}")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ConditionError(f"double() of {v!r}") from None


def _to_string(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _to_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v in ("true", "false"):
        return v == "true"
    raise ConditionError(f"bool() of {v!r}")


_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "int": _to_int,
    "double": _to_double,
    "string": _to_string,
    "bool": _to_bool,
    "size": len,
}


def _compare(op: str, a: Any, b: Any) -> bool:
    num = (int, float)
    comparable = (
        (isinstance(a, num) and not isinstance(a, bool) and isinstance(b, num) and not isinstance(b, bool))
        or (isinstance(a, str) and isinstance(b, str))
        or (isinstance(a, bool) and isinstance(b, bool))
    )
    if op in ("==", "!="):
        if not comparable and a is not None and b is not None and type(a) is not type(b):
            raise ConditionError(f"cannot compare {a!r} ({type(a).__name__}) with {b!r} ({type(b).__name__})")
        return (a == b) if op == "==" else (a != b)
    if not comparable or isinstance(a, bool):
        raise ConditionError(f"cannot order {a!r} and {b!r} with {op}")
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


class _Parser:
    def __init__(self, text: str, variables: dict[str, Any]) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.vars = variables

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise ConditionError(f"condition {self.text!r}: expected {value or 'more input'}, got {tok}")
        self.pos += 1
        return tok

    def at(self, *values: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "op" and tok[1] in values

    # Evaluation is eager; every operand is a plain value, so short-circuiting is not needed for safety.
    def expr(self) -> Any:
        value = self.conj()
        while self.at("||"):
            self.take()
            rhs = self.conj()
            value = bool(value) or bool(rhs)
        return value

    def conj(self) -> Any:
        value = self.rel()
        while self.at("&&"):
            self.take()
            rhs = self.rel()
            value = bool(value) and bool(rhs)
        return value

    def rel(self) -> Any:
        lhs = self.unary()
        if self.at("==", "!=", "<", "<=", ">", ">="):
            op = self.take()[1]
            return _compare(op, lhs, self.unary())
        return lhs

    def unary(self) -> Any:
        if self.at("!"):
            self.take()
            v = self.unary()
            if not isinstance(v, bool):
                raise ConditionError(f"condition {self.text!r}: '!' applied to non-boolean {v!r}")
            return not v
        if self.at("-"):
            self.take()
            v = self.unary()
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ConditionError(f"condition {self.text!r}: '-' applied to {v!r}")
            return -v
        return self.postfix()

    def postfix(self) -> Any:
        tok = self.peek()
        if tok and tok[0] == "name" and tok[1] in _FUNCTIONS:
            fname = self.take()[1]
            self.take("(")
            arg = self.expr()
            self.take(")")
            value = _FUNCTIONS[fname](arg)
        else:
            value = self.primary()
        while self.at(".", "["):
            if self.take()[1] == ".":
                kind, attr = self.take()
                if kind != "name" or not isinstance(value, dict) or attr not in value:
                    raise ConditionError(f"condition {self.text!r}: no field {attr!r}")
                value = value[attr]
            else:
                key = self.expr()
                self.take("]")
                try:
                    value = value[key]
                except (KeyError, IndexError, TypeError):
                    raise ConditionError(
                        f"condition {self.text!r}: no value for [{key!r}] (an input of the condition "
                        "that was not produced?)"
                    ) from None
        return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return _unquote(text)
        if kind == "num":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "name":
            if text in ("true", "false"):
                return text == "true"
            if text == "null":
                return None
            if text in self.vars:
                return self.vars[text]
            raise ConditionError(f"condition {self.text!r}: unknown name {text!r}")
        if text == "(":
            value = self.expr()
            self.take(")")
            return value
        raise ConditionError(f"condition {self.text!r}: unexpected {text!r}")


def evaluate(condition: str, parameter_values: dict[str, Any]) -> bool:
    """Evaluate a kfp trigger-policy condition against a condition group's input parameter values.

    Raises:
        ConditionError: the text is outside the supported CEL subset, or the types do not match.
    """
    parser = _Parser(condition, {"inputs": {"parameter_values": parameter_values}})
    value = parser.expr()
    if parser.peek() is not None:
        raise ConditionError(f"condition {condition!r}: unexpected trailing {parser.peek()}")
    if not isinstance(value, bool):
        raise ConditionError(f"condition {condition!r} evaluates to {value!r}, not a boolean")
    return value
