"""Serve one simulated device as a read-only SNMP agent over real UDP.

The agent uses pysnmp's full v3arch engine (message processing, community and
USM security, VACM), so the poller is tested against the same protocol
behaviour a real UPS card shows: a wrong community or key gets no data, a
silent device sends nothing at all, and nothing can be written.  One engine per
device gives every simulated device its own engine id, as on a real network.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import socket
import time
from bisect import bisect_right
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Protocol

from pyasn1.type import univ
from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.carrier.asyncio.dgram.base import DgramAsyncioProtocol
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, ntforg
from pysnmp.entity.rfc3413 import context as snmp_context
from pysnmp.proto import rfc1905
from pysnmp.proto.api import v2c
from pysnmp.smi.instrum import AbstractMibInstrumController

from fieldagent.config import SnmpCredentials, SnmpVersion
from fieldagent.driver import Malformed, RawValue
from fieldagent.sim.device import Oid
from fieldagent.snmpvalues import auth_protocol, priv_protocol, to_snmp

_COMMUNITY_INDEX = "sim"
_SPOKEN: dict[SnmpVersion, dict[int, int]] = {
    SnmpVersion.V1: {0: 1},
    SnmpVersion.V2C: {0: 1, 1: 2},
    SnmpVersion.V3: {3: 3},
}
"""Message processing model -> security model, per configured version.

A v2c card also answers v1 with the same community, as real cards do; other
versions are not spoken at all, so their messages are dropped unanswered.
"""
_READ_VIEW: Oid = (1,)
_ENGINE_ID_PREFIX = bytes([0x80, 0x00, 0x4F, 0xB8, 0x05])
"""pysnmp's enterprise number, format 5 (octets): random octets follow."""

MIN_KEY_LENGTH = 8

_SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
_SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
_SNMP_TRAP_ADDRESS = (1, 3, 6, 1, 6, 3, 18, 1, 3, 0)
_MP_MODEL = {SnmpVersion.V1: 0, SnmpVersion.V2C: 1, SnmpVersion.V3: 3}
_TRAP_PARAMS = "trap-params"
INFORM_TIMEOUT_S = 1.0
INFORM_RETRIES = 2
_NO_VARBINDS: Mapping[str, RawValue] = MappingProxyType({})

_BIND_HINTS = {
    errno.EADDRINUSE: " (another agent or simulator already uses it)",
    errno.EADDRNOTAVAIL: " (no local interface has this address)",
    errno.EACCES: " (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
}


class ServedDevice(Protocol):
    """What the agent serves: a driver's `SimulatedDevice`, or a walk replayed as recorded.

    `objects()` is asked on every request (a None value is an absent object);
    while `silent`, nothing at all is answered; `name` says which device it is.
    """

    @property
    def name(self) -> str: ...

    @property
    def silent(self) -> bool: ...

    def objects(self) -> Mapping[Oid, RawValue]: ...


