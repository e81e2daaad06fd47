"""Receive SNMP traps from the station's devices and turn known ones into alarm events.

One UDP socket (default port 162, on the local address the devices are
reached from unless `listen` says otherwise) and one pysnmp engine take
SNMPv1 and SNMPv2c traps, SNMPv2c informs (acknowledged) and SNMPv3 traps.
Every datagram is screened before pysnmp sees it:

1. Its header is read (a few BER fields, no PDU decoding): anything that is
   not a well-formed v1 trap, v2c trap or inform, or SNMPv3 USM message, is
   `malformed` (a GET sent to the trap port too).
2. The sender is the device configured with that source IP address
   (`[[device]] host`; host names are resolved once, at start).  Anything
   else is `unknown_sender`, dropped and never published.
3. More than `rate_limit` datagrams from one sender within `rate_window_s`
   is a flood: the excess is `rate_limited` (dropped before any crypto work;
   a dropped inform is not acknowledged, so its sender retries), while
   `rate_limit` per window still get through.  `on_flood(source, True)` is
   called once, and `on_flood(source, False)` once no datagram of that sender
   has been dropped for a whole window.
4. Credentials: a v1/v2c trap must carry the device's own community (for a
   device polled over v1/v2c) or one of `communities`; a v3 trap must name
   the device's v3 user at no lower a security level than configured (a
   noAuthNoPriv trap naming an authPriv user is refused here: pysnmp itself
   would accept it from a non-authoritative sender).  Failures, and pysnmp's
   own authentication failures (wrong key, digest, decryption), are
   `auth_failed`.
5. pysnmp decodes, authenticates, decrypts and acknowledges informs; the
   trap becomes a `TrapEvent` for `on_trap`: with the device driver's
   `TrapRule` when one matches, else with rule None (an unknown trap of a
   known device, also counted in `unknown_trap`).

Every datagram, before step 1, also counts against a station-wide budget:
more than `station_rate_limit` within `rate_window_s` from every address
together is a flood of the trap port (`on_flood(None, True)`, then
`on_flood(None, False)` once a whole window stayed within it), whatever the
source addresses: garbage from ever-changing (spoofed) addresses never
floods one sender.  It drops nothing by itself (steps 1 and 2 drop garbage
and strangers anyway; a configured device keeps its own `rate_limit`).  And
drops are logged at most `LOG_BUDGET` lines per `LOG_EVERY_S` for every
sender together; a line then says how many were not logged.

SNMPv3 and engine ids.  A v3 trap is sent by its (authoritative) device
engine: its keys are localized to the *device's* engine id, so pysnmp only
accepts it when the user is registered under that engine id (net-snmp's
snmptrapd asks for ``createUser -e ENGINEID`` for the same reason).  The
receiver does this on the fly: a v3 message from a configured device, naming
that device's user, has the user registered under the engine id it carries
before pysnmp processes it; if it does not authenticate, the registration is
removed again, so a forged engine id leaves nothing behind.  An engine id that
authenticated is remembered for the device (at most `MAX_ENGINE_IDS` per
device, oldest dropped) and tells devices behind one address apart.  Where
the engine id is known, `engine_ids` pins it: traps from that device with
another engine id are then dropped as `unknown_sender`.  v3 informs are the
other way round (the receiver is authoritative): the sender discovers this
receiver's engine id (random per start, see `TrapReceiver.engine_id`) and
the users are also registered under it; those discovery exchanges are counted
in `discovery`.  One user name with different keys on two devices works for
traps, but informs only for the first device that has it.

Port 162 is below 1024: binding it needs root or CAP_NET_BIND_SERVICE.  The
systemd unit grants it (``AmbientCapabilities=CAP_NET_BIND_SERVICE``);
otherwise listen on a high port (``port = 1162``) and redirect 162 to it in
the firewall (e.g. ``nft add rule ip nat prerouting udp dport 162 redirect
to :1162``), or point the devices' trap destination at that port.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import ipaddress
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyasn1.type import univ
from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.carrier.asyncio.dgram.base import DgramAsyncioProtocol
from pysnmp.entity import config as snmp_config
from pysnmp.entity import engine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.proto import errind, rfc1902
from pysnmp.proto import error as snmp_error

from fieldagent.config import (
    DeviceSection,
    SnmpCredentials,
    SnmpDevice,
    SnmpVersion,
    TrapsSection,
)
from fieldagent.driver import Driver, IpAddress, RawValue, TrapRule, find_varbind, row_key
from fieldagent.snmpvalues import auth_protocol, priv_protocol, to_raw

log = logging.getLogger(__name__)

MAX_ENGINE_IDS = 4
"""Engine ids remembered per device (a card replaced or reset gets a new one)."""
RESOLVE_TIMEOUT_S = 5.0
LOG_EVERY_S = 60.0
"""A repeated drop (same kind, same sender) is logged at most this often, with a count."""
LOG_BUDGET = 20
"""Drop lines logged per LOG_EVERY_S for every sender together; the rest are counted."""

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
SNMP_TRAP_COMMUNITY = "1.3.6.1.6.3.18.1.4.0"
_NOT_PAYLOAD = frozenset({SYS_UPTIME, SNMP_TRAP_OID, SNMP_TRAP_COMMUNITY})
"""Varbinds left out of an event: uptime and trap OID are in the event itself, and the
community pysnmp adds to a converted v1 trap is a secret."""

_ENGINE_ID_PREFIX = bytes([0x80, 0x00, 0x4F, 0xB8, 0x05])
"""pysnmp's enterprise number, format 5 (octets): random octets follow."""

