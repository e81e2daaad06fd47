"""Driver documentation generated from the declarations, so it cannot drift.

docs/drivers.md is this module's output; a test fails when the file and the
declarations disagree (regenerate with `python -m fieldagent.driverdoc`).
"""

from __future__ import annotations

from collections.abc import Iterable

from drivers import REGISTRY
from fieldagent.driver import Driver, Metric, ValueType

HEADER = """# Drivers

Generated from the drivers' declarations by `python -m fieldagent.driverdoc`;
do not edit by hand.

Limits: a value below a `low` or above a `high` limit breaks it; critical wins over warning.
"""


def render_all(drivers: Iterable[Driver]) -> str:
    return HEADER + "".join(render(driver) for driver in drivers)


def render(driver: Driver) -> str:
    lines = [
        "",
        f"## {driver.name} — {driver.title}",
        "",
        f"Kind `{driver.kind}`, protocol `{driver.protocol}`.",
        "",
        "| metric | unit | source | type | scale | warning | critical | states |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [_row(metric) for metric in driver.metrics]
    scenarios = ", ".join(
        f"`{s.name}` ({s.description})" for s in driver.simulator.scenarios.values()
    )
    lines += ["", f"Simulator scenarios: {scenarios}.", ""]
    return "\n".join(lines)


def _row(metric: Metric) -> str:
    kind = str(metric.type)
    if metric.type is ValueType.ENUM:
        kind = "enum: " + ", ".join(f"{raw} {label}" for raw, label in metric.enum.items())
    states = ", ".join(f"{label} → {state}" for label, state in metric.states.items())
    scale = "" if metric.scale == 1 else f"× {metric.scale:g}"  # noqa: RUF001 (a real multiplication sign)
    return (
        f"| `{metric.key}` | {metric.unit} | `{metric.oid}` | {kind} | {scale} "
        f"| {_bounds(metric.limits.warn_low, metric.limits.warn_high)} "
        f"| {_bounds(metric.limits.crit_low, metric.limits.crit_high)} | {states} |"
    )


def _bounds(low: float | None, high: float | None) -> str:
    parts = []
    if low is not None:
        parts.append(f"< {low:g}")
    if high is not None:
        parts.append(f"> {high:g}")
    return " or ".join(parts)


if __name__ == "__main__":
    print(render_all(REGISTRY.values()), end="")
