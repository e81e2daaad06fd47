"""SNMP v1 / v2c / v3 reads over UDP with one shared pysnmp engine.

One engine serves every device: pysnmp keeps per-agent v3 engine-id discovery
and request ids in it, and one engine costs far less than one per device.  Only
GET, GETNEXT and GETBULK are ever sent: the agent never writes to a device.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
)
from pysnmp.hlapi.varbinds import CommandGeneratorVarBinds
from pysnmp.proto.rfc1905 import EndOfMibView

from fieldagent.config import SnmpCredentials, SnmpDevice, SnmpVersion
from fieldagent.driver import RawValue
from fieldagent.snmpvalues import auth_protocol, is_absent, priv_protocol, to_raw
from fieldagent.transports import TransportError

MAX_OIDS_PER_GET = 24
"""Varbinds per GET: small enough for any agent's PDU size, large enough to poll in one trip."""

MAX_WALK_VARBINDS = 10_000
"""A walk stops here: a misbehaving agent must not keep the poller busy forever."""

TIMER_RESOLUTION_S = 0.05
"""How often pysnmp looks for expired requests.  Its default (0.1 s) counts a timeout in
whole ticks, rounded up (0.25 s x 2 tries took 0.6 s); at 0.05 s a try ends at most 50 ms
late, for about 3 ms of CPU per second more (bench/snmp_timeout.py measures both)."""


_V3_HINTS = {
    "Wrong SNMP PDU digest": "authentication failed: check auth_key and auth_protocol of {user!r}",
    "Ciphering services not available": "decryption failed: check priv_key and priv_protocol",
    "Unknown USM user": "the device has no SNMPv3 user {user!r}",
    "Unsupported security level": "the device wants another security level for {user!r}",
}
"""pysnmp's words for SNMPv3 failures, and what a technician should check."""


class SnmpError(TransportError):
    """A device could not be read; the message says what to check."""


