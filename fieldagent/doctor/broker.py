"""The broker, step by step: name, TCP, TLS, login, and a message sent and read back.

Each step needs the one before, so the first that fails ends the list: a
technician gets the one thing to fix, not five consequences of it.  TLS is
judged with the agent's own context (`mqtttls.tls_context`) and the login and
the message go through the agent's own `MqttPublisher`, so what passes here is
what the agent will meet.

The message is published under the station's own tree (`{root}/{station}/doctor`,
QoS 1, not retained) and read back through a subscription on the same
connection: mosquitto drops a publish its ACL denies without telling the
client (MQTT 3.1.1 has no way to say it), so only the read-back proves the
right to publish.  It needs the right to read the topic too; the advice says so.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fieldagent.config import Config, MqttSection
from fieldagent.doctor.result import Finding, Status, finding
from fieldagent.doctor.texts import REASONS_VI
from fieldagent.publisher import Message, MqttPublisher
from fieldagent.topics import Topics

EXPIRY_WARNING_DAYS = 30

_HOSTNAME_MISMATCH = (62, 64)  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
_EXPIRED = 10  # X509_V_ERR_CERT_HAS_EXPIRED
_NOT_YET_VALID = 9  # X509_V_ERR_CERT_NOT_YET_VALID
_UNTRUSTED = (2, 7, 18, 19, 20, 21)
"""Issuer unknown, signature not by the CA of that name (a CA with its name and another key),
self-signed, no local issuer, leaf not verifiable."""


@dataclass(frozen=True)
class BrokerOptions:
    timeout: float
    """Seconds each step may take, at most."""


def broker_findings(config: Config, options: BrokerOptions) -> list[Finding]:
    mqtt = config.mqtt
    steps: list[Callable[[], list[Finding]]] = [
        lambda: [_dns(mqtt, options.timeout)],
        lambda: [_tcp(mqtt, options.timeout)],
        lambda: [_tls(mqtt, options.timeout)] if mqtt.tls else [],
        lambda: _mqtt(config, options.timeout),
    ]
    found: list[Finding] = []
    for step in steps:
        found += step()
        if any(f.status is Status.FAIL for f in found):
            break
    return found


def _dns(mqtt: MqttSection, timeout: float) -> Finding:
    host = mqtt.host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return finding("broker_dns", "", Status.PASS, "dns_ip", host=host)
    answer: list[object] = []

    def resolve() -> None:
        try:
            answer.append(socket.getaddrinfo(host, mqtt.port, type=socket.SOCK_STREAM))
        except OSError as exc:
            answer.append(exc)

    # getaddrinfo has no timeout of its own: a daemon thread, waited for a bounded time.
    worker = threading.Thread(target=resolve, name="doctor-dns", daemon=True)
    worker.start()
    worker.join(timeout)
    if not answer:
        return finding("broker_dns", "", Status.FAIL, "dns_timeout", host=host, timeout=timeout)
    result = answer[0]
    if isinstance(result, OSError):
        error = result.strerror or str(result)
        return finding("broker_dns", "", Status.FAIL, "dns_failed", host=host, error=error)
    assert isinstance(result, list)
    addresses = sorted({str(info[4][0]) for info in result})
    return finding(
        "broker_dns", "", Status.PASS, "dns_ok", host=host, addresses=", ".join(addresses)
    )


def _tcp(mqtt: MqttSection, timeout: float) -> Finding:
    address, host = f"{mqtt.host}:{mqtt.port}", mqtt.host
    started = time.monotonic()
    try:
        with socket.create_connection((host, mqtt.port), timeout=timeout):
            ms = round((time.monotonic() - started) * 1000)
    except ConnectionRefusedError:
        return finding("broker_tcp", "", Status.FAIL, "tcp_refused", address=address, host=host)
    except TimeoutError:
        return finding(
            "broker_tcp",
            "",
            Status.FAIL,
            "tcp_timeout",
            address=address,
            host=host,
            timeout=timeout,
        )
    except OSError as exc:
        return finding(
            "broker_tcp",
            "",
            Status.FAIL,
            "tcp_error",
            address=address,
            host=host,
            error=exc.strerror or exc,
        )
    return finding("broker_tcp", "", Status.PASS, "tcp_ok", address=address, ms=ms)


def _tls(mqtt: MqttSection, timeout: float) -> Finding:
    from fieldagent.mqtttls import tls_context

    host = mqtt.host
    try:
        context = tls_context(mqtt)
    except (OSError, ssl.SSLError) as exc:
        return finding("broker_tls", "", Status.FAIL, "tls_files", error=_ssl_words(exc))
    try:
        with (
            socket.create_connection((host, mqtt.port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            cert = tls.getpeercert()
    except ssl.SSLCertVerificationError as exc:
        return _unverified(exc, mqtt)
    except (ssl.SSLError, OSError) as exc:
        return finding("broker_tls", "", Status.FAIL, "tls_handshake", error=_ssl_words(exc))
    if not mqtt.tls_verify:
        return finding("broker_tls", "", Status.WARN, "tls_unverified")
    if not cert or "notAfter" not in cert:
        return finding("broker_tls", "", Status.FAIL, "tls_verify_failed", reason="no certificate")
    not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
    days = (not_after - datetime.now(UTC)).days
    date = not_after.date().isoformat()
    if days < EXPIRY_WARNING_DAYS:
        return finding("broker_tls", "", Status.WARN, "tls_expiring", days=days, date=date)
    return finding("broker_tls", "", Status.PASS, "tls_ok", days=days, date=date, host=host)


def _unverified(exc: ssl.SSLCertVerificationError, mqtt: MqttSection) -> Finding:
    reason = exc.verify_message or _ssl_words(exc)
    code = exc.verify_code
    if code in _HOSTNAME_MISMATCH:
        return finding("broker_tls", "", Status.FAIL, "tls_hostname", host=mqtt.host, reason=reason)
    if code == _EXPIRED:
        return finding("broker_tls", "", Status.FAIL, "tls_expired", reason=reason)
    if code == _NOT_YET_VALID:
        return finding("broker_tls", "", Status.FAIL, "tls_not_yet_valid", reason=reason)
    if code in _UNTRUSTED:
        ca = str(mqtt.ca_file) if mqtt.ca_file else "system CAs"
        return finding("broker_tls", "", Status.FAIL, "tls_untrusted", ca=ca, reason=reason)
    return finding("broker_tls", "", Status.FAIL, "tls_verify_failed", reason=reason)


def _ssl_words(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).lower().replace("_", " ")
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)


def _mqtt(config: Config, timeout: float) -> list[Finding]:
    """Log in with the agent's publisher, then send a message to the station's tree and
    wait for it to come back."""
    mqtt = config.mqtt.model_copy(update={"persistent_session": False})
    user = mqtt.username or "anonymous"
    tree = Topics(mqtt.topic_root, config.station.id).base
    topic = f"{tree}/doctor"
    nonce = secrets.token_hex(8).encode()
    connected, echoed = threading.Event(), threading.Event()

    def on_message(payload: bytes) -> None:
        if payload == nonce:
            echoed.set()

    client_id = f"{mqtt.client_id or 'fieldagent-' + config.station.id}-doctor"
    publisher = MqttPublisher(
        mqtt, client_id, connected.set, lambda mid: None, password=mqtt.resolved_password()
    )
    publisher.subscribe(topic, on_message)
    publisher.start(mqtt.host, mqtt.port)
    try:
        login = _wait_for_login(publisher, connected, timeout, user)
        if login.status is Status.FAIL:
            return [login]
        started = time.monotonic()
        publisher.publish(Message(topic, nonce, qos=1, retain=False))
        if not echoed.wait(timeout):
            return [
                login,
                finding(
                    "broker_publish",
                    "",
                    Status.FAIL,
                    "publish_lost",
                    topic=topic,
                    tree=f"{tree}/#",
                    user=user,
                    timeout=timeout,
                ),
            ]
        ms = round((time.monotonic() - started) * 1000)
        return [login, finding("broker_publish", "", Status.PASS, "publish_ok", topic=topic, ms=ms)]
    finally:
        publisher.stop()


def _wait_for_login(
    publisher: MqttPublisher, connected: threading.Event, timeout: float, user: str
) -> Finding:
    """Connected, refused with the broker's reason (CONNACK), or failed: whichever comes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if connected.wait(0.05):
            return finding("broker_auth", "", Status.PASS, "auth_ok", user=user)
        if publisher.refusal is not None:
            reason = str(publisher.refusal)
            return finding(
                "broker_auth",
                "",
                Status.FAIL,
                "auth_refused",
                reason=reason,
                reason_vi=REASONS_VI.get(reason, reason),
            )
        if publisher.last_error is not None:
            return finding(
                "broker_auth", "", Status.FAIL, "auth_failed", error=publisher.last_error
            )
    return finding("broker_auth", "", Status.FAIL, "auth_timeout", timeout=timeout)
