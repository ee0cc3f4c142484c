"""End to end: `underlay analyse` (alias `analyze`) and the analysis sections of
`underlay compare`.

Each example runs once per mode (module-scoped fixtures). The story tests compare
substrates with each other in the JSON, never against hard-coded figures, so they keep
holding when a default is refined but fail when a substrate stops winning where the
examples say it wins (issue 4).

Terminal output is wrapped by Rich at the runner's width; it is searched with its
whitespace collapsed (``_flat``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from factories import make_tenant, scenario_yaml
from underlay.cli import app
from underlay.model.loading import load_scenario
from underlay.pipeline import SECTIONS

WriteYaml = Callable[..., Path]
REPO = Path(__file__).resolve().parents[2]
SAAS = REPO / "examples" / "saas-platform.yaml"
AI = REPO / "examples" / "ai-platform.yaml"
# The headline of each section in the terminal report.
TITLES = {
    "isolation": "Isolation — who shares a kernel",
    "failures": "Failures — host, rack and zone failures",
    "lifecycle": "Kubernetes lifecycle —",
    "cost": "Cost and energy —",
}
runner = CliRunner()


def _invoke(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    # An exception escaping the command would reach the user as "Internal error".
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def _ok(*args: object) -> str:
    code, stdout, stderr = _invoke(*args)
    assert code == 0, stderr
    return stdout


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"{name} in the JSON output: not valid JSON")


def _json(*args: object) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_ok(*args), parse_constant=_reject_constant)
    return data


def _flat(text: str) -> str:
    return " ".join(text.split())


def _by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in data["substrates"]}


@pytest.fixture(scope="module")
def saas_text() -> str:
    return _flat(_ok("analyse", SAAS, "--no-simulate"))


@pytest.fixture(scope="module")
def saas_json() -> dict[str, Any]:
    return _json("analyse", SAAS, "--json")


@pytest.fixture(scope="module")
def ai_json() -> dict[str, Any]:
    return _json("analyse", AI, "--json")


@pytest.fixture(scope="module")
def seeded() -> tuple[str, str]:
    """The same seeded run twice, as text."""
    args = ("analyse", SAAS, "--json", "--seed", "7", "--trials", "50")
    return _ok(*args), _ok(*args)


# ------------------------------------------------------------------ terminal report


def test_analyse_prints_the_four_sections_in_order(saas_text: str) -> None:
    where = [saas_text.find(TITLES[s]) for s in SECTIONS]
    assert -1 not in where, where
    assert where == sorted(where)
    assert "Over time" not in saas_text  # --no-simulate: no usage replay


def test_analyse_names_the_two_violations_on_the_shared_cluster(saas_text: str) -> None:
    found = re.findall(
        r"violation on (\S+): (\S+) \((\w+)\) shares \d+ kernels? with (\S+)", saas_text
    )
    assert sorted(found) == [
        ("baremetal-shared", "bank-eu", "regulated", "customer-code"),
        ("baremetal-shared", "bank-us", "regulated", "customer-code"),
    ]
    assert "regulated and untrusted never share a kernel" in saas_text


def test_one_section_prints_only_that_section() -> None:
    text = _flat(_ok("analyse", SAAS, "--section", "isolation"))
    assert TITLES["isolation"] in text
    assert "Failures" not in text and "Kubernetes lifecycle" not in text
    assert "Cost and energy" not in text and "Over time" not in text


def test_analyze_is_an_alias_of_analyse() -> None:
    args = (SAAS, "--section", "isolation", "--section", "failures", "--trials", "20")
    text = _ok("analyse", *args)
    assert TITLES["isolation"] in _flat(text) and TITLES["failures"] in _flat(text)
    assert _ok("analyze", *args) == text


def test_all_tenants_lists_every_tenant(write_yaml: WriteYaml) -> None:
    # 27 tenants: the report shows 25 unless --all-tenants.
    path = write_yaml(scenario_yaml(tenants=[make_tenant(f"team-{i:02d}") for i in range(27)]))
    short = _flat(_ok("analyse", path, "--section", "isolation"))
    assert "team-24" in short and "team-25" not in short
    assert "… and 2 more tenants" in short
    full = _flat(_ok("analyse", path, "--section", "isolation", "--all-tenants"))
    assert "team-26" in full and "more tenants" not in full


# ------------------------------------------------------------------------------ JSON


def test_json_has_every_section_and_the_failure_seed(saas_json: dict[str, Any]) -> None:
    scenario = load_scenario(SAAS)
    assert saas_json["analysis"] == {
        "sections": list(SECTIONS),
        "failure_seed": scenario.simulation.seed,  # the example sets no failures.seed
    }
    assert [s["name"] for s in saas_json["substrates"]] == scenario.substrate_labels
    for entry in saas_json["substrates"]:
        assert set(SECTIONS) <= set(entry)
        assert entry["failures"]["trials"] == scenario.failures.trials
        assert entry["cost"]["power_basis"] == "simulated"


@pytest.mark.parametrize(
    ("asked", "flag"),
    [
        (("isolation",), "--simulate"),
        (("failures", "cost"), "--no-simulate"),
        (("lifecycle", "isolation"), "--simulate"),
    ],
    ids=["isolation", "failures+cost", "lifecycle+isolation"],
)
def test_json_has_exactly_the_sections_asked(asked: tuple[str, ...], flag: str) -> None:
    args = [arg for s in asked for arg in ("--section", s)]
    data = _json("analyse", SAAS, "--json", flag, "-s", "vm", "-s", "baremetal-shared", *args)
    assert data["analysis"]["sections"] == [s for s in SECTIONS if s in asked]  # file order
    assert "simulation" not in data  # usage is replayed only for the cost section
    assert sorted(s["name"] for s in data["substrates"]) == ["baremetal-shared", "vm"]
    for entry in data["substrates"]:
        assert set(SECTIONS) & set(entry) == set(asked)
        if "cost" in entry:
            assert entry["cost"]["power_basis"] == "allocated"  # no simulation to draw on


def test_seed_and_trials_reach_the_failure_monte_carlo(seeded: tuple[str, str]) -> None:
    data = json.loads(seeded[0], parse_constant=_reject_constant)
    assert data["analysis"]["failure_seed"] == 7
    assert data["simulation"]["seed"] == 7
    for entry in data["substrates"]:
        assert entry["failures"]["trials"] == 50
        assert entry["failures"]["seed"] == 7


def test_same_seed_same_json_and_another_seed_differs(seeded: tuple[str, str]) -> None:
    first, second = seeded
    assert first == second
    other = _json(
        "analyse", SAAS, "--json", "--seed", "8", "--trials", "50", "--section", "failures"
    )
    again = json.loads(first)
    pairs = zip(_by_name(again).values(), _by_name(other).values(), strict=True)
    # The seed is not ignored: some tenant loses different pod-hours under another seed.
    assert any(
        a["pod_hours_lost"] != b["pod_hours_lost"]
        for x, y in pairs
        for a, b in zip(x["failures"]["tenants"], y["failures"]["tenants"], strict=True)
    )


def test_scenario_failure_seed_is_used_unless_seed_is_given(write_yaml: WriteYaml) -> None:
    path = write_yaml(scenario_yaml(failures={"seed": 3}, simulation={"seed": 5}))
    args = ("analyse", path, "--json", "--section", "failures")
    assert _json(*args)["analysis"]["failure_seed"] == 3
    # --seed sets the failure Monte Carlo (README), overriding the file.
    assert _json(*args, "--seed", "7")["analysis"]["failure_seed"] == 7


def test_json_is_strict_json_without_nan(
    saas_json: dict[str, Any], ai_json: dict[str, Any]
) -> None:
    # _json already refused NaN/Infinity; no float may hide a non-finite value either.
    def floats(x: Any) -> list[float]:
        if isinstance(x, dict):
            return [f for v in x.values() for f in floats(v)]
        if isinstance(x, list):
            return [f for v in x for f in floats(v)]
        return [x] if isinstance(x, float) else []

    for data in (saas_json, ai_json):
        values = floats(data)
        assert values and all(v == v and abs(v) != float("inf") for v in values)


# ----------------------------------------------------------------------- --output


def test_output_file_is_written_whole_and_stdout_stays_empty(
    write_yaml: WriteYaml, tmp_path: Path
) -> None:
    scenario = write_yaml(scenario_yaml())
    out = tmp_path / "analysis.json"
    out.write_text("x" * 1_000_000)  # an older, longer file is replaced, not overwritten
    code, stdout, stderr = _invoke("analyse", scenario, "--json", "-o", out)
    assert (code, stdout, stderr) == (0, "", "")
    data = json.loads(out.read_text(), parse_constant=_reject_constant)
    assert data["analysis"]["sections"] == list(SECTIONS)
    report = tmp_path / "analysis.txt"
    code, stdout, _ = _invoke("analyse", scenario, "--output", report)
    assert (code, stdout) == (0, "")
    text = _flat(report.read_text())
    assert all(TITLES[s] in text for s in SECTIONS)
    assert "Over time" not in text  # the replay feeds the cost section, is not shown
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "analysis.json",
        "analysis.txt",
        "scenario.yaml",
    ]  # no temporary file left behind


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "terminal"])
def test_output_into_a_missing_folder_exits_2(
    write_yaml: WriteYaml, tmp_path: Path, as_json: bool
) -> None:
    out = tmp_path / "missing" / "analysis.out"
    args = ["analyse", write_yaml(scenario_yaml()), "--section", "isolation", "-o", out]
    result = runner.invoke(app, [str(a) for a in args] + (["--json"] if as_json else []))
    assert result.exit_code == 2, repr(result.exception)
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "missing" in result.stderr
    assert not out.parent.exists()


def test_an_analysis_error_leaves_no_output_file(write_yaml: WriteYaml, tmp_path: Path) -> None:
    bad = make_tenant("bank", must_stay_supported=True, upgrade_cadence_months=30)
    out = tmp_path / "analysis.txt"
    code, _, _ = _invoke("analyse", write_yaml(scenario_yaml(tenants=[bad])), "-o", out)
    assert code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.yaml"]


# ------------------------------------------------------------------------- bad input

CYCLE = {"classes": {"pci": {"inherits": ["gold"]}, "gold": {"inherits": ["pci"]}}}


@pytest.mark.parametrize(
    ("text", "args", "needles"),
    [
        (
            scenario_yaml(),
            ["--section", "isolation", "--section", "nonsense"],
            ["--section: unknown 'nonsense'", "isolation, failures, lifecycle, cost"],
        ),
        (
            scenario_yaml(
                tenants=[
                    make_tenant("ok"),
                    make_tenant("bank", must_stay_supported=True, upgrade_cadence_months=30),
                ]
            ),
            [],
            [
                "bad.yaml: line",
                "tenants[1].upgrade_cadence_months: impossible cadence",
                "bank",
                "every 30 months",
            ],
        ),
        (
            scenario_yaml(
                lifecycle={"start": "2024-01-01"},
                tenants=[
                    make_tenant("old", kubernetes_version="1.28"),
                    make_tenant("new", kubernetes_version="1.33"),
                ],
            ),
            [],
            [
                "bad.yaml: line",
                "tenants[1].kubernetes_version: Kubernetes 1.33 is not released",
                "lifecycle.start",
            ],
        ),
        (
            scenario_yaml(isolation=CYCLE),
            [],
            ["bad.yaml", "isolation.classes.pci.inherits", "circle: pci -> gold -> pci"],
        ),
        (
            scenario_yaml(isolation={"rules": [{"between": ["regulated", "untrused"]}]}),
            [],
            ["bad.yaml", "isolation.rules[0].between[1]", "'untrused'", "'untrusted'?"],
        ),
    ],
    ids=["section", "impossible cadence", "unreleased version", "class cycle", "unknown class"],
)
def test_bad_input_is_one_line_exit_2(
    write_yaml: WriteYaml, text: str, args: list[str], needles: list[str]
) -> None:
    path = write_yaml(text, "bad.yaml")
    code, stdout, stderr = _invoke("analyse", path, "--no-simulate", *args)
    assert code == 2
    assert stdout == ""
    assert stderr.startswith("Error: ") and stderr.count("\n") == 1, stderr
    for needle in needles:
        assert needle in stderr


@pytest.mark.parametrize("command", ["analyse", "compare"])
@pytest.mark.parametrize("trials", ["0", "-5"])
def test_trials_below_one_is_refused(write_yaml: WriteYaml, command: str, trials: str) -> None:
    code, stdout, stderr = _invoke(command, write_yaml(scenario_yaml()), "--trials", trials)
    assert code == 2
    assert stdout == ""
    assert stderr.strip() == f"Error: --trials: must be from 1 to 100,000, got {trials}"


# --------------------------------------------------------------- the examples' story


def test_saas_vms_beat_the_shared_cluster_on_isolation(saas_json: dict[str, Any]) -> None:
    s = _by_name(saas_json)
    vm, shared = s["vm"]["isolation"], s["baremetal-shared"]["isolation"]
    assert vm["exposure_incidents_per_year"] < shared["exposure_incidents_per_year"]
    assert vm["violations"] == [] and shared["violations"]
    assert {(v["tenant"], v["other"]) for v in shared["violations"]} == {
        ("bank-eu", "customer-code"),
        ("bank-us", "customer-code"),
    }
    # Every tenant, not just the total, is less exposed in its VMs.
    for a, b in zip(vm["tenants"], shared["tenants"], strict=True):
        assert a["name"] == b["name"]
        assert a["exposure"]["incidents_per_year"] < b["exposure"]["incidents_per_year"]
    assert vm["tenants_per_kernel_max"] < shared["tenants_per_kernel_max"]


def test_saas_vms_beat_bare_metal_on_lifecycle(saas_json: dict[str, Any]) -> None:
    life = {s["kind"]: s["lifecycle"] for s in saas_json["substrates"]}
    vm = life["vm"]
    assert vm["forced_upgrades"] == 0 < life["baremetal-shared"]["forced_upgrades"]
    assert all(t["forced_upgrades"] == 0 for t in vm["tenants"])
    for kind in ("baremetal-dedicated", "baremetal-shared"):
        assert vm["pods_waiting"] < life[kind]["pods_waiting"], kind
        assert vm["drain_hours"] < life[kind]["drain_hours"], kind


def test_ai_bare_metal_is_cheaper_for_equal_work(ai_json: dict[str, Any]) -> None:
    s = _by_name(ai_json)
    bm, vm = s["baremetal-shared"]["cost"], s["vm-passthrough"]["cost"]
    assert bm["work_throughput_vs_baremetal"] == 1.0
    assert 0 < vm["work_throughput_vs_baremetal"] < 1.0
    assert bm["per_month_for_baremetal_work_usd"] < vm["per_month_for_baremetal_work_usd"]


@pytest.mark.parametrize("example", ["saas_json", "ai_json"])
def test_cost_for_equal_work_is_total_over_throughput(
    example: str, request: pytest.FixtureRequest
) -> None:
    # docs/json.md: per_month_for_baremetal_work_usd = total ÷ work_throughput_vs_baremetal
    for entry in request.getfixturevalue(example)["substrates"]:
        cost = entry["cost"]
        expected = cost["per_month_usd"]["total"] / cost["work_throughput_vs_baremetal"]
        assert cost["per_month_for_baremetal_work_usd"] == pytest.approx(expected, rel=1e-3)


def test_owned_hosts_left_idle_show_and_are_paid_for(write_yaml: WriteYaml) -> None:
    # 12 owned 64-core hosts at $12,000 over 5 years ($200 a month each) and $50 a month of
    # operations each: every substrate pays 12 × $250, however few hosts it opens.
    path = write_yaml(
        scenario_yaml(
            hardware={
                "host_models": [
                    {
                        "name": "std",
                        "cores": 64,
                        "memory": "256Gi",
                        "price_usd": 12_000,
                        "lifetime_years": 5,
                    }
                ],
                "inventory": [{"model": "std", "count": 12}],
            },
            costs={"ops_per_host_month_usd": 50},
            substrates=[{"kind": "baremetal-shared"}, {"kind": "vm"}],
            simulation={"horizon_hours": 2, "step_minutes": 15},
        )
    )
    data = _json("compare", path, "--json")
    for s in data["substrates"]:
        opened = s["hosts"]["total"]
        assert s["hosts"]["idle"] == s["cost"]["idle_hosts"] == 12 - opened > 0
        assert s["cost"]["per_month_usd"]["capex"] == pytest.approx(12 * 200)
        assert s["cost"]["per_month_usd"]["ops_hosts"] == pytest.approx(12 * 50)
        assert s["cost_per_month_usd"]["capex"] == pytest.approx(12 * 200)
    text = _flat(_ok("compare", path))
    for s in data["substrates"]:
        idle = s["hosts"]["idle"]
        assert f"{s['hosts']['total']} (+{idle} idle)" in text
        assert f"2,400 ({idle} idle owned" in text  # the cell may wrap


# ------------------------------------------------------------------ compare --no-analyse


def test_compare_without_analysis_has_no_sections() -> None:
    text = _flat(_ok("compare", SAAS, "--no-analyse", "--no-simulate"))
    assert "Substrates" in text
    assert not [s for s in SECTIONS if TITLES[s] in text]
    data = _json("compare", SAAS, "--no-analyse", "--json")
    assert "analysis" not in data and "simulation" in data
    for entry in data["substrates"]:
        assert not set(SECTIONS) & set(entry)


def test_lifecycle_problems_are_refused_when_the_file_is_read(write_yaml: WriteYaml) -> None:
    # Not only when the lifecycle section runs: --section isolation refuses the file too.
    bad = make_tenant("bank", must_stay_supported=True, upgrade_cadence_months=30)
    path = write_yaml(scenario_yaml(tenants=[bad]), "bad.yaml")
    code, stdout, stderr = _invoke("analyse", path, "--section", "isolation", "--no-simulate")
    assert code == 2 and stdout == ""
    assert "bad.yaml: line" in stderr and "impossible cadence" in stderr


def test_failure_json_has_the_kinds_and_the_stranded_pods(saas_json: dict[str, Any]) -> None:
    # docs/json.md: recovery by kind, the hardware share (setting and trials), and per
    # tenant the stranded pods by reason, summing to pods_stranded_per_host_failure.
    for entry in saas_json["substrates"]:
        f = entry["failures"]
        hours = f["recovery_hours"]
        assert hours["restart"] < hours["host_software_wait"] < hours["host_hardware_wait"]
        share = f["hardware_share"]
        assert hours["host_wait"] == pytest.approx(
            (1 - share) * hours["host_software_wait"] + share * hours["host_hardware_wait"],
            rel=1e-3,
        )
        assert abs(f["host_failures_hardware_share"] - share) < 0.05
        for t in f["tenants"]:
            by = t["pods_stranded_by"]
            assert set(by) == {"anti_affinity", "gpu_model", "room"}
            assert sum(by.values()) == pytest.approx(t["pods_stranded_per_host_failure"], abs=1e-3)
            assert 0 <= t["pods_stranded_per_host_failure"] <= t["pods_per_host_failure"] + 1e-9
            lost = t["pod_hours_lost"]
            assert sum(lost["expected_host_by_kind"].values()) == pytest.approx(
                lost["expected_by_domain"]["host"], rel=1e-3, abs=1e-3
            )
