"""A checked profile file becomes a `Driver`, the same object a Python module declares.

The schema (`schema.py`) has checked each key on its own; here the parts are
checked against each other, every problem collected before any is reported:
a source in the protocol's form, an enum's raw values, a state that names one
of the enum's labels, limits in order, a trap that clears by a metric the
profile has, simulated values the metric can encode, scenarios that touch only
the profile's metrics.  A problem is one line, ``FILE: key.path: message``, the
key path naming the metric, trap or scenario by its key or name.

Scenarios are data too (`DataStep`): values set from the start, amounts added
to where the scenario began, straight-line ramps.  What data cannot say (a
tank that drains until the engine stops) stays a Python driver's step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from fieldagent.config import ConfigError, limits_order_problem, suggest
from fieldagent.driver import (
    Driver,
    Expect,
    Identity,
    Limits,
    Metric,
    OidValue,
    RawValue,
    Register,
    RegisterKind,
    RegisterType,
    RowsInUse,
    Scenario,
    SimModel,
    TrapRule,
    ValueType,
    WordOrder,
    deadband_problem,
    quantity_problem,
    source_problem,
    split_row_key,
)
from fieldagent.model import HealthState, Value
from fieldagent.profiles.schema import (
    MetricSection,
    OidObject,
    ProfileFile,
    ScenarioSection,
    SimValue,
    TrapSection,
)


class ProfileError(ConfigError):
    """A profile that cannot be used; `problems` holds one line per fault, file and key path."""


ObjectResolver = Callable[[str], str]
"""``MIB-NAME::object[.instance]`` -> dotted OID; KeyError (its message said) when unknown."""


@dataclass(frozen=True)
class Ramp:
    to: float
    over_s: float


@dataclass(frozen=True)
class DataStep:
    """A scenario step said as data: set, add to the start value, ramp.

    A pure function of the time since the scenario began, as every step is.
    `decimals` rounds each driven number as its metric is read (an integer
    metric stays an integer).
    """

    set: Mapping[str, Value]
    add: Mapping[str, float]
    ramp: Mapping[str, Ramp]
    decimals: Mapping[str, int] = field(default_factory=dict)

    def __call__(
        self, values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
    ) -> None:
        values.update(self.set)
        for key, amount in self.add.items():
            values[key] = self._rounded(key, _number(start.get(key)) + amount)
        for key, ramp in self.ramp.items():
            begin = _number(start.get(key))
            share = min(1.0, elapsed_s / ramp.over_s)
            values[key] = self._rounded(key, begin + (ramp.to - begin) * share)

    def _rounded(self, key: str, value: float) -> float | int:
        places = self.decimals.get(key, 0)
        return round(value) if places == 0 else round(value, places)


def quoted(key: str) -> str:
    """A key as a TOML key path writes it: ``"ups.output.source"`` when it holds dots."""
    return key if key.replace("_", "").replace("-", "").isalnum() else f'"{key}"'


def _number(value: Value) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class _Problems:
    """Problems of one profile, each as ``SOURCE: path: message``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []
        self.broken: set[str] = set()
        """Keys of metrics with problems of their own: other parts naming them say nothing more."""

    def names_broken(self, key: str) -> bool:
        parts = split_row_key(key)
        return (parts[0] if parts else key) in self.broken

    def add(self, path: str, message: str) -> None:
        self.lines.append(f"{self.source}: {path}: {message}")


