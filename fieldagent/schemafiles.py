"""The JSON Schema files of the MQTT contract (`fieldagent schema --out DIR`, docs/schema/).

Central tools are written against files, not against this package: each payload's
schema is one file with a stable name, `$id` and `title`, and an `index.json` says
which topic carries it.  The text is deterministic (sorted keys, two-space indent,
ASCII with JSON escapes, one trailing newline, as `fieldagent schema KIND` prints it)
so the committed copy can be compared byte for byte with what
the models say, and a drift fails a test instead of surprising a subscriber.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fieldagent.outputfile import OutputFileError, refusal, write_output
from fieldagent.payloads import PUBLISHED_MODELS
from fieldagent.topics import Topics

ID_BASE = "urn:bctv:v1:payload:"
"""`$id` of a kind's schema is ID_BASE + kind: a name, not an address to fetch."""

INDEX_NAME = "index.json"
COMMITTED_DIR = Path("docs") / "schema"
REGENERATE = f"fieldagent schema --out {COMMITTED_DIR} --force"

_TOPICS = Topics("{root}", "{station}")
_DEVICE = "{device}"

TOPIC_OF: dict[str, tuple[str, str]] = {
    "status": (_TOPICS.status, "retained"),
    "telemetry": (_TOPICS.telemetry(_DEVICE), "v1 telemetry: no `v` field"),
    "telemetry-compact": (_TOPICS.telemetry(_DEVICE), 'v2 telemetry: `"v": 2`'),
    "meta": (_TOPICS.meta(_DEVICE), "retained; v2 stations only"),
    "health": (_TOPICS.health(_DEVICE), "retained"),
    "alarm": (_TOPICS.alarm, "`event` raised, severity_changed or cleared"),
    "trap": (_TOPICS.alarm, '`"event": "trap"`'),
    "checklist": (_TOPICS.checklist_report, "retained"),
    "checklist-reply": (_TOPICS.checklist_reply, "one per cmd/checklist request"),
    "command-reply": (_TOPICS.command_reply("{name}"), "one per cmd/NAME request but checklist"),
}
"""Payload kind -> (topic pattern, how to tell it on a topic that carries two kinds)."""


def file_name(kind: str) -> str:
    """The schema file of a payload kind: `status.schema.json`."""
    return f"{kind}.schema.json"


def _text(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("ascii")


def schema_of(kind: str) -> dict[str, Any]:
    """The JSON Schema of one payload kind, with its `$id` and `title` set."""
    schema = PUBLISHED_MODELS[kind].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = ID_BASE + kind
    schema["title"] = f"bctv/v1 {kind} payload"
    return schema


def index() -> dict[str, Any]:
    """What `index.json` says: each kind's file, topic and how to tell it apart."""
    return {
        "topic_root": "bctv/v1",
        "regenerate": REGENERATE,
        "payloads": [
            {
                "kind": kind,
                "file": file_name(kind),
                "$id": ID_BASE + kind,
                "topic": TOPIC_OF[kind][0],
                "note": TOPIC_OF[kind][1],
            }
            for kind in PUBLISHED_MODELS
        ],
    }


def render() -> dict[str, bytes]:
    """Every file of the schema folder by name, as it is written."""
    files = {file_name(kind): _text(schema_of(kind)) for kind in PUBLISHED_MODELS}
    files[INDEX_NAME] = _text(index())
    return files


def write_folder(folder: Path, replace: bool) -> list[str]:
    """Write every schema file and the index into `folder`; the names written.

    Nothing is written unless every file can be: a folder that is not one, a file
    there already (without `replace`) or a symbolic link in its place is refused
    first, with OutputFileError naming it.  Other files in the folder are left alone.
    """
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise OutputFileError(f"{folder} {what}: give a folder to write the schema files into")
    files = render()
    for name in files:
        problem = refusal(folder / name, replace)
        if problem is not None:
            raise OutputFileError(problem)
    for name, data in files.items():
        write_output(folder / name, data, replace)
    return list(files)
