"""The driver registry: every device family the agent can poll, by name.

Every module in this package that defines a module-level `DRIVER` is a
driver; adding a file is all it takes to register one.
"""

from __future__ import annotations

import importlib
import pkgutil

from fieldagent.driver import Driver


def _discover() -> dict[str, Driver]:
    found: dict[str, Driver] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        driver = getattr(module, "DRIVER", None)
        if isinstance(driver, Driver):
            if driver.name in found:
                raise RuntimeError(f"two drivers are called {driver.name!r}")
            found[driver.name] = driver
    return found


REGISTRY: dict[str, Driver] = _discover()


def get_driver(name: str) -> Driver:
    """The driver called `name`; KeyError names the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown driver {name!r} (known: {known})") from None
