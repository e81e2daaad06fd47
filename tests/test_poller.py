"""The poller's dispatch: a device is read by the transport of its section's protocol."""

from __future__ import annotations

import asyncio

from drivers.ups_rfc1628 import DRIVER as UPS
from fieldagent.config import LocalDevice
from fieldagent.model import PollResult, Quality
from fieldagent.poller import Poller
from fieldagent.transports.snmp import SnmpClient


def test_a_section_of_another_protocol_than_its_driver_is_a_bad_poll_not_a_misread() -> None:
    box = LocalDevice(id="box", driver="agent_host")

    async def once() -> PollResult:
        client = SnmpClient()
        try:
            return await Poller(client).poll(box, UPS)
        finally:
            client.close()

    result = asyncio.run(once())
    assert result.error == (
        "box: driver ups_rfc1628 reads over snmp, but the device section is for local"
    )
    assert result.readings and all(r.quality is Quality.BAD for r in result.readings)
