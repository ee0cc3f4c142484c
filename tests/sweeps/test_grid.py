"""Grid files: their points (every combination, or a random / Latin-hypercube sample), how
a point's values enter the scenario, and the one clear error for each bad grid."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sweep_cases import tiny_scenario
from typer.testing import CliRunner

from underlay.cli import app
from underlay.errors import InputError
from underlay.sweeps.grid import apply_point, parse_grid, points

runner = CliRunner()


def test_every_combination_in_file_order_last_key_fastest() -> None:
    grid = parse_grid("weights.cost: [1, 2]\nseed: [0, 1, 2]\n", "g.yaml")
    got = points(grid)
    # 2 × 3 = 6 points; seed (the last key) varies fastest
    assert len(got) == 6
    assert got[:4] == [
        {"weights.cost": 1, "seed": 0},
        {"weights.cost": 1, "seed": 1},
        {"weights.cost": 1, "seed": 2},
        {"weights.cost": 2, "seed": 0},
    ]


@given(count=st.integers(1, 40), seed=st.integers(0, 2**32))
def test_latin_hypercube_puts_one_point_in_each_stratum(count: int, seed: int) -> None:
    grid = parse_grid("a: {min: 0.0, max: 10.0}\nb: {min: -1.0, max: 1.0}\n", "g.yaml")
    got = points(grid, sample="lhs", count=count, seed=seed)
    assert len(got) == count
    # each axis cut into `count` equal strata: every stratum holds exactly one point
    for key, low, high in (("a", 0.0, 10.0), ("b", -1.0, 1.0)):
        strata = sorted(int((p[key] - low) / (high - low) * count) for p in got)  # type: ignore[operator]
        assert strata == list(range(count))


def test_integer_ranges_draw_integers_and_samples_are_seeded() -> None:
    grid = parse_grid("seed: {min: 3, max: 5}\nweights.cost: [1, 2]\n", "g.yaml")
    got = points(grid, sample="random", count=30, seed=7)
    assert {p["seed"] for p in got} <= {3, 4, 5}
    assert all(isinstance(p["seed"], int) for p in got)
    assert {p["weights.cost"] for p in got} <= {1, 2}
    assert got == points(grid, sample="random", count=30, seed=7)
    assert got != points(grid, sample="random", count=30, seed=8)


def test_a_point_enters_named_list_items_and_creates_missing_mappings() -> None:
    data = {
        "name": "s",
        "tenants": [{"name": "web", "workloads": [{"name": "api", "replicas": 1}]}],
        "substrates": [{"kind": "vm", "hypervisor": "kvm"}],
    }
    grid = parse_grid(
        "tenants.web.workloads.api.replicas: [3]\nweights.cost: [2]\nseed: [9]\n"
        "substrates.vm.hypervisor: [esxi]\n",
        "g.yaml",
    )
    out = apply_point(data, grid, points(grid)[0])
    assert out["tenants"][0]["workloads"][0]["replicas"] == 3
    assert out["weights"] == {"cost": 2}
    assert out["simulation"] == {"seed": 9}
    assert out["substrates"][0]["hypervisor"] == "esxi"
    assert data["tenants"][0]["workloads"][0]["replicas"] == 1  # the original is kept


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        ("weights.cost: 2\n", "g.yaml: line 1: weights.cost: expected a list of values"),
        ("seed: [1]\nweights.cost: []\n", "g.yaml: line 2: weights.cost: expected a list"),
        ("weights.cost: [1, 1]\n", "line 1: weights.cost: a value is listed twice"),
        ("weights..cost: [1]\n", "line 1: weights..cost: not a dotted path"),
        ("- 1\n", "g.yaml: a grid maps dotted scenario paths"),
        ("weights.cost: {min: 2, max: 1}\n", "line 1: weights.cost: a range needs numbers"),
        ("weights.cost: {min: 1, max: 2}\n", "line 1: weights.cost: a {min, max} range needs"),
        ("a: [1]\na: [2]\n", "line 2"),
        (
            "seed: [1]\nsimulation.seed: [2]\n",
            "line 2: simulation.seed: the same field as seed (line 1)",
        ),
    ],
)
def test_bad_grid_files_name_the_line_and_key(grid: str, needle: str) -> None:
    with pytest.raises(InputError) as caught:
        points(parse_grid(grid, "g.yaml"))
    assert needle in str(caught.value)


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        # a value the scenario refuses: the key's line, its value, the scenario's reason
        ("seed: [1]\nweights.cost: [1, -1]\n", "line 2: weights.cost: value -1 breaks"),
        ("weights.costs: [1]\n", "line 1: weights.costs: value 1 breaks"),
        (
            "tenants.nobody.replicas: [2]\n",
            "line 1: tenants.nobody.replicas: tenants: no item named 'nobody' (names: web, bank)",
        ),
        ("name.x: [2]\n", "line 1: name.x: name is a value ('test'), not a mapping"),
        (
            "overrides.hypervisors.kvm.cpu_overhead_percent: [5, nope]\n",
            "line 1: overrides.hypervisors.kvm.cpu_overhead_percent: value 'nope' breaks",
        ),
    ],
)
def test_bad_values_are_refused_before_any_point_runs(
    tmp_path: Path, grid: str, needle: str
) -> None:
    scenario = tiny_scenario(tmp_path)
    grid_path = tmp_path / "g.yaml"
    grid_path.write_text(grid, encoding="utf-8")
    db = tmp_path / "r.duckdb"
    result = runner.invoke(app, ["sweep", str(scenario), "--grid", str(grid_path), "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert f"{grid_path}: {needle}" in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.stderr
    assert not db.exists()  # nothing ran, nothing written


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (["--sample", "lhs"], "--sample and --points go together"),
        (["--sample", "sobol", "--points", "3"], "--sample: unknown 'sobol' (known: random, lhs)"),
        (["--sample", "lhs", "--points", "0"], "--points: a sample needs 1 to"),
        (["--workers", "0"], "--workers: must be from 1 to 1,024, got 0"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    tmp_path: Path, options: list[str], needle: str
) -> None:
    scenario = tiny_scenario(tmp_path)
    grid_path = tmp_path / "g.yaml"
    grid_path.write_text("seed: [1]\n", encoding="utf-8")
    db = tmp_path / "r.duckdb"
    args = ["sweep", str(scenario), "--grid", str(grid_path), "--db", str(db), *options]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert needle in " ".join(result.stderr.split())
    assert not db.exists()
