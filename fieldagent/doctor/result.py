"""What one check found: a record the renderer puts into words, the tests read by code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum

EXIT_CONFIG = 78
"""The station file cannot be used (as every other command exits on it)."""


class Status(IntEnum):
    """A check's outcome; its value is the exit code when it is the worst one."""

    PASS = 0
    WARN = 1
    FAIL = 2


@dataclass(frozen=True)
class Finding:
    """One row of the report.

    `check` names what was checked (a key of `texts.CHECKS`), `subject` which
    instance of it (a file, a port, a device id; '' when there is one), `code`
    the outcome's text in `texts.MESSAGES`, `params` the values its words need.
    Nothing secret is ever put in `params`.
    """

    check: str
    subject: str
    status: Status
    code: str
    params: Mapping[str, str] = field(default_factory=dict)


def finding(check: str, subject: str, status: Status, code: str, **params: object) -> Finding:
    """A `Finding` with its parameters as text."""
    return Finding(check, subject, status, code, {k: str(v) for k, v in params.items()})


def worst(findings: Iterable[Finding]) -> Status:
    return max((f.status for f in findings), default=Status.PASS)
