"""How the station's secrets are kept and sent: checked at every start and by check-config.

A station file may hold secrets itself (the broker password, SNMP communities,
v3 keys): other users must not read it, and no one but its owner may change it
(whoever writes it chooses the broker the password goes to).  A broker link
without encryption or without certificate checks is allowed only when the file
says so, and then the agent says it at every start: a choice made once must not
be forgotten at the station.
"""

from __future__ import annotations

import stat
from pathlib import Path

from fieldagent.config import DEFAULT_COMMUNITY, Config, MqttSection, SnmpDevice

_EXPOSING_BITS = (
    (stat.S_IROTH, "readable by other users"),
    (stat.S_IWOTH, "writable by other users"),
    (stat.S_IWGRP, "writable by its group"),
)


def inline_secrets(config: Config) -> list[str]:
    """The keys of the station file that hold a secret (a community other than the default)."""
    found = ["mqtt.password"] if config.mqtt.password is not None else []
    for device in config.device:  # named by id, as every station-file message names them
        if not isinstance(device, SnmpDevice):
            continue
        if device.community not in (None, DEFAULT_COMMUNITY):
            found.append(f"device {device.id!r}.community")
        found += [
            f"device {device.id!r}.{key}"
            for key in ("auth_key", "priv_key")
            if getattr(device, key)
        ]
    if any(community != DEFAULT_COMMUNITY for community in config.traps.communities):
        found.append("traps.communities")
    return found


def start_problems(path: Path, config: Config) -> list[str]:
    """Why the agent must not start with these files as they are, each with its fix."""
    problems = []
    secrets = inline_secrets(config)
    if secrets:
        problems += _exposed(path, f"holds secrets ({', '.join(secrets)})")
    if config.mqtt.key_file is not None:
        problems += _exposed(
            config.mqtt.key_file, "holds the private key of the client certificate (key_file)"
        )
    return problems


def exposure(path: Path, what: str) -> list[str]:
    """Why a file holding a secret (`what` it holds) must not be used as it is: readable by
    others, changeable by anyone but its owner; each with its fix. Other commands' secrets
    (the web page's password file) are judged by the same rule."""
    return _exposed(path, what)


def _exposed(path: Path, what: str) -> list[str]:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return [f"{path}: cannot check who may read it: {exc.strerror}"]
    exposed = [words for bit, words in _EXPOSING_BITS if mode & bit]
    if not exposed:
        return []
    return [
        f"{path}: {what} and is {' and '.join(exposed)};"
        f" run: chmod 600 {path} (or 640 with the agent's group)"
    ]


def link_warnings(mqtt: MqttSection) -> list[str]:
    """What the station file accepted about the broker link that a technician must hear."""
    warnings = []
    if mqtt.plaintext_remote:
        warnings.append(
            f"broker {mqtt.host}:{mqtt.port} is reached without TLS (allow_plaintext = true):"
            " the broker password and every message cross the network unencrypted"
        )
    if mqtt.tls and not mqtt.tls_verify:
        warnings.append(
            "tls_verify = false: the broker's certificate is not checked; anyone on the path"
            " can pose as the broker and receive the password and every message"
        )
    return warnings
