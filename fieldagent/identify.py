"""`fieldagent identify`: which driver or profile fits the device at this address?

Every SNMP driver given is weighed on what the device itself shows: its
sysObjectID under a prefix the driver declares (the strongest evidence: the
vendor says what the product is), the driver's characteristic subtree served
(one GETNEXT), and the share of the objects the driver polls that answer: its
scalars read with GET in batches, each table column asked for its first row
with one GETNEXT.  A technician at a new station learns in one command what to
write in the station file, and a profile drafted from a walk is checked against
every shipped driver.

The cost is bounded whatever the number of drivers: each driver's objects are
sampled (`MAX_SCALARS`, `MAX_COLUMNS`), an object several drivers share is
asked once, and the first request that fails ends the measuring (the device
went silent, or refuses large requests): what was measured so far is ranked,
and the answer says it is incomplete.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fieldagent.driver import Driver, IpAddress
from fieldagent.transports.snmp import MAX_OIDS_PER_GET, SnmpClient, SnmpError, SnmpTarget

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"

MAX_SCALARS = 2 * MAX_OIDS_PER_GET
"""Scalars asked per driver (its first ones, in declaration order): at most two GETs."""
MAX_COLUMNS = MAX_OIDS_PER_GET
"""Table columns (walk roots) asked per driver: at most one GETNEXT."""

OBJECT_ID_WEIGHT = 0.6
PROBE_WEIGHT = 0.25
SHARE_WEIGHT = 0.15
"""Score = these weights times the evidence: a sysObjectID match outranks a probe subtree
and any share of objects together, a probe subtree outranks a share alone."""


@dataclass(frozen=True)
class Candidate:
    """One driver weighed against the device, with the evidence found for it."""

    driver: Driver
    object_id_prefix: str | None
    """The declared sysObjectID prefix the device's sysObjectID is under, if any."""
    probe: str | None
    """The driver's characteristic subtree, when the device serves it."""
    scalars: tuple[int, int]
    """(answered with a value, asked) of the driver's scalar OIDs."""
    columns: tuple[int, int]
    """(with at least one row, asked) of the driver's table columns and walk roots."""

    @property
    def share(self) -> float:
        """The share of the asked objects (scalars and columns) that the device has."""
        asked = self.scalars[1] + self.columns[1]
        return (self.scalars[0] + self.columns[0]) / asked if asked else 0.0

    @property
    def score(self) -> float:
        """0 (no evidence) to 1 (sysObjectID, probe subtree and every object)."""
        score = SHARE_WEIGHT * self.share
        score += OBJECT_ID_WEIGHT if self.object_id_prefix else 0.0
        score += PROBE_WEIGHT if self.probe else 0.0
        return round(score, 3)

    @property
    def identified(self) -> bool:
        """Whether the device names this family (sysObjectID or its subtree), beyond a share."""
        return self.object_id_prefix is not None or self.probe is not None

    @property
    def evidence(self) -> tuple[str, ...]:
        """The evidence in words, strongest first."""
        words = []
        if self.object_id_prefix:
            words.append(f"sysObjectID is under {self.object_id_prefix}")
        if self.probe:
            words.append(f"serves {self.probe}")
        answered, scalars = self.scalars
        if scalars:
            words.append(f"{answered} of {scalars} scalars answer")
        with_rows, columns = self.columns
        if columns:
            words.append(f"{with_rows} of {columns} table columns have rows")
        return tuple(words)

    @property
    def reason(self) -> str:
        return "; ".join(self.evidence)


@dataclass(frozen=True)
class Identification:
    sys_descr: str | None
    sys_object_id: str | None
    candidates: tuple[Candidate, ...]
    """Drivers with any evidence, best first."""
    tried: int
    """How many SNMP drivers were weighed."""
    incomplete: str | None = None
    """Why some objects were not asked (the request that failed), or None."""

    @property
    def suggestions(self) -> tuple[Candidate, ...]:
        """The candidates the device names itself (sysObjectID or subtree), best first."""
        return tuple(c for c in self.candidates if c.identified)


async def identify(
    client: SnmpClient, target: SnmpTarget, drivers: Iterable[Driver]
) -> Identification:
    """Read the device's identity and weigh every SNMP driver against it.

    SnmpError if the device does not answer the first request (its system group).
    """
    snmp_drivers = [d for d in drivers if d.protocol == "snmp"]
    system = await client.get(target, [SYS_DESCR, SYS_OBJECT_ID])
    descr, object_id = (_text(system.get(SYS_DESCR)), _text(system.get(SYS_OBJECT_ID)))
    probe = _Probe(client, target)
    probes = await probe.first_under([d.identity.probe_oid for d in snmp_drivers])
    values = await probe.get([oid for d in snmp_drivers for oid in _scalars(d)])
    rows = await probe.first_under([oid for d in snmp_drivers for oid in _columns(d)])
    candidates = [
        Candidate(
            driver,
            _object_id_prefix(driver, object_id),
            driver.identity.probe_oid if probes.get(driver.identity.probe_oid or "") else None,
            _count(_scalars(driver), values),
            _count(_columns(driver), rows),
        )
        for driver in snmp_drivers
    ]
    ranked = sorted(
        (c for c in candidates if c.identified or c.share > 0),
        key=lambda c: (-c.score, -c.share, c.driver.name),
    )
    return Identification(descr, object_id, tuple(ranked), len(snmp_drivers), probe.failure)


class _Probe:
    """The device's answers, each object asked once; after a failed request, none more."""

    def __init__(self, client: SnmpClient, target: SnmpTarget) -> None:
        self._client = client
        self._target = target
        self.failure: str | None = None

    async def get(self, oids: Iterable[str]) -> dict[str, bool]:
        """Whether each OID answers with a value (GET, in batches)."""
        unique = list(dict.fromkeys(oids))
        found: dict[str, bool] = {}
        for batch in _batches(unique):
            if self.failure is not None:
                break
            try:
                answers = await self._client.get(self._target, batch)
            except SnmpError as exc:
                self.failure = str(exc)
                break
            found.update({oid: answers.get(oid) is not None for oid in batch})
        return found

    async def first_under(self, prefixes: Iterable[str | None]) -> dict[str, bool]:
        """Whether the device serves anything under each prefix (one GETNEXT per batch)."""
        unique = sorted({p for p in prefixes if p})
        found: dict[str, bool] = {}
        for batch in _batches(unique):
            if self.failure is not None:
                break
            try:
                found.update(await self._client.first_under(self._target, batch))
            except SnmpError as exc:
                self.failure = str(exc)
                break
        return found


def _batches(oids: Sequence[str]) -> list[list[str]]:
    return [list(oids[i : i + MAX_OIDS_PER_GET]) for i in range(0, len(oids), MAX_OIDS_PER_GET)]


def _scalars(driver: Driver) -> list[str]:
    return list(driver.scalar_oids())[:MAX_SCALARS]


def _columns(driver: Driver) -> list[str]:
    return list(driver.walks())[:MAX_COLUMNS]


def _count(oids: Sequence[str], found: dict[str, bool]) -> tuple[int, int]:
    return sum(1 for oid in oids if found.get(oid)), len(oids)


def _object_id_prefix(driver: Driver, object_id: str | None) -> str | None:
    for prefix in driver.identity.sys_object_ids:
        if object_id and (object_id == prefix or object_id.startswith(prefix + ".")):
            return prefix
    return None


def _text(raw: object) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bytes) and not isinstance(raw, IpAddress):
        return raw.decode("utf-8", errors="replace").strip()
    return str(raw)
