"""The `local` protocol: values read from the agent's own box, not over a network.

Reading files under /proc and /sys is blocking I/O, so it runs in a worker
thread; the driver's reader gets a context with the paths it may look at.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from fieldagent.config import DeviceSection
from fieldagent.driver import Driver, LocalContext, RawValue


@dataclass(frozen=True)
class LocalReader:
    state_dir: Path = Path("/var/lib/fieldagent")
    root: Path = Path("/")

    async def read(self, device: DeviceSection, driver: Driver) -> dict[str, RawValue]:
        if driver.local_reader is None:
            raise TypeError(f"driver {driver.name} declares protocol 'local' but no local_reader")
        context = LocalContext(state_dir=self.state_dir, root=self.root)
        return await asyncio.to_thread(driver.local_reader, context)