_AUTH_FLAG, _PRIV_FLAG = 0x01, 0x02
_LEVEL_FLAGS = {"noAuthNoPriv": 0, "authNoPriv": _AUTH_FLAG, "authPriv": _AUTH_FLAG | _PRIV_FLAG}
_SECURITY_EVENTS = (
    (errind.unknownCommunityName, "unknown community"),
    (errind.unknownSecurityName, "unknown user"),
    (errind.authenticationFailure, "authentication failed (auth key or protocol)"),
    (errind.decryptionError, "decryption failed (priv key or protocol)"),
    (errind.notInTimeWindow, "not in time window (replayed, or the sender's clock jumped)"),
    (errind.unsupportedSecurityLevel, "unsupported security level"),
    (errind.unknownEngineID, "unknown engine id"),
)
"""pysnmp's error indications (unhashable, compared by name) and what they mean."""

_BIND_HINTS = {
    errno.EACCES: (
        " (ports below 1024 need root or CAP_NET_BIND_SERVICE: the systemd unit grants it with"
        " AmbientCapabilities=CAP_NET_BIND_SERVICE; or set [traps] port = 1162 and redirect"
        " UDP 162 to it in the firewall)"
    ),
    errno.EADDRINUSE: " (another trap receiver, snmptrapd say, already listens there)",
    errno.EADDRNOTAVAIL: " (no local interface has this address)",
}


@dataclass(frozen=True)
class TrapEvent:
    """One trap of a known device.

    `varbinds` holds the trap's own variable bindings (not sysUpTime.0 nor
    snmpTrapOID.0, which `trap_oid` carries) as `snmpvalues.to_raw` reads
    them: an OCTET STRING is bytes (published as text when printable), an
    IpAddress `IpAddress`, a counter a `Counter`.  `rule` is None for a trap the driver does
    not map (an unknown trap).  `source` is the sender's IP address.
    """

    device_id: str
    source: str
    trap_oid: str
    varbinds: dict[str, RawValue]
    received_at: datetime
    rule: TrapRule | None

    @property
    def value(self) -> RawValue:
        """The rule's value varbind (None without one)."""
        if self.rule is None or self.rule.value_oid is None:
            return None
        return find_varbind(self.varbinds, self.rule.value_oid)

    @property
    def instance(self) -> str | None:
        """What tells alarms of the same name apart (the alarmed object's OID), or None."""
        if self.rule is None or self.rule.instance_oid is None:
            return None
        value = find_varbind(self.varbinds, self.rule.instance_oid)
        if value is None:
            return None
        if isinstance(value, bytes) and not isinstance(value, IpAddress):
            text = value.decode("utf-8", "replace")
        else:
            text = str(value)
        return text.replace("[", "(").replace("]", ")") or None

    @property
    def alarm_key(self) -> str | None:
        """The alarm the rule raises or clears: ``ups.on_battery``, ``hms.alarm[oid=...]``."""
        if self.rule is None:
            return None
        instance = self.instance
        return self.rule.alarm if instance is None else row_key(self.rule.alarm, "oid", instance)


@dataclass
class TrapCounters:
    """What the receiver did with the datagrams it got.

    Every datagram counts in `datagrams` and in exactly one of `received`,
    `unknown_sender`, `auth_failed`, `malformed`, `rate_limited` and
    `discovery` (SNMPv3 engine-id discovery and time synchronisation of an
    inform sender).  `unknown_trap` counts the received traps without a rule.
    """

    datagrams: int = 0
    received: int = 0
    unknown_trap: int = 0
    unknown_sender: int = 0
    auth_failed: int = 0
    malformed: int = 0
    rate_limited: int = 0
    discovery: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def match_rule(
    rules: Sequence[TrapRule], trap_oid: str, varbinds: Mapping[str, RawValue]
) -> tuple[str, TrapRule | None]:
    """The trap's OID as the driver names it, and the first rule that matches.

    A v1 trap converted to SNMPv2 (RFC 3584) reads ``enterprise.0.specific``;
    a driver names an SMIv2 notification such as upsTrapOnBattery
    (1.3.6.1.2.1.33.2.1) without that 0, so both forms are tried.
    """
    for candidate in _oid_forms(trap_oid):
        applicable = [rule for rule in rules if rule.trap_oid == candidate]
        if applicable:
            return candidate, next((r for r in applicable if r.matches(varbinds)), None)
    return trap_oid, None


