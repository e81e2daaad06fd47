"""Files a user gives a command: bounded in size, one line naming the file when unreadable."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldagent.inputfile import InputFileError, read_text


def test_a_file_larger_than_its_kind_can_be_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.walk"
    path.write_bytes(b"x" * 2049)
    with pytest.raises(InputFileError) as refused:
        read_text(path, 2048)
    assert str(refused.value) == f"{path}: 2049 bytes: larger than such a file can be (2048 bytes)"
    assert read_text(path, 4096) == "x" * 2049


def test_an_edited_file_names_the_line_of_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "station.toml"
    path.write_bytes("\ufeff[station]\nid = 'a'\nname = '".encode() + b"\xe9'\n")
    with pytest.raises(InputFileError) as refused:
        read_text(path, 4096, strict=True)
    assert str(refused.value).startswith(f"{path}: not UTF-8 text (line 3, byte ")
    assert read_text(path, 4096).endswith("name = '\ufffd'\n")  # a capture: read on
    path.write_bytes("\ufeff[station]\n".encode())
    assert read_text(path, 4096, strict=True) == "[station]\n"  # Notepad's mark dropped


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"gone\.toml: cannot read: No such file"):
        read_text(tmp_path / "gone.toml", 10)
