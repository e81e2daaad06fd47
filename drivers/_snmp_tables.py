"""Reading SNMP table rows out of one poll's objects, for drivers with a `decoder`.

A decoder gets every object of the poll by dotted OID; these helpers pick one
column's rows out of it, so the ENTITY-SENSOR and SCTE HMS drivers read their
tables the same way.
"""

from __future__ import annotations

from fieldagent.driver import Objects, RawValue


def in_subtree(oid: str, root: str) -> bool:
    """True for `root` itself and every OID below it (not for 1.3.6.1.20 under 1.3.6.1.2)."""
    return oid == root or oid.startswith(root + ".")


def column_rows(objects: Objects, column: str) -> dict[str, RawValue]:
    """Row index -> raw value of every object the device served under `column`.

    Absent objects (None) are left out: a row that is not there is not a row.
    """
    prefix = column + "."
    return {
        oid[len(prefix) :]: raw
        for oid, raw in objects.items()
        if oid.startswith(prefix) and raw is not None
    }


def index_order(index: str) -> tuple[int, ...]:
    """Sort key for row indexes: numerically, part by part (2 before 10)."""
    return tuple(int(part) for part in index.split(".") if part.isdigit())
