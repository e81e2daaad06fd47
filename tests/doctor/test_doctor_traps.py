"""doctor on the trap port: free, taken by another program (named from /proc), not ours."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from fieldagent.config import TrapsSection
from fieldagent.doctor.traps import trap_finding
from fieldagent.localbroker import free_port
from tests.agentproc import ROOT
from tests.doctor.doctorrun import doctor, station


def _traps(port: int, listen: str = "127.0.0.1") -> str:
    return f'[traps]\nenabled = true\nlisten = "{listen}"\nport = {port}\n'


def test_no_row_when_traps_are_off(tmp_path: Path) -> None:
    assert doctor(station(tmp_path), devices=False).codes("traps") == []


def test_a_free_trap_port_passes(tmp_path: Path) -> None:
    port = free_port(udp=True)
    row = doctor(station(tmp_path, extra=_traps(port)), devices=False).row("traps")
    assert (row["status"], row["code"]) == ("pass", "trap_ok")
    assert f"127.0.0.1:{port}" in row["result"]["en"]


def test_a_trap_port_in_use_names_the_process_holding_it(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        row = doctor(station(tmp_path, extra=_traps(port)), devices=False).row("traps")
    assert (row["status"], row["code"]) == ("fail", "trap_in_use")
    assert f"pid {os.getpid()}" in row["result"]["en"]


def test_an_address_of_another_box_fails(tmp_path: Path) -> None:
    extra = _traps(free_port(udp=True), listen="192.0.2.1")  # TEST-NET-1: never this box's
    row = doctor(station(tmp_path, extra=extra), devices=False).row("traps")
    assert (row["status"], row["code"]) == ("fail", "trap_no_address")


_UNPRIVILEGED_FROM = int(
    Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text(encoding="ascii")
)


@pytest.mark.skipif(_UNPRIVILEGED_FROM <= 162, reason="any user may bind port 162 here")
def test_port_162_without_the_capability_says_what_grants_it() -> None:
    # Judged in a child process turned into account "nobody": root may bind any port.
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through the pipe)
        try:
            os.setgid(65534)
            os.setuid(65534)
            found = trap_finding(TrapsSection(enabled=True, listen="127.0.0.1", port=162), ROOT)
            os.write(write_end, (found.code if found else "none").encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(child, 0)
    with os.fdopen(read_end, "rb") as pipe:
        assert pipe.read().decode() == "trap_denied"


def test_port_zero_is_always_free() -> None:
    found = trap_finding(TrapsSection(enabled=True, listen="127.0.0.1", port=0), Path("/"))
    assert found is not None and found.code == "trap_ok"
