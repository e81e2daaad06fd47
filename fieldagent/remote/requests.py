"""A `cmd/NAME` payload parsed into its model, or refused in one line.

A broker message is untrusted input: it is bounded in size, must be a JSON
object, and may hold only the keys its command knows (models with
`extra="forbid"`, strict types: "2" is not a number of hours).  Every command
takes an optional `request_id`, echoed in the reply so the sender can match it,
and an optional `requested_by`, who says they asked (logged; see
`requested_by`).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fieldagent.remote.settings import CommandName

MAX_PAYLOAD_BYTES = 1024
"""A request is a few keys: anything longer is not one."""
MAX_REQUEST_ID = 64
MAX_REQUESTED_BY = 64
_REQUEST_ID = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._:-]{{0,{MAX_REQUEST_ID - 1}}}$")
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class RequestRefused(ValueError):
    """A request that cannot be taken; the message goes into the reply as it is."""

    def __init__(
        self,
        message: str,
        request_id: str | None = None,
        requested_by: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.requested_by = requested_by
        self.retry_after_s = retry_after_s


def requested_by_ok(text: str) -> bool:
    """Whether a claimed sender name may be logged: printable, 1 to 64 characters."""
    return 0 < len(text) <= MAX_REQUESTED_BY and text.isprintable()


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, hide_input_in_errors=True)

    request_id: str | None = None
    requested_by: str | None = Field(
        default=None, description="Who sends it (as they claim it), for the log."
    )

    @field_validator("request_id")
    @classmethod
    def _request_id(cls, value: str | None) -> str | None:
        if value is not None and not _REQUEST_ID.match(value):
            raise ValueError(
                f"give 1 to {MAX_REQUEST_ID} characters of A-Z a-z 0-9 . _ : - (a letter or"
                " digit first)"
            )
        return value

    @field_validator("requested_by")
    @classmethod
    def _requested_by(cls, value: str | None) -> str | None:
        if value is not None and not requested_by_ok(value):
            raise ValueError(f"give 1 to {MAX_REQUESTED_BY} printable characters")
        return value


class PingRequest(_Request):
    """`cmd/ping`: is the agent alive, and how is the station?"""


class _DeviceRequest(_Request):
    device: str

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not _DEVICE_ID.match(value):
            raise ValueError("give a device id as in the station file")
        return value


class PollRequest(_DeviceRequest):
    """`cmd/poll`: poll this device now, out of turn."""


class MaintenanceRequest(_DeviceRequest):
    """`cmd/maintenance`: exactly one of `hours`, `until` (ISO with its offset), `off`."""

    hours: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    until: str | None = Field(default=None, max_length=40)
    off: Literal[True] | None = None

    @field_validator("until")
    @classmethod
    def _until(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("not an ISO time, e.g. 2026-12-01T08:00:00+07:00") from None
        if parsed.utcoffset() is None:
            raise ValueError("give the offset, e.g. 2026-12-01T08:00:00+07:00")
        return value

    @model_validator(mode="after")
    def _one_end(self) -> MaintenanceRequest:
        given = [key for key in ("hours", "until", "off") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of hours, until, off")
        return self

    @property
    def until_time(self) -> datetime | None:
        return datetime.fromisoformat(self.until) if self.until is not None else None


Request = PingRequest | PollRequest | MaintenanceRequest

MODELS: dict[CommandName, type[PingRequest] | type[PollRequest] | type[MaintenanceRequest]] = {
    "ping": PingRequest,
    "poll": PollRequest,
    "maintenance": MaintenanceRequest,
}


def parse_request(name: CommandName, payload: bytes) -> Request:
    """The request a `cmd/NAME` payload makes (an empty payload is `{}`), or `RequestRefused`."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise RequestRefused(f"the request is {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES}")
    if not payload.strip():
        data: object = {}
    else:
        try:
            data = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RequestRefused(f"the request is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RequestRefused("the request must be a JSON object")
    model = MODELS[name]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestRefused(
            _problem(model, exc), _request_id_of(data), _requested_by_of(data)
        ) from None


def _problem(model: type[BaseModel], exc: ValidationError) -> str:
    """The first problem, in one line naming the key (an unknown key before all else)."""
    errors = exc.errors()
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        known = ", ".join(model.model_fields)
        return f"unknown key {key!r} (known: {known})"
    if error["type"] == "missing":
        return f"key {key!r} is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{key}: {message}" if key else message


def _request_id_of(data: dict[object, object]) -> str | None:
    """The request id of a refused request, when it is a good one: the reply echoes it."""
    value = data.get("request_id")
    if isinstance(value, str) and _REQUEST_ID.match(value):
        return value
    return None


def _requested_by_of(data: dict[object, object]) -> str | None:
    """Who a refused request says sent it, when that can be logged."""
    value = data.get("requested_by")
    return value if isinstance(value, str) and requested_by_ok(value) else None


def peek_request_id(payload: bytes) -> str | None:
    """The request id of a payload refused before it was parsed (a command not allowed,
    unknown), so the reply still echoes it; None when there is no good one."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return None
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return _request_id_of(data) if isinstance(data, dict) else None