def build_driver(
    profile: ProfileFile, source: str, resolve: ObjectResolver | None = None
) -> Driver:
    """The driver a schema-checked profile declares; ProfileError lists every problem."""
    problems = _Problems(source)
    header = profile.profile
    oid = _OidNames(header.protocol, resolve, problems)
    metrics = [
        _metric(m, f"metric[{i}] ({m.key})", header.protocol, oid, problems)
        for i, m in enumerate(profile.metric)
    ]
    built = {m.key: m for m in metrics if m is not None}
    problems.broken = {m.key for m in profile.metric} - set(built)
    _check_unique_keys(profile, problems)
    rows_in_use = _rows_in_use(profile, built, problems)
    traps = tuple(
        rule
        for i, trap in enumerate(profile.trap)
        if (rule := _trap(trap, f"trap[{i}] ({trap.alarm})", built, oid, problems)) is not None
    )
    _check_trap_clearing(traps, problems)
    identity = Identity(
        sys_object_ids=tuple(
            resolved
            for i, name in enumerate(profile.identity.sys_object_ids)
            if (resolved := oid(name, f"identity.sys_object_ids[{i}]")) is not None
        ),
        probe_oid=oid(profile.identity.probe, "identity.probe") if profile.identity.probe else None,
    )
    simulator = _simulator(profile, built, problems)
    if problems.lines:
        raise ProfileError(problems.lines)
    try:
        return Driver(
            name=header.name,
            title=header.title,
            kind=header.kind,
            protocol=header.protocol,
            maturity=header.maturity,
            metrics=tuple(built.values()),
            simulator=simulator,
            identity=identity,
            traps=traps,
            rows_in_use=rows_in_use,
            default_port=header.default_port,
            description=header.description,
            # TOML's multi-line strings lose their last line break when keys are stripped.
            sample_config=header.sample_config + "\n" if header.sample_config else "",
        )
    except ValueError as exc:  # the contract's own checks: a last line of defence
        raise ProfileError([f"{source}: {exc}"]) from None


class _OidNames:
    """Turns a profile's object names into dotted OIDs, reporting what it cannot."""

    def __init__(self, protocol: str, resolve: ObjectResolver | None, problems: _Problems) -> None:
        self._protocol = protocol
        self._resolve = resolve
        self._problems = problems

    def __call__(self, name: str, path: str) -> str | None:
        if "::" not in name:
            return name
        if self._resolve is None:
            self._problems.add(
                path, f"{name!r} names an object: list its MIB file in [profile] mibs"
            )
            return None
        try:
            return self._resolve(name)
        except KeyError as exc:
            self._problems.add(path, str(exc.args[0]) if exc.args else f"unknown object {name!r}")
            return None


def _check_unique_keys(profile: ProfileFile, problems: _Problems) -> None:
    seen: dict[str, int] = {}
    for index, metric in enumerate(profile.metric):
        if metric.key in seen:
            problems.add(
                f"metric[{index}] ({metric.key}).key",
                f"the key is already metric[{seen[metric.key]}]'s: every metric needs its own",
            )
        seen.setdefault(metric.key, index)


def _metric(
    section: MetricSection,
    path: str,
    protocol: str,
    oid: _OidNames,
    problems: _Problems,
) -> Metric | None:
    before = len(problems.lines)
    source = _source(section, path, protocol, oid, problems)
    enum = _enum(section, path, problems)
    states = _states(section, enum, path, problems)
    limits = _limits(section, path, problems)
    if not math.isfinite(section.scale) or section.scale == 0:
        problems.add(f"{path}.scale", f"must be a finite number other than 0, not {section.scale}")
    low, high = section.valid_min, section.valid_max
    if low is not None and high is not None and low > high:
        problems.add(f"{path}.valid_min", f"{low:g} is above valid_max ({high:g})")
    if section.sentinels and section.type not in (ValueType.NUMBER, ValueType.ENUM):
        problems.add(f"{path}.sentinels", f"a {section.type} metric has no sentinel values")
    deadband = deadband_problem(section.type, section.deadband)
    if deadband is not None:
        problems.add(f"{path}.deadband", deadband)
    quantity = quantity_problem(section.type, section.unit, section.quantity)
    if quantity is not None:
        problems.add(f"{path}.quantity", quantity)
    if section.dashboard and section.table is not None:
        problems.add(f"{path}.dashboard", "a dashboard metric must be a scalar, not a table column")
    row_sources = _row_sources(section, path, protocol, oid, problems)
    if len(problems.lines) > before or source is None:
        return None
    return Metric(
        section.key,
        section.unit,
        source,
        section.title,
        section.type,
        scale=section.scale,
        divisor=section.divisor,
        decimals=section.decimals,
        enum=enum,
        valid=(low, high),
        limits=limits,
        states=states,
        sentinels=frozenset(section.sentinels),
        table=section.table,
        row_sources=row_sources,
        counter_bits=section.counter_bits,
        alarm_class=section.alarm_class,
        title_vi=section.title_vi,
        deadband=section.deadband,
        dashboard=section.dashboard,
        quantity=section.quantity,
    )