class SnmpSimulator:
    """A read-only SNMP agent for one simulated device at (host, port).

    The socket is bound here, not by pysnmp, so a busy or foreign address fails
    at `start()` with an error naming it, instead of a task failing later in
    the event loop.  There is no SET responder: a write gets no success.
    """

    def __init__(
        self,
        device: ServedDevice,
        host: str = "127.0.0.1",
        port: int = 0,
        access: SnmpCredentials | None = None,
    ) -> None:
        try:
            self._ip = ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"the simulator binds to an IP address, not {host!r}") from None
        self.device = device
        self.host = host
        self.access = access or SnmpCredentials()
        self._port = port
        self._sock: socket.socket | None = None
        self._engine: Any = None
        self._started = 0.0
        self._originator: Any = None
        self._trap_targets: dict[tuple[str, int], str] = {}

    @property
    def port(self) -> int:
        """The UDP port served (the one picked by the system once started with port 0)."""
        return self._port

    @property
    def address(self) -> str:
        """host:port as a technician would type it (IPv6 in brackets)."""
        host = f"[{self.host}]" if self._ip.version == 6 else self.host
        return f"{host}:{self._port}"

    @property
    def engine_id(self) -> bytes:
        """This agent's SNMP engine id (what a v3 poller discovers)."""
        if self._engine is None:
            raise RuntimeError(f"the SNMP simulator at {self.address} is not running")
        return bytes(self._engine.snmpEngineID.asOctets())

    async def start(self) -> None:
        """Bind the socket and begin answering; OSError names host:port if it cannot."""
        if self._engine is not None:
            raise RuntimeError(f"the SNMP simulator at {self.address} is already running")
        self._sock = self._bind()
        self._port = self._sock.getsockname()[1]
        try:
            self._engine = _new_engine()
            _grant_access(self._engine, self.access)
            transport_class, domain = _TRANSPORTS[self._ip.version]
            transport = transport_class(self.device).open_server_mode(sock=self._sock)
            config.add_transport(self._engine, domain, transport)
            _register_responders(self._engine, self.device)
            # Answering once start() returns; and a stop() right after (Ctrl-C at once)
            # must not close the socket under asyncio while it is being attached.
            await _endpoint_ready(transport)
        except BaseException:
            self.stop()
            raise
        self._started = time.monotonic()
        self._originator = ntforg.NotificationOriginator()
        self._trap_targets = {}

    async def send_trap(
        self,
        target: tuple[str, int],
        trap_oid: str,
        varbinds: Mapping[str, RawValue] = _NO_VARBINDS,
        inform: bool = False,
    ) -> None:
        """Send a notification to target (ip, port), as the device would.

        It leaves from this agent's own socket (host:port), with the agent's
        version and community, or its v3 user (authoritative for a trap: the
        agent's engine id and boots/time; an inform discovers the receiver's).
        sysUpTime.0 and snmpTrapOID.0 come first, then `varbinds` in order;
        a v1 agent sends the RFC 3584 v1 form, its host as agent-addr.  An
        inform returns once acknowledged and raises TimeoutError if it is not
        (SNMPv1 has no inform: ValueError).  A silent device sends nothing.
        """
        snmp_engine = self._engine
        if snmp_engine is None:
            raise RuntimeError(f"the SNMP simulator at {self.address} is not running")
        version = self.access.version
        if inform and version is SnmpVersion.V1:
            raise ValueError(f"{self.address} speaks SNMPv1, which has no inform")
        if self.device.silent:
            return
        pdu = v2c.InformRequestPDU() if inform else v2c.TrapPDU()
        v2c.apiPDU.set_defaults(pdu)
        uptime = int((time.monotonic() - self._started) * 100) % (1 << 32)
        var_binds: list[tuple[Any, Any]] = [
            (v2c.ObjectIdentifier(_SYS_UPTIME), v2c.TimeTicks(uptime)),
            (v2c.ObjectIdentifier(_SNMP_TRAP_OID), v2c.ObjectIdentifier(trap_oid)),
        ]
        if version is SnmpVersion.V1 and self._ip.version == 4:
            var_binds.append((v2c.ObjectIdentifier(_SNMP_TRAP_ADDRESS), v2c.IpAddress(self.host)))
        var_binds += [
            (v2c.ObjectIdentifier(oid), _notify_value(raw)) for oid, raw in varbinds.items()
        ]
        v2c.apiPDU.set_varbinds(pdu, var_binds)
        name = self._trap_target(snmp_engine, target)
        await _endpoint_ready(config.get_transport(snmp_engine, _TRANSPORTS[self._ip.version][1]))
        if not inform:
            self._originator.send_pdu(snmp_engine, name, None, b"", pdu)
            return
        answered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def acknowledged(
            snmp_engine: Any, handle: Any, error_indication: Any, response: Any, ctx: Any
        ) -> None:
            if not answered.done():
                answered.set_result(error_indication)

        self._originator.send_pdu(snmp_engine, name, None, b"", pdu, acknowledged)
        error_indication = await answered
        if error_indication:
            host, port = target
            raise TimeoutError(
                f"inform from {self.address} to {host}:{port} not acknowledged: {error_indication}"
            )

    def _trap_target(self, snmp_engine: Any, target: tuple[str, int]) -> str:
        """The engine's target entry for an (ip, port), made on first use."""
        name = self._trap_targets.get(target)
        if name is not None:
            return name
        if not self._trap_targets:
            access = self.access
            if access.version is SnmpVersion.V3:
                security_name, level = access.user, access.security_level
            else:
                security_name, level = _COMMUNITY_INDEX, "noAuthNoPriv"
            config.add_target_parameters(
                snmp_engine, _TRAP_PARAMS, security_name, level, _MP_MODEL[access.version]
            )
        name = f"trap-target-{len(self._trap_targets)}"
        config.add_target_address(
            snmp_engine,
            name,
            _TRANSPORTS[self._ip.version][1],
            target,
            _TRAP_PARAMS,
            timeout=round(INFORM_TIMEOUT_S * 100),
            retryCount=INFORM_RETRIES,
        )
        self._trap_targets[target] = name
        return name

    def stop(self) -> None:
        """Stop answering and release the socket; safe to call twice.

        Call it while the event loop that ran `start()` is still open: pysnmp
        closes its transport through that loop.
        """
        snmp_engine, sock, self._engine, self._sock = self._engine, self._sock, None, None
        try:
            if snmp_engine is not None:
                snmp_engine.close_dispatcher()
        finally:
            if sock is not None:
                # The transport closes it once attached; this covers a stop right after
                # start, and a stop that pysnmp could not complete.
                sock.close()

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if self._ip.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((self.host, self._port))
        except OSError as exc:
            sock.close()
            hint = _BIND_HINTS.get(exc.errno or 0, "")
            message = f"cannot serve SNMP at {self.address}: {exc.strerror}{hint}"
            raise OSError(exc.errno, message) from None
        return sock


