"""The station's `[remote]`: which commands central staff may send over MQTT.

The vocabulary is closed and read-only toward devices: `ping` reads the agent's
own figures, `poll` reads a device out of turn, `maintenance` holds alarms back
on the agent.  No command writes to a device, and none can be added from the
station file.  `maintenance` is off unless the file allows it: it silences a
device's alarms, so a station decides to let central staff do that.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

CommandName = Literal["ping", "poll", "maintenance"]

COMMANDS: tuple[CommandName, ...] = ("ping", "poll", "maintenance")
"""Every remote command there is; none of them writes to a device."""

DEFAULT_ALLOW: tuple[CommandName, ...] = ("ping", "poll")
"""Allowed when the file says nothing: the two that only read."""

MAX_MAINTENANCE_H = 72.0


class RemoteSection(BaseModel):
    """`[remote]`: the commands on `cmd/` the agent takes, besides `cmd/checklist`."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    allow: list[CommandName] = Field(
        default_factory=lambda: list(DEFAULT_ALLOW),
        description=(
            "Commands the agent takes on cmd/NAME: any of ping, poll, maintenance"
            " (default: ping and poll; maintenance silences alarms, so it must be listed)."
        ),
    )
    max_maintenance_h: float = Field(
        default=MAX_MAINTENANCE_H,
        gt=0,
        le=720,
        allow_inf_nan=False,
        description="The longest maintenance cmd/maintenance may set, in hours.",
    )

    @field_validator("allow")
    @classmethod
    def _no_repeats(cls, allow: list[CommandName]) -> list[CommandName]:
        repeated = sorted({name for name in allow if allow.count(name) > 1})
        if repeated:
            raise ValueError(f"{repeated[0]!r} is listed twice")
        return allow
