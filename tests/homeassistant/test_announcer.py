"""The announcer on real files in a state directory, with an injected clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldagent.homeassistant.announcer import REPUBLISH_MIN_S, STATE_FILE, Announcer
from fieldagent.homeassistant.discovery import DeviceDiscovery


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def configs(*device_ids: str, version: str = "1") -> dict[str, DeviceDiscovery]:
    return {
        d: DeviceDiscovery(f"ha/device/fieldagent_s_{d}/config", f'{{"v":"{version}"}}'.encode())
        for d in device_ids
    }


def publish_all(announcer: Announcer) -> list[tuple[str, bytes]]:
    sent = [(m.topic, m.payload) for m in announcer.due()]
    for topic, _ in sent:
        announcer.published(topic)
    return sent


def test_configs_go_out_once_then_again_on_each_connection(tmp_path: Path) -> None:
    announcer = Announcer(tmp_path, Clock())
    announcer.set_devices(configs("a", "b"))
    first = publish_all(announcer)
    assert [t for t, _ in first] == [
        "ha/device/fieldagent_s_a/config",
        "ha/device/fieldagent_s_b/config",
    ]
    assert announcer.due() == []
    announcer.rearm()
    assert publish_all(announcer) == first
    announcer.set_devices(configs("a", "b"))  # a reload that changes nothing: nothing to send
    assert announcer.due() == []


def test_a_device_gone_while_stopped_is_removed_at_the_next_start(tmp_path: Path) -> None:
    before = Announcer(tmp_path, Clock())
    before.set_devices(configs("a", "gone"))
    publish_all(before)
    saved = json.loads((tmp_path / STATE_FILE).read_text())
    assert saved["announced"] == [
        "ha/device/fieldagent_s_a/config",
        "ha/device/fieldagent_s_gone/config",
    ]
    after = Announcer(tmp_path, Clock())  # a restart with "gone" out of the station file
    after.set_devices(configs("a"))
    due = after.due()
    assert [(m.topic, m.payload, m.retain) for m in due] == [
        ("ha/device/fieldagent_s_gone/config", b"", True),  # removals first
        ("ha/device/fieldagent_s_a/config", b'{"v":"1"}', True),
    ]
    # Not published yet (no connection): a crash now keeps it in the file.
    assert "ha/device/fieldagent_s_gone/config" in Announcer(tmp_path, Clock()).announced
    publish_all(after)
    assert json.loads((tmp_path / STATE_FILE).read_text())["announced"] == [
        "ha/device/fieldagent_s_a/config"
    ]
    assert Announcer(tmp_path, Clock()).announced == {"ha/device/fieldagent_s_a/config"}


def test_a_reload_removes_a_device_and_a_device_back_before_its_removal_is_kept(
    tmp_path: Path,
) -> None:
    announcer = Announcer(tmp_path, Clock())
    announcer.set_devices(configs("a", "b"))
    publish_all(announcer)
    assert all(m.retain and m.qos == 1 for m in announcer.due())
    announcer.set_devices(configs("a"))
    assert [(m.topic, m.payload) for m in announcer.due()] == [
        ("ha/device/fieldagent_s_b/config", b"")
    ]
    announcer.set_devices(configs("a", "b", version="2"))  # back, changed, before it went out
    sent = publish_all(announcer)
    assert sent == [
        ("ha/device/fieldagent_s_a/config", b'{"v":"2"}'),
        ("ha/device/fieldagent_s_b/config", b'{"v":"2"}'),
    ]
    assert "ha/device/fieldagent_s_b/config" in Announcer(tmp_path, Clock()).announced


def test_discovery_turned_off_removes_everything_announced_before(tmp_path: Path) -> None:
    on = Announcer(tmp_path, Clock())
    on.set_devices(configs("a", "b"))
    publish_all(on)
    off = Announcer(tmp_path, Clock())
    off.set_devices({})
    assert {(t, p) for t, p in publish_all(off)} == {
        ("ha/device/fieldagent_s_a/config", b""),
        ("ha/device/fieldagent_s_b/config", b""),
    }
    assert Announcer(tmp_path, Clock()).announced == frozenset()
    off.rearm()
    assert off.due() == []


def test_only_the_exact_online_counts_and_at_most_once_per_interval(tmp_path: Path) -> None:
    clock = Clock()
    announcer = Announcer(tmp_path, clock)
    announcer.set_devices(configs("a"))
    publish_all(announcer)
    for payload in (b"offline", b"ONLINE", b"online\n", b" online", b"online" * 1000, b""):
        assert not announcer.home_assistant_status(payload), payload
    assert announcer.due() == []
    assert announcer.home_assistant_status(b"online")
    assert len(publish_all(announcer)) == 1
    clock.now += REPUBLISH_MIN_S / 2
    assert not announcer.home_assistant_status(b"online")  # a flood costs one burst
    assert announcer.due() == []
    clock.now += REPUBLISH_MIN_S
    assert announcer.home_assistant_status(b"online")


def test_an_unreadable_state_file_is_named_and_announces_from_scratch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / STATE_FILE).write_text('{"announced": "not a list"}')
    announcer = Announcer(tmp_path, Clock())
    assert announcer.announced == frozenset()
    [record] = caplog.records
    assert record.getMessage() == (
        f"{tmp_path / STATE_FILE}: not readable (announced is not a list of topics):"
        " no earlier discovery to remove"
    )
    announcer.set_devices(configs("a"))
    assert json.loads((tmp_path / STATE_FILE).read_text())["announced"] == [
        "ha/device/fieldagent_s_a/config"
    ]