class _SilenceableTransport(DgramAsyncioProtocol):  # type: ignore[misc]
    """Drops every datagram while the device is silent.

    Dropping at the transport, not in the responders, keeps a silent device
    fully dead: the engine would otherwise still answer SNMPv3 discovery.
    """

    def __init__(self, device: ServedDevice) -> None:
        super().__init__()
        self._device = device

    def datagram_received(self, datagram: bytes, address: Any) -> None:
        if not self._device.silent:
            super().datagram_received(datagram, address)


class _Udp4(_SilenceableTransport, udp.UdpAsyncioTransport):  # type: ignore[misc]
    """IPv4 server transport for a simulated device."""


class _Udp6(_SilenceableTransport, udp6.Udp6AsyncioTransport):  # type: ignore[misc]
    """IPv6 server transport for a simulated device."""


_TRANSPORTS: dict[int, tuple[type[_SilenceableTransport], tuple[int, ...]]] = {
    4: (_Udp4, udp.DOMAIN_NAME),
    6: (_Udp6, udp6.DOMAIN_NAME),
}


class _DeviceInstrumentation(AbstractMibInstrumController):  # type: ignore[misc]
    """Answers reads from the device's objects of the moment; it has no write path.

    Each object is checked with the engine's access-control callback, so VACM
    refuses a v3 request below the configured security level, as a card does.
    """

    def __init__(self, device: ServedDevice) -> None:
        self._device = device

    def read_variables(self, *var_binds: tuple[Any, Any], **context: Any) -> list[tuple[Any, Any]]:
        objects = dict(served_objects(self._device))
        answers: list[tuple[Any, Any]] = []
        for idx, (name, _) in enumerate(var_binds):
            value = objects.get(tuple(name))
            if value is None or not _readable(tuple(name), value, idx, context):
                value = v2c.NoSuchInstance()
            answers.append((name, value))
        return answers

    def read_next_variables(
        self, *var_binds: tuple[Any, Any], **context: Any
    ) -> list[tuple[Any, Any]]:
        objects = served_objects(self._device)
        oids = [oid for oid, _ in objects]
        return [
            _next_readable(objects, bisect_right(oids, tuple(name)), name, idx, context)
            for idx, (name, _) in enumerate(var_binds)
        ]


def _next_readable(
    objects: list[tuple[Oid, Any]], start: int, name: Any, idx: int, context: dict[str, Any]
) -> tuple[Any, Any]:
    for oid, value in objects[start:]:
        if _readable(oid, value, idx, context):
            return v2c.ObjectIdentifier(oid), value
    return name, v2c.EndOfMibView()


def _readable(oid: Oid, value: Any, idx: int, context: dict[str, Any]) -> bool:
    """Ask the engine's VACM; it raises an SMI error (sent back as such) if access is denied."""
    verify = context.get("acFun")
    if verify is None:
        return True
    not_in_view = verify("read", (oid, value), **{**context, "idx": idx})
    return not not_in_view


def served_objects(device: ServedDevice) -> list[tuple[Oid, Any]]:
    """The device's present objects as SNMP values (pysnmp's SMI types), in OID order.

    Public so that a recording of the simulator (an .snmprec file) is written with
    the very types served here (`snmpvalues.to_snmp`, the one mapping of raw values
    to SMI types).
    """
    return sorted((oid, to_snmp(raw)) for oid, raw in device.objects().items() if raw is not None)


async def _endpoint_ready(transport: Any) -> None:
    """Wait until asyncio has attached the socket: pysnmp queues what is sent before
    that, and a simulator stopped right after sending would lose it."""
    endpoint = getattr(transport, "_lport", None)
    if transport is not None and transport.transport is None and endpoint is not None:
        await asyncio.wait_for(asyncio.shield(endpoint), 5)


def _notify_value(raw: RawValue) -> Any:
    """A varbind value for a notification: as served, None as NULL."""
    if raw is None:
        return univ.Null("")
    if isinstance(raw, Malformed):
        raise ValueError(f"a trap cannot carry {raw!r}")
    return to_snmp(raw)