def _source(
    section: MetricSection, path: str, protocol: str, oid: _OidNames, problems: _Problems
) -> str | Register | None:
    register_keys = [
        name for name in ("register_type", "word_order") if getattr(section, name) is not None
    ]
    if protocol != "modbus":
        for name in register_keys:
            problems.add(f"{path}.{name}", f"only a Modbus profile has {name} (this is {protocol})")
    if protocol == "modbus":
        return _register(section, path, problems)
    resolved = oid(section.source, f"{path}.source") if protocol == "snmp" else section.source
    if resolved is None:
        return None
    problem = source_problem(protocol, resolved)
    if problem is not None:
        problems.add(f"{path}.source", problem)
        return None
    return resolved


def _row_sources(
    section: MetricSection, path: str, protocol: str, oid: _OidNames, problems: _Problems
) -> dict[str, str]:
    """Each row's own object (`Metric.row_sources`), resolved; a table's, an SNMP profile's."""
    if not section.row_sources:
        return {}
    if section.table is None or protocol != "snmp":
        problems.add(f"{path}.row_sources", "only a table metric of an SNMP profile has them")
        return {}
    resolved = {
        index: oid(name, f"{path}.row_sources.{quoted(index)}")
        for index, name in section.row_sources.items()
    }
    return {index: name for index, name in resolved.items() if name is not None}


def _register(section: MetricSection, path: str, problems: _Problems) -> Register | None:
    kind, _, address = section.source.partition(":")
    kinds = [k.value for k in RegisterKind]
    if kind not in kinds or not address.isdigit() or int(address) > 0xFFFF:
        problems.add(
            f"{path}.source",
            f"a Modbus source is TABLE:ADDRESS, TABLE one of {', '.join(kinds)} and ADDRESS"
            f" 0..65535 (0-based, as on the wire), not {section.source!r}" + suggest(kind, kinds),
        )
        return None
    bits = RegisterKind(kind) in (RegisterKind.COIL, RegisterKind.DISCRETE)
    default = RegisterType.BIT if bits else RegisterType.U16
    register_type = section.register_type or default
    if bits != (register_type is RegisterType.BIT):
        problems.add(
            f"{path}.register_type",
            f"a {kind} {'bit' if bits else 'register'} cannot be read as {register_type}",
        )
        return None
    return Register(
        RegisterKind(kind), int(address), register_type, section.word_order or WordOrder.BIG
    )


def _enum(section: MetricSection, path: str, problems: _Problems) -> dict[int, str]:
    if section.enum and section.type is not ValueType.ENUM:
        problems.add(f"{path}.enum", f"only an enum metric has an enum (type is {section.type})")
    if section.type is ValueType.ENUM and not section.enum:
        problems.add(f"{path}.enum", 'an enum metric needs its values, e.g. enum = { "1" = "on" }')
    enum: dict[int, str] = {}
    for raw, label in section.enum.items():
        try:
            enum[int(raw)] = label
        except ValueError:
            problems.add(f"{path}.enum.{raw}", f"the raw value {raw!r} is not an integer")
    if len(set(enum.values())) < len(enum):
        problems.add(f"{path}.enum", "two raw values have the same label")
    return enum


def _states(
    section: MetricSection, enum: Mapping[int, str], path: str, problems: _Problems
) -> dict[str | bool, HealthState]:
    states: dict[str | bool, HealthState] = {}
    for label, state in section.states.items():
        where = f"{path}.states.{label}"
        if section.type is ValueType.BOOL:
            if label not in ("true", "false"):
                problems.add(where, "a bool metric's states are true and false")
                continue
            states[label == "true"] = state
        elif section.type is ValueType.ENUM:
            if label not in enum.values():
                problems.add(
                    where,
                    f"{label!r} is not one of the enum's labels"
                    f"{suggest(label, enum.values())} ({', '.join(enum.values())})",
                )
                continue
            states[label] = state
        else:
            problems.add(where, f"a {section.type} metric is judged by limits, not states")
    return states


def _limits(section: MetricSection, path: str, problems: _Problems) -> Limits:
    if section.limits is None:
        return Limits()
    if section.type not in (ValueType.NUMBER, ValueType.COUNTER):
        problems.add(f"{path}.limits", f"a {section.type} metric is judged by states, not limits")
        return Limits()
    limits = Limits(**section.limits.model_dump())
    problem = limits_order_problem(limits)
    if problem is not None:
        problems.add(f"{path}.limits", problem)
    return limits


