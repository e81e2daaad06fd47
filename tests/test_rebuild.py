"""Both telemetry forms from the same polls: the compact stream plus meta rebuilds the full one.

The messages are built by the agent's own MessageBuilder and DeviceReporter and
rendered as they would be published; the subscriber's side is
fieldagent.rebuild.  The end-to-end version, through agents and a broker, is
tests/test_compact_end_to_end.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drivers import REGISTRY
from fieldagent.config import Config, parse_config
from fieldagent.model import PollResult, Quality, Reading
from fieldagent.outgoing import MessageBuilder
from fieldagent.payloads import (
    PUBLISHED_MODELS,
    CompactTelemetryPayload,
    MetaPayload,
    TelemetryPayload,
    telemetry_model,
)
from fieldagent.rebuild import StationTelemetry
from fieldagent.report_by_exception import DeviceReporter, deadbands_of
from fieldagent.sequence import SequenceCheck
from fieldagent.topics import Topics

T0 = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
UPS = REGISTRY["ups_rfc1628"]
CMTS = REGISTRY["docsis_cmts"]


def station(deadband: dict[str, float] | None = None) -> Config:
    device: dict[str, Any] = {"id": "ups-main", "driver": "ups_rfc1628", "host": "127.0.0.2"}
    if deadband is not None:
        device["deadband"] = deadband
    data = {
        "station": {"id": "demo", "name": "Demo"},
        "limits": {"ups.battery.charge_pct": {"warn_low": 60}},
        "device": [device],
    }
    return parse_config(data, "test", REGISTRY)


def polls() -> list[PollResult]:
    """A UPS that drifts, loses its runtime estimate, goes on battery, stops answering."""
    results = []
    for step in range(12):
        ts = T0 + timedelta(seconds=5 * step)
        down = step in (8, 9)
        readings = UPS.decode(
            UPS.encode(
                {
                    **UPS.simulator.initial,
                    "ups.input.voltage_v": 228 + step * 0.7,
                    "ups.output.source": "battery" if step >= 5 else "normal",
                    "ups.battery.charge_pct": 100 - step,
                    "ups.battery.runtime_min": None if step in (3, 4) else 40,
                }
            ),
            ts,
        )
        if down:
            readings = tuple(
                Reading(r.key, None, r.unit, Quality.BAD, ts, "no reply") for r in readings
            )
        results.append(
            PollResult("ups-main", ts, readings, "no reply from 127.0.0.2" if down else None, 0.01)
        )
    return results


def test_compact_messages_and_meta_rebuild_every_full_message_exactly() -> None:
    # Deadbands of 0: every change is sent, so every poll's full message can be rebuilt.
    config = station(deadband={m.key: 0 for m in UPS.metrics if m.deadband is not None})
    builder = MessageBuilder(config, Topics("bctv/v1", "demo"), 1)
    section = config.device[0]
    clock = iter(float(n) for n in range(100))
    reporter = DeviceReporter(deadbands_of(UPS, section.deadband), 300, 100, lambda: next(clock))
    state = StationTelemetry()
    sequence = SequenceCheck()
    seq = 1
    meta = builder.meta(section, UPS, 300)
    state.add(meta.topic, meta.render(seq))
    sent = 0
    for result in polls():
        full = json.loads(builder.telemetry(section, UPS, result).render(999))
        changes = reporter.report(result)
        if changes is not None:
            seq += 1
            draft = builder.compact_telemetry(section, result, changes)
            payload = draft.render(seq)
            assert sequence.add_payload(payload)
            assert state.add(draft.topic, payload)
            sent += 1
        rebuilt = state.device("demo", "ups-main")
        assert rebuilt.metrics() == full["metrics"]
        assert rebuilt.error == full["error"]
    assert 0 < sent < 12  # nothing is sent for polls in which nothing changed
    assert sequence.gaps() == {}


def test_a_compact_message_that_is_all_ok_carries_values_only() -> None:
    config = station()
    builder = MessageBuilder(config, Topics("bctv/v1", "demo"), 1)
    section = config.device[0]
    reporter = DeviceReporter(deadbands_of(UPS, {}), 300, 100, lambda: 0.0)
    results = polls()
    changes = reporter.report(results[0])
    assert changes is not None and changes.full
    snapshot = json.loads(builder.compact_telemetry(section, results[0], changes).render(7))
    assert set(snapshot) == {"station", "seq", "ts", "v", "device", "full", "ms", "val"}
    assert len(snapshot["val"]) == len(UPS.metrics)
    assert reporter.report(results[1]) is None  # 0.7 V and 1 % moved: inside the deadbands
    changes = reporter.report(results[3])  # the runtime estimate goes missing
    assert changes is not None and not changes.full
    small = json.loads(builder.compact_telemetry(section, results[3], changes).render(8))
    assert set(small) == {"station", "seq", "ts", "v", "device", "full", "val", "q", "det"}
    assert small["full"] is False and small["v"] == 2
    assert small["val"] == {"ups.battery.charge_pct": 97, "ups.battery.runtime_min": None}
    assert small["q"] == {"ups.battery.runtime_min": "missing"}
    assert small["det"] == {"ups.battery.runtime_min": "device has no such object"}


def test_meta_gives_units_titles_deadbands_and_the_merged_limits() -> None:
    config = station(deadband={"ups.input.voltage_v": 2.5})
    builder = MessageBuilder(config, Topics("bctv/v1", "demo"), 1)
    draft = builder.meta(config.device[0], UPS, 300)
    assert (draft.topic, draft.qos, draft.retain) == ("bctv/v1/demo/ups-main/meta", 1, True)
    meta = MetaPayload.model_validate_json(draft.render(3))
    assert (meta.v, meta.driver, meta.kind) == (2, "ups_rfc1628", "ups")
    voltage = meta.metrics["ups.input.voltage_v"]
    assert (voltage.unit, voltage.type, voltage.deadband) == ("V", "number", 2.5)
    charge = meta.metrics["ups.battery.charge_pct"]
    assert charge.limits is not None
    assert (charge.limits.warn_low, charge.limits.crit_low) == (60, 15)  # station over driver
    source = meta.metrics["ups.output.source"]
    assert source.type == "enum" and source.enum is not None and "battery" in source.enum
    assert source.deadband is None and source.title_vi


def test_meta_names_the_row_label_of_a_table_metric() -> None:
    data = {
        "station": {"id": "demo", "name": "Demo"},
        "device": [{"id": "cmts", "driver": "docsis_cmts", "host": "127.0.0.2"}],
    }
    config = parse_config(data, "test", REGISTRY)
    meta = json.loads(
        MessageBuilder(config, Topics("r", "demo"), 1).meta(config.device[0], CMTS, 300).render(1)
    )
    assert meta["metrics"]["docsis.upstream.snr_db"]["table"] == "channel"


@pytest.mark.parametrize(
    ("kind", "required"),
    [
        ("telemetry", {"station", "seq", "ts", "device", "driver", "kind", "poll_ms", "metrics"}),
        ("telemetry-compact", {"station", "seq", "ts", "v", "device", "full", "val"}),
        ("meta", {"station", "seq", "ts", "v", "device", "driver", "kind", "title", "metrics"}),
    ],
)
def test_the_schema_of_each_form_requires_its_fields(kind: str, required: set[str]) -> None:
    schema = PUBLISHED_MODELS[kind].model_json_schema()
    assert required <= set(schema["required"])


def test_a_telemetry_payload_names_its_own_model() -> None:
    config = station()
    builder = MessageBuilder(config, Topics("bctv/v1", "demo"), 1)
    result = polls()[0]
    full = json.loads(builder.telemetry(config.device[0], UPS, result).render(1))
    reporter = DeviceReporter(deadbands_of(UPS, {}), 300, 100, lambda: 0.0)
    changes = reporter.report(result)
    assert changes is not None
    compact = json.loads(builder.compact_telemetry(config.device[0], result, changes).render(2))
    assert telemetry_model(full) is TelemetryPayload
    assert telemetry_model(compact) is CompactTelemetryPayload
    TelemetryPayload.model_validate(full)
    CompactTelemetryPayload.model_validate(compact)
    with pytest.raises(ValueError, match="val"):
        CompactTelemetryPayload.model_validate({k: v for k, v in compact.items() if k != "val"})


def test_the_full_form_is_the_v1_message_byte_for_byte() -> None:
    """`format = "full"` keeps v1 as earlier releases rendered it (checked against 3c9e7c5)."""
    config = station()
    ts = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    result = PollResult(
        "ups-main",
        ts,
        (
            Reading("ups.input.voltage_v", 230, "V", Quality.OK, ts),
            Reading(
                "ups.battery.runtime_min", None, "min", Quality.MISSING, ts, "no estimate", False
            ),
        ),
        None,
        0.012,
    )
    draft = MessageBuilder(config, Topics("bctv/v1", "demo"), 1).telemetry(
        config.device[0], UPS, result
    )
    assert draft.render(7) == (
        b'{"station":"demo","seq":7,"ts":"2026-12-02T05:00:00Z","device":"ups-main",'
        b'"driver":"ups_rfc1628","kind":"ups","poll_ms":12,"error":null,"metrics":{'
        b'"ups.input.voltage_v":{"value":230,"unit":"V","quality":"ok","detail":null,'
        b'"in_use":true},"ups.battery.runtime_min":{"value":null,"unit":"min",'
        b'"quality":"missing","detail":"no estimate","in_use":false}}}'
    )