def _oid_forms(oid: str) -> Iterator[str]:
    yield oid
    arcs = oid.split(".")
    if len(arcs) > 3 and arcs[-2] == "0":
        yield ".".join(arcs[:-2] + arcs[-1:])


class Garbled(ValueError):
    """A datagram that is not a well-formed trap or inform; the message says why."""


@dataclass(frozen=True)
class TrapHeader:
    """What the screening reads from a message without decoding its PDU."""

    version: int
    community: bytes = b""
    engine_id: bytes = b""
    user: bytes = b""
    flags: int = 0

    @property
    def is_discovery(self) -> bool:
        return self.version == 3 and not self.engine_id and not self.user


_SEQUENCE, _INTEGER, _OCTET_STRING = 0x30, 0x02, 0x04
_V1_TRAP, _INFORM, _V2_TRAP = 0xA4, 0xA6, 0xA7
_NOTIFICATION_PDUS = {0: frozenset({_V1_TRAP}), 1: frozenset({_INFORM, _V2_TRAP})}


def _tlv(data: bytes, pos: int, end: int, what: str) -> tuple[int, int, int]:
    """Tag, value start and value end of the BER element at `pos` (which must fit before `end`)."""
    if end - pos < 2:
        raise Garbled(f"truncated at {what}")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4:
            raise Garbled(f"bad length of {what}")
        if end - pos < count:
            raise Garbled(f"truncated at {what}")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if length > end - pos:
        raise Garbled(f"truncated at {what}")
    return tag, pos, pos + length


