"""The driver registry: every device family the agent can poll, by name."""

from __future__ import annotations

from drivers import ups_rfc1628
from fieldagent.driver import Driver

REGISTRY: dict[str, Driver] = {d.name: d for d in (ups_rfc1628.DRIVER,)}


def get_driver(name: str) -> Driver:
    """The driver called `name`; KeyError names the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown driver {name!r} (known: {known})") from None
