"""Write station files for tests, the way a technician would: TOML on disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Path):
        return json.dumps(str(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML here")


FULL: dict[str, Any] = {"format": "full"}
"""`[telemetry]` of contract v1: every reading of every poll."""


def write_station(
    folder: Path,
    devices: list[dict[str, Any]],
    mqtt: dict[str, Any] | None = None,
    station_id: str = "test-station",
    name: str = "Đài Truyền thanh - Truyền hình huyện Thử Nghiệm",
    state_dir: Path | None = None,
    telemetry: dict[str, Any] | None = None,
    agent: dict[str, Any] | None = None,
) -> Path:
    """A complete station file with a state dir (inside `folder` by default); returns its path.

    `telemetry`: the `[telemetry]` section; FULL for a test that counts polls by their
    telemetry or reads the v1 `metrics` (the default, compact, sends only changes).
    `agent`: more keys of `[agent]` (stop_flush_s, debug_devices...)."""
    lines = [
        "[station]",
        f"id = {toml_value(station_id)}",
        f"name = {toml_value(name)}",
        "",
        "[agent]",
        f"state_dir = {toml_value(state_dir or folder / 'state')}",
        *(f"{key} = {toml_value(value)}" for key, value in (agent or {}).items()),
        "",
        "[mqtt]",
    ]
    lines += [f"{key} = {toml_value(value)}" for key, value in (mqtt or {}).items()]
    if telemetry is not None:
        lines += ["", "[telemetry]"]
        lines += [f"{key} = {toml_value(value)}" for key, value in telemetry.items()]
    for device in devices:
        lines += ["", "[[device]]"]
        flat = {k: v for k, v in device.items() if k != "limits"}
        lines += [f"{key} = {toml_value(value)}" for key, value in flat.items()]
        for metric, limits in device.get("limits", {}).items():
            lines += [f"[device.limits.{toml_value(metric)}]"]
            lines += [f"{key} = {toml_value(value)}" for key, value in limits.items()]
    path = folder / "station.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)  # it may hold secrets: the agent refuses to start from an open one
    return path
