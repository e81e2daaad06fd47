"""The shipped demo station file, rewritten for a bench run of its own.

Benches that run the real agent on the demo station (`sd_writes.py`, `uplink.py`) need
it with a private state dir, ptys, SNMP port and broker, and nothing else changed, so
that what they measure is the shipped station.
"""

from __future__ import annotations

import re
from pathlib import Path


def toml_string(value: Path | str) -> str:
    """`value` as a TOML basic string."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def private_station_text(source: Path, folder: Path, broker_url: str, snmp_port: int) -> str:
    """The station file's text with state_dir, the broker url, the SNMP port and the serial
    ports (`folder`/state/tty/NAME) made private to one run under `folder`."""
    text = source.read_text(encoding="utf-8")
    state, tty = folder / "state", folder / "state" / "tty"
    text = re.sub(r"(?m)^state_dir\s*=.*$", f"state_dir = {toml_string(state)}", text)
    text = re.sub(r"(?m)^url\s*=.*$", f"url = {toml_string(broker_url)}", text)
    text = re.sub(r"(?m)^port\s*=\s*\d+\s*$", f"port = {snmp_port}", text)
    return re.sub(
        r'(?m)^serial_port\s*=\s*"(?:[^"]*/)?([^/"]+)"\s*$',
        lambda m: f"serial_port = {toml_string(tty / m.group(1))}",
        text,
    )
