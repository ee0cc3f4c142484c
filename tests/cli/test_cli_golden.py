"""Golden output of ``underlay compare`` on the bundled example (terminal and JSON).

Regenerate after an intended change with::

    UPDATE_GOLDEN=1 scripts/test tests/cli

then review the diff of ``tests/golden/`` like any other change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
EXAMPLE = REPO / "examples" / "saas-platform.yaml"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _run(*args: str) -> str:
    """Run the CLI as a user would, at a fixed width and without colour."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env.update({"COLUMNS": "120", "LINES": "50", "NO_COLOR": "1", "TERM": "dumb"})
    proc = subprocess.run(
        [sys.executable, "-m", "underlay.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def _normalise(text: str) -> str:
    # Rich pads table titles with blanks; editors and hooks strip trailing blanks, so
    # compare without them.
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _check(name: str, actual: str) -> None:
    actual = _normalise(actual)
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"{path} is missing; create it with: UPDATE_GOLDEN=1 scripts/test tests/cli")
    expected = _normalise(path.read_text(encoding="utf-8"))
    assert actual == expected, (
        f"output differs from {path.relative_to(REPO)}; if intended, regenerate with "
        "UPDATE_GOLDEN=1 scripts/test tests/cli"
    )


def test_compare_terminal_golden() -> None:
    out = _run("compare", "examples/saas-platform.yaml")
    assert max(len(line) for line in out.splitlines()) <= 120
    _check("saas-platform.txt", out)


def test_compare_json_golden() -> None:
    out = _run("compare", "examples/saas-platform.yaml", "--json")
    data = json.loads(out)  # stdout is exactly one JSON document
    assert data["scenario"] == "saas-platform"
    _check("saas-platform.json", out)


def test_json_matches_the_python_api() -> None:
    from underlay import compare, load_scenario
    from underlay.decision.decide import decide
    from underlay.pipeline import analyse, simulate
    from underlay.report.json import comparison_to_dict
    from underlay.report.json_decision import decision_to_dict

    scenario = load_scenario(EXAMPLE)
    result = compare(scenario)
    simulation = simulate(scenario, comparison=result)
    analysis = analyse(result, simulation)
    data = comparison_to_dict(result, simulation, analysis)
    data["decision"] = decision_to_dict(decide(result, simulation, analysis))
    golden = json.loads((GOLDEN / "saas-platform.json").read_text(encoding="utf-8"))
    assert json.loads(json.dumps(data)) == golden
