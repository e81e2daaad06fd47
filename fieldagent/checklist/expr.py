"""Checklist conditions: a small, safe expression language over a device's readings.

A condition is a Python-like expression parsed with `ast` and checked against a
short list of allowed forms; nothing is ever passed to `eval`.  It reads:

- readings by their metric key, as written in the drivers: `rf.vswr`,
  `ups.battery.charge_pct` (a table metric such as `ird.locked` means every row);
- `nominal.KEY`: the nominal value the station file gives for the device;
- limit functions `warn_high(KEY)`, `warn_low(KEY)`, `crit_high(KEY)`,
  `crit_low(KEY)`: the device's effective alarm limits;
- `increase(KEY)` (readiness items only): how much a counter grew in the
  item's `within_days`;
- numbers, strings, `true`/`false`, `and`, `or`, `not`, comparisons,
  `in` / `not in` a list of constants (`ups.output.source in ("normal", "booster")`),
  `+ - * /`, `abs`, `min`, `max`.

Parsing returns what the condition refers to, so a checklist can be checked
against the drivers and the station file before it ever runs.  It also bounds
what a condition may cost: its length (before Python's parser sees it: 5,000
`not`s exhaust the parser's recursion, a long chain of `-` its memory), the
nesting of its tree (every later step walks it recursively) and the size of
its numbers, so a file that loads also runs.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

LIMIT_FUNCTIONS = frozenset({"warn_high", "warn_low", "crit_high", "crit_low"})
HISTORY_FUNCTIONS = frozenset({"increase"})
MATH_FUNCTIONS = frozenset({"abs", "min", "max"})
CONSTANTS = {"true": True, "false": False}

MAX_LENGTH = 500
"""Characters in a condition; the longest built-in one has under 100."""
MAX_DEPTH = 32
"""Levels of nesting of operations, calls and names (`rf.vswr < 2`: 3, the compare, the
attribute `.vswr`, the name `rf`); the built-in conditions need at most 6."""
MAX_NUMBER = 1e15
"""Largest number written in a condition; up to it, every whole number is exact as a float."""

_OPERATORS = (
    ast.And,
    ast.Or,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
)
_DESCRIBED = {
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.Attribute: "attribute access",
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Is: "'is'",
    ast.IsNot: "'is not'",
}


class ExpressionError(ValueError):
    """A condition that is not allowed, with the column at fault (1-based)."""


@dataclass(frozen=True)
class Condition:
    """A parsed condition and everything it refers to."""

    text: str
    tree: ast.Expression
    metrics: frozenset[str]
    """Metric keys read directly or through a limit or history function."""
    nominals: frozenset[str]
    """Metric keys whose nominal value the station file must give."""
    limits: frozenset[tuple[str, str]]
    """(function, metric key) pairs."""
    history: frozenset[str]
    """Metric keys whose increase over the item's window is needed."""


def parse_condition(text: str) -> Condition:
    """Parse and check a condition; ExpressionError says what is wrong and where."""
    if len(text.strip()) > MAX_LENGTH:
        raise ExpressionError(
            f"{len(text.strip())} characters: a condition has at most {MAX_LENGTH}"
            " (split it into items)"
        )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError) as exc:  # ValueError: an integer of over 4300 digits
        raise ExpressionError(f"column {getattr(exc, 'offset', None) or 1}: {exc}") from None
    _check_depth(tree.body)
    refs = _References(text.strip())
    refs.visit_node(tree.body)
    return Condition(
        text,
        tree,
        frozenset(refs.metrics),
        frozenset(refs.nominals),
        frozenset(refs.limits),
        frozenset(refs.history),
    )


def _check_depth(root: ast.expr) -> None:
    """Refuse a tree nested deeper than MAX_DEPTH, walking it without recursion."""
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _error(
                node, f"nested too deep: more than {MAX_DEPTH} levels (split it into items)"
            )
        children = ast.iter_child_nodes(node)
        stack += [(child, depth + 1) for child in children if isinstance(child, ast.expr)]


def shown(text: str, width: int = 60) -> str:
    """A condition quoted for a message, cut short when long: a message names it, not repeats it."""
    if len(text) <= width:
        return repr(text)
    return f"{text[:width]!r}…"