def _rows_in_use(
    profile: ProfileFile, metrics: Mapping[str, Metric], problems: _Problems
) -> tuple[RowsInUse, ...]:
    declared = []
    tables = sorted({m.table for m in metrics.values() if m.table})
    for index, section in enumerate(profile.rows_in_use):
        path = f"rows_in_use[{index}]"
        column = metrics.get(section.column)
        if section.table not in tables:
            problems.add(
                f"{path}.table",
                f"no metric is a column of table {section.table!r}{suggest(section.table, tables)}",
            )
            continue
        if column is None or column.table != section.table:
            columns = [k for k, m in metrics.items() if m.table == section.table]
            problems.add(
                f"{path}.column",
                f"{section.column!r} is not a column of table {section.table!r}"
                f"{suggest(section.column, columns)}",
            )
            continue
        values = [
            _in_use_value(column, value, f"{path}.values", problems) for value in section.values
        ]
        declared.append(
            RowsInUse(section.table, section.column, frozenset(v for v in values if v is not None))
        )
    return tuple(declared)


def _in_use_value(
    metric: Metric, value: str | bool, path: str, problems: _Problems
) -> str | bool | None:
    if metric.type is ValueType.BOOL and isinstance(value, bool):
        return value
    if metric.type is ValueType.ENUM and isinstance(value, str) and value in metric.enum.values():
        return value
    problems.add(path, f"{value!r} is not a value {metric.key} reads ({_values_of(metric)})")
    return None


def _values_of(metric: Metric) -> str:
    if metric.type is ValueType.BOOL:
        return "true or false"
    if metric.type is ValueType.ENUM:
        return ", ".join(metric.enum.values())
    return f"a {metric.type} metric: use a bool or enum column"


def _trap(
    section: TrapSection,
    path: str,
    metrics: Mapping[str, Metric],
    oid: _OidNames,
    problems: _Problems,
) -> TrapRule | None:
    before = len(problems.lines)
    trap_oid = oid(section.oid, f"{path}.oid")
    value_oid = oid(section.value_oid, f"{path}.value_oid") if section.value_oid else None
    instance_oid = (
        oid(section.instance_oid, f"{path}.instance_oid") if section.instance_oid else None
    )
    when: dict[str, frozenset[int | str]] = {}
    for name, values in section.when.items():
        resolved = oid(name, f"{path}.when.{quoted(name)}")
        if resolved is not None and source_problem("snmp", resolved) is not None:
            problems.add(
                f"{path}.when.{quoted(name)}", "a condition names a varbind's object (an OID)"
            )
        elif resolved is not None:
            when[resolved] = frozenset(values)
    cleared_by = section.cleared_by
    if (
        cleared_by is not None
        and cleared_by not in metrics
        and not problems.names_broken(cleared_by)
    ):
        problems.add(
            f"{path}.cleared_by",
            f"no metric {cleared_by!r}{suggest(cleared_by, [*metrics, *problems.broken])}",
        )
    if (section.action == "clear") != (section.severity is HealthState.OK):
        problems.add(f"{path}.severity", "a clearing rule has severity ok, a raising one not")
    if len(problems.lines) > before or trap_oid is None:
        return None
    return TrapRule(
        trap_oid,
        section.alarm,
        section.action,
        section.severity,
        section.message_vi,
        section.message_en,
        value_oid=value_oid,
        instance_oid=instance_oid,
        when=when,
        cleared_by=section.cleared_by,
    )


def _check_trap_clearing(traps: tuple[TrapRule, ...], problems: _Problems) -> None:
    """Every rule of one alarm names the same reading (`Driver.trap_cleared_by`)."""
    named: dict[str, str | None] = {}
    for rule in traps:
        if rule.alarm in named and named[rule.alarm] != rule.cleared_by:
            problems.add(
                "trap",
                f"the rules of alarm {rule.alarm!r} name different cleared_by readings"
                f" ({named[rule.alarm]!r} and {rule.cleared_by!r}): give them one",
            )
        named.setdefault(rule.alarm, rule.cleared_by)


