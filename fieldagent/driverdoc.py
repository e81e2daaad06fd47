"""Driver documentation generated from the declarations, so it cannot drift.

docs/drivers.md is `render_markdown`'s output (a test fails when the file and
the declarations disagree: regenerate with `python -m fieldagent.driverdoc
docs/drivers.md`), followed by a part written by hand below `HAND_WRITTEN`
(what the published vendor MIBs cover), which regenerating keeps;
`fieldagent drivers` prints `render_text`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from drivers import REGISTRY
from fieldagent.driver import Driver, Limits, Metric, ValueType

GUIDE = """# Drivers

Generated from the drivers' declarations by `python -m fieldagent.driverdoc docs/drivers.md`;
do not edit by hand above the survey of vendor MIBs at the end (edit the driver, then
regenerate). `fieldagent drivers [NAME]` prints the same.

## How to add a driver

A driver that is only data is a **profile**: one TOML file, `drivers/profiles/<name>.toml`
when it ships with the agent, or `profiles.d/<name>.toml` beside a station file for a
station's own device (see [profiles.md](profiles.md): the format, `fieldagent profile new
--from-walk` to draft one from a device's walk, `fieldagent profile check` to validate it).
A driver that needs Python (a `fixup` for a quirk, a `decoder`, a scenario with physics) is
one module `drivers/<name>.py` that defines `DRIVER = Driver(...)`. The registry finds both
by itself; a module or profile that cannot be loaded is left out with its problems logged,
and the other drivers load. Either way most of it is a table (see `drivers/ups_rfc1628.py`,
`drivers/profiles/offair_inovonics640.toml`); the fields are the same:

1. **Metrics.** One `Metric` per value: a key from the shared vocabulary (dot-separated,
   unit-suffixed: `rf.vswr`, `ups.battery.charge_pct`), its unit, its `source` in the form
   of the driver's protocol (checked when the driver is built: a dotted numeric OID for SNMP,
   a command for ASCII, a `Register` for Modbus, a reader key for `local`), the type
   (`number`, `enum`, `text`, `bool`, `counter`), the scaling (`scale` multiplier, `divisor`,
   `decimals`), the `valid` range a sane device can report (outside it the reading is
   `invalid`), default `limits` (warning / critical, low / high), `states` for enum or
   boolean values that mean trouble, `sentinels` (raw values meaning "not available"), and
   its `alarm_class` (`audio`, `power`, `temperature`, `state`, `rate`, `other`: it picks
   the default alarm delays, see configuration.md), and for a number its report
   `deadband` (absolute, in its unit: compact telemetry reports the value again once it
   moved further than that from the last one published; none reports any change; see
   mqtt-topics.md). `dashboard=True` marks the device's main values (what dashboards show:
   Home Assistant discovery, homeassistant.md; scalars only) and `quantity` what a number
   measures (`Quantity.POWER`, `VOLTAGE`, `TEMPERATURE`...; its unit must fit): declared,
   never guessed from a key.
   A table column sets `table="input"`: the column is walked (GETBULK) and each row becomes
   a reading keyed `key[input=<row index>]`. A device that serves each row as its own
   scalar (one object per exciter, say) names them instead: `row_sources={"1": "<OID of
   row 1>", "2": "<OID of row 2>"}`; those are read by GET, and a row whose object the
   device does not serve is not read. A `counter` is published as a rate per second.
   Multi-channel equipment lists rows nothing uses (unconfigured channels, disabled
   inputs): `rows_in_use=(RowsInUse("channel", "<column key>", frozenset({"up"})),)` names
   the column that says so and the values meaning "in use". The readings of other rows
   are published with `in_use: false` and left out of health, alarms and checklist checks;
   a row whose column is not read counts as in use.
2. **Quirks.** `fixup` corrects known device quirks across one poll's readings; `decoder`
   (with `walk_roots`) replaces the table decode when a column cannot describe the rows.
3. **Simulator.** `SimModel`: healthy initial values (by reading key), `noise` amplitudes,
   and named `Scenario`s whose `step(values, start, elapsed_s)` plays a fault as a pure
   function of time, each with an `Expect` (the health and values it must lead to).
   Every device can also play `normal` and `no_reply`.
4. **Maturity.** `maturity`: `stable` when the driver is built on a published MIB or
   protocol document, `model` when it is built from a description (a private MIB, a manual's
   style). `check-config` warns about every device whose driver is a `model`.
5. **Identity and docs.** `identity` (sysObjectID prefixes, or a probe OID only this family
   serves) lets `fieldagent identify HOST` suggest the driver; `description` and
   `sample_config` appear below.
6. **Check.** `.venv/bin/pytest tests/conformance -k <name>` runs the conformance suite
   against the driver's own simulator over real UDP (every metric ok, in range, with its
   unit; every scenario's expectation; missing objects, wrong types, out-of-range values;
   net-snmp's `snmpwalk` and `snmpbulkwalk`); `.venv/bin/pytest tests/drivers/test_recordings.py
   -k <name>` records the simulator and polls the recording replayed by snmpsim (the same
   readings and health; a fault's declared health). Then regenerate this file.

Qualities: `ok`; `bad` (no answer); `missing` (no such object, NULL, sentinel, no estimate);
`invalid` (wrong type, or outside the valid range). One bad value never spoils the others.
"""


HAND_WRITTEN = "<!-- Written by hand from here on: `python -m fieldagent.driverdoc` keeps it. -->"


def generated_part(text: str) -> str:
    """The part of a drivers document above the hand-written part."""
    return text.partition("\n" + HAND_WRITTEN)[0]


def regenerated(text: str, drivers: Iterable[Driver]) -> str:
    """A drivers document with its generated part made anew and its hand-written part kept."""
    generated = render_markdown(drivers)
    kept = text.partition(HAND_WRITTEN)[2]
    return f"{generated}\n{HAND_WRITTEN}{kept}" if kept else generated


def render_markdown(drivers: Iterable[Driver]) -> str:
    drivers = list(drivers)
    index = [
        "",
        "## Drivers",
        "",
        "| driver | kind | protocol | maturity | what |",
        "|---|---|---|---|---|",
    ]
    index += [
        f"| [{d.name}](#{d.name}) | {d.kind} | {d.protocol} | {d.maturity} | {d.title} |"
        for d in drivers
    ]
    return GUIDE + "\n".join(index) + "\n" + "".join(_markdown(driver) for driver in drivers)


def _markdown(driver: Driver) -> str:
    lines = [
        "",
        f"### {driver.name}",
        "",
        f"**{driver.title}** — kind `{driver.kind}`, "
        f"protocol `{driver.protocol}`, maturity `{driver.maturity}`{_declared_in(driver)}. "
        f"{driver.description}".rstrip(),
        "",
    ]
    lines += [
        "| metric | unit | source | type | scaling | valid | warning | critical | states | class"
        " | deadband |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_markdown_row(metric) for metric in driver.metrics]
    dashboard = [
        f"`{m.key}`" + (f" ({m.quantity})" if m.quantity else "")
        for m in driver.metrics
        if m.dashboard
    ]
    if dashboard:
        lines += ["", f"Main values (dashboards, homeassistant.md): {', '.join(dashboard)}."]
    scenarios = ", ".join(
        f"`{s.name}` ({s.description})" for s in driver.simulator.scenarios.values()
    )
    if scenarios:
        lines += ["", f"Simulator scenarios: {scenarios}; also `normal` and `no_reply`."]
    if driver.identity.sys_object_ids or driver.identity.probe_oid:
        lines += ["", f"Identified by: {_identity(driver)}."]
    lines += [f"\n{rows}" for rows in _rows_in_use(driver)]
    if driver.sample_config:
        lines += ["", "```toml", driver.sample_config.rstrip(), "```"]
    return "\n".join(lines) + "\n"


def _markdown_row(metric: Metric) -> str:
    key = f"{metric.key}[{metric.table}=…]" if metric.table else metric.key
    cells = [
        f"`{key}`",
        metric.unit,
        _source(metric),
        _type(metric),
        _scaling(metric),
        _valid(metric),
        _bounds(metric.limits, critical=False),
        _bounds(metric.limits, critical=True),
        _states(metric),
        str(metric.alarm_class),
        _deadband(metric),
    ]
    return "| " + " | ".join(cells) + " |"


def _deadband(metric: Metric) -> str:
    """The report deadband, in the metric's unit; empty when any change is reported."""
    if metric.deadband is None:
        return ""
    return f"{metric.deadband:g} {metric.unit}".rstrip()


def render_text(driver: Driver, full: bool) -> str:
    """Plain text for the terminal: the metric table, and with `full` the rest."""
    lines = [
        f"{driver.name} — {driver.title} ({driver.kind}, {driver.protocol}, {driver.maturity})"
    ]
    width = max(len(_key(m)) for m in driver.metrics)
    for metric in driver.metrics:
        limits = " / ".join(
            part
            for part in (
                _bounds(metric.limits, critical=False) and f"warn {_bounds(metric.limits, False)}",
                _bounds(metric.limits, critical=True) and f"crit {_bounds(metric.limits, True)}",
                _states(metric),
                _deadband(metric) and f"deadband {_deadband(metric)}",
            )
            if part
        )
        line = f"  {_key(metric):<{width}}  {metric.unit:<6} {metric.alarm_class:<11} {limits}"
        lines.append(line.rstrip())
    if full:
        if driver.description:
            lines += ["", driver.description]
        lines += ["", *_rows_in_use(driver)] if driver.rows_in_use else []
        scenarios = dict.fromkeys(["normal", "no_reply", *driver.simulator.scenarios])
        lines += ["", f"scenarios: {', '.join(scenarios)}"]
        if driver.sample_config:
            lines += ["", "sample config:", driver.sample_config.rstrip()]
    return "\n".join(lines) + "\n\n"


def _source(metric: Metric) -> str:
    """The source cell: the OID (command, register), or each row's own object."""
    if metric.row_sources:
        return ", ".join(f"`{index}`: `{source}`" for index, source in metric.row_sources.items())
    return f"`{metric.source_key}`"


def _key(metric: Metric) -> str:
    return f"{metric.key}[{metric.table}=…]" if metric.table else metric.key


def _type(metric: Metric) -> str:
    if metric.type is ValueType.ENUM:
        return "enum: " + ", ".join(f"{raw} {label}" for raw, label in metric.enum.items())
    if metric.type is ValueType.COUNTER:
        return f"counter{metric.counter_bits} → rate/s"
    return str(metric.type)


def _scaling(metric: Metric) -> str:
    parts = []
    if metric.scale != 1:
        parts.append(f"× {metric.scale:g}")  # noqa: RUF001 (a real multiplication sign)
    if metric.divisor != 1:
        parts.append(f"÷ {metric.divisor:g}")
    return " ".join(parts)


def _valid(metric: Metric) -> str:
    low, high = metric.valid
    if low is None and high is None:
        return ""
    return f"{'' if low is None else f'{low:g}'} … {'' if high is None else f'{high:g}'}"


def _bounds(limits: Limits, critical: bool) -> str:
    low, high = (
        (limits.crit_low, limits.crit_high) if critical else (limits.warn_low, limits.warn_high)
    )
    parts = []
    if low is not None:
        parts.append(f"< {low:g}")
    if high is not None:
        parts.append(f"> {high:g}")
    return " or ".join(parts)


def _states(metric: Metric) -> str:
    return ", ".join(f"{label} → {state}" for label, state in metric.states.items())


def _rows_in_use(driver: Driver) -> list[str]:
    """One sentence per `RowsInUse`: which rows are listed but not judged."""
    return [
        f"Rows in use: `{rows.table}` rows are judged only while `{rows.column}` reads "
        + " or ".join(f"`{_label(value)}`" for value in sorted(rows.values, key=str))
        + "; other rows are listed, not judged."
        for rows in driver.rows_in_use
    ]


def _label(value: str | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else value


def _declared_in(driver: Driver) -> str:
    """``, declared in `drivers/profiles/x.toml```: where to edit a shipped driver."""
    origin = REGISTRY.origins.get(driver.name)
    if origin is None or REGISTRY.get(driver.name) is not driver:
        return ""
    package = Path(__file__).resolve().parent.parent
    path = Path(origin)
    shown = (
        path.relative_to(package) if path.is_absolute() and path.is_relative_to(package) else path
    )
    return f", declared in `{shown.as_posix()}`"


def _identity(driver: Driver) -> str:
    parts = [f"sysObjectID under `{p}`" for p in driver.identity.sys_object_ids]
    if driver.identity.probe_oid:
        parts.append(f"serves `{driver.identity.probe_oid}`")
    return " or ".join(parts)


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1:  # rewrite that file, keeping its hand-written part
        doc = Path(sys.argv[1])
        doc.write_text(regenerated(doc.read_text(encoding="utf-8"), REGISTRY.values()), "utf-8")
    else:
        print(render_markdown(REGISTRY.values()), end="")
