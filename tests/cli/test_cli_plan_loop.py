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


def test_rounds_limits_the_plans_measured(tmp_path: Path) -> None:
    # The SaaS plan moves when measured (its lone shared-cluster tenant pays the whole
    # cluster): with one round, it is measured once and said not to be stable.
    saas = REPO / "examples" / "saas-platform.yaml"
    result = runner.invoke(
        app, ["recommend", str(saas), "--json", "--rounds", "1", "--plan", str(tmp_path / "p")]
    )
    assert result.exit_code == 0, result.stderr
    check = json.loads(result.stdout)["decision"]["plan_check"]
    assert len(check["rounds"]) == 1 and check["status"] == "unstable"
    assert "the plan still changed after 1 round (" in check["reason"]


@pytest.mark.parametrize("rounds", ["0", "51"])
def test_rounds_out_of_range_is_one_error(rounds: str, tmp_path: Path) -> None:
    saas = REPO / "examples" / "saas-platform.yaml"
    plan = tmp_path / "p.yaml"
    result = runner.invoke(app, ["recommend", str(saas), "--rounds", rounds, "--plan", str(plan)])
    assert result.exit_code == 2 and not plan.exists()
    assert result.stderr == f"Error: --rounds: must be from 1 to 50, got {rounds}\n"
