"""What every SNMP exchange back-end shares: the target, the error, the exchange contract.

`SnmpClient` (snmp.py) holds the request logic (chunked GETs, walks, the SNMPv1 retry) once,
above two back-ends that each send one request and return its answer: the wire client
(`snmpudp.py`, v1 / v2c) and pysnmp (`pysnmpexchange.py`, v3, imported only when a v3
target is used).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from fieldagent.config import SnmpCredentials, SnmpDevice
from fieldagent.transports import TransportError
from fieldagent.transports.snmpwire import PduKind, Response


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

    def no_reply_hint(self) -> str:
        creds = self.credentials
        # The user name is not a secret; the community and the keys are: never their values.
        who = f"user {creds.user!r} and its keys" if creds.user else "the community"
        return (
            f"no reply from {self.address} (SNMP v{creds.version}) within "
            f"{self.timeout:g} s x {self.retries + 1} tries: check the address, {who}, "
            "and that the device's SNMP agent is enabled"
        )


class Exchange(Protocol):
    """Sends one read request to a target and returns its answer.

    Raises `SnmpError` when no answer came within the target's timeout x tries, or the
    answer could not be read; an answer's error-status is the caller's to judge.
    """

    async def exchange(
        self, target: SnmpTarget, kind: PduKind, oids: Sequence[str], max_repetitions: int
    ) -> Response: ...

    def close(self) -> None: ...
