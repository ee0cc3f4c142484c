"""A corpus of bad scenario files (``tests/bad_inputs/scenario``), run through the real
CLI: each exits 2 with one ``Error:`` message that names the file, the line its
``expected.yaml`` entry gives, and the fragment it gives — no traceback, nothing on
stdout.

One defect per file, across every section of the scenario and the YAML itself (duplicate
keys, nesting, aliases, control characters, tags, encodings).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from underlay.cli import app

CORPUS = Path(__file__).resolve().parents[1] / "bad_inputs" / "scenario"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load(
    (CORPUS / "expected.yaml").read_text(encoding="utf-8")
)
FILES = sorted(p.name for p in CORPUS.glob("*.yaml") if p.name != "expected.yaml")
# Every section of a scenario, and the YAML level, has cases (the files' name prefixes).
SECTIONS = {
    "yaml", "top", "hardware", "substrates", "tenants", "workloads", "usage", "simulation",
    "overrides", "weights", "constraints", "lifecycle", "failures", "costs", "kubernetes",
    "placement", "isolation",
}  # fmt: skip

runner = CliRunner()


def test_the_corpus_and_its_expectations_match() -> None:
    assert len(FILES) >= 60
    assert sorted(EXPECTED) == FILES
    assert {name.split("-")[0] for name in FILES} == SECTIONS
    for name, entry in EXPECTED.items():
        assert set(entry) == {"line", "fragment"}, name
        assert entry["line"] is None or entry["line"] >= 1, name
        assert entry["fragment"], name


@pytest.mark.parametrize("name", FILES)
def test_bad_scenario_is_one_clear_error(name: str) -> None:
    path = CORPUS / name
    expected = EXPECTED[name]
    result = runner.invoke(app, ["compare", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    (message,) = lines
    if expected["line"] is None:
        assert message.startswith(f"Error: {path}: ")
        assert not re.match(rf"Error: {re.escape(str(path))}: line \d", message)
    else:  # "line N: field: ..." or, for YAML syntax, "line N, column C: ..."
        assert re.match(rf"Error: {re.escape(str(path))}: line {expected['line']}[:,] ", message)
    assert expected["fragment"] in message


def test_no_file_in_the_corpus_loads_through_the_api() -> None:
    # The same files through load_scenario: a ScenarioError each, never another exception.
    from underlay.errors import ScenarioError
    from underlay.model.loading import load_scenario

    for name in FILES:
        with pytest.raises(ScenarioError):
            load_scenario(CORPUS / name)
