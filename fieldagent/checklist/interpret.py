"""Evaluate a parsed condition: put the values in, then compute the allowed forms.

Evaluation is two steps so every result carries its evidence: first each
reference (metric, `nominal.KEY`, limit function, `increase(KEY)`) becomes the
constant it stands for, which `ast.unparse` shows as the evaluated expression
(`abs(1850.0 - 2000.0) <= 0.1 * 2000.0`); then the tree, now made of constants
and operators only, is computed by a small interpreter.  Only the forms
`expr.parse_condition` allowed can reach here, and nothing is ever `eval`ed.
"""

from __future__ import annotations

import ast
import copy
import math
import operator
from collections.abc import Callable
from typing import Any, Protocol

from fieldagent.checklist.expr import (
    CONSTANTS,
    HISTORY_FUNCTIONS,
    LIMIT_FUNCTIONS,
    Condition,
    dotted_name,
)


class Unavailable(Exception):
    """A value the condition needs is not there (a bad reading, a missing limit)."""


class CannotEvaluate(Exception):
    """The values do not fit the condition (text compared with a number, a division by 0)."""


class Values(Protocol):
    """Where a condition's references get their values, for one device (or row)."""

    def metric(self, key: str) -> Any: ...
    def nominal(self, key: str) -> float: ...
    def limit(self, function: str, key: str) -> float: ...
    def increase(self, key: str) -> float: ...


def evaluate(condition: Condition, values: Values) -> tuple[bool, str]:
    """The condition's truth and the expression with its values put in.

    Raises Unavailable when a value is missing, CannotEvaluate when the values
    do not fit.
    """
    substituted = _Substitute(values).visit(copy.deepcopy(condition.tree))  # the tree is shared
    text = ast.unparse(substituted)
    try:
        result = _compute(substituted.body)
    except (TypeError, ZeroDivisionError, ValueError, OverflowError) as exc:
        raise CannotEvaluate(f"{text}: {exc}") from None
    if not isinstance(result, bool):
        raise CannotEvaluate(f"{text} is {result!r}, not true or false")
    return result, text


class _Substitute(ast.NodeTransformer):
    def __init__(self, values: Values) -> None:
        self._values = values

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return self._reference(node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        return self._reference(node)

    def _reference(self, node: ast.Name | ast.Attribute) -> ast.AST:
        name = dotted_name(node)
        assert name is not None  # parse_condition allows no other attribute access
        if name in CONSTANTS:
            return ast.Constant(CONSTANTS[name])
        if name.startswith("nominal."):
            return ast.Constant(self._values.nominal(name.removeprefix("nominal.")))
        return ast.Constant(self._values.metric(name))

    def visit_Call(self, node: ast.Call) -> ast.AST:
        function = node.func.id if isinstance(node.func, ast.Name) else ""
        if function in LIMIT_FUNCTIONS | HISTORY_FUNCTIONS:
            key = dotted_name(node.args[0])
            assert key is not None
            if function in HISTORY_FUNCTIONS:
                return ast.Constant(self._values.increase(key))
            return ast.Constant(self._values.limit(function, key))
        node.args = [self.visit(arg) for arg in node.args]
        return node


_BINARY: dict[type[ast.AST], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_COMPARE: dict[type[ast.AST], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_MATH: dict[str, Callable[..., Any]] = {"abs": abs, "min": min, "max": max}


def _compute(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple | ast.List):
        return tuple(_compute(e) for e in node.elts)
    if isinstance(node, ast.BoolOp):
        return _boolean(node)
    if isinstance(node, ast.UnaryOp):
        value = _compute(node.operand)
        if isinstance(node.op, ast.Not):
            return not _truth(value)
        _number(value)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left, right = _number(_compute(node.left)), _number(_compute(node.right))
        return _bounded(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.Compare):
        return _comparison(node)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _MATH[node.func.id](*(_number(_compute(a)) for a in node.args))
    raise TypeError(f"cannot compute {ast.unparse(node)}")


def _boolean(node: ast.BoolOp) -> bool:
    is_and = isinstance(node.op, ast.And)
    for operand in node.values:
        if _truth(_compute(operand)) is not is_and:
            return not is_and
    return is_and


def _comparison(node: ast.Compare) -> bool:
    left = _compute(node.left)
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        right = _compute(right_node)
        if not isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn):
            _number(left)
            _number(right)
        if not _COMPARE[type(op)](left, right):
            return False
        left = right
    return True


def _bounded(value: float) -> float:
    """An arithmetic result a float can hold, or an error.

    Readings may be whole numbers (64-bit counters), which Python multiplies
    without limit; bounding every step keeps a condition's cost and results
    finite (no inf, no nan silently failing a comparison).
    """
    try:
        finite = math.isfinite(value)
    except OverflowError:  # a whole number beyond any float
        finite = False
    if not finite:
        raise ValueError("a result is beyond the range of numbers")
    return value


def _truth(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{value!r} is not true or false")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{value!r} is not a number")
    return value