def dotted_name(node: ast.expr) -> str | None:
    """`a.b.c` as "a.b.c" (a metric key), or None for anything else."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class _References:
    def __init__(self, text: str) -> None:
        self.text = text
        self.metrics: set[str] = set()
        self.nominals: set[str] = set()
        self.limits: set[tuple[str, str]] = set()
        self.history: set[str] = set()

    def visit_node(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                raise _error(node, f"write {str(node.value).lower()}, not {node.value}")
            if not isinstance(node.value, int | float | str):
                raise _error(node, f"the constant {node.value!r} is not allowed")
            if isinstance(node.value, int | float) and not abs(node.value) <= MAX_NUMBER:
                written = ast.get_source_segment(self.text, node) or repr(node.value)
                raise _error(
                    node, f"the number {shown(written, 20)} is too large: at most {MAX_NUMBER:g}"
                )
            return
        if isinstance(node, ast.Name | ast.Attribute):
            self._name(node)
            return
        if isinstance(node, ast.Call):
            self._call(node)
            return
        if isinstance(node, ast.Compare) and any(
            isinstance(o, ast.In | ast.NotIn) for o in node.ops
        ):
            self._membership(node)
            return
        if isinstance(node, ast.BoolOp | ast.UnaryOp | ast.BinOp | ast.Compare):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.operator | ast.boolop | ast.unaryop | ast.cmpop):
                    if not isinstance(child, _OPERATORS):
                        raise _error(node, f"{_what(child)} is not allowed")
                else:
                    self.visit_node(child)
            return
        raise _error(node, f"{_what(node)} is not allowed")

    def _membership(self, node: ast.Compare) -> None:
        """`x in (a, b)`: one test, against a tuple or list of constants."""
        (choices,) = node.comparators if len(node.ops) == 1 else (None,)
        if not isinstance(choices, ast.Tuple | ast.List) or not all(
            isinstance(e, ast.Constant) for e in choices.elts
        ):
            raise _error(node, '\'in\' takes a list of constants: x in ("a", "b")')
        self.visit_node(node.left)
        for element in choices.elts:
            self.visit_node(element)

    def _name(self, node: ast.Name | ast.Attribute) -> None:
        name = dotted_name(node)
        if name is None:
            raise _error(node, "attribute access is only for metric keys (a.b.c)")
        if name in CONSTANTS:
            return
        if name.startswith("nominal."):
            self.nominals.add(name.removeprefix("nominal."))
        elif name in LIMIT_FUNCTIONS | HISTORY_FUNCTIONS | MATH_FUNCTIONS:
            raise _error(node, f"{name} is a function: {name}(KEY)")
        else:
            self.metrics.add(name)

    def _call(self, node: ast.Call) -> None:
        function = node.func.id if isinstance(node.func, ast.Name) else None
        if node.keywords:
            raise _error(node, "keyword arguments are not allowed")
        if function in MATH_FUNCTIONS:
            if not node.args or (function == "abs" and len(node.args) != 1):
                raise _error(
                    node, f"{function}() takes {'one' if function == 'abs' else 'some'} argument"
                )
            for arg in node.args:
                self.visit_node(arg)
            return
        if function in LIMIT_FUNCTIONS | HISTORY_FUNCTIONS:
            key = dotted_name(node.args[0]) if len(node.args) == 1 else None
            if key is None or key.startswith("nominal."):
                raise _error(node, f"{function}() takes one metric key, e.g. {function}(rf.vswr)")
            self.metrics.add(key)
            if function in HISTORY_FUNCTIONS:
                self.history.add(key)
            else:
                self.limits.add((function, key))
            return
        known = ", ".join(sorted(LIMIT_FUNCTIONS | HISTORY_FUNCTIONS | MATH_FUNCTIONS))
        raise _error(node, f"unknown function {ast.unparse(node.func)!r} (known: {known})")


def _what(node: ast.AST) -> str:
    return _DESCRIBED.get(type(node), type(node).__name__)


def _error(node: ast.AST, message: str) -> ExpressionError:
    column = getattr(node, "col_offset", 0) + 1
    return ExpressionError(f"column {column}: {message}")


def increase_as_lower_bound(condition: Condition) -> bool:
    """Whether every `increase(KEY)` is the left side of `>=` or `>`, alone.

    A history younger than the item's window only bounds the increase from
    below, so a condition may ask for at least so much growth, never at most
    (nor negate such a test).
    """
    calls = [
        node
        for node in ast.walk(condition.tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in HISTORY_FUNCTIONS
    ]
    minimums = [
        node.left
        for node in ast.walk(condition.tree)
        if isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.GtE | ast.Gt)
    ]
    negated = {
        id(inner)
        for node in ast.walk(condition.tree)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
        for inner in ast.walk(node.operand)
    }
    return all(any(call is left for left in minimums) and id(call) not in negated for call in calls)
