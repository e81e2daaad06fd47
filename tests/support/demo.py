"""The shipped demo station, on ports of its own: tests that serve it can run side by side.

config/demo-station.toml puts every SNMP device on port 16161 of its own loopback
address, as a technician types it.  Two tests serving it at once (the suite runs on
two workers) would collide there, so a test serves a copy whose devices answer on free
ports; everything else in the file is as shipped.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from fieldagent.localbroker import LocalBroker, free_port
from tests.agentproc import ROOT, fieldagent, simulate_process

DEMO = ROOT / "config" / "demo-station.toml"
_HOST_PORT = re.compile(r'^host = "(127\.0\.0\.\d+)"\nport = 16161$', re.MULTILINE)


def free_demo_ports(text: str) -> dict[str, int]:
    """A free UDP port on each loopback address the demo station file serves SNMP at."""
    return {host: free_port(host, udp=True) for host in _HOST_PORT.findall(text)}


def on_ports(text: str, ports: dict[str, int]) -> str:
    """The demo station file's text with each SNMP device moved to its address's port."""
    moved = _HOST_PORT.sub(lambda m: f'host = "{m[1]}"\nport = {ports[m[1]]}', text)
    assert "port = 16161" not in moved, "a demo device's host/port lines changed shape"
    return moved


def demo_copy(folder: Path) -> Path:
    """A private copy of the demo station file in `folder`, its devices on free ports.

    Its relative paths (state, serial ptys) then land beside `folder`, and it is
    private: the demo's v3 keys make the agent refuse an open file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    text = DEMO.read_text(encoding="utf-8")
    copy = folder / DEMO.name
    copy.write_text(on_ports(text, free_demo_ports(text)), encoding="utf-8")
    copy.chmod(0o600)
    return copy


def run_demo_once(
    config: Path,
    broker: LocalBroker,
    run: Callable[..., subprocess.CompletedProcess[str]] = fieldagent,
) -> subprocess.CompletedProcess[str]:
    """`fieldagent run --once` on a demo copy while its simulator serves it; `run` starts
    the agent (a confined one, say), the simulator is stopped whatever happens."""
    simulator = simulate_process(config)
    try:
        assert simulator.stdout is not None
        first = simulator.stdout.readline()
        assert first.startswith("simulating"), first + (
            simulator.stderr.read() if simulator.stderr else ""
        )
        return run("run", "-c", str(config), "--once", "--broker", broker.url)
    finally:
        simulator.terminate()
        simulator.communicate(timeout=15)
