"""doctor on the broker, step by step, against a real mosquitto: TLS with certificates made
here, a password file made with mosquitto_passwd, an ACL file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fieldagent.localbroker import LocalBroker, free_port
from tests.doctor.doctorrun import Report, doctor, station
from tests.support.passwords import password_file
from tests.tlsfiles import TlsFiles, make_tls_files

BrokerFactory = Callable[..., LocalBroker]


@pytest.fixture
def brokers(tmp_path: Path) -> Iterator[BrokerFactory]:
    """Start mosquittos with the listener options given; all stopped after the test."""
    started: list[LocalBroker] = []

    def start(*options: str) -> LocalBroker:
        broker = LocalBroker(tmp_path / f"broker{len(started)}", listener_options=options)
        broker.start()
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.stop()


def _tls_options(files: TlsFiles) -> tuple[str, ...]:
    return (
        "allow_anonymous true",
        f"cafile {files.ca_cert}",
        f"certfile {files.server_cert}",
        f"keyfile {files.server_key}",
    )


def _tls_report(
    tmp_path: Path, brokers: BrokerFactory, files: TlsFiles, ca: Path, host: str = "127.0.0.1"
) -> Report:
    broker = brokers(*_tls_options(files))
    path = station(tmp_path, mqtt={"url": f"mqtts://{host}:{broker.port}", "ca_file": ca})
    return doctor(path, devices=False)


def test_a_good_tls_broker_passes_every_step(tmp_path: Path, brokers: BrokerFactory) -> None:
    files = make_tls_files(tmp_path / "tls", valid_until=dt.timedelta(days=200))
    report = _tls_report(tmp_path, brokers, files, files.ca_cert)
    steps = [r for r in report.rows if r["check"].startswith("broker_")]
    assert [(r["check"], r["code"]) for r in steps] == [
        ("broker_dns", "dns_ip"),
        ("broker_tcp", "tcp_ok"),
        ("broker_tls", "tls_ok"),
        ("broker_auth", "auth_ok"),
        ("broker_publish", "publish_ok"),
    ]
    assert "199 days left" in report.row("broker_tls")["result"]["en"]
    assert "test-station/doctor" in report.row("broker_publish")["result"]["en"]


def test_a_certificate_of_another_ca_fails(tmp_path: Path, brokers: BrokerFactory) -> None:
    files = make_tls_files(tmp_path / "tls", valid_until=dt.timedelta(days=200))
    other = make_tls_files(tmp_path / "other-ca")
    report = _tls_report(tmp_path, brokers, files, other.ca_cert)
    row = report.row("broker_tls")
    assert (row["status"], row["code"]) == ("fail", "tls_untrusted")
    assert str(other.ca_cert) in row["result"]["en"]
    assert report.codes("broker_auth") == []  # nothing tried past the failing step


def test_a_certificate_for_another_name_fails(tmp_path: Path, brokers: BrokerFactory) -> None:
    files = make_tls_files(tmp_path / "tls", valid_until=dt.timedelta(days=200))  # for 127.0.0.1
    report = _tls_report(tmp_path, brokers, files, files.ca_cert, host="localhost")
    row = report.row("broker_tls")
    assert (row["status"], row["code"]) == ("fail", "tls_hostname")
    assert "localhost" in row["result"]["en"]


def test_an_expired_certificate_fails(tmp_path: Path, brokers: BrokerFactory) -> None:
    files = make_tls_files(
        tmp_path / "tls", valid_from=dt.timedelta(days=-60), valid_until=dt.timedelta(days=-1)
    )
    row = _tls_report(tmp_path, brokers, files, files.ca_cert).row("broker_tls")
    assert (row["status"], row["code"]) == ("fail", "tls_expired")


def test_a_certificate_expiring_soon_is_a_warning(tmp_path: Path, brokers: BrokerFactory) -> None:
    files = make_tls_files(tmp_path / "tls", valid_until=dt.timedelta(days=10, hours=1))
    report = _tls_report(tmp_path, brokers, files, files.ca_cert)
    row = report.row("broker_tls")
    assert (row["status"], row["code"]) == ("warn", "tls_expiring")
    assert "expires in 10 days" in row["result"]["en"] and "renew" in row["fix"]["en"]
    assert report.row("broker_publish")["code"] == "publish_ok"  # a warning stops nothing


def test_an_unverified_tls_link_is_warned_about_but_used(
    tmp_path: Path, brokers: BrokerFactory
) -> None:
    files = make_tls_files(tmp_path / "tls", valid_until=dt.timedelta(days=200))
    broker = brokers(*_tls_options(files))
    url = f"mqtts://127.0.0.1:{broker.port}"
    report = doctor(station(tmp_path, mqtt={"url": url, "tls_verify": False}), devices=False)
    assert report.row("broker_tls")["code"] == "tls_unverified"
    assert "link_warning" in report.codes("secrets")
    assert report.row("broker_publish")["code"] == "publish_ok"
    assert report.code == 1


def _password_broker(tmp_path: Path, brokers: BrokerFactory, acl: str | None) -> LocalBroker:
    users = password_file(tmp_path / "passwd", {"station": "dung-mat-khau"})
    options = ["allow_anonymous false", f"password_file {users}"]
    if acl is not None:
        acl_file = tmp_path / "acl"
        acl_file.write_text(acl, encoding="utf-8")
        options.append(f"acl_file {acl_file}")
    return brokers(*options)


def _login_report(tmp_path: Path, broker: LocalBroker, password: str) -> Report:
    secret = tmp_path / "broker.secret"
    secret.write_text(password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    mqtt = {"username": "station", "password_file": secret}
    return doctor(station(tmp_path, broker, mqtt=mqtt), devices=False)


def test_a_wrong_password_is_refused_in_words(tmp_path: Path, brokers: BrokerFactory) -> None:
    broker = _password_broker(tmp_path, brokers, acl=None)
    report = _login_report(tmp_path, broker, "sai-mat-khau")
    row = report.row("broker_auth")
    assert (row["status"], row["code"]) == ("fail", "auth_refused")
    assert "authori" in row["result"]["en"].lower() or "password" in row["result"]["en"]
    assert "từ chối" in row["result"]["vi"]
    assert report.codes("broker_publish") == []
    assert "sai-mat-khau" not in str(report.rows)


@pytest.mark.parametrize(
    ("tree", "code"),
    [("bctv/v1/test-station/#", "publish_ok"), ("bctv/v1/other-station/#", "publish_lost")],
)
def test_the_acl_is_proven_by_reading_the_message_back(
    tmp_path: Path, brokers: BrokerFactory, tree: str, code: str
) -> None:
    # mosquitto drops a publish its ACL denies and still acknowledges it: only the
    # read-back tells.
    broker = _password_broker(tmp_path, brokers, acl=f"user station\ntopic readwrite {tree}\n")
    report = _login_report(tmp_path, broker, "dung-mat-khau")
    assert report.row("broker_auth")["code"] == "auth_ok"
    row = report.row("broker_publish")
    assert row["code"] == code
    if code == "publish_lost":
        assert "topic readwrite bctv/v1/test-station/#" in row["fix"]["en"]


def test_a_port_nobody_listens_on_is_refused(tmp_path: Path) -> None:
    path = station(tmp_path, mqtt={"url": f"mqtt://127.0.0.1:{free_port()}"})
    report = doctor(path, devices=False)
    assert report.row("broker_tcp")["code"] == "tcp_refused"
    assert report.codes("broker_auth") == []


def test_a_name_that_does_not_resolve_fails_at_dns(tmp_path: Path) -> None:
    ca = make_tls_files(tmp_path / "tls").ca_cert
    path = station(tmp_path, mqtt={"url": "mqtts://broker.invalid:8883", "ca_file": ca})
    report = doctor(path, devices=False)
    assert report.row("broker_dns")["code"] in ("dns_failed", "dns_timeout")
    assert report.codes("broker_tcp") == []
