"""The report laid out: a text table per language (Vietnamese first), or JSON.

Each row: the result, what was checked (and which one), what was found, and
for a warning or a failure what to do next on the line under it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fieldagent.doctor.result import Finding, Status, worst
from fieldagent.doctor.texts import CHECKS, HEADINGS, LANGS, MESSAGES, STATUS, Lang


class _Params(dict[str, str]):
    """A template's values; a value the finding did not give shows as its own name."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, params: Mapping[str, str]) -> str:
    return template.format_map(_Params(params))


def result_text(item: Finding, lang: Lang) -> str:
    return _fill(MESSAGES[item.code].result.get(lang), item.params)


def fix_text(item: Finding, lang: Lang) -> str | None:
    fix = MESSAGES[item.code].fix
    if fix is None or item.status is Status.PASS:
        return None
    return _fill(fix.get(lang), item.params)


def what(item: Finding, lang: Lang) -> str:
    title = CHECKS[item.check].get(lang)
    return f"{title} {item.subject}" if item.subject else title


def render_text(
    findings: Sequence[Finding], station: str, path: str, code: int, langs: Sequence[Lang] = LANGS
) -> str:
    """One table per language, each closed by its summary line."""
    blocks = [_table(findings, station, path, code, lang) for lang in langs]
    return "\n\n".join(blocks) + "\n"


def _table(findings: Sequence[Finding], station: str, path: str, code: int, lang: Lang) -> str:
    labels = {status: STATUS[status].get(lang) for status in Status}
    width = max(len(label) for label in labels.values())
    indent = " " * (width + 2)
    lines = [_fill(HEADINGS["title"].get(lang), {"station": station, "path": path})]
    for item in findings:
        lines.append(
            f"{labels[item.status]:<{width}}  {what(item, lang)}: {result_text(item, lang)}"
        )
        fix = fix_text(item, lang)
        if fix is not None:
            lines.append(f"{indent}→ {HEADINGS['fix'].get(lang)}: {fix}")
    counts = {status: sum(1 for f in findings if f.status is status) for status in Status}
    lines.append(
        _fill(
            HEADINGS["summary"].get(lang),
            {
                "fail": str(counts[Status.FAIL]),
                "warn": str(counts[Status.WARN]),
                "ok": str(counts[Status.PASS]),
                "code": str(code),
            },
        )
    )
    return "\n".join(lines)


def render_json(
    findings: Sequence[Finding], station: str, path: str, code: int, langs: Sequence[Lang] = LANGS
) -> dict[str, object]:
    """Every row with its stable `code` and its words in each language asked for."""
    return {
        "station": station,
        "file": path,
        "worst": worst(findings).name.lower(),
        "exit_code": code,
        "checks": [
            {
                "check": item.check,
                "subject": item.subject,
                "status": item.status.name.lower(),
                "code": item.code,
                "what": {lang: what(item, lang) for lang in langs},
                "result": {lang: result_text(item, lang) for lang in langs},
                "fix": (
                    {lang: fix_text(item, lang) for lang in langs}
                    if fix_text(item, LANGS[0]) is not None
                    else None
                ),
            }
            for item in findings
        ],
    }
