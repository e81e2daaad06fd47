"""`fieldagent doctor`: load the station, run every check, print the report, exit by the worst.

Exit codes: 0 every check passed, 1 a warning, 2 a check failed, 78 the station
file cannot be used (then only its problems are reported: every other check
needs it).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from fieldagent.config import Config
from fieldagent.configbase import ConfigError
from fieldagent.doctor.account import Account
from fieldagent.doctor.local import (
    DEFAULT_MIN_FREE_MB,
    clock_finding,
    disk_finding,
    secrets_findings,
    state_findings,
)
from fieldagent.doctor.render import render_json, render_text
from fieldagent.doctor.result import EXIT_CONFIG, Finding, Status, finding, worst
from fieldagent.doctor.serial import serial_findings
from fieldagent.doctor.texts import LANGS, Lang
from fieldagent.doctor.traps import trap_finding
from fieldagent.driver import Driver, Maturity

DEFAULT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class DoctorOptions:
    langs: Sequence[Lang] = LANGS
    json: bool = False
    devices: bool = True
    timeout: float = DEFAULT_TIMEOUT_S
    """Seconds any one step may take (a broker step, a device's request)."""
    user: str | None = None
    """The account the service runs as; None: `fieldagent` if this box has it, else ours."""
    min_free_mb: int = DEFAULT_MIN_FREE_MB


def run_doctor(path: Path, options: DoctorOptions, out: TextIO = sys.stdout) -> int:
    findings, station = _findings(path, options)
    code = (
        EXIT_CONFIG if findings and findings[0].code == "config_invalid" else int(worst(findings))
    )
    if options.json:
        report = render_json(findings, station, str(path), code, options.langs)
        print(json.dumps(report, indent=2, ensure_ascii=False), file=out)
    else:
        print(render_text(findings, station, str(path), code, options.langs), end="", file=out)
    return code


def _findings(path: Path, options: DoctorOptions) -> tuple[list[Finding], str]:
    from fieldagent.cli import drivers_of, load_station

    try:
        registry = drivers_of(path)
        station = load_station(path, registry)
    except ConfigError as exc:
        # The problems as load_config words them: secrets are already left out there.
        problems = "; ".join(exc.problems)
        return [
            finding(
                "config", str(path), Status.FAIL, "config_invalid", problems=problems, path=path
            )
        ], "?"
    config = station.config
    found = [
        finding(
            "config",
            str(path),
            Status.PASS,
            "config_ok",
            station=config.station.id,
            devices=len(config.device),
        )
    ]
    found += _model_drivers(station.drivers)
    try:
        account = Account.named(options.user) if options.user else Account.default()
    except KeyError:
        user = options.user or "?"
        found.append(finding("service_user", "", Status.FAIL, "user_unknown", user=user))
        return found, config.station.id
    found.append(
        finding(
            "service_user",
            "",
            Status.PASS,
            "user_ok",
            user=account.name,
            groups=", ".join(account.group_names),
        )
    )
    found += secrets_findings(path, config, account)
    state_dir = config.agent.state_dir
    found += state_findings(state_dir, account)
    found.append(disk_finding(state_dir, options.min_free_mb))
    found.append(clock_finding())
    found += serial_findings(config, account)
    trap = trap_finding(config.traps, state_dir)
    if trap is not None:
        found.append(trap)
    found += _broker(config, options, found)
    if options.devices and config.device:
        from fieldagent.doctor.devices import device_findings

        found += asyncio.run(
            device_findings(
                config.device, station.drivers, registry.values(), path, state_dir, options.timeout
            )
        )
    return found, config.station.id


def _model_drivers(drivers: Mapping[str, Driver]) -> list[Finding]:
    return [
        finding("config", "", Status.WARN, "driver_model", device=device_id, driver=driver.name)
        for device_id, driver in drivers.items()
        if driver.maturity is Maturity.MODEL
    ]


def _broker(config: Config, options: DoctorOptions, found: list[Finding]) -> list[Finding]:
    from fieldagent.doctor.broker import BrokerOptions, broker_findings

    if any(f.code == "secret_file" for f in found):
        return []  # no password to log in with: its own row says why
    return broker_findings(config, BrokerOptions(timeout=options.timeout))
