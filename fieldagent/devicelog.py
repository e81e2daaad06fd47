"""Log lines about one device: one logger per device, its debug level its own.

Every line about a device goes through `device_log(id)`, a logger named
`fieldagent.device.ID`, so the formatter names the device in one fixed place
(`device=ID`) and a technician can turn on debug lines for one device
(`[agent] debug_devices`) without the rest of the station's debug flood: only
that device's logger lets debug records through, the others follow the root's
level (`[agent] log_level`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

PREFIX = "fieldagent.device."

_debugged: set[str] = set()


def device_log(device_id: str) -> logging.Logger:
    """The logger of one device's lines."""
    return logging.getLogger(PREFIX + device_id)


def device_of(logger_name: str) -> str | None:
    """The device id a logger is for; None for any other logger."""
    return logger_name[len(PREFIX) :] if logger_name.startswith(PREFIX) else None


def set_debug_devices(device_ids: Iterable[str]) -> None:
    """Debug lines for exactly these devices (and the root's level for every other)."""
    wanted = set(device_ids)
    for device_id in _debugged - wanted:
        device_log(device_id).setLevel(logging.NOTSET)
    for device_id in wanted:
        device_log(device_id).setLevel(logging.DEBUG)
    _debugged.clear()
    _debugged.update(wanted)
