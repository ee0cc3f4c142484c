"""underlay.files' one writer: all of a file or nothing, and one wording when it fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from underlay.errors import InputError
from underlay.files import atomic_writer, write_atomically


def test_a_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("old\n", encoding="utf-8")
    write_atomically(target, "new: é\r\n")
    # newline="": line ends as written, not translated; UTF-8.
    assert target.read_bytes() == "new: é\r\n".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml"]


def test_an_error_while_writing_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(ValueError, match="half-way"), atomic_writer(target) as handle:
        handle.write("new, partial")
        raise ValueError("half-way")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_a_file_that_cannot_be_written_is_one_input_error(tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "out.md"
    with pytest.raises(InputError) as info:
        write_atomically(target, "text")
    assert str(info.value) == f"{target}: cannot write (No such file or directory)"
    assert not (tmp_path / "missing-folder").exists()