def _new_engine() -> Any:
    """An SNMP engine with a random engine id.

    pysnmp's default id differs between engines in only 16 bits (taken from
    the id() of a freed list) and repeats between engines made one after
    another; passing `snmpEngineID=` instead makes pysnmp persist a boot
    counter under /tmp/__pysnmp/ for every id.  So the id is set here, before
    any security data (which is keyed by it) is configured.
    """
    snmp_engine = engine.SnmpEngine()
    builder = snmp_engine.get_mib_builder()
    (engine_id,) = builder.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineID")
    engine_id.syntax = engine_id.syntax.clone(_ENGINE_ID_PREFIX + os.urandom(8))
    snmp_engine.snmpEngineID = engine_id.syntax
    return snmp_engine


def _grant_access(snmp_engine: Any, access: SnmpCredentials) -> None:
    """Configure the one community or v3 user that may read the whole tree."""
    spoken = _SPOKEN[access.version]
    _speak_only(snmp_engine, spoken)
    if access.version is SnmpVersion.V3:
        config.add_v3_user(
            snmp_engine,
            access.user,
            auth_protocol(access.auth_protocol),
            access.auth_key,
            priv_protocol(access.priv_protocol),
            access.priv_key,
        )
        security_name, security_level = access.user, access.security_level
    else:
        config.add_v1_system(snmp_engine, _COMMUNITY_INDEX, access.community)
        security_name, security_level = _COMMUNITY_INDEX, "noAuthNoPriv"
    for security_model in spoken.values():
        config.add_vacm_user(snmp_engine, security_model, security_name, security_level, _READ_VIEW)


def _speak_only(snmp_engine: Any, spoken: dict[int, int]) -> None:
    """Remove the other message processing models: their messages are then dropped.

    That is RFC 3412's rule for a version an engine does not support (counted
    in snmpInBadVersions), and what a card with that version disabled does.
    """
    for model in list(snmp_engine.message_processing_subsystems):
        if model not in spoken:
            del snmp_engine.message_processing_subsystems[model]


def _register_responders(snmp_engine: Any, device: ServedDevice) -> None:
    """Serve GET, GETNEXT and GETBULK from the device; SET has no responder on purpose."""
    snmp_ctx = snmp_context.SnmpContext(snmp_engine)
    snmp_ctx.unregister_context_name(b"")
    snmp_ctx.register_context_name(b"", _DeviceInstrumentation(device))
    cmdrsp.GetCommandResponder(snmp_engine, snmp_ctx)
    cmdrsp.NextCommandResponder(snmp_engine, snmp_ctx)
    _BulkResponder(snmp_engine, snmp_ctx)


class _BulkResponder(cmdrsp.BulkCommandResponder):  # type: ignore[misc]
    """GETBULK that stops at the end of the MIB, as real agents (net-snmp's snmpd) do.

    pysnmp fills every remaining repetition with endOfMibView; net-snmp's
    snmpbulkwalk then prints each of them.  The response is cut after the
    first repetition in which every repeated variable reached endOfMibView.
    """

    def __init__(self, snmp_engine: Any, snmp_ctx: Any) -> None:
        super().__init__(snmp_engine, snmp_ctx)
        self._shape: dict[Any, tuple[int, int]] = {}

    def handle_management_operation(
        self, snmp_engine: Any, state_reference: Any, context_name: Any, pdu: Any
    ) -> None:
        count = len(v2c.apiPDU.get_varbinds(pdu))
        non_repeaters = min(max(int(v2c.apiBulkPDU.get_non_repeaters(pdu)), 0), count)
        self._shape[state_reference] = (non_repeaters, count - non_repeaters)
        try:
            super().handle_management_operation(snmp_engine, state_reference, context_name, pdu)
        finally:
            self._shape.pop(state_reference, None)

    def send_varbinds(
        self,
        snmp_engine: Any,
        state_reference: Any,
        error_status: Any,
        error_index: Any,
        var_binds: Any,
    ) -> None:
        non_repeaters, repeaters = self._shape.get(state_reference, (0, 0))
        if repeaters:
            var_binds = _cut_after_end_of_mib(list(var_binds), non_repeaters, repeaters)
        super().send_varbinds(snmp_engine, state_reference, error_status, error_index, var_binds)


def _cut_after_end_of_mib(var_binds: list[Any], non_repeaters: int, repeaters: int) -> list[Any]:
    for row_start in range(non_repeaters, len(var_binds), repeaters):
        row = var_binds[row_start : row_start + repeaters]
        if len(row) == repeaters and all(isinstance(v, rfc1905.EndOfMibView) for _, v in row):
            return var_binds[: row_start + repeaters]
    return var_binds
