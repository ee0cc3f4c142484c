"""The corpus of bad importer inputs (tests/bad_inputs/<format>/), run through the CLI.

Each folder holds small bad files of one input format and an ``expected.yaml`` mapping
each file to the command to run on it, the line the error must name (``null`` when the
place is a JSON path or the whole file) and a fragment of the message. Every case must
exit 2 with exactly one ``Error:`` line naming the file (and ``<file>, line N`` when a
line is expected), no traceback, and write nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from underlay.cli import app

TESTS = Path(__file__).resolve().parents[1]
CORPUS = TESTS / "bad_inputs"
FIXTURES = TESTS / "fixtures"
FORMATS = ("alibaba2018", "bitbrains", "kubectl", "openb", "planetlab", "trace")
runner = CliRunner()


def _cases() -> list[Any]:
    cases = []
    for fmt in FORMATS:
        expected = yaml.safe_load((CORPUS / fmt / "expected.yaml").read_text(encoding="utf-8"))
        for name, case in expected.items():
            cases.append(pytest.param(fmt, name, case, id=f"{fmt}/{name}"))
    return cases


CASES = _cases()


def test_every_file_of_the_corpus_has_an_expectation() -> None:
    listed = {(c.values[0], c.values[1]) for c in CASES}
    on_disk = {
        (fmt, p.name)
        for fmt in FORMATS
        for p in (CORPUS / fmt).iterdir()
        if p.is_file() and p.name != "expected.yaml"
    }
    assert on_disk == listed
    # every importer covered, several classes each; the corpus stays large
    assert {fmt for fmt, _ in listed} == set(FORMATS)
    assert len(listed) >= 45
    assert all(sum(f == fmt for f, _ in listed) >= 8 for fmt in FORMATS)


@pytest.mark.parametrize(("fmt", "name", "case"), CASES)
def test_bad_input_exits_2_with_one_placed_message(
    tmp_path: Path, fmt: str, name: str, case: dict[str, Any]
) -> None:
    tmp = tmp_path.resolve()
    source = CORPUS / fmt / name
    path = source
    if "copy_to" in case:  # the command reads a folder or a scenario's trace: copy there
        path = tmp / case["copy_to"]
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
    for companion, target in case.get("copy", {}).items():
        shutil.copyfile(CORPUS / fmt / companion, tmp / target)
    before = sorted(p.relative_to(tmp) for p in tmp.rglob("*"))
    out = tmp / "out" / "imported.yaml"
    out.parent.mkdir()
    places = {"path": path, "out": out, "tmp": tmp, "fixtures": FIXTURES / fmt}
    args = [arg.format(**places) for arg in case["args"]]

    result = runner.invoke(app, args, catch_exceptions=False)

    assert result.exit_code == 2, result.output
    stderr = result.stderr.strip()
    assert result.stdout == ""
    assert stderr.startswith("Error: ") and stderr.count("Error:") == 1
    assert "\n" not in stderr, "one message, on one line"
    assert "Traceback" not in result.output
    assert " import>" not in stderr, "placed against the file, never '<openb import>'"
    if case["line"] is None:
        assert str(path) in stderr
    else:
        assert f"{path}, line {case['line']}" in stderr
    assert case["message"] in stderr
    # nothing written: no output, no trace beside it, no temporary file
    assert list(out.parent.iterdir()) == []
    assert sorted(p.relative_to(tmp) for p in tmp.rglob("*")) == sorted([*before, Path("out")])
