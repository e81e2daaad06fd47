"""TOML text to data, with every refusal a TOMLDecodeError; where in it a problem is.

tomllib converts integers itself, and Python refuses to convert one of more
than 4300 digits with a plain ValueError: left alone, a station or checklist
file holding such a number would end in a traceback instead of a message
naming the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from typing import Any


def loads(text: str) -> dict[str, Any]:
    """`tomllib.loads`; a number too long to read is a TOMLDecodeError like any other."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise
    except ValueError:
        raise tomllib.TOMLDecodeError(
            "an integer of more than 4300 digits (no setting needs one)"
        ) from None


def key_path(data: dict[str, Any], location: Sequence[int | str], named_by: Sequence[str]) -> str:
    """Where in a TOML document a problem is, as its author reads it.

    ``metric[3] (rf.forward_w).unit``: the key path, each entry of an array of tables
    followed by its name (the value of the first of `named_by` it has), since a person
    knows a metric by its key and an item by its id, not by its position.
    """
    text = ""
    node: Any = data
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            names = (node.get(k) for k in named_by) if isinstance(node, dict) else iter(())
            name = next((n for n in names if isinstance(n, str)), None)
            if name is not None:
                text += f" ({name})"
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return text
