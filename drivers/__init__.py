"""The driver registry: every device family the agent can poll, by name.

Drivers come from two places and land in one registry:

- Python modules of this package that define a module-level `DRIVER` (adding a
  file is all it takes; `_`-prefixed modules are shared helpers);
- profiles, TOML files that declare a driver as data: shipped ones in
  ``drivers/profiles/``, and a station's own in ``profiles.d/`` beside its station
  file (`station_registry`).

One broken module or profile never breaks the others: it is left out, and the
registry keeps its problems (`Registry.problems`) for commands to show.  A
station profile may not take the name of a shipped driver: the name would
mean two things.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from fieldagent.config import suggest
from fieldagent.driver import Driver

SHIPPED_PROFILES = Path(__file__).resolve().parent / "profiles"
STATION_PROFILES = "profiles.d"
"""The folder of a station's own profiles, beside its station file."""


@dataclass(frozen=True)
class LoadProblem:
    """A module or profile that could not be loaded, and why (one line each)."""

    source: str
    lines: tuple[str, ...]


class Registry(Mapping[str, Driver]):
    """Drivers by name, where each came from, and what could not be loaded."""

    def __init__(
        self,
        drivers: Mapping[str, Driver],
        origins: Mapping[str, str],
        problems: tuple[LoadProblem, ...] = (),
    ) -> None:
        self._drivers = dict(drivers)
        self.origins = dict(origins)
        """Per driver name: the module or profile file that declares it."""
        self.problems = problems

    def __getitem__(self, name: str) -> Driver:
        return self._drivers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._drivers)

    def __len__(self) -> int:
        return len(self._drivers)

    def get_driver(self, name: str) -> Driver:
        """The driver called `name`; KeyError names the known ones."""
        try:
            return self._drivers[name]
        except KeyError:
            known = ", ".join(sorted(self._drivers))
            hint = suggest(name, self._drivers)
            raise KeyError(f"unknown driver {name!r}{hint} (known: {known})") from None

    def with_profiles(self, directory: Path) -> Registry:
        """This registry and the profiles of `directory` (a station's own)."""
        from fieldagent.profiles.load import profile_files

        drivers, origins, problems = dict(self._drivers), dict(self.origins), list(self.problems)
        try:
            files = profile_files(directory)
        except OSError as exc:
            problems.append(LoadProblem(str(directory), (f"{directory}: {exc.strerror}",)))
            files = []
        for path in files:
            _add_profile(path, drivers, origins, problems)
        return Registry(drivers, origins, tuple(problems))


def _add_profile(
    path: Path, drivers: dict[str, Driver], origins: dict[str, str], problems: list[LoadProblem]
) -> None:
    from fieldagent.profiles.build import ProfileError
    from fieldagent.profiles.load import load_profile

    try:
        driver = load_profile(path)
    except ProfileError as exc:
        problems.append(LoadProblem(str(path), tuple(exc.problems)))
        return
    if driver.name in drivers:
        line = (
            f"{path}: profile.name: a driver called {driver.name!r} already exists"
            f" ({origins[driver.name]}): give the profile another name"
        )
        problems.append(LoadProblem(str(path), (line,)))
        return
    drivers[driver.name] = driver
    origins[driver.name] = str(path)


def discover_modules(package: str, path: Iterable[str]) -> Registry:
    """The drivers of a package's modules (`DRIVER`), each loaded on its own."""
    drivers: dict[str, Driver] = {}
    origins: dict[str, str] = {}
    problems: list[LoadProblem] = []
    for module_info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        where = f"{package.replace('.', '/')}/{module_info.name}.py"
        try:
            module = importlib.import_module(f"{package}.{module_info.name}")
        except Exception as exc:  # any fault of one module must not stop the others
            line = f"{where}: cannot be loaded: {type(exc).__name__}: {exc}"
            problems.append(LoadProblem(where, (line,)))
            continue
        driver = getattr(module, "DRIVER", None)
        if not isinstance(driver, Driver):
            continue
        if driver.name in drivers:
            line = (
                f"{where}: a driver called {driver.name!r} already exists ({origins[driver.name]})"
            )
            problems.append(LoadProblem(where, (line,)))
            continue
        drivers[driver.name] = driver
        origins[driver.name] = where
    return Registry(drivers, origins, tuple(problems))


REGISTRY: Registry = discover_modules(__name__, __path__).with_profiles(SHIPPED_PROFILES)
"""The shipped drivers: Python modules and shipped profiles."""


def get_driver(name: str) -> Driver:
    """The shipped driver called `name`; KeyError names the known ones."""
    return REGISTRY.get_driver(name)


def station_registry(station_file: Path) -> Registry:
    """The shipped drivers and the station's own profiles (``profiles.d`` beside the file)."""
    directory = station_file.parent / STATION_PROFILES
    return REGISTRY.with_profiles(directory) if directory.is_dir() else REGISTRY
