"""The committed schema files (docs/schema/) are what the payload models say, and
`fieldagent schema --out` writes them by the house rules on files a user names."""

from __future__ import annotations

import json
from pathlib import Path

from fieldagent.payloads import PUBLISHED_MODELS
from fieldagent.schemafiles import INDEX_NAME, REGENERATE, TOPIC_OF, file_name
from tests.agentproc import ROOT, fieldagent

COMMITTED = ROOT / "docs" / "schema"


def test_the_committed_schema_files_are_what_the_models_say(tmp_path: Path) -> None:
    done = fieldagent("schema", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    fresh = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_bytes() for p in COMMITTED.iterdir()}
    stale = sorted(set(committed) - set(fresh))
    missing = sorted(set(fresh) - set(committed))
    changed = sorted(n for n in set(fresh) & set(committed) if fresh[n] != committed[n])
    assert not (stale or missing or changed), (
        f"docs/schema drifted from fieldagent/payloads.py (changed {changed}, missing"
        f" {missing}, not generated any more {stale}): run `{REGENERATE}`, delete the"
        " files no longer generated, and say in docs/mqtt-topics.md what changed"
    )


def test_every_kind_has_a_file_an_id_a_title_and_a_topic_in_the_index(tmp_path: Path) -> None:
    index = json.loads((COMMITTED / INDEX_NAME).read_text(encoding="utf-8"))
    assert [entry["kind"] for entry in index["payloads"]] == list(PUBLISHED_MODELS)
    assert set(TOPIC_OF) == set(PUBLISHED_MODELS)
    ids = set()
    for entry in index["payloads"]:
        text = (COMMITTED / entry["file"]).read_text(encoding="utf-8")
        schema = json.loads(text)
        assert entry["file"] == file_name(entry["kind"])
        assert schema["$id"] == entry["$id"]
        assert entry["kind"] in schema["title"]
        assert entry["topic"].startswith("{root}/{station}/")
        assert text.endswith("}\n") and not text.endswith("\n\n")
        ids.add(schema["$id"])
    assert len(ids) == len(PUBLISHED_MODELS)


def test_the_output_is_the_same_bytes_every_time(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    assert fieldagent("schema", "--out", str(first)).returncode == 0
    assert fieldagent("schema", "--out", str(second)).returncode == 0
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert all((first / n).read_bytes() == (second / n).read_bytes() for n in names)


def test_out_refuses_a_file_and_a_missing_folder_in_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "schemas.json"
    a_file.write_text("keep me\n", encoding="utf-8")
    done = fieldagent("schema", "--out", str(a_file))
    assert done.returncode == 64
    assert done.stderr.strip().splitlines() == [
        f"error: --out {a_file} is not a folder: give a folder to write the schema files into"
    ]
    assert a_file.read_text(encoding="utf-8") == "keep me\n"
    gone = tmp_path / "nowhere"
    done = fieldagent("schema", "--out", str(gone))
    assert done.returncode == 64 and f"{gone} does not exist" in done.stderr
    assert not gone.exists()


def test_out_replaces_existing_files_only_with_force(tmp_path: Path) -> None:
    status = tmp_path / file_name("status")
    status.write_text("old\n", encoding="utf-8")
    other = tmp_path / "notes.txt"
    other.write_text("mine\n", encoding="utf-8")

    refused = fieldagent("schema", "--out", str(tmp_path))

    assert refused.returncode == 64
    assert f"{status} already exists: give --force" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "status.schema.json"]
    assert status.read_text(encoding="utf-8") == "old\n"  # nothing written: all or nothing

    forced = fieldagent("schema", "--out", str(tmp_path), "--force")

    assert forced.returncode == 0, forced.stderr
    assert json.loads(status.read_text(encoding="utf-8"))["$id"] == "urn:bctv:v1:payload:status"
    assert other.read_text(encoding="utf-8") == "mine\n"


def test_out_writes_nothing_through_a_symbolic_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("precious\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / file_name("health")).symlink_to(target)

    done = fieldagent("schema", "--out", str(out), "--force")

    assert done.returncode == 64 and "is a symbolic link" in done.stderr
    assert target.read_text(encoding="utf-8") == "precious\n"
    assert sorted(p.name for p in out.iterdir()) == [file_name("health")]


def test_out_with_a_kind_or_force_without_out_is_a_usage_error(tmp_path: Path) -> None:
    with_kind = fieldagent("schema", "status", "--out", str(tmp_path))
    assert with_kind.returncode == 64
    assert with_kind.stderr == "error: --out writes every kind: leave out KIND\n"
    assert list(tmp_path.iterdir()) == []
    forced = fieldagent("schema", "--force")
    assert forced.returncode == 64 and forced.stdout == ""
    assert forced.stderr == "error: --force replaces files written by --out DIR: give --out\n"


def test_printing_one_kind_gives_the_text_of_its_file() -> None:
    done = fieldagent("schema", "health")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (COMMITTED / file_name("health")).read_text(encoding="utf-8")


def _open_objects(node: object, path: str) -> list[str]:
    """Where an object with properties does not forbid others."""
    found: list[str] = []
    if isinstance(node, dict):
        if "properties" in node and node.get("additionalProperties") is not False:
            found.append(path or "(top)")
        for key, value in node.items():
            found += _open_objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _open_objects(value, f"{path}/{i}")
    return found


def test_every_object_of_every_schema_is_closed_as_the_doc_says() -> None:
    """docs/mqtt-topics.md (validating messages) promises closed files: the models forbid
    unknown fields. A model that allowed them would make that advice wrong."""
    for kind in PUBLISHED_MODELS:
        schema = json.loads((COMMITTED / file_name(kind)).read_text(encoding="utf-8"))
        assert _open_objects(schema, "") == [], kind
