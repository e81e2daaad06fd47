"""Writing a file a user named: new files only, no symbolic links followed, replaced on request."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fieldagent.outputfile import OutputFileError, refusal, write_output


def test_a_new_file_is_written(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    write_output(path, b"{}\n", replace=False)
    assert path.read_bytes() == b"{}\n"


def test_an_existing_file_is_kept_unless_replacing(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(b"old")
    with pytest.raises(OutputFileError, match=f"{path} already exists: give --force"):
        write_output(path, b"new", replace=False)
    assert path.read_bytes() == b"old"
    write_output(path, b"new", replace=True)
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["report.json"]  # no temporary file left beside it


@pytest.mark.parametrize("replace", [False, True])
def test_a_link_is_never_followed_dangling_or_not(tmp_path: Path, replace: bool) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"kept")
    link, dangling = tmp_path / "link", tmp_path / "dangling"
    link.symlink_to(target)
    dangling.symlink_to(tmp_path / "nothing-yet")
    for path in (link, dangling):
        with pytest.raises(OutputFileError, match=f"{path} is a symbolic link"):
            write_output(path, b"new", replace=replace)
    assert target.read_bytes() == b"kept"
    assert not (tmp_path / "nothing-yet").exists()


def test_what_is_not_a_file_or_has_no_folder_is_refused_by_name(tmp_path: Path) -> None:
    assert refusal(tmp_path, replace=True) == f"{tmp_path} exists and is not a regular file"
    missing = tmp_path / "no-such-folder" / "report.html"
    assert refusal(missing, replace=False) == f"{missing}: no folder {missing.parent}"
    assert refusal(tmp_path / "new.html", replace=False) is None
