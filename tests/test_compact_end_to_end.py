"""Compact telemetry through real parts: two agents poll the same simulated devices, one
publishing v1 (full), one v2 (compact + meta), through one mosquitto; a subscriber rebuilds
from v2 exactly what v1 shows, through value changes, a row going out of use, and a device
that stops answering and comes back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fieldagent.localbroker import LocalBroker
from fieldagent.rebuild import StationTelemetry
from fieldagent.sequence import SequenceCheck
from fieldagent.sim.snmp_agent import SnmpSimulator
from tests.agentproc import AgentProcess
from tests.mqtt_probe import MqttProbe, Received
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import write_station

FULL_ROOT = "full/v1/test-station"
COMPACT_ROOT = "compact/v1/test-station"
DEVICES = ("ups-main", "ird1")
IRD_INPUT_2 = "[input=2]"


def latest_full(messages: list[Received], device: str) -> dict[str, Any] | None:
    topic = f"{FULL_ROOT}/{device}/telemetry"
    found = [m.json() for m in messages if m.topic == topic]
    return found[-1] if found else None


def rebuilt(messages: list[Received]) -> StationTelemetry:
    state = StationTelemetry()
    for message in messages:
        if message.topic.startswith(COMPACT_ROOT + "/"):
            state.add(message.topic, message.payload)
    return state


def agree(messages: list[Received], device: str) -> bool:
    """Whether the rebuilt v2 state of `device` is what its latest v1 message shows."""
    full = latest_full(messages, device)
    state = rebuilt(messages).device("test-station", device)
    return (
        full is not None
        and state.complete
        and state.meta is not None
        and state.metrics() == full["metrics"]
        and state.error == full["error"]
    )


def test_a_subscriber_rebuilds_the_full_form_from_meta_and_compact_messages(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    ups = sims.serve("ups_rfc1628", "127.0.0.2")
    ird = sims.serve("ird_satellite", "127.0.0.3")
    devices = [
        device_fields("ups-main", ups, interval=1, timeout=0.5, request_retries=0, retries=1),
        device_fields("ird1", ird, interval=1),
    ]
    agents = []
    for form, root in (("full", FULL_ROOT), ("compact", COMPACT_ROOT)):
        folder = tmp_path / form
        folder.mkdir()
        config = write_station(
            folder,
            devices,
            mqtt={"url": broker.url, "topic_root": root.rsplit("/", 1)[0]},
            telemetry={"format": form},
        )
        with config.open("a", encoding="utf-8") as station:  # the IRD's line-up item needs it
            station.write('\n[checklist]\nlineup = ["VTV1 HD", "VTV3 HD"]\n')
        agents.append(AgentProcess("run", "-c", str(config)))
    try:
        _exercise(probe, ups, ird)
    except AssertionError as failed:
        said = "\n".join(stderr for _, stderr in (agent.stop() for agent in agents))
        raise AssertionError(f"{failed}\nagents said:\n{said}") from None
    stopped = [agent.stop() for agent in agents]
    for code, stderr in stopped:
        assert code == 0, stderr
    _check_streams(probe.messages)


def _exercise(probe: MqttProbe, ups: SnmpSimulator, ird: SnmpSimulator) -> None:
    """Changes on the devices, each waited for until both forms show it alike."""
    for device in DEVICES:
        probe.wait_for(lambda ms, d=device: agree(ms, d), timeout=20)  # first snapshots
    # Beyond the deadbands (5 V; 0.3 dB), an enum, and a row the IRD says is not in use.
    ups.device.set("ups.input.voltage_v", 198)
    ups.device.set("ups.output.source", "battery")
    ird.device.set("ird.cn_db[input=1]", 7.5)
    ird.device.set("ird.input_enabled[input=2]", False)

    def changed(ms: list[Received]) -> bool:
        ups_now, ird_now = latest_full(ms, "ups-main"), latest_full(ms, "ird1")
        return (
            ups_now is not None
            and ups_now["metrics"]["ups.output.source"]["value"] == "battery"
            and ird_now is not None
            and ird_now["metrics"]["ird.cn_db[input=2]"]["in_use"] is False
            and agree(ms, "ups-main")
            and agree(ms, "ird1")
        )

    probe.wait_for(changed, timeout=15)
    ups.device.play("no_reply")
    probe.wait_for(
        lambda ms: (
            (latest_full(ms, "ups-main") or {}).get("error") is not None and agree(ms, "ups-main")
        ),
        timeout=15,
    )
    ups.device.play("normal")  # back to its initial values
    settled = probe.wait_for(
        lambda ms: (
            (latest_full(ms, "ups-main") or {}).get("error") is None and agree(ms, "ups-main")
        ),
        timeout=15,
    )
    # Nothing changes any more: v1 goes on with every poll, v2 sends nothing at all.
    compact_before = len(polls_of(settled, COMPACT_ROOT))
    full_before = len(polls_of(settled, FULL_ROOT))
    quiet = probe.wait_for(lambda ms: len(polls_of(ms, FULL_ROOT)) >= full_before + 8, 15)
    assert len(polls_of(quiet, COMPACT_ROOT)) == compact_before


def polls_of(messages: list[Received], root: str) -> list[Received]:
    return [m for m in messages if m.topic.startswith(root) and m.topic.endswith("/telemetry")]


def _check_streams(messages: list[Received]) -> None:
    compact = [m for m in messages if m.topic.startswith(COMPACT_ROOT + "/")]
    full = [m for m in messages if m.topic.startswith(FULL_ROOT + "/")]
    # Both streams are whole by the sequence check: v2 skips unchanged polls without a gap.
    # A re-send is allowed (QoS 1 is at least once, docs/mqtt-topics.md): the check drops
    # it, as a central tool would. What must never happen is a gap.
    for stream in (compact, full):
        check = SequenceCheck()
        for message in stream:
            check.add_payload(message.payload, message.retained)
        assert check.gaps() == {}
    metas = [m.json() for m in compact if m.topic.endswith("/meta")]
    assert {m["device"] for m in metas} == set(DEVICES)
    assert metas[0]["metrics"]["ups.input.voltage_v"]["unit"] == "V"
    # Put on the connection, not before it: the meta never waited for a link it lacked.
    assert not any(m.get("replayed") for m in metas)
    compact_polls = [m for m in compact if m.topic.endswith("/telemetry")]
    full_polls = [m for m in full if m.topic.endswith("/telemetry")]
    assert all(m.json()["v"] == 2 for m in compact_polls)
    assert all("v" not in m.json() for m in full_polls)
    assert len(compact_polls) < len(full_polls) / 2  # bench/uplink.py measures the bytes
