"""Parse the `Genotype(normal=[...], normal_concat=range(2, 6), ...)` text DARTS-family code prints.

Safety: the text is parsed with `ast.parse` into a syntax tree and only a whitelist of node types is
*read* (calls to `Genotype` / `range`, lists, tuples, string and integer literals). Nothing in the
input is ever evaluated or executed.
"""
from __future__ import annotations

import ast
import re
from typing import Any

from genocompile.errors import GenotypeError

_START = re.compile(r"(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*)?Genotype\s*\(")


def _literal(node: ast.AST, where: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) is int:
        return -node.operand.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e, where) for e in node.elts]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("range", "list") \
            and not node.keywords:
        args = [_literal(a, where) for a in node.args]
        if node.func.id == "list" and len(args) == 1 and isinstance(args[0], list):
            return args[0]
        if node.func.id == "range" and 1 <= len(args) <= 3 and all(isinstance(a, int) for a in args):
            return list(range(*args))
    raise GenotypeError(f"DARTS genotype text, {where}: only lists, tuples, strings, integers and range(a, b) "
                        f"are accepted, found `{ast.unparse(node)[:60]}`")


def _matching_paren(text: str, open_index: int) -> int:
    depth, quote = 0, None
    for i in range(open_index, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    raise GenotypeError("DARTS genotype text: unbalanced parentheses; paste the whole Genotype(...) line")


def parse_darts_text(text: str) -> tuple[str | None, dict[str, Any]]:
    """Return (name if assigned as `NAME = Genotype(...)`, the genotype's keyword fields)."""
    match = _START.search(text)
    if not match:
        raise GenotypeError("DARTS genotype text: no `Genotype(` found; give JSON or the Genotype(...) line "
                            "from a DARTS log")
    end = _matching_paren(text, match.end() - 1)
    source = "Genotype(" + text[match.end():end + 1]
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as e:
        raise GenotypeError(f"DARTS genotype text: not valid syntax ({e.msg}); paste the whole "
                            f"Genotype(...) line") from None
    call = tree.body
    assert isinstance(call, ast.Call)
    if call.args:
        raise GenotypeError("DARTS genotype text: give the fields by name, as "
                            "Genotype(normal=[...], normal_concat=..., reduce=[...], reduce_concat=...)")
    fields: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise GenotypeError("DARTS genotype text: `**` is not accepted; write each field by name")
        fields[kw.arg] = _literal(kw.value, kw.arg)
    return (match.group("name"), fields)
