"""doctor on this box: the station file, its secrets, the state directory, free space, clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fieldagent.doctor.local import clock_finding
from fieldagent.doctor.result import EXIT_CONFIG, Status
from fieldagent.localbroker import LocalBroker
from tests.agentproc import ROOT
from tests.doctor.doctorrun import doctor, doctor_text, station
from tests.simrunner import SimRunner, device_fields


def test_a_good_station_passes_every_check_but_the_clock_it_cannot_set(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    path = station(tmp_path, broker, [device_fields("ups-main", sim)])
    report = doctor(path)
    not_passed = [r for r in report.rows if r["status"] != "pass" and r["check"] != "clock"]
    assert not_passed == []
    assert [r["check"] for r in report.rows] == [
        "config", "service_user", "secrets", "state_dir", "disk", "clock",
        "broker_dns", "broker_tcp", "broker_auth", "broker_publish", "device",
    ]  # fmt: skip
    assert report.code == (0 if report.row("clock")["status"] == "pass" else 1)


def test_a_station_file_that_cannot_be_used_exits_78_with_its_problems(tmp_path: Path) -> None:
    path = tmp_path / "station.toml"
    path.write_text('[station]\nid = "x"\n', encoding="utf-8")
    report = doctor(path)
    assert report.code == EXIT_CONFIG
    assert [r["code"] for r in report.rows] == ["config_invalid"]
    assert "station.name" in report.rows[0]["result"]["en"]


def test_the_command_line_exits_78_on_a_missing_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fieldagent", "doctor", "-c", str(tmp_path / "none.toml")],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == EXIT_CONFIG, done.stderr
    assert "none.toml" in done.stdout and "LỖI" in done.stdout and "FAIL" in done.stdout


def test_a_timeout_out_of_bounds_is_a_usage_error(tmp_path: Path) -> None:
    path = station(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "fieldagent", "doctor", "-c", str(path), "--timeout", "0"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 64
    assert done.stderr == "error: --timeout: give seconds from above 0 to 120\n"


def test_secrets_in_an_open_file_fail_and_never_show(tmp_path: Path, sims: SimRunner) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    secrets = ["mat-khau-broker-42", "cong-dong-bi-mat", "khoa-xac-thuc-v3", "khoa-ma-hoa-v3"]
    path = station(
        tmp_path,
        devices=[
            device_fields("ups-main", sim, community=secrets[1]),
            {
                "id": "ups-v3", "driver": "ups_rfc1628", "host": "127.0.0.3", "port": 1,
                "snmp_version": "3", "user": "tech", "auth_protocol": "SHA",
                "auth_key": secrets[2], "priv_protocol": "AES-128", "priv_key": secrets[3],
                "timeout": 0.3, "request_retries": 0,
            },
        ],
        mqtt={"username": "station", "password": secrets[0]},
    )  # fmt: skip
    path.chmod(0o644)
    report = doctor(path)
    assert report.code == Status.FAIL
    assert "secrets_exposed" in report.codes("secrets")
    code, text = doctor_text(path)
    printed = text + json.dumps(report.rows, ensure_ascii=False)
    assert code == Status.FAIL and "chmod 600" in text
    assert [s for s in secrets if s in printed] == []


def test_a_refused_secret_is_not_echoed(tmp_path: Path) -> None:
    v3 = {
        "id": "ups-v3", "driver": "ups_rfc1628", "host": "127.0.0.3", "snmp_version": "3",
        "user": "tech", "auth_protocol": "SHA", "auth_key": "ngan",
    }  # fmt: skip
    report = doctor(station(tmp_path, devices=[v3]))
    assert report.code == EXIT_CONFIG
    assert "auth_key" in report.rows[0]["result"]["en"]
    assert "ngan" not in json.dumps(report.rows, ensure_ascii=False)


def test_a_password_file_others_can_read_fails(tmp_path: Path) -> None:
    secret = tmp_path / "broker.secret"
    secret.write_text("mat-khau\n", encoding="utf-8")
    secret.chmod(0o644)
    path = station(tmp_path, mqtt={"username": "station", "password_file": secret})
    report = doctor(path, devices=False)
    assert "secret_file" in report.codes("secrets")
    assert report.codes("broker_tcp") == []  # no password to log in with: not tried
    assert "mat-khau" not in json.dumps(report.rows)


def test_a_file_the_service_account_cannot_read_fails(tmp_path: Path) -> None:
    path = station(tmp_path)  # mode 600, owned by root
    report = doctor(path, devices=False, user="nobody")
    assert "file_unreadable" in report.codes("secrets")
    assert "sudo chgrp nobody" in report.row("secrets")["fix"]["en"] or any(
        "chgrp" in (r["fix"] or {}).get("en", "") for r in report.rows if r["check"] == "secrets"
    )


def test_a_missing_state_directory_fails_with_the_command_to_make_it(tmp_path: Path) -> None:
    path = station(tmp_path)
    (tmp_path / "state").rmdir()
    row = doctor(path, devices=False).row("state_dir")
    assert row["code"] == "state_missing"
    assert f"install -d -o root -g root -m 750 {tmp_path / 'state'}" in row["fix"]["en"]


def test_a_state_directory_the_service_account_cannot_write_fails(tmp_path: Path) -> None:
    path = station(tmp_path)
    (tmp_path / "state").chmod(0o755)  # root's; the account "nobody" may only read it
    path.chmod(0o644)  # let "nobody" read the station file: only the directory is at fault
    row = doctor(path, devices=False, user="nobody").row("state_dir")
    assert row["code"] == "state_not_writable"
    assert "owner root" in row["result"]["en"] and "chown -R nobody:" in row["fix"]["en"]


def test_a_damaged_state_db_is_warned_about(tmp_path: Path) -> None:
    path = station(tmp_path)
    (tmp_path / "state" / "state.db").write_bytes(b"garbage" * 100)
    row = doctor(path, devices=False).row("state_dir")
    assert (row["status"], row["code"]) == ("warn", "state_db_damaged")


def test_free_space_under_the_bound_is_a_warning(tmp_path: Path) -> None:
    path = station(tmp_path)
    free_mb = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize // 1_000_000
    assert doctor(path, devices=False, min_free_mb=1).row("disk")["code"] == "disk_ok"
    row = doctor(path, devices=False, min_free_mb=free_mb + 10_000).row("disk")
    assert (row["status"], row["code"]) == ("warn", "disk_low")


def test_the_clock_is_judged_as_timedatectl_judges_it() -> None:
    assert clock_finding(lambda: 250_000).code == "clock_ok"
    unsynced = clock_finding(lambda: 16_000_000)
    assert (unsynced.status, unsynced.code) == (Status.WARN, "clock_unsynced")

    def forbidden() -> int:
        raise PermissionError(1, "Operation not permitted")

    assert clock_finding(forbidden).code == "clock_unknown"
    assert clock_finding().code in ("clock_ok", "clock_unsynced")  # this kernel, read for real


def test_an_account_this_box_does_not_have_fails(tmp_path: Path) -> None:
    report = doctor(station(tmp_path), devices=False, user="no-such-account")
    row = report.row("service_user")
    assert (row["status"], row["code"]) == ("fail", "user_unknown")
    assert "--user" in row["fix"]["en"]
