"""What a reloaded station file changes: the diff of two configs, nothing else.

SIGHUP (`systemctl reload fieldagent`) reads the station file again.  The agent
keeps running through it, so it must know which devices to start, stop or
restart, and which devices keep their alarm state untouched:

- **added** / **removed**: device ids only in the new / the old file;
- **changed**: the same id with any setting of its `[[device]]` different, or a
  different driver (another driver name, or the same profile file edited);
- **limits**: devices not changed whose rules move with the station's own
  `[limits]` (a key of their driver's metrics added, removed or edited there);
- **unchanged**: everything else, whose loops and alarms go on as they were.

Some settings are wired into parts that live as long as the process (the broker
connection, the outbox, state.db's directory, the trap socket, the topics): a
change of one of them is listed in `restart_keys` and the agent keeps running on
the old value (`effective`) until it is restarted.  The reload still applies
everything else: a technician who added a device and mistyped the broker port
gets the device and one line saying the port waits for a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fieldagent.config import Config
from fieldagent.driver import Driver, base_key

RESTART_SECTIONS = ("mqtt", "telemetry", "outbox", "traps", "remote")
"""Sections read once at start, wholly: any key of them changed needs a restart."""

RESTART_KEYS = (("station", "id"), ("station", "timezone"), ("agent", "state_dir"))
"""Single keys read once at start (topics, alarm texts and schedules, the state directory);
`station.name` is not one: the next status message carries the new name."""


@dataclass(frozen=True)
class ConfigDiff:
    """Device ids by what a reload does to them, and the keys that wait for a restart."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    limits: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    restart_keys: tuple[str, ...] = ()

    @property
    def rejudged(self) -> tuple[str, ...]:
        """Devices whose alarm rules may differ now: changed, or touched by `[limits]`."""
        return self.changed + self.limits

    def summary(self) -> str:
        """One line for the log: counts of each kind, the ids of those that move."""
        parts = [
            f"{name} {', '.join(ids)}"
            for name, ids in (
                ("added", self.added),
                ("removed", self.removed),
                ("changed", self.changed),
                ("new limits", self.limits),
            )
            if ids
        ]
        parts.append(f"{len(self.unchanged)} unchanged")
        return "; ".join(parts)


def diff_configs(
    old: Config,
    new: Config,
    old_drivers: Mapping[str, Driver],
    new_drivers: Mapping[str, Driver],
) -> ConfigDiff:
    """Compare two station files; drivers per device id (scaling applied), as loaded."""
    before = {d.id: d for d in old.device}
    after = {d.id: d for d in new.device}
    added = tuple(i for i in after if i not in before)
    removed = tuple(i for i in before if i not in after)
    changed = tuple(
        i
        for i in after
        if i in before and (before[i] != after[i] or old_drivers.get(i) != new_drivers.get(i))
    )
    kept = [i for i in after if i in before and i not in changed]
    moved = _changed_limit_keys(old.limits, new.limits)
    limits = tuple(i for i in kept if moved and _has_any_metric(new_drivers.get(i), moved))
    unchanged = tuple(i for i in kept if i not in limits)
    return ConfigDiff(added, removed, changed, limits, unchanged, restart_keys(old, new))


def restart_keys(old: Config, new: Config) -> tuple[str, ...]:
    """The restart-only keys whose value differs, as `section.key` (never a value)."""
    found = [
        f"{section}.{key}"
        for section, key in RESTART_KEYS
        if getattr(getattr(old, section), key) != getattr(getattr(new, section), key)
    ]
    for section in RESTART_SECTIONS:
        before = _fields(getattr(old, section))
        after = _fields(getattr(new, section))
        found += [
            f"{section}.{key}"
            for key in sorted(before.keys() | after.keys())
            if before.get(key) != after.get(key)
        ]
    return tuple(found)


def effective(old: Config, new: Config) -> Config:
    """The config the agent runs on after a reload: `new`, with the restart-only
    settings still as in `old` (they apply at the next start)."""
    station = new.station.model_copy(
        update={"id": old.station.id, "timezone": old.station.timezone}
    )
    agent = new.agent.model_copy(update={"state_dir": old.agent.state_dir})
    update: dict[str, Any] = {"station": station, "agent": agent}
    update.update({section: getattr(old, section) for section in RESTART_SECTIONS})
    return new.model_copy(update=update)


def _fields(section: Any) -> dict[str, Any]:
    """A section's settings by key, as given (secrets compared, never shown)."""
    return {name: getattr(section, name) for name in type(section).model_fields}


def _changed_limit_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> frozenset[str]:
    """Metric keys of the station's `[limits]` added, removed or edited (rows by their base)."""
    keys = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    return frozenset(base_key(k) for k in keys)


def _has_any_metric(driver: Driver | None, keys: frozenset[str]) -> bool:
    return driver is not None and any(m.key in keys for m in driver.metrics)
