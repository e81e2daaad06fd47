"""Remote command payloads parsed into their models, or refused in one line naming the key;
the `[remote]` section; the vocabulary, which is read-only."""

from __future__ import annotations

import tomllib
from datetime import datetime

import pytest

from fieldagent.config import ConfigError, parse_config
from fieldagent.remote.requests import (
    MAX_PAYLOAD_BYTES,
    MODELS,
    MaintenanceRequest,
    PingRequest,
    PollRequest,
    RequestRefused,
    parse_request,
)
from fieldagent.remote.settings import COMMANDS, DEFAULT_ALLOW, RemoteSection
from fieldagent.topics import Topics


def test_the_vocabulary_is_exactly_the_read_only_commands() -> None:
    # Adding a command is a decision: none may write to a device (no SET, no register write).
    assert COMMANDS == ("ping", "poll", "maintenance")
    assert set(MODELS) == set(COMMANDS)
    assert DEFAULT_ALLOW == ("ping", "poll")  # maintenance silences alarms: listed on purpose
    keys = {key for model in MODELS.values() for key in model.model_fields}
    assert keys == {"request_id", "requested_by", "device", "hours", "until", "off"}


def test_good_requests_parse_into_their_models() -> None:
    assert parse_request("ping", b"") == PingRequest()
    named = '{"request_id": "c-1", "requested_by": "Nguyễn Văn A"}'.encode()
    assert parse_request("ping", named) == PingRequest(
        request_id="c-1", requested_by="Nguyễn Văn A"
    )
    assert parse_request("poll", b'{"device": "ups1"}') == PollRequest(device="ups1")
    hours = parse_request("maintenance", b'{"device": "ups1", "hours": 2}')
    assert isinstance(hours, MaintenanceRequest) and hours.hours == 2.0
    until = parse_request("maintenance", b'{"device": "ups1", "until": "2026-12-01T08:00+07:00"}')
    assert isinstance(until, MaintenanceRequest)
    assert until.until_time == datetime.fromisoformat("2026-12-01T01:00Z")
    off = parse_request("maintenance", b'{"device": "ups1", "off": true}')
    assert isinstance(off, MaintenanceRequest) and off.off and off.until_time is None


@pytest.mark.parametrize(
    ("name", "payload", "problem"),
    [
        ("ping", b"ping!", "the request is not JSON"),
        ("ping", b"[1]", "the request must be a JSON object"),
        ("ping", b" " * (MAX_PAYLOAD_BYTES + 1), f"at most {MAX_PAYLOAD_BYTES}"),
        ("ping", b'{"command": "reboot"}', "unknown key 'command' (known: request_id,"),
        ("poll", b'{"device": "ups1", "oid": "1.3"}', "unknown key 'oid'"),
        ("poll", b"{}", "key 'device' is missing"),
        ("poll", b'{"device": "../x"}', "device: give a device id"),
        ("poll", b'{"device": 7}', "device: Input should be a valid string"),
        ("ping", b'{"request_id": "a b"}', "request_id: give 1 to 64 characters"),
        ("ping", b'{"request_id": "' + b"x" * 65 + b'"}', "request_id: give 1 to 64"),
        ("ping", b'{"requested_by": "a\\nb"}', "requested_by: give 1 to 64 printable"),
        ("maintenance", b'{"device": "u"}', "give exactly one of hours, until, off"),
        ("maintenance", b'{"device": "u", "hours": 1, "off": true}', "exactly one of"),
        ("maintenance", b'{"device": "u", "hours": "2"}', "hours: Input should be a valid"),
        ("maintenance", b'{"device": "u", "hours": 0}', "hours: Input should be greater"),
        ("maintenance", b'{"device": "u", "hours": NaN}', "hours: Input should be a finite"),
        ("maintenance", b'{"device": "u", "off": false}', "off: Input should be True"),
        ("maintenance", b'{"device": "u", "until": "tomorrow"}', "until: not an ISO time"),
        ("maintenance", b'{"device": "u", "until": "2026-12-01T08:00"}', "give the offset"),
    ],
)
def test_a_bad_request_is_refused_in_one_line_naming_the_key(
    name: str, payload: bytes, problem: str
) -> None:
    with pytest.raises(RequestRefused) as refused:
        parse_request(name, payload)  # type: ignore[arg-type]
    assert problem in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_refused_request_keeps_its_request_id_and_sender_when_they_are_good() -> None:
    with pytest.raises(RequestRefused) as refused:
        parse_request("poll", b'{"request_id": "r-9", "requested_by": "ops", "x": 1}')
    assert (refused.value.request_id, refused.value.requested_by) == ("r-9", "ops")
    with pytest.raises(RequestRefused) as bad_id:
        parse_request("poll", b'{"request_id": "r 9"}')
    assert bad_id.value.request_id is None


def settings(text: str) -> RemoteSection:
    base = '[station]\nid = "st"\nname = "Station"\n'
    return parse_config(tomllib.loads(base + text), "station.toml").remote


def test_the_remote_section_defaults_and_refusals() -> None:
    assert settings("").allow == ["ping", "poll"]
    assert settings("").max_maintenance_h == 72
    chosen = settings('[remote]\nallow = ["maintenance"]\nmax_maintenance_h = 8\n')
    assert (chosen.allow, chosen.max_maintenance_h) == (["maintenance"], 8)
    assert settings("[remote]\nallow = []\n").allow == []
    for text, problem in [
        (
            '[remote]\nallow = ["set"]\n',
            "remote.allow[0]: Input should be 'ping', 'poll' or 'maintenance'",
        ),
        ('[remote]\nallow = ["ping", "ping"]\n', "'ping' is listed twice"),
        ("[remote]\nmax_maintenance_h = 0\n", "remote.max_maintenance_h"),
        ("[remote]\nalow = []\n", "remote.alow"),
    ]:
        with pytest.raises(ConfigError) as refused:
            settings(text)
        assert problem in str(refused.value), str(refused.value)


def test_command_topics() -> None:
    topics = Topics("bctv/v1", "st")
    assert topics.commands == "bctv/v1/st/cmd/+"
    assert topics.command_reply("ping") == "bctv/v1/st/cmd/ping/reply"
    assert topics.command_name("bctv/v1/st/cmd/ping") == "ping"
    assert topics.command_name("bctv/v1/st/cmd/ping/reply") is None
    assert topics.command_name("bctv/v1/other/cmd/ping") is None
