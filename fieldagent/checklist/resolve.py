"""A station's checklist: its templates, minus what it disables, plus its own items,
checked against its devices and drivers before anything runs (`check-config`)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fieldagent.checklist.definition import ChecklistError, Item, Text, load_checklist
from fieldagent.checklist.expr import Condition
from fieldagent.config import Config, ConfigError, suggest
from fieldagent.driver import Driver


def _builtin_dir() -> Path:
    """The shipped checklist files: config/checklists of a source checkout (and of an
    editable install); a wheel installed into a virtualenv (scripts/install.sh) has no
    source tree beside it, so pyproject's data-files put them under the virtualenv's
    prefix, share/fieldagent/checklists."""
    source = Path(__file__).resolve().parents[2] / "config" / "checklists"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "fieldagent" / "checklists"


BUILTIN_DIR = _builtin_dir()


@dataclass(frozen=True)
class StationItem:
    """An item as this station runs it: where it comes from, which devices it checks."""

    item: Item
    source: str
    devices: tuple[str, ...]
    """Ids of the station's devices of the item's kind, in station-file order."""


@dataclass(frozen=True)
class StationChecklist:
    """A station file and its resolved checklist: what every run starts from (`check-config`
    builds it too, so it lives here, apart from the running parts)."""

    config: Config
    items: list[StationItem]
    drivers: Mapping[str, Driver]
    """Per device id, with the device's scaling applied."""
    titles: list[Text] = field(default_factory=list)
    """The checklists' titles, in the order of the templates."""

    @property
    def templates(self) -> list[str]:
        return list(self.config.checklist.templates)


def template_path(name: str, station_file: Path) -> Path:
    """A built-in name (`pre-holiday`) or a .toml path relative to the station file."""
    if name.endswith(".toml") or "/" in name:
        return station_file.parent / name
    return BUILTIN_DIR / f"{name}.toml"


def checklist_titles(config: Config, station_file: Path) -> list[Text]:
    """The titles of the station's checklists (already checked by station_checklist)."""
    return [
        load_checklist(template_path(name, station_file)).checklist.title
        for name in config.checklist.templates
    ]


def station_checklist(
    config: Config, station_file: Path, drivers: Mapping[str, Driver]
) -> list[StationItem]:
    """The resolved items; ConfigError lists every problem, each naming the item at fault."""
    problems: list[str] = []
    found: list[tuple[str, Item]] = []
    for index, name in enumerate(config.checklist.templates):
        path = template_path(name, station_file)
        if not path.is_file():
            known = sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))
            problems.append(
                f"{station_file}: checklist.templates[{index}]: no checklist {name!r}"
                f" ({path}; built-in: {', '.join(known)})"
            )
            continue
        try:
            found += [(str(path), item) for item in load_checklist(path).item]
        except ChecklistError as exc:
            problems += exc.problems
    found += [(f"{station_file}: checklist.item", item) for item in config.checklist.item]

    by_id: dict[str, str] = {}
    for source, item in found:
        if item.id in by_id:
            problems.append(f"{source}: item {item.id!r} is also in {by_id[item.id]}")
        by_id.setdefault(item.id, source)
    for index, item_id in enumerate(config.checklist.disable):
        if item_id not in by_id:
            problems.append(
                f"{station_file}: checklist.disable[{index}]: no item {item_id!r}"
                f"{suggest(item_id, by_id)}"
            )

    kinds = {driver.kind for driver in drivers.values()}
    station_drivers = {d.id: drivers[d.driver] for d in config.device if d.driver in drivers}
    problems += _nominal_problems(config, station_file, station_drivers)
    items = []
    for source, item in found:
        if item.id in config.checklist.disable:
            continue
        where = f"{source}: item {item.id!r}"
        if item.devices is not None and item.devices not in kinds:
            problems.append(
                f"{where}: no device kind {item.devices!r}{suggest(item.devices, kinds)}"
            )
            continue
        devices = tuple(
            device_id
            for device_id, driver in station_drivers.items()
            if item.devices is not None and driver.kind == item.devices
        )
        parsed = item.parsed
        read = frozenset({item.services} if item.services is not None else ())
        if parsed is not None:
            read |= parsed.metrics | parsed.nominals
        unknown = _metric_problems(where, item, read, devices, station_drivers, drivers)
        problems += unknown
        if parsed is not None:
            problems += (
                [] if unknown else _limit_problems(where, parsed, devices, config, station_drivers)
            )
            problems += _needs_nominal(where, parsed, devices, config, station_file)
        if item.services is not None and devices and not config.checklist.lineup:
            problems.append(
                f"{where} compares the services of {', '.join(devices)} with the licensed"
                f' line-up: list it in [checklist] lineup = ["...", ...] of {station_file}'
            )
        items.append(StationItem(item, source, devices))
    if problems:
        raise ConfigError(problems)
    return items


def _metric_problems(
    where: str,
    item: Item,
    keys: frozenset[str],
    devices: tuple[str, ...],
    station_drivers: Mapping[str, Driver],
    drivers: Mapping[str, Driver],
) -> list[str]:
    """Every key the condition reads must be a metric of each driver it will meet."""
    if item.devices is None:
        return []
    meets = {station_drivers[d].name: station_drivers[d] for d in devices} or {
        d.name: d for d in drivers.values() if d.kind == item.devices
    }
    problems = []
    for key in sorted(keys):
        if key.startswith("station."):
            continue
        for driver in meets.values():
            metric_keys = {m.key for m in driver.metrics}
            if key not in metric_keys:
                problems.append(
                    f"{where}: driver {driver.name} ({item.devices}) has no metric {key!r}"
                    f"{suggest(key, metric_keys)}"
                )
    return problems


def _limit_problems(
    where: str,
    parsed: Condition,
    devices: tuple[str, ...],
    config: Config,
    station_drivers: Mapping[str, Driver],
) -> list[str]:
    """A limit the condition compares against must exist for every device it checks:
    the driver's default, unless `[limits]` or `[device.limits]` sets or removes it."""
    problems = []
    for device in devices:
        section = config.find_device(device)
        for function, key in sorted(parsed.limits):
            metrics = {m.key: m for m in station_drivers[device].metrics}  # tables too
            limits = metrics[key].limits
            for rule in (config.limits.get(key), section.limits.get(key)):
                limits = rule.apply_to(limits) if rule is not None else limits
            if getattr(limits, function) is None:
                problems.append(
                    f"{where} compares with {function}({key}), which device {device!r} does not"
                    f' have: set it in [device.limits."{key}"] or [limits."{key}"]'
                )
    return problems


def _needs_nominal(
    where: str, parsed: Condition, devices: tuple[str, ...], config: Config, station_file: Path
) -> list[str]:
    return [
        f"{where} needs the nominal {key!r} of device {device!r}: give it in"
        f" [checklist.nominal.{device}] of {station_file}"
        for device in devices
        for key in sorted(parsed.nominals)
        if key not in config.checklist.nominal.get(device, {})
    ]


def _nominal_problems(
    config: Config, station_file: Path, station_drivers: Mapping[str, Driver]
) -> list[str]:
    problems = []
    for device, values in config.checklist.nominal.items():
        driver = station_drivers.get(device)
        if driver is None:
            problems.append(
                f"{station_file}: checklist.nominal.{device}: no device {device!r}"
                f"{suggest(device, station_drivers)}"
            )
            continue
        keys = {m.key for m in driver.metrics}
        problems += [
            f"{station_file}: checklist.nominal.{device}: driver {driver.name} has no metric"
            f" {key!r}{suggest(key, keys)}"
            for key in values
            if key not in keys
        ]
    return problems