def _element(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    got, start, stop = _tlv(data, pos, end, what)
    if got != tag:
        raise Garbled(f"{what}: unexpected BER tag 0x{got:02x}")
    return start, stop


def _integer(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    start, stop = _element(data, pos, end, _INTEGER, what)
    if not 1 <= stop - start <= 8:
        raise Garbled(f"{what}: bad integer length")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


def read_header(data: bytes) -> TrapHeader:
    """Screen a datagram: version, community or v3 security header; raises Garbled.

    Only the BER framing and these fields are read (no PDU decoding, no
    crypto): cheap enough to run on every datagram, floods included.
    """
    start, end = _element(data, 0, len(data), _SEQUENCE, "message")
    if end != len(data):
        raise Garbled("bytes after the message")
    version, pos = _integer(data, start, end, "version")
    if version in _NOTIFICATION_PDUS:
        community_start, community_end = _element(data, pos, end, _OCTET_STRING, "community")
        tag, _, pdu_end = _tlv(data, community_end, end, "PDU")
        if pdu_end != end:
            raise Garbled("bytes after the PDU")
        if tag not in _NOTIFICATION_PDUS[version]:
            raise Garbled(f"not a trap or inform (SNMP v{version + 1} PDU tag 0x{tag:02x})")
        return TrapHeader(version, community=data[community_start:community_end])
    if version == 3:
        return _v3_header(data, pos, end)
    raise Garbled(f"SNMP message version {version} is not spoken")


def _v3_header(data: bytes, pos: int, end: int) -> TrapHeader:
    global_start, global_end = _element(data, pos, end, _SEQUENCE, "msgGlobalData")
    _, cursor = _integer(data, global_start, global_end, "msgID")
    _, cursor = _integer(data, cursor, global_end, "msgMaxSize")
    flags_start, flags_end = _element(data, cursor, global_end, _OCTET_STRING, "msgFlags")
    if flags_end - flags_start != 1:
        raise Garbled("msgFlags is not one octet")
    flags = data[flags_start]
    model, cursor = _integer(data, flags_end, global_end, "msgSecurityModel")
    if cursor != global_end:
        raise Garbled("bytes after msgSecurityModel")
    if model != 3:
        raise Garbled(f"security model {model} is not USM (3)")
    if flags & _PRIV_FLAG and not flags & _AUTH_FLAG:
        raise Garbled("privacy without authentication")
    params_start, params_end = _element(
        data, global_end, end, _OCTET_STRING, "msgSecurityParameters"
    )
    usm_start, usm_end = _element(data, params_start, params_end, _SEQUENCE, "USM parameters")
    engine_start, engine_end = _element(data, usm_start, usm_end, _OCTET_STRING, "engine id")
    _, cursor = _integer(data, engine_end, usm_end, "msgAuthoritativeEngineBoots")
    _, cursor = _integer(data, cursor, usm_end, "msgAuthoritativeEngineTime")
    user_start, user_end = _element(data, cursor, usm_end, _OCTET_STRING, "msgUserName")
    _, cursor = _element(data, user_end, usm_end, _OCTET_STRING, "msgAuthenticationParameters")
    _, cursor = _element(data, cursor, usm_end, _OCTET_STRING, "msgPrivacyParameters")
    if cursor != usm_end or usm_end != params_end:
        raise Garbled("bytes after the USM parameters")
    tag, _, data_end = _tlv(data, params_end, end, "msgData")
    if data_end != end or tag not in (_SEQUENCE, _OCTET_STRING):
        raise Garbled("msgData is not one scoped PDU")
    engine_id, user = data[engine_start:engine_end], data[user_start:user_end]
    if user and not 5 <= len(engine_id) <= 32:
        raise Garbled(f"engine id of {len(engine_id)} octets")
    return TrapHeader(3, engine_id=engine_id, user=user, flags=flags)


@dataclass(eq=False)
class _Sender:
    """A configured device as a trap sender (compared and hashed by identity)."""

    device: SnmpDevice
    rules: tuple[TrapRule, ...]
    credentials: SnmpCredentials
    communities: frozenset[bytes]
    pinned_engine_id: bytes | None
    learned: list[bytes] = field(default_factory=list)

    @property
    def v3_user(self) -> bytes | None:
        creds = self.credentials
        return creds.user.encode() if creds.version is SnmpVersion.V3 and creds.user else None


@dataclass
class _Pending:
    """The datagram pysnmp is processing, as the screening matched it."""

    sender: _Sender
    source: str
    delivered: bool = False
    problem: str = ""


@dataclass
class _Rate:
    """Recent datagrams and flood state of one sender (`source`), or of all together (None)."""

    source: str | None
    limit: int
    times: deque[float] = field(default_factory=deque)
    flooding: bool = False
    last_drop: float = 0.0
    dropped: int = 0
    timer: asyncio.TimerHandle | None = None


class _Throttle:
    """Logs a repeated drop once per LOG_EVERY_S per (kind, sender), with a count, and
    at most LOG_BUDGET drop lines per LOG_EVERY_S for every sender together.

    The budget is what holds against ever-changing source addresses: each of
    them is a new sender, and would otherwise log a line of its own.
    """

    MAX_KEYS = 1024

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}
        self._window_start = -LOG_EVERY_S
        self._lines = 0
        self._unlogged = 0

    def warning(
        self, kind: str, source: str, message: str, *args: Any, level: int = logging.WARNING
    ) -> None:
        """Log a drop (at `level`, ERROR with the traceback being handled) unless throttled."""
        now = time.monotonic()
        key = (kind, source)
        last = self._seen.get(key)
        if last is not None and now - last[0] < LOG_EVERY_S:
            self._seen[key] = (last[0], last[1] + 1)
            return
        if now - self._window_start >= LOG_EVERY_S:
            self.flush()
            self._window_start, self._lines = now, 0
        if self._lines >= LOG_BUDGET:
            self._unlogged += 1
            return
        self._lines += 1
        if len(self._seen) >= self.MAX_KEYS:
            self._seen.clear()  # spoofed senders must not grow this without bound
        self._seen[key] = (now, 0)
        if last is not None and last[1]:
            message += f" ({last[1]} more like it in the last {LOG_EVERY_S:g} s)"
        log.log(level, message, *args, exc_info=level >= logging.ERROR)

    def flush(self) -> None:
        """Say how many drops the budget kept out of the log."""
        if self._unlogged:
            log.warning(
                "trap receiver: %d more dropped datagrams not logged (at most %d lines"
                " per %g s for every sender together)",
                self._unlogged,
                LOG_BUDGET,
                LOG_EVERY_S,
            )
            self._unlogged = 0


class TrapReceiver:
    """Receives traps for the configured devices; see the module docstring.

    `on_trap` and `on_flood` are called in the event loop that ran `start()`;
    an exception they raise is logged, never passed back into the receiver.
    """

    def __init__(
        self,
        settings: TrapsSection,
        devices: Sequence[DeviceSection],
        drivers: Mapping[str, Driver],
        on_trap: Callable[[TrapEvent], None],
        on_flood: Callable[[str | None, bool], None],
    ) -> None:
        known = {device.id for device in devices}
        strangers = sorted(set(settings.engine_ids) - known)
        if strangers:
            raise ValueError(f"[traps] engine_ids names unknown devices: {', '.join(strangers)}")
        self.settings = settings
        self.counters = TrapCounters()
        # Only SNMP devices send traps: a `local` device's host (this box) must not widen
        # the address chosen to listen on.
        self._devices = [d for d in devices if isinstance(d, SnmpDevice)]
        self._drivers = drivers
        self._on_trap = on_trap
        self._on_flood = on_flood
        self._senders: dict[str, list[_Sender]] = {}
        self._rates: dict[str, _Rate] = {}
        self._station = _Rate(None, settings.station_rate_limit)
        self._usm: set[tuple[bytes, bytes]] = set()
        self._local_users: dict[bytes, _Sender] = {}
        self._pending: _Pending | None = None
        self._security_event: Any = None
        self._throttle = _Throttle()
        self._engine: Any = None
        self._engine_id = b""
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._port = settings.port
        self._listen = settings.listen or ""

    @property
    def port(self) -> int:
        """The bound UDP port (the one the system picked when settings.port is 0)."""
        return self._port

    @property
    def address(self) -> str:
        """Where it listens: `listen`, or (not given) the address `start` chose."""
        host = self._listen or "(the devices' side)"
        return f"[{host}]:{self._port}" if ":" in host else f"{host}:{self._port}"

    @property
    def engine_id(self) -> bytes:
        """This receiver's SNMP engine id: what a v3 inform sender discovers."""
        if self._engine is None:
            raise RuntimeError(f"the trap receiver at {self.address} is not running")
        return self._engine_id

    async def start(self) -> None:
        """Bind the socket and begin receiving; OSError names address:port if it cannot."""
        if self._engine is not None:
            raise RuntimeError(f"the trap receiver at {self.address} is already running")
        self._loop = asyncio.get_running_loop()
        self._rates, self._usm, self._local_users = {}, set(), {}
        self._station = _Rate(None, self.settings.station_rate_limit)
        self._senders = await self._resolve_senders()
        self._listen = self.settings.listen or _local_address(
            [(ip, group[0].device.port) for ip, group in self._senders.items()]
        )
        self._sock = self._bind()
        self._port = self._sock.getsockname()[1]
        try:
            self._engine = self._new_engine()
            family = self._sock.family
            transport_class, domain = (
                (_Udp6, udp6.DOMAIN_NAME) if family == socket.AF_INET6 else (_Udp4, udp.DOMAIN_NAME)
            )
            transport = transport_class(self._on_datagram).open_server_mode(sock=self._sock)
            snmp_config.add_transport(self._engine, domain, transport)
        except BaseException:
            self.stop()
            raise
        devices = {s.device.id for group in self._senders.values() for s in group}
        log.info("receiving SNMP traps at %s from %d device(s)", self.address, len(devices))

    def stop(self) -> None:
        """Stop receiving and release the socket; safe to call twice.

        A flood still in progress is reported over (`on_flood(source, False)`):
        nobody would clear its alarm otherwise.
        """
        for rate in [*self._rates.values(), self._station]:
            if rate.timer is not None:
                rate.timer.cancel()
                rate.timer = None
            if rate.flooding:
                rate.flooding = False
                self._notify_flood(rate.source, False)
        self._throttle.flush()
        snmp_engine, sock, self._engine, self._sock = self._engine, self._sock, None, None
        try:
            if snmp_engine is not None:
                snmp_engine.close_dispatcher()
        finally:
            if sock is not None:
                sock.close()

    # -- setup --------------------------------------------------------------

    def _bind(self) -> socket.socket:
        listen = self._listen
        family = socket.AF_INET6 if ":" in listen else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # :: takes v4 too
            sock.bind((listen, self.settings.port))
        except OSError as exc:
            sock.close()
            hint = _BIND_HINTS.get(exc.errno or 0, "")
            raise OSError(
                exc.errno, f"cannot receive SNMP traps at {self.address}: {exc.strerror}{hint}"
            ) from None
        return sock

    async def _resolve_senders(self) -> dict[str, list[_Sender]]:
        """Source IP -> the devices at that address, in config order."""
        addresses = await asyncio.gather(*(_addresses(d) for d in self._devices))
        senders: dict[str, list[_Sender]] = {}
        for device, ips in zip(self._devices, addresses, strict=True):
            sender = self._sender(device)
            for ip in ips:
                senders.setdefault(ip, []).append(sender)
        return senders

    def _sender(self, device: SnmpDevice) -> _Sender:
        driver = self._drivers.get(device.driver)
        creds = device.snmp_credentials
        communities = {c.encode() for c in self.settings.communities}
        if creds.version is not SnmpVersion.V3:
            communities.add(creds.community.encode())
        pinned = self.settings.engine_ids.get(device.id)
        return _Sender(
            device,
            driver.traps if driver is not None else (),
            creds,
            frozenset(communities),
            bytes.fromhex(pinned) if pinned else None,
        )

    def _new_engine(self) -> Any:
        """The receiving engine: random engine id, every community, the v3 users."""
        snmp_engine = engine.SnmpEngine()
        builder = snmp_engine.get_mib_builder()
        (engine_id,) = builder.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineID")
        # pysnmp's default id barely differs between engines; a random one is unique.
        engine_id.syntax = engine_id.syntax.clone(_ENGINE_ID_PREFIX + os.urandom(8))
        snmp_engine.snmpEngineID = engine_id.syntax
        self._engine_id = bytes(engine_id.syntax.asOctets())
        senders = [s for group in self._senders.values() for s in group]
        communities = sorted({c for s in senders for c in s.communities})
        for index, community in enumerate(communities):
            snmp_config.add_v1_system(snmp_engine, f"trap{index}", community)
        for sender in dict.fromkeys(senders):
            self._add_users(snmp_engine, sender)
        self._record_security_failures(snmp_engine)
        ntfrcv.NotificationReceiver(snmp_engine, self._on_notification)
        return snmp_engine

    def _add_users(self, snmp_engine: Any, sender: _Sender) -> None:
        user = sender.v3_user
        if user is None:
            return
        owner = self._local_users.setdefault(user, sender)
        if owner is sender:
            _add_user(snmp_engine, sender.credentials, None)  # informs: our own engine id
        elif owner.credentials != sender.credentials:
            log.warning(
                "SNMPv3 user %r has other keys on %s than on %s: informs from %s will fail"
                " (traps are fine)",
                user.decode(errors="replace"),
                sender.device.id,
                owner.device.id,
                sender.device.id,
            )
        if sender.pinned_engine_id is not None:
            self._register(snmp_engine, sender, sender.pinned_engine_id)

    def _register(self, snmp_engine: Any, sender: _Sender, engine_id: bytes) -> bool:
        """Register the sender's user under a sender engine id; False if it already is."""
        user = sender.v3_user
        assert user is not None
        if (engine_id, user) in self._usm:
            return False
        _add_user(snmp_engine, sender.credentials, engine_id)
        self._usm.add((engine_id, user))
        return True

    def _unregister(self, user: bytes, engine_id: bytes) -> None:
        if (engine_id, user) in self._usm:
            self._usm.discard((engine_id, user))
            snmp_config.delete_v3_user(
                self._engine, user.decode(), securityEngineId=rfc1902.OctetString(engine_id)
            )

    def _record_security_failures(self, snmp_engine: Any) -> None:
        """Wrap the security models so a dropped message tells why (pysnmp does not)."""
        for model in snmp_engine.security_models.values():
            original = model.process_incoming_message

            def recording(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                try:
                    return _original(*args, **kwargs)
                except snmp_error.StatusInformation as exc:
                    self._security_event = exc.get("errorIndication")
                    raise

            model.process_incoming_message = recording

    # -- per datagram -------------------------------------------------------

    def _on_datagram(self, transport: Any, datagram: bytes, address: Any) -> None:
        self._within(self._station)  # the station-wide budget: an alarm, drops nothing
        try:
            outcome = self._screen(transport, datagram, address)
        except Exception:  # a bug, not the sender's fault; the receiver must go on
            source = str(address[0])  # hostile input may hit it on every datagram: throttled
            message = "trap receiver: failed on a datagram from %s"
            self._throttle.warning("bug", source, message, source, level=logging.ERROR)
            outcome = "malformed"
        if outcome:
            setattr(self.counters, outcome, getattr(self.counters, outcome) + 1)
        self.counters.datagrams += 1  # last: once it moves, the datagram is fully counted

    def _screen(self, transport: Any, datagram: bytes, address: Any) -> str:
        """Screen and process one datagram; the counter it goes to ("" if counted already)."""
        source = _normal_ip(address[0])
        try:
            header = read_header(datagram)
        except Garbled as exc:
            self._throttle.warning(
                "malformed", source, "dropped a malformed datagram from %s: %s", source, exc
            )
            return "malformed"
        senders = self._senders.get(source)
        if not senders:
            self._throttle.warning(
                "unknown", source, "dropped a trap from %s: no configured device there", source
            )
            return "unknown_sender"
        if not self._admit(source):
            return "rate_limited"
        if header.is_discovery:
            self._process(transport, datagram, address, None)
            return "discovery"
        sender, outcome, why = self._match(senders, header, address)
        if sender is None:
            self._throttle.warning(outcome, source, "dropped a trap from %s: %s", source, why)
            return outcome
        return self._process_for(transport, datagram, address, header, sender, source)

    def _process_for(
        self,
        transport: Any,
        datagram: bytes,
        address: Any,
        header: TrapHeader,
        sender: _Sender,
        source: str,
    ) -> str:
        device = sender.device.id
        learning = header.version == 3 and header.engine_id != self._engine_id
        fresh = learning and self._register(self._engine, sender, header.engine_id)
        pending = _Pending(sender, source)
        security = self._process(transport, datagram, address, pending)
        if pending.delivered:
            if learning:
                self._learned(sender, header.engine_id)
            return ""
        if fresh and sender.v3_user is not None:
            self._unregister(sender.v3_user, header.engine_id)
        if security is not None:
            own = header.version == 3 and header.engine_id == self._engine_id
            if own and security == errind.notInTimeWindow:
                return "discovery"  # an inform sender learning our engine time
            why = next((text for kind, text in _SECURITY_EVENTS if kind == security), security)
            self._throttle.warning(
                "auth_failed", source, "dropped a trap from %s (%s): %s", source, device, why
            )
            return "auth_failed"
        why = pending.problem or "its PDU could not be decoded"
        self._throttle.warning(
            "malformed", source, "dropped a malformed trap from %s (%s): %s", source, device, why
        )
        return "malformed"

    def _process(
        self, transport: Any, datagram: bytes, address: Any, pending: _Pending | None
    ) -> Any:
        """Let pysnmp process a datagram; the security failure it met, if any."""
        callback = transport._callback_function
        if callback is None:
            return None
        self._pending, self._security_event = pending, None
        try:
            callback(transport, address, datagram)
        except Exception as exc:  # pysnmp choking on hostile input
            if pending is not None:
                pending.problem = f"pysnmp: {type(exc).__name__}: {exc}"[:200]
        finally:
            self._pending = None
        return self._security_event

    def _match(
        self, senders: list[_Sender], header: TrapHeader, address: Any
    ) -> tuple[_Sender | None, str, str]:
        """The device a trap comes from, or the counter and reason to drop it."""
        port = address[1]
        if header.version != 3:
            accepting = [s for s in senders if header.community in s.communities]
            if not accepting:
                return None, "auth_failed", "wrong community"
            return _by_port(accepting, port), "", ""
        users = [s for s in senders if s.v3_user == header.user]
        if not users:
            return None, "auth_failed", f"no SNMPv3 user {header.user.decode(errors='replace')!r}"
        if header.engine_id == self._engine_id:
            owner = self._local_users.get(header.user)
            sender = _by_port(users, port)
            if owner is not None and any(owner is s for s in users):
                sender = owner
        else:
            eligible = [s for s in users if s.pinned_engine_id in (None, header.engine_id)]
            if not eligible:
                return None, "unknown_sender", f"engine id {header.engine_id.hex()} not configured"
            known = [
                s
                for s in eligible
                if header.engine_id == s.pinned_engine_id or header.engine_id in s.learned
            ]
            sender = _by_port(known or eligible, port)
        wanted = _LEVEL_FLAGS[sender.credentials.security_level]
        if header.flags & wanted != wanted:
            return None, "auth_failed", "security level below the configured one"
        return sender, "", ""

    def _learned(self, sender: _Sender, engine_id: bytes) -> None:
        if engine_id == sender.pinned_engine_id or engine_id in sender.learned:
            return
        if sender.learned:
            log.info(
                "%s now sends SNMPv3 traps as engine %s (was %s)",
                sender.device.id,
                engine_id.hex(),
                sender.learned[-1].hex(),
            )
        sender.learned.append(engine_id)
        if len(sender.learned) > MAX_ENGINE_IDS and sender.v3_user is not None:
            self._unregister(sender.v3_user, sender.learned.pop(0))

    def _on_notification(
        self,
        snmp_engine: Any,
        state_reference: Any,
        context_engine_id: Any,
        context_name: Any,
        var_binds: Any,
        cb_ctx: Any,
    ) -> None:
        """pysnmp accepted (and acknowledged, if an inform) a notification."""
        pending = self._pending
        if pending is None:
            return
        varbinds = [(str(name), value) for name, value in var_binds]
        trap_oid = next((v for n, v in varbinds if n == SNMP_TRAP_OID), None)
        if not isinstance(trap_oid, univ.ObjectIdentifier):
            pending.problem = "no snmpTrapOID.0 varbind"
            return
        payload = {name: to_raw(value) for name, value in varbinds if name not in _NOT_PAYLOAD}
        name, rule = match_rule(pending.sender.rules, str(trap_oid), payload)
        event = TrapEvent(
            pending.sender.device.id,
            pending.source,
            name,
            payload,
            datetime.now(UTC),
            rule,
        )
        pending.delivered = True
        self.counters.received += 1
        if rule is None:
            self.counters.unknown_trap += 1
        try:
            self._on_trap(event)
        except Exception:
            log.exception("the trap handler failed on %s from %s", name, event.device_id)

    # -- floods -------------------------------------------------------------

    def _admit(self, source: str) -> bool:
        """Whether one more datagram from `source` is within its rate."""
        rate = self._rates.get(source)
        if rate is None:
            rate = self._rates[source] = _Rate(source, self.settings.rate_limit)
        return self._within(rate)

    def _within(self, rate: _Rate) -> bool:
        """Whether one more datagram is within `rate`'s limit; a flood starts when not."""
        now = time.monotonic()
        window = self.settings.rate_window_s
        while rate.times and rate.times[0] <= now - window:
            rate.times.popleft()
        if len(rate.times) < rate.limit:
            rate.times.append(now)
            return True
        rate.last_drop = now
        rate.dropped += 1
        if not rate.flooding:
            rate.flooding = True
            if rate.source is None:
                log.warning(
                    "trap port flooded: more than %d datagrams in %g s from every address"
                    " together; drops are counted, and logged at most %d times in %g s",
                    rate.limit,
                    window,
                    LOG_BUDGET,
                    LOG_EVERY_S,
                )
            else:
                log.warning(
                    "trap flood from %s: more than %d in %g s, dropping the excess",
                    rate.source,
                    rate.limit,
                    window,
                )
            self._notify_flood(rate.source, True)
            self._check_flood_later(rate, window)
        return False

    def _check_flood_later(self, rate: _Rate, delay: float) -> None:
        if self._loop is not None:
            rate.timer = self._loop.call_later(delay, self._check_flood, rate)

    def _check_flood(self, rate: _Rate) -> None:
        rate.timer = None
        quiet = time.monotonic() - rate.last_drop
        window = self.settings.rate_window_s
        if quiet < window:
            self._check_flood_later(rate, window - quiet)
            return
        if rate.source is None:
            log.warning("trap port flood is over: %d datagrams over the budget", rate.dropped)
            self._throttle.flush()
        else:
            log.warning("trap flood from %s is over: %d dropped", rate.source, rate.dropped)
        rate.flooding, rate.dropped = False, 0
        self._notify_flood(rate.source, False)

    def _notify_flood(self, source: str | None, flooding: bool) -> None:
        try:
            self._on_flood(source, flooding)
        except Exception:
            log.exception("the flood handler failed for %s", source or "the trap port")


class _ReceiverTransport(DgramAsyncioProtocol):  # type: ignore[misc]
    """Hands every datagram to the receiver at once (pysnmp would queue it)."""

    def __init__(self, handler: Callable[[Any, bytes, Any], None]) -> None:
        super().__init__()
        self._handler = handler

    def datagram_received(self, datagram: bytes, address: Any) -> None:
        self._handler(self, datagram, address)


class _Udp4(_ReceiverTransport, udp.UdpAsyncioTransport):  # type: ignore[misc]
    """IPv4 trap socket."""


class _Udp6(_ReceiverTransport, udp6.Udp6AsyncioTransport):  # type: ignore[misc]
    """IPv6 (and v4-mapped) trap socket."""


def _add_user(snmp_engine: Any, creds: SnmpCredentials, engine_id: bytes | None) -> None:
    """Register a v3 user under an engine id (None: ours), from its cached master keys."""
    auth, auth_key, priv, priv_key = _master_keys(creds)
    snmp_config.add_v3_user(
        snmp_engine,
        creds.user,
        auth,
        auth_key,
        priv,
        priv_key,
        securityEngineId=None if engine_id is None else rfc1902.OctetString(engine_id),
        authKeyType=snmp_config.USM_KEY_TYPE_MASTER,
        privKeyType=snmp_config.USM_KEY_TYPE_MASTER,
    )


@functools.cache
def _master_keys(creds: SnmpCredentials) -> tuple[Any, Any, Any, Any]:
    """Protocols and RFC 3414 master keys of a user.

    Hashing a passphrase into a key digests a megabyte (several ms); each new
    sender engine id only needs the cheap localization of the master key.
    """
    auth = auth_protocol(creds.auth_protocol)
    priv = priv_protocol(creds.priv_protocol)
    auth_key = priv_key = None
    if creds.auth_key is not None:
        auth_key = snmp_config.AUTH_SERVICES[auth].hash_passphrase(
            rfc1902.OctetString(creds.auth_key)
        )
    if creds.priv_key is not None:
        priv_key = snmp_config.PRIV_SERVICES[priv].hash_passphrase(
            auth, rfc1902.OctetString(creds.priv_key)
        )
    return auth, auth_key, priv, priv_key


def _by_port(senders: list[_Sender], port: int) -> _Sender:
    """Of several devices at one address, the one whose agent port sent it, else the first."""
    return next((s for s in senders if s.device.port == port), senders[0])


def _local_address(peers: Sequence[tuple[str, int]]) -> str:
    """The address to receive traps on when `listen` is not given.

    The one local address this box reaches every device from (a route
    lookup: a UDP connect sends nothing), so the trap port is not open on
    the other interfaces (the uplink to the province, say); when the devices
    are reached from several addresses, or a route is missing, every address
    (0.0.0.0, or :: when a device has an IPv6 address).
    """
    wildcard = "::" if any(":" in ip for ip, _ in peers) else "0.0.0.0"
    found: set[str] = set()
    for ip, port in peers:
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((ip, port))
                found.add(_normal_ip(probe.getsockname()[0]))
        except OSError as exc:
            log.warning("no route to %s (%s): receiving traps on every address", ip, exc)
            return wildcard
    return found.pop() if len(found) == 1 else wildcard


def _normal_ip(text: str) -> str:
    """An IP address in one canonical form (IPv4-mapped IPv6 as IPv4, no zone)."""
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


async def _addresses(device: SnmpDevice) -> list[str]:
    """The IP addresses a device's traps come from: its host, resolved once."""
    host = device.host
    try:
        return [_normal_ip(str(ipaddress.ip_address(host)))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_DGRAM), RESOLVE_TIMEOUT_S
        )
    except (OSError, TimeoutError) as exc:
        log.warning("traps from %s are not accepted: cannot resolve %s (%s)", device.id, host, exc)
        return []
    return sorted({_normal_ip(str(info[4][0])) for info in infos})
