"""The province's commands reach the broker as the agent does: TLS, user and password file,
and refuse a link they cannot use in one line naming the option, without the secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldagent.localbroker import LocalBroker
from tests.agentproc import fieldagent
from tests.support.passwords import password_file

SECRET = "đúng-mật-khẩu"


def test_tls_with_the_province_ca_and_verification_by_default(
    tls_broker: tuple[LocalBroker, Path],
) -> None:
    broker, ca = tls_broker
    url = f"mqtts://127.0.0.1:{broker.port}"
    done = fieldagent("monitor", "--broker", url, "--ca-file", str(ca), "--once", "--timeout", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("0 stations")
    refused = fieldagent("monitor", "--broker", url, "--once", "--timeout", "3")
    assert refused.returncode == 69
    assert "certificate verify failed" in refused.stderr


@pytest.fixture
def auth_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    users = password_file(tmp_path / "passwd", {"central": SECRET})
    broker = LocalBroker(
        tmp_path / "auth-broker",
        listener_options=("allow_anonymous false", f"password_file {users}"),
    )
    broker.start()
    yield broker
    broker.stop()


@pytest.mark.parametrize(("password", "code"), [(SECRET, 0), ("sai", 69)])
def test_user_and_password_file(
    tmp_path: Path, auth_broker: LocalBroker, password: str, code: int
) -> None:
    secret = tmp_path / "central.pass"
    secret.write_text(password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    done = fieldagent(
        "readiness", "--broker", auth_broker.url, "--holiday", "Tết", "--username", "central",
        "--password-file", str(secret), "--timeout", "3",
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    if code:
        assert "refused the connection" in done.stderr
    assert password not in done.stdout + done.stderr


def test_a_link_that_cannot_be_used_is_refused_naming_the_option(tmp_path: Path) -> None:
    secret = tmp_path / "open.pass"
    secret.write_text(SECRET, encoding="utf-8")
    secret.chmod(0o644)
    cases = {
        ("--broker", "mqtt://central:pw@127.0.0.1"): "--broker: no user name or password",
        ("--broker", "mqtt://10.1.2.3"): "give --allow-plaintext",
        ("--broker", "mqtt://127.0.0.1", "--password-file", str(secret)): "chmod 600",
    }
    for args, said in cases.items():
        done = fieldagent("monitor", "--once", *args)
        assert done.returncode == 78, done.stderr
        assert said in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
        assert SECRET not in done.stderr and ":pw@" not in done.stderr
