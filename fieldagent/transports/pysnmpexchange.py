"""The SNMPv3 back-end: one request through pysnmp's engine, its answer as a `Response`.

Imported only when a v3 target is polled (pysnmp costs ~34 MiB of RSS and most of the
poll path's CPU; v1 / v2c go through `snmpudp`).  It speaks v1 and v2c too, which the
tests use to hold both back-ends to the same raw values.  One engine serves every device:
pysnmp keeps per-agent v3 engine-id discovery and request ids in it, and one engine costs
far less than one per device.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
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

from fieldagent.config import SnmpVersion
from fieldagent.snmpvalues import SmiTag, auth_protocol, ber_tag, priv_protocol, to_raw
from fieldagent.transports.snmptarget import SnmpError, SnmpTarget
from fieldagent.transports.snmpwire import PduKind, Response

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

_PYSNMP_MIB_DIR = os.path.join(os.path.expanduser("~"), ".pysnmp", "mibs")
"""Where pysnmp's own compiler would keep compiled MIBs (a source it reads them from)."""

_VERSION_NUMBER = {SnmpVersion.V1: 0, SnmpVersion.V2C: 1, SnmpVersion.V3: 3}


class _NoMibCompiler:
    """A MIB compiler that compiles nothing: every module asked for is missing."""

    def compile(self, *names: str, **options: Any) -> dict[str, str]:
        return dict.fromkeys(names, "missing")


def auth_data(target: SnmpTarget) -> CommunityData | UsmUserData:
    """pysnmp's credentials object for a target."""
    creds = target.credentials
    if creds.version is SnmpVersion.V3:
        return UsmUserData(
            creds.user,
            authKey=creds.auth_key,
            privKey=creds.priv_key,
            authProtocol=auth_protocol(creds.auth_protocol),
            privProtocol=priv_protocol(creds.priv_protocol),
        )
    return CommunityData(creds.community, mpModel=0 if creds.version is SnmpVersion.V1 else 1)


class PysnmpExchange:
    """The `Exchange` of v3 targets (and of any version, for comparison)."""

    def __init__(self) -> None:
        self.engine = SnmpEngine()
        # pysnmp builds its MIB compiler (pysmi's parser: 0.3 s of CPU, more under load) on
        # an engine's first request, after the request's clock started and before its first
        # datagram left: a silent device then took far longer than its timeout x tries.  The
        # agent sends numeric OIDs only and never needs a MIB compiled: one that compiles
        # nothing stands in its place, so pysnmp builds none.
        view = CommandGeneratorVarBinds.get_mib_view_controller(self.engine.cache)
        view.mibBuilder.set_mib_compiler(_NoMibCompiler(), _PYSNMP_MIB_DIR)

    def close(self) -> None:
        self.engine.close_dispatcher()

    async def exchange(
        self, target: SnmpTarget, kind: PduKind, oids: Sequence[str], max_repetitions: int
    ) -> Response:
        transport = await self._transport(target)
        asked = [ObjectType(ObjectIdentity(oid)) for oid in oids]
        common = (self.engine, auth_data(target), transport, ContextData())
        if kind is PduKind.GET:
            answer = await get_cmd(*common, *asked, lookupMib=False)
        elif kind is PduKind.GETNEXT:
            answer = await next_cmd(*common, *asked, lookupMib=False)
        else:
            answer = await bulk_cmd(*common, 0, max_repetitions, *asked, lookupMib=False)
        error_indication, error_status, error_index, var_binds = answer
        if error_indication:
            _raise_indication(target, error_indication)
        return Response(
            version=_VERSION_NUMBER[target.credentials.version],
            request_id=0,
            error_status=int(error_status),
            error_index=int(error_index),
            varbinds=[(str(name), to_raw(value)) for name, value in var_binds],
            end_of_view=frozenset(
                index
                for index, (_, value) in enumerate(var_binds)
                if ber_tag(value) == SmiTag.END_OF_MIB_VIEW
            ),
        )

    async def _transport(self, target: SnmpTarget) -> UdpTransportTarget:
        if self.engine.transport_dispatcher is None:
            # Registered here, in the running loop, with a fine timer: pysnmp would
            # register one with its coarse default on the first request.
            self.engine.register_transport_dispatcher(AsyncioDispatcher(timeout=TIMER_RESOLUTION_S))
        try:
            return await UdpTransportTarget.create(
                (target.host, target.port), timeout=target.timeout, retries=target.retries
            )
        except Exception as exc:  # pysnmp wraps resolver errors in its own types
            raise SnmpError(f"{target.address}: cannot resolve address: {exc}") from None


def _raise_indication(target: SnmpTarget, error_indication: Any) -> None:
    text = str(error_indication)
    if "timeout" in text.lower():
        raise SnmpError(target.no_reply_hint())
    for fragment, hint in _V3_HINTS.items():
        if fragment in text:
            raise SnmpError(
                f"{target.address}: {text}: {hint.format(user=target.credentials.user)}"
            )
    raise SnmpError(f"{target.address}: {text}")
