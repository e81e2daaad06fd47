"""TOML text to data, with every refusal a TOMLDecodeError.

tomllib converts integers itself, and Python refuses to convert one of more
than 4300 digits with a plain ValueError: left alone, a station or checklist
file holding such a number would end in a traceback instead of a message
naming the file.
"""

from __future__ import annotations

import tomllib
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
