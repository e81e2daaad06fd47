"""doctor on the devices: one real poll each against UDP SNMP simulators, and for a device
whose driver finds nothing, what `identify` suggests."""

from __future__ import annotations

import time
from pathlib import Path

from fieldagent.localbroker import free_port
from tests.doctor.doctorrun import doctor, station
from tests.simrunner import SimRunner, device_fields


def test_a_device_answering_passes_with_its_round_trip(tmp_path: Path, sims: SimRunner) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    row = doctor(station(tmp_path, devices=[device_fields("ups-main", sim)])).row("device")
    assert (row["subject"], row["status"], row["code"]) == ("ups-main", "pass", "device_ok")
    assert f"127.0.0.2:{sim.port} (ups_rfc1628): answered in" in row["result"]["en"]


def test_a_device_that_does_not_answer_fails_within_the_timeout(tmp_path: Path) -> None:
    closed = {
        "id": "ups-main", "driver": "ups_rfc1628", "host": "127.0.0.2",
        "port": free_port("127.0.0.2", udp=True), "timeout": 5.0, "request_retries": 0,
    }  # fmt: skip
    path = station(tmp_path, devices=[closed])
    started = time.monotonic()
    row = doctor(path, timeout=0.5).row("device")
    assert time.monotonic() - started < 8  # the device's 5 s capped by doctor's --timeout
    assert (row["status"], row["code"]) == ("fail", "device_unreachable")
    assert "fieldagent poll -c" in row["fix"]["en"]


def test_a_device_polled_with_the_wrong_driver_gets_the_right_one_suggested(
    tmp_path: Path, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    wrong = device_fields("ups-main", sim, driver="entity_sensors")
    row = doctor(station(tmp_path, devices=[wrong])).row("device")
    assert (row["status"], row["code"]) == ("fail", "device_wrong_driver")
    assert "suggests: ups_rfc1628" in row["result"]["en"]
    assert 'set driver = "ups_rfc1628" for device ups-main' in row["fix"]["en"]


def test_a_driver_reading_only_what_any_device_serves_is_questioned(
    tmp_path: Path, sims: SimRunner
) -> None:
    # scte_hms_optical reads MIB-II's system group too: values come back from a UPS.
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    other = device_fields("ups-main", sim, driver="scte_hms_optical")
    row = doctor(station(tmp_path, devices=[other])).row("device")
    assert (row["status"], row["code"]) == ("warn", "device_other_driver")
    assert "names itself ups_rfc1628" in row["result"]["en"]


def test_no_devices_polled_with_no_devices(tmp_path: Path, sims: SimRunner) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    path = station(tmp_path, devices=[device_fields("ups-main", sim)])
    assert doctor(path, devices=False).codes("device") == []
