"""SNMP v1 / v2c / v3 reads: GET, GETNEXT and walks, over two exchange back-ends.

The request logic lives here once (GETs in chunks, the SNMPv1 noSuchName retry, walks of
several subtrees together and their bounds); each request goes through an `Exchange`: the
wire client (`snmpudp`, our own BER codec) for v1 / v2c, pysnmp (`pysnmpexchange`) for v3,
imported the first time a v3 target is read, so a station of v1 / v2c devices never loads
pysnmp.  Only GET, GETNEXT and GETBULK are ever sent: the agent never writes to a device.
"""

from __future__ import annotations

from collections.abc import Sequence

from fieldagent.config import SnmpVersion
from fieldagent.driver import RawValue
from fieldagent.transports.snmptarget import Exchange, SnmpError, SnmpTarget
from fieldagent.transports.snmpudp import WireExchange
from fieldagent.transports.snmpwire import NO_SUCH_NAME, PduKind, Response, error_status_name

__all__ = ["MAX_OIDS_PER_GET", "MAX_WALK_VARBINDS", "SnmpClient", "SnmpError", "SnmpTarget"]

MAX_OIDS_PER_GET = 24
"""Varbinds per GET: small enough for any agent's PDU size, large enough to poll in one trip."""

MAX_WALK_VARBINDS = 10_000
"""A walk stops here: a misbehaving agent must not keep the poller busy forever."""


class SnmpClient:
    """Reads raw values from SNMP agents; safe to share across concurrent polls.

    `community_exchange` is the back-end of v1 / v2c targets (the wire client unless given:
    the tests give pysnmp's to compare the two); v3 targets always go through pysnmp.
    """

    def __init__(self, *, community_exchange: Exchange | None = None) -> None:
        self._community = community_exchange if community_exchange is not None else WireExchange()
        self._usm: Exchange | None = None

    def close(self) -> None:
        self._community.close()
        if self._usm is not None:
            self._usm.close()

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
        answer = await self._ask(target, PduKind.GETNEXT, prefixes)
        _raise_on_error(target, answer)
        # Answers come back in request order; an end-of-MIB answer keeps its place.
        found = [None if value is None else oid for oid, value in answer.varbinds]
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
        v1 = target.credentials.version is SnmpVersion.V1
        # Where each unfinished root goes on from: the last OID read under it.
        position = {root: root for root in dict.fromkeys(roots)}
        # The same positions as numbers, to check each answer moves forward (parsed once).
        numeric = {root: _numeric(root) for root in position}
        # Kept per root, so the result lists each subtree in order, as separate walks would.
        found: dict[str, dict[str, RawValue]] = {root: {} for root in position}
        while position:
            active = list(position)
            asked = [position[root] for root in active]
            if v1:
                answer = await self._ask(target, PduKind.GETNEXT, asked)
            else:
                answer = await self._ask(target, PduKind.GETBULK, asked, _repetitions(len(active)))
            if v1 and _is_v1_no_such_name(answer, len(active)):
                # An SNMPv1 agent fails the whole GETNEXT for the one root past the end of
                # its view: that root is done; ask again for the others.
                del position[active[answer.error_index - 1]]
                continue
            _raise_on_error(target, answer)
            if not answer.varbinds:
                raise SnmpError(f"{target.address}: agent answered a walk with no objects")
            _advance(active, answer, position, numeric, found)
            if sum(map(len, found.values())) >= MAX_WALK_VARBINDS:
                what = roots[0] if len(roots) == 1 else f"{len(roots)} subtrees from {roots[0]}"
                raise SnmpError(
                    f"{target.address}: walk of {what} exceeded {MAX_WALK_VARBINDS} objects"
                )
        return {oid: value for under_root in found.values() for oid, value in under_root.items()}

    async def _get_chunk(self, target: SnmpTarget, oids: list[str]) -> dict[str, RawValue]:
        absent: dict[str, RawValue] = {}
        while oids:
            answer = await self._ask(target, PduKind.GET, oids)
            if _is_v1_no_such_name(answer, len(oids)):
                # SNMPv1 fails the whole request for one unknown OID: drop it and ask again.
                absent[oids.pop(answer.error_index - 1)] = None
                continue
            _raise_on_error(target, answer)
            return {**absent, **dict(answer.varbinds)}
        return absent

    async def _ask(
        self, target: SnmpTarget, kind: PduKind, oids: Sequence[str], max_repetitions: int = 0
    ) -> Response:
        return await self._exchange_for(target).exchange(target, kind, oids, max_repetitions)

    def _exchange_for(self, target: SnmpTarget) -> Exchange:
        if target.credentials.version is not SnmpVersion.V3:
            return self._community
        if self._usm is None:
            from fieldagent.transports.pysnmpexchange import PysnmpExchange

            self._usm = PysnmpExchange()
        return self._usm


def _is_v1_no_such_name(answer: Response, count: int) -> bool:
    return answer.error_status == NO_SUCH_NAME and 0 < answer.error_index <= count


def _raise_on_error(target: SnmpTarget, answer: Response) -> None:
    if answer.error_status:
        index = answer.error_index
        varbinds = answer.varbinds
        where = f" at {varbinds[index - 1][0]}" if 0 < index <= len(varbinds) else ""
        name = error_status_name(answer.error_status)
        raise SnmpError(f"{target.address}: agent answered {name}{where}")


def _repetitions(active_roots: int) -> int:
    """GETBULK max-repetitions for `active_roots` varbinds: about 50 varbinds an answer, so
    it stays well under a UDP datagram and an agent's PDU size, at most 25 rows."""
    return min(25, max(1, 50 // active_roots))


def _advance(
    active: list[str],
    answer: Response,
    position: dict[str, str],
    numeric: dict[str, tuple[int, ...]],
    found: dict[str, dict[str, RawValue]],
) -> None:
    """Take one answer's varbinds (row after row, one per active root) into `found`, move
    each root's position on, and drop from `position` every root that is done."""
    done: set[str] = set()
    width = len(active)
    for index, (oid, value) in enumerate(answer.varbinds):
        root = active[index % width]
        if root in done:
            continue
        if index in answer.end_of_view or not oid.startswith(root + "."):
            done.add(root)  # a NULL value is an object (read as None): only these end a root
            continue
        number = _numeric(oid)
        if number <= numeric[root]:  # a misbehaving agent must not loop us
            done.add(root)
            continue
        found[root][oid] = value
        position[root] = oid
        numeric[root] = number
    for root in done:
        del position[root]
        del numeric[root]


def _numeric(oid: str) -> tuple[int, ...]:
    return tuple(map(int, oid.split(".")))
