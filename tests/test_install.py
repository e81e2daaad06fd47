"""scripts/install.sh into a temporary root (`--root`): the tree a station gets, a second run
that changes nothing, an upgrade that switches `current` only after its self-check, one from
a broken tree that leaves the running version in place, rollback, uninstall and purge; and
the lock files the installer and setup.sh rely on.

The locked wheels are fetched once per module into a wheelhouse (pip's cache makes it quick)
and every install reads them from there (`--wheelhouse`), so only that step needs PyPI."""

from __future__ import annotations

import grp
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from tests.agentproc import ROOT

INSTALL = ROOT / "scripts" / "install.sh"
LOCKS = ROOT / "requirements"
UNIT_LINE = "ExecStart=/opt/fieldagent/current/bin/fieldagent run -c /etc/fieldagent/station.toml"
BUILD_TIMEOUT = 240.0
"""One install or upgrade builds a virtualenv from local wheels: about 10 s here."""


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The locked wheels for this Python, every hash checked, fetched once."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    locks = ["-r", str(LOCKS / "build.lock"), "-r", str(LOCKS / "runtime.lock")]
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check"),
            *("--require-hashes", "--no-deps", "--dest", str(folder), *locks),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return folder


def install(
    *args: str, root: Path, wheelhouse: Path, script: Path = INSTALL
) -> subprocess.CompletedProcess[str]:
    """install.sh ARGS under `root`, the virtualenvs made with this test's Python."""
    return subprocess.run(
        ["bash", str(script), "--root", str(root), "--wheelhouse", str(wheelhouse), *args],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        env={**os.environ, "FIELDAGENT_PYTHON": sys.executable},
        check=False,
    )


def current(root: Path) -> str:
    """The virtualenv `current` points at (a link relative to /opt/fieldagent)."""
    return os.readlink(root / "opt/fieldagent/current")


