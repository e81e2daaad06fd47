"""The v1 / v2c client over real UDP: against the project's simulators for what it reads,
and against a scripted device (a socket in the test) for what it must refuse to take: an
answer from another port, with another request-id or version, or malformed."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from pyasn1.type import univ
from pysnmp.proto import rfc1902

from drivers.ups_rfc1628 import DRIVER as UPS
from fieldagent.config import SnmpCredentials, SnmpVersion
from fieldagent.driver import Counter
from fieldagent.transports.snmp import SnmpClient, SnmpError, SnmpTarget
from fieldagent.transports.snmpudp import WireExchange
from fieldagent.transports.snmpwire import REQUEST_ID_MAX, PduKind, Version
from tests.simrunner import SimRunner
from tests.transports.pysnmp_messages import request_fields, response

T = TypeVar("T")
HOST = "127.0.0.2"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
UPS_IDENT = "1.3.6.1.2.1.33.1.1"


def run(make: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await make()

    return asyncio.run(main())


def target_of(port: int, version: SnmpVersion = SnmpVersion.V2C, **fields: Any) -> SnmpTarget:
    settings: dict[str, Any] = {"timeout": 0.5, "retries": 0, **fields}
    return SnmpTarget(HOST, port, SnmpCredentials(version=version), **settings)


# -- against the simulators --------------------------------------------------------------


@pytest.mark.parametrize("version", [SnmpVersion.V1, SnmpVersion.V2C])
def test_get_walk_and_walk_many_read_the_simulator(sims: SimRunner, version: SnmpVersion) -> None:
    sim = sims.serve("ups_rfc1628", HOST, SnmpCredentials(version=version))
    sim.device.set("ups.battery.charge_pct", 61)
    target = target_of(sim.port, version)
    charge = UPS.metric("ups.battery.charge_pct").source_key
    absent = "1.3.6.1.4.1.99999.1.0"

    async def read() -> tuple[dict[str, Any], ...]:
        client = SnmpClient(community_exchange=WireExchange())
        try:
            got = await client.get(target, [charge, absent])
            walked = await client.walk(target, UPS_IDENT)
            together = await client.walk_many(target, [UPS_IDENT, "1.3.6.1.2.1.33.1.2"])
            under = await client.first_under(target, [UPS_IDENT, "1.3.6.1.2.1.33"])
            return got, walked, together, under
        finally:
            client.close()

    got, walked, together, under = run(read)
    assert got == {charge: 61, absent: None}  # v1: noSuchName, dropped and asked again
    assert walked and all(oid.startswith(UPS_IDENT + ".") for oid in walked)
    assert set(walked) < set(together)
    assert any(oid.startswith("1.3.6.1.2.1.33.1.2.") for oid in together)
    assert under == {UPS_IDENT: True, "1.3.6.1.2.1.33": True}


def test_a_missing_object_is_none_on_v2c(sims: SimRunner) -> None:
    sim = sims.serve("ups_rfc1628", HOST)
    sim.device.set("ups.battery.temperature_c", None)
    temperature = UPS.metric("ups.battery.temperature_c").source_key
    target = target_of(sim.port)

    async def read() -> dict[str, Any]:
        client = SnmpClient()
        try:
            return await client.get(target, [temperature, "1.3.6.1.2.1.1.1.9"])
        finally:
            client.close()

    assert run(read) == {temperature: None, "1.3.6.1.2.1.1.1.9": None}


# -- a scripted device -------------------------------------------------------------------


class Scripted(asyncio.DatagramProtocol):
    """A device that answers each request as `answer` says: a list of (datagram, from which
    socket) to send; `self.sock` is its own port, `other` a second socket on the host."""

    def __init__(self, answer: Callable[[bytes], list[tuple[bytes, str]]]) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.other: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.requests.append(data)
        for datagram, source in self.answer(data):
            sender = self.transport if source == "self" else self.other
            assert sender is not None
            sender.sendto(datagram, addr)


async def scripted(answer: Callable[[bytes], list[tuple[bytes, str]]]) -> tuple[Scripted, int]:
    loop = asyncio.get_running_loop()
    device = Scripted(answer)
    transport, _ = await loop.create_datagram_endpoint(lambda: device, local_addr=(HOST, 0))
    other, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=(HOST, 0))
    device.other = other
    return device, transport.get_extra_info("sockname")[1]


def good_answer(data: bytes, value: Any = None, **fields: Any) -> bytes:
    version, _, request_id, oids = request_fields(data)
    fields.setdefault("request_id", request_id)
    fields.setdefault("version", Version(version))
    served = rfc1902.OctetString(b"box") if value is None else value
    return response([(oid, served) for oid in oids], **fields)


def exchange_with(answer: Callable[[bytes], list[tuple[bytes, str]]], **fields: Any) -> Any:
    """Run one GET of sysDescr.0 through a WireExchange against a scripted device: its
    result (or the SnmpError), the datagrams dropped, the requests the device got."""

    async def main() -> tuple[Any, int, list[bytes]]:
        device, port = await scripted(answer)
        wire = WireExchange()
        try:
            try:
                result: Any = await wire.exchange(
                    target_of(port, **fields), PduKind.GET, [SYS_DESCR], 0
                )
            except SnmpError as exc:
                result = exc
            await asyncio.sleep(0.05)  # let any datagram still on its way arrive
            return result, wire.dropped, device.requests
        finally:
            wire.close()
            assert device.transport is not None and device.other is not None
            device.transport.close()
            device.other.close()

    return asyncio.run(main())


def test_an_answer_from_another_port_is_dropped_and_the_right_one_taken() -> None:
    def answer(data: bytes) -> list[tuple[bytes, str]]:
        return [
            (good_answer(data, rfc1902.OctetString(b"impostor")), "other"),
            (good_answer(data), "self"),
        ]

    result, dropped, _ = exchange_with(answer)
    assert result.varbinds == [(SYS_DESCR, b"box")]
    assert dropped == 1


def test_only_an_answer_from_another_port_is_no_reply() -> None:
    result, dropped, requests = exchange_with(
        lambda data: [(good_answer(data), "other")], retries=1
    )
    assert isinstance(result, SnmpError)
    assert str(result).startswith(f"no reply from {HOST}:")
    assert dropped == 2 and len(requests) == 2


def test_an_answer_with_another_request_id_or_version_is_dropped() -> None:
    def answer(data: bytes) -> list[tuple[bytes, str]]:
        _, _, request_id, _ = request_fields(data)
        return [
            (good_answer(data, request_id=(request_id % REQUEST_ID_MAX) + 1), "self"),
            (good_answer(data, version=Version.V1), "self"),
            (b"\x30\x03\x02\x01\x01", "self"),  # garbage: no request-id to match
            (good_answer(data, rfc1902.Counter64(2**40)), "self"),
        ]

    result, dropped, _ = exchange_with(answer)
    assert result.varbinds == [(SYS_DESCR, Counter(2**40, 64))]
    assert dropped == 3


def test_a_second_answer_to_a_finished_request_is_dropped() -> None:
    result, dropped, _ = exchange_with(lambda data: [(good_answer(data), "self")] * 2)
    assert result.varbinds == [(SYS_DESCR, b"box")]
    assert dropped == 1


def test_a_malformed_answer_to_the_request_is_one_clear_error() -> None:
    def answer(data: bytes) -> list[tuple[bytes, str]]:
        good = good_answer(data, univ.Null(""))
        return [(good[:-2] + b"\x05\x01", "self")]  # NULL claiming a content octet past the end

    result, _, _ = exchange_with(answer)
    assert isinstance(result, SnmpError)
    assert str(result).startswith(f"{HOST}:")
    assert ": malformed answer: byte " in str(result) and "expected" in str(result)
    assert "public" not in str(result)


@pytest.mark.parametrize("retries", [0, 2])
def test_a_silent_device_costs_timeout_x_tries_and_one_datagram_per_try(retries: int) -> None:
    started = time.monotonic()
    result, _, requests = exchange_with(lambda data: [], timeout=0.2, retries=retries)
    elapsed = time.monotonic() - started - 0.05  # the settling sleep
    assert isinstance(result, SnmpError)
    assert str(result).startswith(f"no reply from {HOST}:")
    assert str(result).endswith(
        "check the address, the community, and that the device's SNMP agent is enabled"
    )
    assert f"within 0.2 s x {retries + 1} tries" in str(result)
    assert len(requests) == retries + 1
    assert len(set(requests)) == 1  # every try is the same request (a late answer counts)
    assert 0.2 * (retries + 1) <= elapsed < 0.2 * (retries + 1) + 0.5


def test_an_answer_to_an_earlier_try_is_taken() -> None:
    seen: list[bytes] = []

    def answer(data: bytes) -> list[tuple[bytes, str]]:
        seen.append(data)
        return [(good_answer(data), "self")] if len(seen) == 2 else []

    result, dropped, requests = exchange_with(answer, timeout=0.15, retries=3)
    assert result.varbinds == [(SYS_DESCR, b"box")]
    assert len(requests) == 2 and dropped == 0


def test_request_ids_start_anywhere_and_wrap_within_int32() -> None:
    first = {WireExchange()._new_request_id() for _ in range(8)}
    assert len(first) > 1 and all(1 <= rid <= REQUEST_ID_MAX for rid in first)
    wire = WireExchange()
    wire._next_id = REQUEST_ID_MAX
    assert [wire._new_request_id() for _ in range(3)] == [REQUEST_ID_MAX, 1, 2]


def test_concurrent_requests_share_one_socket_and_each_gets_its_answer(sims: SimRunner) -> None:
    sims_ = [sims.serve("ups_rfc1628", HOST) for _ in range(3)]
    for n, sim in enumerate(sims_):
        sim.device.set("ups.battery.charge_pct", 10 + n)
    charge = UPS.metric("ups.battery.charge_pct").source_key

    async def read() -> tuple[list[dict[str, Any]], int]:
        wire = WireExchange()
        client = SnmpClient(community_exchange=wire)
        try:
            answers = await asyncio.gather(
                *(client.get(target_of(sim.port), [charge]) for sim in sims_ for _ in range(5))
            )
            return list(answers), len(wire._transports)
        finally:
            client.close()

    answers, sockets = run(read)
    assert [a[charge] for a in answers] == [10] * 5 + [11] * 5 + [12] * 5
    assert sockets == 1


def test_an_unresolvable_host_is_one_clear_line() -> None:
    target = SnmpTarget("no-such-host.invalid", 161, SnmpCredentials(), timeout=0.2, retries=0)

    async def read() -> None:
        client = SnmpClient()
        try:
            await client.get(target, [SYS_DESCR])
        finally:
            client.close()

    with pytest.raises(SnmpError, match=r"^no-such-host\.invalid:161: cannot resolve address"):
        run(read)


def test_ipv6_targets_get_their_own_socket() -> None:
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as device:
        device.bind(("::1", 0))
        device.settimeout(2)
        port = device.getsockname()[1]

        async def read() -> Any:
            wire = WireExchange()
            target = SnmpTarget("::1", port, SnmpCredentials(), timeout=1.0, retries=0)
            task = asyncio.create_task(wire.exchange(target, PduKind.GET, [SYS_DESCR], 0))
            data, addr = await asyncio.to_thread(device.recvfrom, 65535)
            device.sendto(good_answer(data), addr)
            try:
                return await task
            finally:
                wire.close()

        assert run(read).varbinds == [(SYS_DESCR, b"box")]


def test_an_agent_that_does_not_move_forward_ends_the_walk() -> None:
    # Every request, whatever it asks from, is answered with the same first row: a walk
    # that trusted it would ask again forever (up to its cap); it stops at the repeat.
    first = "1.3.6.1.4.1.99999.1.1"

    def answer(data: bytes) -> list[tuple[bytes, str]]:
        version, _, request_id, _ = request_fields(data)
        varbinds = [(first, rfc1902.Integer32(5))]
        return [(response(varbinds, Version(version), request_id), "self")]

    async def main() -> tuple[dict[str, Any], int]:
        device, port = await scripted(answer)
        client = SnmpClient()
        try:
            walked = await asyncio.wait_for(client.walk(target_of(port), "1.3.6.1.4.1.99999"), 10)
            return walked, len(device.requests)
        finally:
            client.close()
            assert device.transport is not None and device.other is not None
            device.transport.close()
            device.other.close()

    walked, requests = asyncio.run(main())
    assert walked == {first: 5}
    assert requests == 2


def test_the_decoded_oid_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from fieldagent.transports import snmpwire

    monkeypatch.setattr(snmpwire, "OID_CACHE_SIZE", 10)
    snmpwire._oid_texts.clear()
    for n in range(25):
        data = response([(f"1.3.6.1.4.1.99999.{n}.0", rfc1902.Integer32(n))])
        assert snmpwire.decode_response(data).varbinds == [(f"1.3.6.1.4.1.99999.{n}.0", n)]
        assert len(snmpwire._oid_texts) <= 10


def test_the_shared_socket_asks_for_a_receive_buffer_a_burst_of_answers_fits_in() -> None:
    # 100 devices polled on one beat answer at once into this one socket: with the kernel's
    # default buffer (208 KiB) a tenth of the answers were dropped, each a timeout and a retry.
    from fieldagent.transports.snmpudp import RECEIVE_BUFFER_BYTES

    with open("/proc/sys/net/core/rmem_max", encoding="ascii") as limit:
        granted = min(RECEIVE_BUFFER_BYTES, int(limit.read()))

    async def buffer() -> int:
        wire = WireExchange()
        try:
            transport = await wire._transport(socket.AF_INET)
            sock = transport.get_extra_info("socket")
            return int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
        finally:
            wire.close()

    assert asyncio.run(buffer()) >= granted  # Linux reports twice what it granted


def test_an_oid_that_cannot_be_sent_is_one_line_naming_it() -> None:
    async def read() -> None:
        client = SnmpClient()
        try:
            await client.get(target_of(9), ["1.3.6.1.4.1.99999.x.0"])
        finally:
            client.close()

    with pytest.raises(
        SnmpError, match=r"^127\.0\.0\.2:9: OID '1\.3\.6\.1\.4\.1\.99999\.x\.0' is not"
    ):
        run(read)


@pytest.mark.parametrize(
    ("status", "index", "words"),
    [(1, 0, "agent answered tooBig"), (5, 1, f"agent answered genErr at {SYS_DESCR}")],
    ids=["tooBig", "genErr"],
)
def test_an_error_status_reads_as_it_did_through_pysnmp(
    status: int, index: int, words: str
) -> None:
    def answer(data: bytes) -> list[tuple[bytes, str]]:
        return [(good_answer(data, error_status=status, error_index=index), "self")]

    async def message(back_end: Any) -> str:
        device, port = await scripted(answer)
        client = SnmpClient(community_exchange=back_end)
        try:
            with pytest.raises(SnmpError) as failed:
                await client.get(target_of(port), [SYS_DESCR])
            return str(failed.value).replace(f":{port}:", ":PORT:")
        finally:
            client.close()
            assert device.transport is not None and device.other is not None
            device.transport.close()
            device.other.close()

    from fieldagent.transports.pysnmpexchange import PysnmpExchange

    ours = asyncio.run(message(WireExchange()))
    theirs = asyncio.run(message(PysnmpExchange()))
    assert ours == theirs == f"{HOST}:PORT: {words}"
