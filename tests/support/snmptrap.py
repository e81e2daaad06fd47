"""Sending a v2c trap as a device would, with net-snmp's snmptrap."""

from __future__ import annotations

import subprocess

from drivers.ups_rfc1628 import MINUTES_REMAINING, TRAP_ON_BATTERY


def send_v2c_trap(source: str, port: int, trap_oid: str, *varbinds: str) -> None:
    """A v2c trap (community `public`) from `source` to 127.0.0.1:`port`; `varbinds` as
    snmptrap takes them: OID, type letter, value, ..."""
    subprocess.run(
        ["snmptrap", "-v", "2c", "-c", "public", f"--clientaddr={source}",
         f"udp:127.0.0.1:{port}", "", trap_oid, *varbinds],
        check=True, timeout=10, capture_output=True,
    )  # fmt: skip


def ups_on_battery(source: str, port: int, minutes: int = 35) -> None:
    """RFC 1628's upsTrapOnBattery with the minutes of battery left."""
    send_v2c_trap(source, port, TRAP_ON_BATTERY, MINUTES_REMAINING, "i", str(minutes))
