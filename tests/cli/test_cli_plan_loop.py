"""``recommend`` on every bundled example places and replays its plan as one fleet and
reports what the optimiser predicted beside what was measured (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from underlay.cli.app import app
from underlay.model.loading import load_scenario

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
runner = CliRunner()


def _recommend(example: Path, plan: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["recommend", str(example), "--json", "--plan", str(plan)])
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_reports_its_plan_predicted_and_measured(
    example: Path, tmp_path: Path
) -> None:
    data = _recommend(example, tmp_path / "plan.yaml")
    decision = data["decision"]
    check = decision["plan_check"]
    assert check["status"] in ("stable", "unstable") and check["rounds"]
    first = check["rounds"][0]
    # round 1 is the optimiser's plan as it came, with its own prediction
    assert first["predicted_cost"] > 0 and first["measured_cost"] > 0
    for figure in ("sla", "cpu_sla"):
        assert first[f"measured_{figure}"] is not None
    names = [t.name for t in load_scenario(example).tenants]
    assert [t["name"] for t in first["tenants"]] == names
    # the kept plan is the decision's, and the unstable ones say why with each figure
    kept = check["rounds"][check["kept_round"] - 1]
    assert kept["assignment"] == decision["hybrid"]["assignment"]
    if check["status"] == "unstable":
        assert check["reason"]
    # the plan file holds the plan as a hybrid substrate under the loop's label
    plan = load_scenario(tmp_path / "plan.yaml", allow_paths=True)
    assert plan.substrate(check["label"]).kind == "hybrid"
