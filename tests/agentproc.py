"""The agent as a real process, the way systemd or a technician runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fieldagent(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run `fieldagent ARGS...` to completion and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "fieldagent", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )


def refused_start(done: subprocess.CompletedProcess[str]) -> str:
    """What `fieldagent run` said when it refused to start, without the last line, which
    must tell the journal that it exits 78 and stays down."""
    *said, last = done.stderr.strip().splitlines()
    assert done.returncode == 78, done.stderr
    assert last.startswith("fieldagent: not started (exit 78: unusable configuration"), last
    return "\n".join(said)


def simulate_process(config: Path) -> subprocess.Popen[str]:
    """`fieldagent simulate -c CONFIG` in the background, stdin open for its commands."""
    return subprocess.Popen(
        [sys.executable, "-m", "fieldagent", "simulate", "-c", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


class AgentProcess:
    """A long-running `fieldagent run`; stop() sends SIGTERM like systemd does."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        """`env`: variables added to the test's environment (systemd's NOTIFY_SOCKET...)."""
        self._process = subprocess.Popen(
            [sys.executable, "-m", "fieldagent", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
        )

    def peak_rss_kib(self) -> int:
        """The most memory the agent has held so far (VmHWM: its peak resident set), in KiB."""
        status = Path(f"/proc/{self._process.pid}/status").read_text(encoding="utf-8")
        (line,) = [line for line in status.splitlines() if line.startswith("VmHWM:")]
        return int(line.split()[1])

    def send(self, sig: signal.Signals) -> None:
        """Send `sig` (SIGHUP: systemctl reload) and go on: the agent keeps running."""
        self._process.send_signal(sig)

    @property
    def returncode(self) -> int | None:
        return self._process.poll()

    def kill(self, sig: signal.Signals) -> None:
        self._process.send_signal(sig)
        self._process.wait(10)

    def stop(self, timeout: float = 15.0) -> tuple[int, str]:
        """SIGTERM, wait, and return (exit code, stderr)."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
        try:
            _, stderr = self._process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            _, stderr = self._process.communicate()
            raise AssertionError(f"agent did not stop within {timeout} s:\n{stderr}") from None
        return self._process.returncode, stderr
