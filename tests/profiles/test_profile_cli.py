"""`fieldagent profile new` as a technician runs it: a real process, real files."""

from __future__ import annotations

import tomllib
from pathlib import Path

from fieldagent.profiles.schema import ProfileFile
from tests.agentproc import fieldagent

DEMO_MIB = Path(__file__).resolve().parent.parent / "data" / "DEMO-TX-MIB.txt"
WALK = """\
.1.3.6.1.2.1.1.1.0 = STRING: "Demo TX-500"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.64999.2.500
.1.3.6.1.4.1.64999.1.1.3.0 = INTEGER: 352
.1.3.6.1.4.1.64999.1.1.4.0 = INTEGER: 1
"""


def walk_file(tmp_path: Path) -> Path:
    path = tmp_path / "Tx-Hill.walk"
    path.write_text(WALK)
    return path


def test_new_writes_the_draft_with_its_mibs_relative_to_the_output(tmp_path: Path) -> None:
    walk = walk_file(tmp_path)
    out_dir = tmp_path / "profiles"
    out_dir.mkdir()
    output = out_dir / "tx.toml"
    done = fieldagent(
        "profile", "new", "--from-walk", str(walk), "--mib", str(DEMO_MIB), "--kind", "tx",
        "-o", str(output),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        f"{output}: profile tx drafted, 2 metrics: rename them, delete what nobody needs,"
        " set limits\n"
    )
    profile = ProfileFile.model_validate(tomllib.loads(output.read_text()))
    assert profile.profile.name == "tx"  # from the output's name
    assert [m.key for m in profile.metric] == ["tx.tx_mer", "tx.tx_oper_state"]
    assert (out_dir / profile.profile.mibs[0]).resolve() == DEMO_MIB


def test_new_prints_to_stdout_without_output(tmp_path: Path) -> None:
    done = fieldagent("profile", "new", "--from-walk", str(walk_file(tmp_path)))
    assert done.returncode == 0, done.stderr
    profile = ProfileFile.model_validate(tomllib.loads(done.stdout))
    assert profile.profile.name == "tx_hill"  # from the walk's name
    assert [m.key for m in profile.metric] == ["device.obj_1_1_3", "device.obj_1_1_4"]


def test_an_existing_output_is_replaced_only_with_force(tmp_path: Path) -> None:
    walk = walk_file(tmp_path)
    output = tmp_path / "tx.toml"
    output.write_text("# mine\n")
    refused = fieldagent("profile", "new", "--from-walk", str(walk), "-o", str(output))
    assert refused.returncode == 64
    assert refused.stderr == (
        f"error: --output {output} already exists: give --force to replace it, or another path\n"
    )
    assert output.read_text() == "# mine\n"
    forced = fieldagent("profile", "new", "--from-walk", str(walk), "-o", str(output), "--force")
    assert forced.returncode == 0, forced.stderr
    assert output.read_text().startswith("# Drafted by `fieldagent profile new` from Tx-Hill.walk")


def test_a_bad_walk_or_mib_is_one_line_and_exit_78(tmp_path: Path) -> None:
    bad_walk = tmp_path / "bad.walk"
    bad_walk.write_text(".1.3.6.1.4.1.9.1.0 = INTEGER: lots\n")
    done = fieldagent("profile", "new", "--from-walk", str(bad_walk))
    assert (done.returncode, done.stdout) == (78, "")
    assert done.stderr == f"error: {bad_walk}: line 1: 'lots' is not an integer\n"
    bad_mib = tmp_path / "vendor.mib"
    bad_mib.write_text("VENDOR-MIB DEFINITIONS ::= BEGIN\nIMPORTS x FROM VENDOR-SMI;\nEND\n")
    done = fieldagent(
        "profile", "new", "--from-walk", str(walk_file(tmp_path)), "--mib", str(bad_mib)
    )
    assert (done.returncode, done.stdout) == (78, "")
    assert done.stderr == (
        f"error: {bad_mib}: imports VENDOR-SMI, which is in none of the given files or their"
        " folders: give its file with another --mib\n"
    )


def test_a_bad_name_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    done = fieldagent("profile", "new", "--from-walk", str(tmp_path / "none"), "--name", "Tx 1")
    assert done.returncode == 64
    assert done.stderr == (
        "error: --name 'Tx 1': lower case letters, digits and _, starting with a letter\n"
    )


def test_a_walk_with_nothing_to_draft_is_refused_not_written(tmp_path: Path) -> None:
    walk = tmp_path / "std.walk"
    walk.write_text('.1.3.6.1.2.1.1.1.0 = STRING: "x"\n.1.3.6.1.2.1.2.1.0 = INTEGER: 2\n')
    output = tmp_path / "std.toml"
    done = fieldagent("profile", "new", "--from-walk", str(walk), "-o", str(output))
    assert (done.returncode, done.stdout) == (78, "")
    assert done.stderr == (
        f"error: {walk}: no enterprise object or identity text to draft a metric from"
        " (walk the whole tree: snmpwalk -On HOST .1.3.6.1)\n"
    )
    assert not output.exists()