def runs(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed command, as the unit starts it (through `current`)."""
    return subprocess.run(
        [str(root / "opt/fieldagent/current/bin/fieldagent"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
        check=False,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def group_of(path: Path) -> str:
    return grp.getgrgid(path.stat().st_gid).gr_name


def has_group(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


@pytest.mark.timeout(600)
def test_install_builds_the_tree_and_a_second_run_keeps_it(
    tmp_path: Path, wheelhouse: Path
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    done = install(root=root, wheelhouse=wheelhouse)
    assert done.returncode == 0, done.stdout + done.stderr

    venv = current(root)
    assert re.fullmatch(r"venv-\d+\.\d+\.\d+\S*-\d{8}T\d{6}Z(-\d+)?", venv), venv
    assert (root / "opt/fieldagent" / venv).is_dir()
    shown = runs(root, "--version")
    assert shown.returncode == 0 and shown.stdout.startswith("fieldagent "), shown.stderr
    # The built-in checklist travels with the installed copy (no source tree beside it).
    checked = runs(root, "check-config", "-c", str(root / "etc/fieldagent/station.toml"))
    assert "no checklist" not in checked.stdout + checked.stderr, checked.stdout + checked.stderr

    station = root / "etc/fieldagent/station.toml"
    example = ROOT / "config/station.example.toml"
    assert station.read_text(encoding="utf-8") == example.read_text(encoding="utf-8")
    assert mode(station) == 0o640
    assert mode(station.parent) == 0o750
    state = root / "var/lib/fieldagent"
    assert state.is_dir() and mode(state) == 0o750
    if os.geteuid() == 0 and has_group("fieldagent"):
        assert group_of(station) == "fieldagent" and group_of(state) == "fieldagent"

    unit = root / "etc/systemd/system/fieldagent.service"
    assert unit.read_text(encoding="utf-8") == (ROOT / "systemd/fieldagent.service").read_text(
        encoding="utf-8"
    )
    [exec_start] = [line for line in unit.read_text().splitlines() if line.startswith("ExecStart=")]
    assert exec_start == UNIT_LINE
    program = exec_start.removeprefix("ExecStart=").split()[0]
    assert os.access(root / program.lstrip("/"), os.X_OK), program
    wants = root / "etc/systemd/system/multi-user.target.wants/fieldagent.service"
    assert wants.is_symlink() and os.readlink(wants) == "/etc/systemd/system/fieldagent.service"
    command = root / "usr/local/bin/fieldagent"
    assert os.readlink(command) == "/opt/fieldagent/current/bin/fieldagent"
    assert "check-config" in done.stdout and "systemctl start fieldagent" in done.stdout

    # Again, after the technician edited the station file: nothing rebuilt, the file kept.
    edited = station.read_text(encoding="utf-8") + "\n# edited at the station\n"
    station.write_text(edited, encoding="utf-8")
    station.chmod(0o600)
    again = install(root=root, wheelhouse=wheelhouse)
    assert again.returncode == 0, again.stdout + again.stderr
    assert station.read_text(encoding="utf-8") == edited
    assert mode(station) == 0o600
    assert current(root) == venv
    assert sorted(p.name for p in (root / "opt/fieldagent").glob("venv-*")) == [venv]
    assert "already installed" in again.stdout and "--upgrade" in again.stdout


def broken_copy(folder: Path) -> Path:
    """This tree with one driver module that raises when imported."""
    copy = folder / "broken-tree"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "__pycache__", "*.egg-info", "build", "state", ".*_cache"
        ),
    )
    module = sorted(p for p in (copy / "drivers").glob("*.py") if not p.name.startswith("_"))[0]
    with module.open("a", encoding="utf-8") as out:
        out.write("\nraise RuntimeError('deliberately broken for the upgrade test')\n")
    return copy


@pytest.mark.timeout(900)
def test_upgrade_switches_only_after_its_self_check(tmp_path: Path, wheelhouse: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    opt = root / "opt/fieldagent"
    assert install(root=root, wheelhouse=wheelhouse).returncode == 0
    first = current(root)

    upgraded = install("--upgrade", root=root, wheelhouse=wheelhouse)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    second = current(root)
    assert second != first
    assert os.readlink(opt / "previous") == first
    assert runs(root, "--version").returncode == 0
    assert "self-check" in upgraded.stdout

    # A tree whose driver cannot be imported: refused, and the running version stays.
    broken = broken_copy(tmp_path)
    failed = install(
        "--upgrade", root=root, wheelhouse=wheelhouse, script=broken / "scripts/install.sh"
    )
    assert failed.returncode != 0
    last = failed.stderr.strip().splitlines()[-1]
    assert "self-check" in last and f"stays on {second}" in last, failed.stderr
    assert "deliberately broken" in last
    assert current(root) == second
    assert os.readlink(opt / "previous") == first
    assert sorted(p.name for p in opt.glob("venv-*")) == sorted([first, second])
    assert runs(root, "drivers").returncode == 0

    # A third good one: the oldest is pruned, the one before stays for a rollback.
    third_run = install("--upgrade", root=root, wheelhouse=wheelhouse)
    assert third_run.returncode == 0, third_run.stdout + third_run.stderr
    third = current(root)
    assert sorted(p.name for p in opt.glob("venv-*")) == sorted([second, third])
    assert os.readlink(opt / "previous") == second

    back = install("--rollback", root=root, wheelhouse=wheelhouse)
    assert back.returncode == 0, back.stderr
    assert current(root) == second and os.readlink(opt / "previous") == third
    assert runs(root, "--version").returncode == 0


@pytest.mark.timeout(600)
def test_uninstall_keeps_config_and_state_and_purge_removes_them(
    tmp_path: Path, wheelhouse: Path
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    assert install(root=root, wheelhouse=wheelhouse).returncode == 0
    outbox = root / "var/lib/fieldagent/state.db"
    outbox.write_bytes(b"messages not yet sent")

    removed = install("--uninstall", root=root, wheelhouse=wheelhouse)
    assert removed.returncode == 0, removed.stderr
    assert not (root / "opt/fieldagent").exists()
    assert not (root / "etc/systemd/system/fieldagent.service").exists()
    wants = root / "etc/systemd/system/multi-user.target.wants/fieldagent.service"
    assert not wants.is_symlink() and not wants.exists()
    assert not (root / "usr/local/bin/fieldagent").is_symlink()
    assert (root / "etc/fieldagent/station.toml").is_file()
    assert outbox.read_bytes() == b"messages not yet sent"
    assert "--purge" in removed.stdout

    purged = install("--purge", root=root, wheelhouse=wheelhouse)
    assert purged.returncode == 0, purged.stderr
    assert not (root / "etc/fieldagent").exists()
    assert not (root / "var/lib/fieldagent").exists()


def test_help_and_an_unknown_option(tmp_path: Path) -> None:
    helped = subprocess.run(
        ["bash", str(INSTALL), "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert helped.returncode == 0
    for option in ("--upgrade", "--rollback", "--uninstall", "--purge", "--root", "--wheelhouse"):
        assert option in helped.stdout, option
    wrong = subprocess.run(
        ["bash", str(INSTALL), "--root", str(tmp_path), "--upgrde"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines() == [
        "fieldagent install: unknown option '--upgrde' (see --help)"
    ]
    assert list(tmp_path.iterdir()) == []


def old_python() -> str | None:
    """An interpreter older than 3.11 on this machine, if one runs."""
    for name in ("python3.10", "python3.9", "python3.8"):
        found = shutil.which(name)
        if found is None:
            continue
        done = subprocess.run(
            [found, "-c", "import sys; print(sys.version_info < (3, 11))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip() == "True":
            return found
    return None


def test_an_old_python_is_refused_in_one_line(tmp_path: Path) -> None:
    python = old_python()
    if python is None:
        pytest.skip("no Python older than 3.11 on this machine")
    done = subprocess.run(
        ["bash", str(INSTALL), "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "FIELDAGENT_PYTHON": python},
        check=False,
    )
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert "Python 3.11 or newer is needed" in line, line
    assert not (tmp_path / "opt").exists()


# ---------------------------------------------------------------- the lock files


def pins(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """Each requirement of a pip-compile lock: name -> (version, its hashes)."""
    found: dict[str, tuple[str, list[str]]] = {}
    text = lock.read_text(encoding="utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
        if not line:
            continue
        requirement, *options = line.split()
        name, sep, pinned = requirement.partition("==")
        assert sep, f"{lock.name}: {requirement} is not pinned with =="
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=sha256:")]
        assert len(hashes) == len(options), f"{lock.name}: {requirement}: unexpected {options}"
        found[canonical(name)] = (pinned, hashes)
    return found


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def names(requirements: list[str]) -> set[str]:
    return {canonical(re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0]) for r in requirements}


PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("lock", "wanted"),
    [
        ("runtime.lock", PYPROJECT["project"]["dependencies"]),
        (
            "test.lock",
            PYPROJECT["project"]["dependencies"]
            + PYPROJECT["project"]["optional-dependencies"]["test"],
        ),
        ("build.lock", PYPROJECT["build-system"]["requires"]),
    ],
)
def test_the_lock_pins_every_dependency_with_its_hashes(lock: str, wanted: list[str]) -> None:
    locked = pins(LOCKS / lock)
    assert names(wanted) <= set(locked), names(wanted) - set(locked)
    for name, (pinned, hashes) in locked.items():
        assert re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", pinned), (name, pinned)
        assert hashes, f"{lock}: {name} has no --hash"


def test_the_test_lock_keeps_the_runtime_pins() -> None:
    runtime, test = pins(LOCKS / "runtime.lock"), pins(LOCKS / "test.lock")
    assert {name: test[name][0] for name in runtime} == {
        name: pinned for name, (pinned, _) in runtime.items()
    }


def test_this_environment_runs_the_locked_versions() -> None:
    """setup.sh installs exactly the test lock: a version that differs means the lock changed
    and setup.sh was not run again (or installed something else)."""
    differ = {}
    for name, (pinned, _) in pins(LOCKS / "test.lock").items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "missing"
        if installed != pinned:
            differ[name] = (pinned, installed)
    assert differ == {}


def test_without_root_it_refuses_in_one_line(tmp_path: Path) -> None:
    """On the machine itself (no --root) only root may install; run as an ordinary user
    (nobody, when the tests run as root), which could not change the system anyway."""
    as_user: list[str] = []
    script = INSTALL
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("runuser is not installed")
        as_user = ["runuser", "-u", "nobody", "--"]
        # nobody may not read the checkout (a fresh clone in a private temporary folder)
        # nor tmp_path: the script is run from a copy in a folder anyone can read.
        shared = Path(tempfile.mkdtemp(prefix="fieldagent-install-"))
        shared.chmod(0o755)
        (shared / "scripts").mkdir(mode=0o755)
        script = shared / "scripts" / "install.sh"
        shutil.copy(INSTALL, script)
        script.chmod(0o755)
    try:
        done = subprocess.run(
            [*as_user, "bash", str(script), "--upgrade"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=script.parent,
            check=False,
        )
    finally:
        if script is not INSTALL:
            shutil.rmtree(script.parent.parent)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("fieldagent install: error: run it as root: sudo "), line
    assert line.endswith("install.sh --upgrade"), line
