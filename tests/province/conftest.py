"""The province's tests: four stations publishing as agents do, on a real mosquitto.

- `st-offline`: online, then its connection is killed: the broker publishes its last will;
- `st-gap`: one of its messages is numbered but never published (seen live);
- `st-alarm`: an active critical alarm (a second one is raised live by a test);
- `st-nocheck`: never ran its checklist.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from fieldagent.localbroker import LocalBroker
from fieldagent.model import HealthState
from tests.mqtt_probe import MqttProbe
from tests.support.stations import FakeStation, Link, alarm, checklist_report

NOW = datetime.now(UTC)


@pytest.fixture
def stations(broker: LocalBroker) -> Iterator[dict[str, FakeStation]]:
    """The four stations' retained state on the broker; st-offline's will published."""
    made = {name: FakeStation(name) for name in ("st-offline", "st-gap", "st-alarm", "st-nocheck")}
    gone = made["st-offline"]
    doomed = Link(broker.host, broker.port, will=gone.will())
    doomed.publish(
        gone.status(), gone.health("ups-main"), gone.report(checklist_report(gone.id, NOW))
    )
    link = Link(broker.host, broker.port)
    gap, hot, quiet = made["st-gap"], made["st-alarm"], made["st-nocheck"]
    critical = alarm(hot.id, "ups-main", HealthState.CRITICAL, NOW)
    link.publish(
        gap.status(),
        gap.health("ups-main"),
        gap.report(checklist_report(gap.id, NOW - timedelta(days=2))),
        hot.status(HealthState.CRITICAL),
        hot.health("ups-main", HealthState.CRITICAL, [critical]),
        hot.health("fm-main"),
        hot.report(checklist_report(hot.id, NOW - timedelta(days=1), failed=True)),
        quiet.status(),
        quiet.health("ups-main"),
        quiet.health("fm-main"),
    )
    probe = MqttProbe(broker.host, broker.port, "bctv/v1/st-offline/status")
    doomed.vanish()
    probe.wait_for(lambda ms: any(b'"offline"' in m.payload for m in ms), timeout=10)
    probe.close()
    yield made
    link.close()
