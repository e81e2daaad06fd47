"""The DVB-T2 transmitter driver: its modelled MIB, limits, and how the faults develop.

The conformance suite checks each scenario's end state; these tests cover the
GPS holdover phase, the model's OID space and scaling, and a poll over UDP.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from drivers import _transmitter as tx
from drivers import dvbt2_transmitter as dvbt2
from fieldagent.config import parse_device
from fieldagent.health import evaluate
from fieldagent.model import HealthState, Value
from tests.simrunner import SimRunner, health_of, played, poll_once

TS = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DRIVER = dvbt2.DRIVER
DOCUMENTATION_ENTERPRISE = "1.3.6.1.4.1.32473."
"""RFC 5612: the enterprise number reserved for examples, so the model matches no real device."""


def health_at(scenario: str, elapsed_s: float) -> tuple[HealthState, dict[str, Value]]:
    """Device health and values `elapsed_s` into `scenario`, through encode and decode."""
    device, _ = played(DRIVER, scenario, elapsed_s)
    readings = DRIVER.decode(DRIVER.encode(device.snapshot()), TS)
    state = health_of(DRIVER, readings, TS, "dvbt2-1")
    return state, {r.key: r.value for r in readings}


def test_every_oid_is_in_the_model_s_documentation_subtree() -> None:
    oids = [m.source_key for m in DRIVER.metrics] + list(DRIVER.identity.sys_object_ids)
    assert all(oid.startswith(DOCUMENTATION_ENTERPRISE + "2") for oid in oids)


def test_model_scaling() -> None:
    assert DRIVER.metric(tx.FORWARD).decode(4987, TS).value == 498.7
    assert DRIVER.metric(tx.VSWR).decode(115, TS).value == 1.15
    assert DRIVER.metric(dvbt2.MER).decode(331, TS).value == 33.1


@pytest.mark.parametrize(
    ("key", "value", "state"),
    [
        (tx.FORWARD, 399, HealthState.WARNING),
        (tx.FORWARD, 249, HealthState.CRITICAL),
        (tx.REFLECTED, 26, HealthState.WARNING),
        (tx.REFLECTED, 51, HealthState.CRITICAL),
        (dvbt2.MER, 28.0, HealthState.OK),
        (dvbt2.MER, 27.9, HealthState.WARNING),
        (dvbt2.MER, 23.9, HealthState.CRITICAL),
        (dvbt2.TS_PRESENT, False, HealthState.CRITICAL),
        (dvbt2.GPS_LOCKED, False, HealthState.WARNING),
        (dvbt2.SFN_SYNCED, False, HealthState.CRITICAL),
    ],
)
def test_default_limits_are_those_of_a_500_w_set(
    key: str, value: Value, state: HealthState
) -> None:
    metric = DRIVER.metric(key)
    assert metric.bad_state(metric.decode(metric.encode(value), TS))[0] is state


def test_gps_unlock_is_a_warning_in_holdover_then_critical_when_sfn_sync_goes() -> None:
    state, values = health_at("gps_unlock", dvbt2.HOLDOVER_S - 1)
    assert state is HealthState.WARNING
    assert (values[dvbt2.GPS_LOCKED], values[dvbt2.SFN_SYNCED]) == (False, True)
    state, values = health_at("gps_unlock", dvbt2.HOLDOVER_S)
    assert state is HealthState.CRITICAL
    assert values[dvbt2.SFN_SYNCED] is False


def test_high_vswr_passes_warning_before_critical() -> None:
    assert health_at("high_vswr", 0)[0] is HealthState.OK
    state, values = health_at("high_vswr", 20)  # VSWR ~1.53: a warning, reflected still low
    assert state is HealthState.WARNING
    assert values[tx.VSWR] == pytest.approx(1.53, abs=0.01)
    assert health_at("high_vswr", 60)[0] is HealthState.CRITICAL


def test_off_air_is_critical_without_a_vswr_problem() -> None:
    state, values = health_at("off_air", 0)
    assert state is HealthState.CRITICAL
    assert values[tx.FORWARD] == 0 and values[tx.VSWR] is None


def test_an_empty_exciter_slot_is_listed_but_not_judged_and_a_reserve_fault_is() -> None:
    empty = dvbt2.exciter(dvbt2.EXCITER_FAULT, dvbt2.RESERVE_SLOT)
    state, values = health_at("single_drive", 0)
    assert (state, values[empty]) == (HealthState.OK, True)
    device, _ = played(DRIVER, "single_drive", 0)
    undeclared = replace(DRIVER, rows_in_use=())
    readings = undeclared.decode(undeclared.encode(device.snapshot()), TS)
    assert health_of(undeclared, readings, TS, "dvbt2-1") is HealthState.WARNING
    assert health_at("reserve_fault", 0)[0] is HealthState.WARNING


def test_the_sample_config_is_a_valid_v3_device() -> None:
    table = tomllib.loads(DRIVER.sample_config)["device"][0]
    section = parse_device(table)
    assert section.driver == DRIVER.name
    assert str(section.snmp_credentials.version) == "3"


def test_ts_loss_over_udp_is_critical_on_the_ts_input_alone(sims: SimRunner) -> None:
    sim = sims.serve(DRIVER.name, "127.0.0.8")
    sim.device.set(dvbt2.MER, 29.5)
    sim.device.play("ts_loss")
    result = poll_once(sim, DRIVER, "dvbt2-1")
    values = {r.key: r.value for r in result.readings}
    assert values[dvbt2.MER] == 29.5
    health = evaluate(DRIVER, result)
    assert health.state is HealthState.CRITICAL
    assert [p.metric for p in health.problems] == [dvbt2.TS_PRESENT]