def _simulator(
    profile: ProfileFile, metrics: Mapping[str, Metric], problems: _Problems
) -> SimModel:
    section = profile.simulator
    initial = {
        key: value
        for key, value in section.initial.items()
        if _sim_value_ok(key, value, metrics, f"simulator.initial.{quoted(key)}", problems)
    }
    for key, amplitude in section.noise.items():
        metric = metrics.get(key)
        if metric is None or metric.type is not ValueType.NUMBER:
            problems.add(
                f"simulator.noise.{quoted(key)}", f"no number metric {key!r}{suggest(key, metrics)}"
            )
        elif amplitude < 0 or not math.isfinite(amplitude):
            problems.add(
                f"simulator.noise.{quoted(key)}", "the wobble's amplitude is a number >= 0"
            )
    objects: dict[str, RawValue] = {
        oid: OidValue(value.oid) if isinstance(value, OidObject) else value
        for oid, value in section.objects.items()
    }
    scenarios: dict[str, Scenario] = {}
    for index, scenario in enumerate(section.scenario):
        path = f"simulator.scenario[{index}] ({scenario.name})"
        if scenario.name in scenarios:
            problems.add(f"{path}.name", "another scenario has this name")
        scenarios[scenario.name] = _scenario(scenario, path, metrics, problems)
    return SimModel(
        initial=initial,
        scenarios=scenarios,
        extra_objects=objects,
        noise=dict(section.noise),
    )


def _scenario(
    section: ScenarioSection, path: str, metrics: Mapping[str, Metric], problems: _Problems
) -> Scenario:
    values = {
        key: value
        for key, value in section.set.items()
        if _sim_value_ok(key, value, metrics, f"{path}.set.{quoted(key)}", problems)
    }
    numbers: dict[str, str] = {}
    for part, keys in (("add", section.add), ("ramp", section.ramp)):
        for key in keys:
            if _number_metric(key, metrics, f"{path}.{part}.{quoted(key)}", problems):
                numbers[key] = part
    for key, value in section.expect.values.items():
        _sim_value_ok(key, value, metrics, f"{path}.expect.values.{quoted(key)}", problems)
    ramps = {key: Ramp(r.to, r.over_s) for key, r in section.ramp.items()}
    driven = {**section.set, **section.add, **section.ramp}
    decimals = {
        key: metric.precision
        for key in numbers
        if (metric := _reading_metric(key, metrics)) is not None
    }
    step = DataStep(values, dict(section.add), ramps, decimals) if driven else None
    return Scenario(
        section.name,
        section.description,
        step,
        silent=section.silent,
        expect=Expect(section.expect.health, dict(section.expect.values), section.expect.after_s),
        line_fault=section.line_fault,
    )


def _number_metric(key: str, metrics: Mapping[str, Metric], path: str, problems: _Problems) -> bool:
    metric = _reading_metric(key, metrics)
    if metric is None or metric.type not in (ValueType.NUMBER, ValueType.COUNTER):
        if not problems.names_broken(key):
            problems.add(path, f"no number metric {key!r}{suggest(key, metrics)}")
        return False
    return True


def _reading_metric(key: str, metrics: Mapping[str, Metric]) -> Metric | None:
    """The metric of a reading key: a scalar's key, or a row key of a table metric."""
    parts = split_row_key(key)
    if parts is None:
        metric = metrics.get(key)
        return metric if metric is not None and metric.table is None else None
    metric = metrics.get(parts[0])
    return metric if metric is not None and metric.table == parts[1] else None


def _sim_value_ok(
    key: str, value: SimValue, metrics: Mapping[str, Metric], path: str, problems: _Problems
) -> bool:
    """A simulated value names a reading of the profile and is one the metric can encode."""
    metric = _reading_metric(key, metrics)
    if metric is None and problems.names_broken(key):
        return False
    if metric is None:
        base = split_row_key(key)
        hint = (
            f": {base[0]} is not a column of table {base[1]!r}"
            if base and base[0] in metrics
            else suggest(key, [*metrics, *problems.broken])
        )
        problems.add(path, f"no reading {key!r}{hint}")
        return False
    try:
        raw: Any = metric.encode(value)
    except ValueError as exc:
        problems.add(path, str(exc))
        return False
    number = isinstance(raw, int) and not isinstance(raw, bool)
    if number and metric.type is ValueType.NUMBER and not metric.in_range(metric.scaled(raw)):
        problems.add(path, f"{value!r} is outside the metric's valid range")
        return False
    return True
