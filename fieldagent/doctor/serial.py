"""Each serial port the station file names: there, a device node, open to the service account.

Judged by the node's owner, group and mode against the account (account.py),
never by opening it: the running agent holds its ports exclusively, and a
second open would be refused for that reason alone.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fieldagent.config import Config, SerialDevice
from fieldagent.doctor.account import Account, group_name, mode_text, owner_name
from fieldagent.doctor.result import Finding, Status, finding

UNIT_GROUPS = frozenset({"dialout"})
"""The groups the shipped systemd unit grants the service (SupplementaryGroups=): the
service may open a port of these groups even when the account is not in them."""


def serial_findings(config: Config, account: Account) -> list[Finding]:
    ports: dict[Path, list[str]] = {}
    for device in config.device:
        if isinstance(device, SerialDevice):
            ports.setdefault(device.serial_port, []).append(device.id)
    return [_port(port, ", ".join(ids), account) for port, ids in ports.items()]


def _port(port: Path, devices: str, account: Account) -> Finding:
    node = os.path.realpath(port)

    def row(status: Status, code: str, **params: object) -> Finding:
        return finding(
            "serial",
            str(port),
            status,
            code,
            node=node,
            devices=devices,
            user=account.name,
            **params,
        )

    try:
        st = os.stat(port)
    except OSError:
        return row(Status.FAIL, "serial_missing")
    if not stat.S_ISCHR(st.st_mode):
        return row(Status.FAIL, "serial_not_char")
    if account.may(st, read=True, write=True):
        return row(Status.PASS, "serial_ok")
    group = account.group_would_grant(st, read=True, write=True)
    if group is None:
        return row(
            Status.FAIL,
            "serial_no_access",
            owner=owner_name(st.st_uid),
            group=group_name(st.st_gid),
            mode=mode_text(st),
        )
    if group in UNIT_GROUPS:
        return row(Status.WARN, "serial_group_unit", group=group)
    return row(Status.FAIL, "serial_group", group=group)
