"""The trap port: can the agent bind it, and if not, who holds it (from /proc)."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

from fieldagent.config import TrapsSection
from fieldagent.doctor.result import Finding, Status, finding
from fieldagent.procholders import PROC, holders
from fieldagent.procholders import named as named_holders


def trap_finding(traps: TrapsSection, state_dir: Path) -> Finding | None:
    """None when `[traps]` is off. Without `listen`, every address is tried: the agent's own
    choice (the address facing the devices) is taken by anything that holds the wildcard."""
    if not traps.enabled:
        return None
    host = traps.listen or "0.0.0.0"
    address = f"[{host}]:{traps.port}" if ":" in host else f"{host}:{traps.port}"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.bind((host, traps.port))
    except OSError as exc:
        return _refused(exc, address, traps.port, state_dir)
    return finding("traps", "", Status.PASS, "trap_ok", address=address)


def _refused(exc: OSError, address: str, port: int, state_dir: Path) -> Finding:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return finding("traps", "", Status.WARN, "trap_denied", address=address)
    if exc.errno == errno.EADDRNOTAVAIL:
        return finding("traps", "", Status.FAIL, "trap_no_address", address=address)
    if exc.errno == errno.EADDRINUSE:
        from fieldagent.state import running_agent

        found = udp_port_holders(port)
        agent = running_agent(state_dir)
        if agent is not None and agent in found:
            return finding("traps", "", Status.PASS, "trap_agent", address=address, pid=agent)
        named = named_holders(found)
        return finding(
            "traps",
            "",
            Status.FAIL,
            "trap_in_use",
            address=address,
            holder=named or "another program",
        )
    return finding("traps", "", Status.FAIL, "trap_error", address=address, error=exc.strerror)


def udp_port_holders(port: int, proc: Path = PROC) -> dict[str, str]:
    """pid → command of the processes holding a UDP socket bound to `port` (what /proc
    shows this user: another user's descriptors stay hidden without root)."""
    inodes = set()
    for table in ("udp", "udp6"):
        try:
            lines = (proc / "net" / table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    return holders(inodes, include_self=True, proc=proc)
