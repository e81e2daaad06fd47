"""A private mosquitto broker on a free loopback port, for the demo and the tests.

It runs as a child process with its own config file, so it needs no service
manager and touches no system broker.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

INSTALL_HINT = (
    "mosquitto is not installed: on Debian / Raspberry Pi OS run "
    "`sudo apt-get install mosquitto mosquitto-clients`"
)


class BrokerError(Exception):
    """The local broker is missing or would not start."""


def find_mosquitto() -> str:
    """The mosquitto binary (Debian puts it in /usr/sbin, often not on a user's PATH)."""
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise BrokerError(INSTALL_HINT)
    return found


def free_port(host: str = "127.0.0.1", udp: bool = False) -> int:
    """A port the kernel says is free now on `host` (TCP, or UDP for SNMP agents and traps)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalBroker:
    """Start, stop and restart one mosquitto on a fixed free port."""

    def __init__(
        self,
        workdir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        listener_options: tuple[str, ...] = ("allow_anonymous true",),
        persistence: bool = False,
        config: str | None = None,
    ) -> None:
        """`listener_options` are mosquitto.conf lines for the listener (TLS, auth).

        With `persistence`, sessions, subscriptions, queued and retained messages
        survive a stop and start (saved in `workdir` at stop), like a real broker's.
        `config` is a whole mosquitto.conf run as given instead (a shipped sample with
        its paths and ports made local): it must listen on `host`:`port`, which
        `start` waits for; the other options are then unused.
        """
        self.host = host
        self.port = port or free_port(host)
        self._listener_options = listener_options
        self._persistence = persistence
        self._config = config
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None
        self._binary = find_mosquitto()

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self._workdir / "mosquitto.log"

    def start(self, timeout: float = 10.0) -> None:
        self._workdir.mkdir(parents=True, exist_ok=True)
        conf = self._workdir / "mosquitto.conf"
        conf.write_text(self._config_text(), encoding="utf-8")
        self._process = subprocess.Popen(
            [self._binary, "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = (
                    self._process.stderr.read().decode(errors="replace")
                    if self._process.stderr
                    else ""
                )
                raise BrokerError(f"mosquitto exited at start: {err.strip() or self._log_tail()}")
            if _accepts(self.host, self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"mosquitto did not listen on {self.host}:{self.port} within {timeout} s")

    def _config_text(self) -> str:
        """The mosquitto.conf to run: the one given, or a listener with the options."""
        if self._config is not None:
            return self._config
        return (
            f"listener {self.port} {self.host}\n"
            + "".join(f"{line}\n" for line in self._listener_options)
            # Started as root, mosquitto drops to user "mosquitto", which cannot read
            # this private folder; stay the user who started it.
            + f"user {getpass.getuser()}\n"
            + (
                f"persistence true\npersistence_location {self._workdir}/\n"
                if self._persistence
                else "persistence false\n"
            )
            + f"log_dest file {self.log_path}\n"
            + "log_type error\nlog_type warning\nlog_type notice\n"
        )

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stderr:
            self._process.stderr.close()
        self._process = None

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-500:]
        except OSError:
            return ""


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False