@dataclass(frozen=True)
class SnmpTarget:
    """Where and how to reach one agent; built from a device's config."""

    host: str
    port: int
    credentials: SnmpCredentials
    timeout: float
    retries: int

    @classmethod
    def from_device(cls, device: SnmpDevice) -> SnmpTarget:
        return cls(
            host=device.host,
            port=device.port,
            credentials=device.snmp_credentials,
            timeout=device.timeout,
            retries=device.request_retries,
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def auth_data(self) -> CommunityData | UsmUserData:
        creds = self.credentials
        if creds.version is SnmpVersion.V3:
            return UsmUserData(
                creds.user,
                authKey=creds.auth_key,
                privKey=creds.priv_key,
                authProtocol=auth_protocol(creds.auth_protocol),
                privProtocol=priv_protocol(creds.priv_protocol),
            )
        return CommunityData(creds.community, mpModel=0 if creds.version is SnmpVersion.V1 else 1)

    def no_reply_hint(self) -> str:
        creds = self.credentials
        # The user name is not a secret; the community and the keys are: never their values.
        who = f"user {creds.user!r} and its keys" if creds.user else "the community"
        return (
            f"no reply from {self.address} (SNMP v{creds.version}) within "
            f"{self.timeout:g} s x {self.retries + 1} tries: check the address, {who}, "
            "and that the device's SNMP agent is enabled"
        )


_PYSNMP_MIB_DIR = os.path.join(os.path.expanduser("~"), ".pysnmp", "mibs")
"""Where pysnmp's own compiler would keep compiled MIBs (a source it reads them from)."""


class _NoMibCompiler:
    """A MIB compiler that compiles nothing: every module asked for is missing."""

    def compile(self, *names: str, **options: Any) -> dict[str, str]:
        return dict.fromkeys(names, "missing")


class SnmpClient:
    """Reads raw values from SNMP agents; safe to share across concurrent polls."""

    def __init__(self) -> None:
        self._engine = SnmpEngine()
        # pysnmp builds its MIB compiler (pysmi's parser: 0.3 s of CPU, more under load) on
        # an engine's first request, after the request's clock started and before its first
        # datagram left: a silent device then took far longer than its timeout x tries.  The
        # agent sends numeric OIDs only and never needs a MIB compiled: one that compiles
        # nothing stands in its place, so pysnmp builds none.
        view = CommandGeneratorVarBinds.get_mib_view_controller(self._engine.cache)
        view.mibBuilder.set_mib_compiler(_NoMibCompiler(), _PYSNMP_MIB_DIR)

    def close(self) -> None:
        self._engine.close_dispatcher()

    async def get(self, target: SnmpTarget, oids: Sequence[str]) -> dict[str, RawValue]:
        """GET every OID (in as few requests as is safe); absent objects map to None."""
        values: dict[str, RawValue] = {}
        for start in range(0, len(oids), MAX_OIDS_PER_GET):
            values.update(
                await self._get_chunk(target, list(oids[start : start + MAX_OIDS_PER_GET]))
            )
        return values

    async def first_under(self, target: SnmpTarget, prefixes: Sequence[str]) -> dict[str, bool]:
        """For each OID prefix, whether the agent serves anything under it (one GETNEXT)."""
        error_indication, error_status, error_index, var_binds = await next_cmd(
            self._engine,
            target.auth_data(),
            await self._transport(target),
            ContextData(),
            *(ObjectType(ObjectIdentity(prefix)) for prefix in prefixes),
            lookupMib=False,
        )
        _raise_on_error(target, error_indication, error_status, error_index, var_binds)
        # Answers come back in request order; an end-of-MIB answer keeps its place.
        found = [None if is_absent(value) else str(name) for name, value in var_binds]
        return {
            prefix: oid is not None and (oid == prefix or oid.startswith(prefix + "."))
            for prefix, oid in zip(prefixes, found, strict=False)
        }

    async def walk(self, target: SnmpTarget, root: str) -> dict[str, RawValue]:
        """Every object under `root` (GETBULK on v2c/v3, GETNEXT on v1)."""
        return await self.walk_many(target, [root])

    async def walk_many(self, target: SnmpTarget, roots: Sequence[str]) -> dict[str, RawValue]:
        """Every object under each of `roots`, the subtrees walked together.

        A table's columns are walked side by side, as the agent lays them out: each request
        carries one varbind per root still in progress (GETBULK on v2c/v3, GETNEXT on v1),
        so a 15-column table of a few rows takes one or two requests instead of fifteen.
        Each root continues from its own last OID until it leaves its subtree or the agent's
        view ends; nothing outside a root is returned.
        """
        if not roots:
            return {}
        transport = await self._transport(target)
        v1 = target.credentials.version is SnmpVersion.V1
        # Where each unfinished root goes on from: the last OID read under it.
        position = {root: root for root in dict.fromkeys(roots)}
        # Kept per root, so the result lists each subtree in order, as separate walks would.
        found: dict[str, dict[str, RawValue]] = {root: {} for root in position}
        while position:
            active = list(position)
            asked = [ObjectType(ObjectIdentity(position[root])) for root in active]
            if v1:
                answer = await next_cmd(
                    self._engine,
                    target.auth_data(),
                    transport,
                    ContextData(),
                    *asked,
                    lookupMib=False,
                )
            else:
                answer = await bulk_cmd(
                    self._engine,
                    target.auth_data(),
                    transport,
                    ContextData(),
                    0,
                    _repetitions(len(active)),
                    *asked,
                    lookupMib=False,
                )
            error_indication, error_status, error_index, var_binds = answer
            if v1 and _is_v1_no_such_name(error_status, error_index, len(active)):
                # An SNMPv1 agent fails the whole GETNEXT for the one root past the end of
                # its view: that root is done; ask again for the others.
                del position[active[int(error_index) - 1]]
                continue
            _raise_on_error(target, error_indication, error_status, error_index, var_binds)
            if not var_binds:
                raise SnmpError(f"{target.address}: agent answered a walk with no objects")
            _advance(active, var_binds, position, found)
            if sum(map(len, found.values())) >= MAX_WALK_VARBINDS:
                what = roots[0] if len(roots) == 1 else f"{len(roots)} subtrees from {roots[0]}"
                raise SnmpError(
                    f"{target.address}: walk of {what} exceeded {MAX_WALK_VARBINDS} objects"
                )
        return {oid: value for under_root in found.values() for oid, value in under_root.items()}

    async def _get_chunk(self, target: SnmpTarget, oids: list[str]) -> dict[str, RawValue]:
        transport = await self._transport(target)
        absent: dict[str, RawValue] = {}
        while oids:
            error_indication, error_status, error_index, var_binds = await get_cmd(
                self._engine,
                target.auth_data(),
                transport,
                ContextData(),
                *(ObjectType(ObjectIdentity(oid)) for oid in oids),
                lookupMib=False,
            )
            if _is_v1_no_such_name(error_status, error_index, len(oids)):
                # SNMPv1 fails the whole request for one unknown OID: drop it and ask again.
                absent[oids.pop(int(error_index) - 1)] = None
                continue
            _raise_on_error(target, error_indication, error_status, error_index, var_binds)
            return {**absent, **_convert(var_binds)}
        return absent

    async def _transport(self, target: SnmpTarget) -> UdpTransportTarget:
        if self._engine.transport_dispatcher is None:
            # Registered here, in the running loop, with a fine timer: pysnmp would
            # register one with its coarse default on the first request.
            self._engine.register_transport_dispatcher(
                AsyncioDispatcher(timeout=TIMER_RESOLUTION_S)
            )
        try:
            return await UdpTransportTarget.create(
                (target.host, target.port), timeout=target.timeout, retries=target.retries
            )
        except Exception as exc:  # pysnmp wraps resolver errors in its own types
            raise SnmpError(f"{target.address}: cannot resolve address: {exc}") from None


def _is_v1_no_such_name(error_status: Any, error_index: Any, count: int) -> bool:
    return (
        bool(error_status) and str(error_status) == "noSuchName" and 0 < int(error_index) <= count
    )


def _raise_on_error(
    target: SnmpTarget,
    error_indication: Any,
    error_status: Any,
    error_index: Any,
    var_binds: Sequence[Any],
) -> None:
    if error_indication:
        text = str(error_indication)
        if "timeout" in text.lower():
            raise SnmpError(target.no_reply_hint())
        for fragment, hint in _V3_HINTS.items():
            if fragment in text:
                raise SnmpError(
                    f"{target.address}: {text}: {hint.format(user=target.credentials.user)}"
                )
        raise SnmpError(f"{target.address}: {text}")
    if error_status:
        index = int(error_index)
        where = f" at {var_binds[index - 1][0]}" if 0 < index <= len(var_binds) else ""
        raise SnmpError(f"{target.address}: agent answered {error_status.prettyPrint()}{where}")


def _convert(var_binds: Iterable[Any]) -> dict[str, RawValue]:
    return {str(name): to_raw(value) for name, value in var_binds}


def _repetitions(active_roots: int) -> int:
    """GETBULK max-repetitions for `active_roots` varbinds: about 50 varbinds an answer, so
    it stays well under a UDP datagram and an agent's PDU size, at most 25 rows."""
    return min(25, max(1, 50 // active_roots))


def _advance(
    active: list[str],
    var_binds: Sequence[Any],
    position: dict[str, str],
    found: dict[str, dict[str, RawValue]],
) -> None:
    """Take one answer's varbinds (row after row, one per active root) into `found`, move
    each root's position on, and drop from `position` every root that is done."""
    done: set[str] = set()
    for index, (name, value) in enumerate(var_binds):
        root = active[index % len(active)]
        if root in done:
            continue
        oid = str(name)
        if (
            isinstance(value, EndOfMibView)  # a NULL value is an object (read as None)
            or not oid.startswith(root + ".")
            or not _after(oid, position[root])  # a misbehaving agent must not loop us
        ):
            done.add(root)
            continue
        found[root][oid] = to_raw(value)
        position[root] = oid
    for root in done:
        del position[root]


def _after(oid: str, previous: str) -> bool:
    return tuple(int(part) for part in oid.split(".")) > tuple(
        int(part) for part in previous.split(".")
    )
