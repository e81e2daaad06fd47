"""The SNMP v1 / v2c client over UDP: one datagram socket per address family, requests
matched to answers by request-id, timeout x tries as the target says.

An answer is accepted only from the host and port its request went to, with the request's
version and request-id; any other datagram (a late answer to a finished request, another
agent's, a stray or malformed packet) is dropped and counted in `dropped`, never an error
of the request waiting.  Messages are built and read by `snmpwire`: pysnmp is not loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import socket
from collections.abc import Callable, Sequence

from fieldagent.config import SnmpVersion
from fieldagent.transports.snmptarget import SnmpError, SnmpTarget
from fieldagent.transports.snmpwire import (
    REQUEST_ID_MAX,
    BerError,
    PduKind,
    Response,
    Version,
    decode_response,
    read_header,
    request_template,
)

_VERSIONS = {SnmpVersion.V1: Version.V1, SnmpVersion.V2C: Version.V2C}

RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024
"""Asked of the kernel for the shared socket (it grants up to net.core.rmem_max): every
device's answer lands in this one socket, a station polled on the same beat sends them in
a burst, and a full buffer drops answers (each then costs its device a timeout)."""


class _Pending:
    """A request waiting for its answer: where it went, its version, the current try's
    future (None when the try timed out)."""

    __slots__ = ("future", "host", "port", "version")

    def __init__(self, host: str, port: int, version: int) -> None:
        self.host = host
        self.port = port
        self.version = version
        self.future: asyncio.Future[Response | None] | None = None


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, received: Callable[[bytes, tuple[str, int]], None]) -> None:
        self._received = received

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._received(data, addr)

    def error_received(self, exc: Exception) -> None:
        """An ICMP error for some earlier datagram: the request it belongs to times out."""


def _expire(future: asyncio.Future[Response | None]) -> None:
    if not future.done():
        future.set_result(None)


class WireExchange:
    """The `Exchange` of v1 / v2c targets; safe to share across concurrent polls of one loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transports: dict[int, asyncio.DatagramTransport] = {}
        self._pending: dict[int, _Pending] = {}
        self._next_id = secrets.randbelow(REQUEST_ID_MAX) + 1
        self._literal: dict[str, tuple[int, str] | None] = {}
        self.dropped = 0
        """Datagrams received that answered no waiting request."""

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()

    async def exchange(
        self, target: SnmpTarget, kind: PduKind, oids: Sequence[str], max_repetitions: int
    ) -> Response:
        version = _VERSIONS.get(target.credentials.version)
        if version is None:
            raise SnmpError(f"{target.address}: SNMP v{target.credentials.version} is not v1/v2c")
        family, host = await self._resolve(target)
        transport = await self._transport(family)
        try:
            template = request_template(
                version,
                target.credentials.community.encode("utf-8"),
                kind,
                oids,
                0,
                max_repetitions if kind is PduKind.GETBULK else 0,
            )
        except ValueError as exc:  # an OID that cannot be sent: named, nothing sent
            raise SnmpError(f"{target.address}: {exc}") from None
        request_id = self._new_request_id()
        datagram = template.encode(request_id)
        pending = _Pending(host, target.port, version)
        self._pending[request_id] = pending
        loop = asyncio.get_running_loop()
        try:
            for _ in range(target.retries + 1):
                future: asyncio.Future[Response | None] = loop.create_future()
                pending.future = future
                transport.sendto(datagram, (host, target.port))
                timer = loop.call_later(target.timeout, _expire, future)
                try:
                    answer = await future
                finally:
                    timer.cancel()
                if answer is not None:
                    return answer
        finally:
            del self._pending[request_id]
        raise SnmpError(target.no_reply_hint())

    def _received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            version, _, request_id, _ = read_header(data)
        except BerError:
            self.dropped += 1
            return
        pending = self._pending.get(request_id)
        future = pending.future if pending is not None else None
        if (
            pending is None
            or future is None
            or future.done()
            or version != pending.version
            or addr[1] != pending.port
            or addr[0] != pending.host
        ):
            self.dropped += 1
            return
        try:
            future.set_result(decode_response(data))
        except BerError as exc:
            future.set_exception(
                SnmpError(f"{pending.host}:{pending.port}: malformed answer: {exc}")
            )

    def _new_request_id(self) -> int:
        request_id = self._next_id
        while request_id in self._pending:
            request_id = request_id % REQUEST_ID_MAX + 1
        self._next_id = request_id % REQUEST_ID_MAX + 1
        return request_id

    async def _resolve(self, target: SnmpTarget) -> tuple[int, str]:
        """The address family and the address text answers will come from."""
        host = target.host
        if host not in self._literal:
            try:
                ip = ipaddress.ip_address(host)
            except ValueError:
                self._literal[host] = None
            else:
                family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
                self._literal[host] = (family, str(ip))
        literal = self._literal[host]
        if literal is not None:
            return literal
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, target.port, type=socket.SOCK_DGRAM
            )
        except OSError as exc:
            raise SnmpError(f"{target.address}: cannot resolve address: {exc}") from None
        family, _, _, _, sockaddr = infos[0]
        return int(family), str(sockaddr[0])

    async def _transport(self, family: int) -> asyncio.DatagramTransport:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a client used again under a new event loop
            self.close()
            self._loop = loop
        transport = self._transports.get(family)
        if transport is not None and not transport.is_closing():
            return transport
        try:
            created, _ = await loop.create_datagram_endpoint(
                lambda: _Endpoint(self._received), family=family
            )
        except OSError as exc:
            raise SnmpError(f"cannot open a UDP socket for SNMP: {exc}") from None
        transport = self._transports.get(family)
        if transport is not None and not transport.is_closing():
            created.close()  # another request opened one meanwhile
            return transport
        sock = created.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # a smaller buffer still works
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        self._transports[family] = created
        return created
