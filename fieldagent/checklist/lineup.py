"""The line-up item: the services the headend carries against the licensed line-up.

The directive (item 8) asks stations to make sure the cable network carries
nothing but its licensed channels.  The services every device of the item's
kind decodes (every row of its `services` metric, e.g. an IRD's inputs) are
compared, as a set, with `[checklist] lineup` of the station file; a renamed
service shows as one missing and one extra; a row the device says is not in
use (a disabled input) carries nothing and is left out.  Names are compared without
regard to case and runs of spaces ("VTV1  hd" is "VTV1 HD"), as IRDs and
licences spell them differently; the report shows them as written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fieldagent.checklist.report import Check, LineupDifference, ReadingUsed, Reason, Status
from fieldagent.driver import base_key
from fieldagent.model import PollResult, Quality


def normalized(name: str) -> str:
    return " ".join(name.split()).casefold()


def lineup_check(
    devices: Sequence[str],
    results: Mapping[str, PollResult],
    services_key: str,
    licensed: Sequence[str],
) -> Check:
    """One check over all the devices: incomplete if any of them could not be read."""
    pairs = [
        (device, reading)
        for device in devices
        for reading in results[device].readings
        if base_key(reading.key) == services_key and reading.in_use
    ]
    used = [reading for _, reading in pairs]
    evidence = [ReadingUsed.of(reading, f"{device}:{reading.key}") for device, reading in pairs]
    unreachable = [d for d in devices if not results[d].answered]
    if unreachable:
        return Check(
            device=None,
            status=Status.INCOMPLETE,
            reason=Reason.UNREACHABLE,
            detail=", ".join(f"{d}: {results[d].error}" for d in unreachable),
            readings=evidence,
        )
    unreadable = [
        r.key for r in used if r.quality is not Quality.OK or not isinstance(r.value, str)
    ]
    if unreadable or not used:
        return Check(
            device=None,
            status=Status.INCOMPLETE,
            reason=Reason.NO_READING if unreadable else Reason.NO_ROWS,
            detail=", ".join(unreadable) or services_key,
            readings=evidence,
        )
    found = [str(r.value) for r in used]
    difference = compare(licensed, found)
    differs = bool(difference.missing or difference.extra)
    return Check(
        device=None,
        status=Status.FAIL if differs else Status.PASS,
        reason=Reason.LINEUP_DIFFERS if differs else None,
        readings=evidence,
        lineup=difference,
    )


def compare(licensed: Sequence[str], found: Sequence[str]) -> LineupDifference:
    licensed_names = {normalized(n) for n in licensed}
    found_names = {normalized(n) for n in found}
    return LineupDifference(
        expected=list(licensed),
        found=list(found),
        missing=[n for n in licensed if normalized(n) not in found_names],
        extra=sorted({n for n in found if normalized(n) not in licensed_names}),
    )
