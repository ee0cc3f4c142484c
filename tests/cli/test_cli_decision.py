"""End to end: the decision stage through the CLI (issue 5).

``compare`` gives the verdict first, the decision section last, and writes the HTML and
Markdown reports; ``--weight`` moves the verdict; ``recommend`` writes the least-cost plan
as a scenario that evaluates to itself; constraints that cannot all hold exit 3 naming
them; names that look like HTML or Rich markup stay text everywhere.

Each example runs once per mode (module-scoped fixtures). Figures are checked against each
other (the verdict against the totals, the plan's cost against the tenants' attributed
costs), never against hard-coded numbers. Rich wraps terminal text: see ``_flat``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from factories import make_tenant, make_workload, scenario_yaml
from underlay.cli import app
from underlay.model.loading import load_scenario
from underlay.model.scenario import FACTORS
from underlay.report.markdown import escape as md_escape

WriteYaml = Callable[..., Path]
REPO = Path(__file__).resolve().parents[2]
SAAS = REPO / "examples" / "saas-platform.yaml"
DECISION_TITLE = "Decision — scores 0–100 per factor, weighted"
SECTION_TITLES = ("Isolation —", "Failures —", "Kubernetes lifecycle —", "Cost and energy —")
PLAN_LINE = "Hybrid plan: "
# docs/json.md, "The decision": the keys of each object, in order.
SHAPE = {
    "decision": "weights verdict substrates tenants hybrid pareto sensitivity plan_check notes",
    "verdict": "winner runner_up margin reasons tie placement_decides pods_unplaced",
    "substrate": "name kind total factors",
    "factor": "factor score value unit evidence parts",
    "tenant": "name scores totals best",
    "hybrid": "assignment cost_usd_per_month single_substrate_costs constraints binding notes",
    "pareto": "cost_usd_per_month exposure_per_year sla_probability assignment",
    "weight": "factor weight low high flips_to",
    "tornado": "parameter base low high unit margin_low margin_high winner_low winner_high "
    "flip_low flip_high",
}
PERFORMANCE_PARTS = (
    "throughput cpu_unmet cpu_unmet_worst gpu_unmet slowdown latency_p95 latency_p95_worst "
    "pods_unplaced"
)
SLA_PARTS = "availability_sla_probability cpu_sla_attainment_percent"
runner = CliRunner()


def _invoke(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def _ok(*args: object) -> str:
    code, stdout, stderr = _invoke(*args)
    assert code == 0, stderr
    return stdout


def _json(*args: object) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_ok(*args))
    return data


def _error(code: int, *args: object) -> str:
    """The one ``Error:`` line of a run that must exit ``code`` and print nothing else."""
    got, stdout, stderr = _invoke(*args)
    assert (got, stdout) == (code, ""), stderr
    assert stderr.startswith("Error: ") and stderr.count("\n") == 1, stderr
    return stderr.removeprefix("Error: ").rstrip("\n")


def _keys(x: dict[str, Any], kind: str) -> bool:
    return list(x) == SHAPE[kind].split()


def _flat(text: str) -> str:
    return " ".join(text.split())


def _table_rows(text: str, title: str, starts: Callable[[str], bool]) -> dict[str, list[str]]:
    """The rows of the terminal table titled ``title``, each starting on a line whose
    label ``starts`` a row: each whole label (its lines joined) → the first line of each
    of its cells."""
    lines = text.splitlines()
    at = lines.index(title)
    rows: dict[str, list[str]] = {}
    label, cells = "", []
    for line in lines[at + 1 :]:
        if line.startswith("└"):
            break
        if not line.startswith("│"):
            continue
        parts = [c.strip() for c in line.strip("│").split("│")]
        if starts(parts[0]):
            if cells:  # the previous row is whole
                rows[label] = cells
            label, cells = parts[0], parts[1:]
        elif parts[0]:
            label += " " + parts[0]
    rows[label] = cells
    return rows


def _by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in data["substrates"]}


def _tenant_cost(data: dict[str, Any], substrate: str, tenant: str) -> float:
    (row,) = [t for t in _by_name(data)[substrate]["cost"]["tenants"] if t["name"] == tenant]
    return float(row["per_month_usd"]["total"])


def _assert_hybrid_is_the_sum_of_tenant_costs(data: dict[str, Any]) -> None:
    hybrid = data["decision"]["hybrid"]
    parts = [_tenant_cost(data, s, t) for t, s in hybrid["assignment"].items()]
    # The cost section rounds to cents, the decision to 4 decimals.
    assert hybrid["cost_usd_per_month"] == pytest.approx(sum(parts), abs=0.01 * len(parts))


def _printed_plan(text: str, substrates: list[str]) -> tuple[str, dict[str, str]]:
    """The cost in the title of the terminal's hybrid plan table, and its rows."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(PLAN_LINE))
    assignment: dict[str, str] = {}
    for line in lines[at + 1 :]:
        if line.startswith("└"):
            break
        cells = [c.strip() for c in line.strip("│").split("│")]
        if line.startswith("│") and cells[1] in substrates:
            assignment[cells[0]] = cells[1]
    cost = lines[at].removeprefix(PLAN_LINE).partition(" (")[0]
    return cost, assignment


class _Tags(HTMLParser):
    """Every start tag with its attributes (script content is raw text, not markup: the
    URLs inside plotly.js are strings, not loads)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _assert_self_contained(html: str) -> None:
    tags, remote = _Tags(html).tags, re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
    loads = {"src", "href", "srcset", "poster", "data", "action", "formaction", "background"}
    assert [a for _, a in tags for k, v in a.items() if k in loads and remote.match(v or "")] == []
    assert [t for t, a in tags if t in ("link", "iframe", "object", "embed")] == []
    assert [a for t, a in tags if t == "script" and "src" in a] == []  # scripts are inline
    styles = "".join(re.findall(r"<style>(.*?)</style>", html, re.DOTALL))
    assert not re.search(r"@import|url\(", styles)
    (csp,) = [a for _, a in tags if a.get("http-equiv") == "Content-Security-Policy"]
    assert "default-src 'none'" in str(csp["content"])


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def saas_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    """``compare`` on the SaaS example with both reports: terminal, HTML, Markdown."""
    folder = tmp_path_factory.mktemp("reports")
    html, md = folder / "r.html", folder / "r.md"
    code, stdout, stderr = _invoke("compare", SAAS, "--report", html, "--markdown", md)
    assert (code, stderr) == (0, "")
    return stdout, html.read_text("utf-8"), md.read_text("utf-8")


@pytest.fixture(scope="module")
def saas_json() -> dict[str, Any]:
    return _json("compare", SAAS, "--json")


@pytest.fixture(scope="module")
def saas_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    """``recommend`` on the SaaS example: terminal, stderr and the plan file."""
    plan = tmp_path_factory.mktemp("plan") / "plan.yaml"
    code, stdout, stderr = _invoke("recommend", SAAS, "--plan", plan)
    assert code == 0, stderr
    return stdout, stderr, plan


# ------------------------------------------------------------------ compare: the reports


def test_terminal_starts_with_the_verdict_and_ends_with_the_decision(
    saas_run: tuple[str, str, str], saas_json: dict[str, Any]
) -> None:
    text, v = saas_run[0], saas_json["decision"]["verdict"]
    first = f"Verdict: {v['winner']} ahead of {v['runner_up']} by {v['margin']:.1f} points"
    assert text.splitlines()[0] == first
    flat = _flat(text)
    sections = [flat.find(t) for t in SECTION_TITLES]
    assert -1 not in sections and flat.rfind(DECISION_TITLE) > max(sections)
    tail = flat[flat.rfind(DECISION_TITLE) :]
    shown = (first, PLAN_LINE.strip(), "Weights: the verdict holds", "Uncertain inputs:")
    assert all(x in tail for x in shown)
    assert flat.endswith(_flat(saas_json["decision"]["notes"][0]))  # the scorecard's note


def test_html_report_is_self_contained_and_leads_with_the_verdict(
    saas_run: tuple[str, str, str], saas_json: dict[str, Any]
) -> None:
    html, v = saas_run[1], saas_json["decision"]["verdict"]
    _assert_self_contained(html)
    verdict = re.search(r'<section id="verdict".*?</section>', html, re.DOTALL)
    assert verdict is not None and verdict.start() < html.index("<main>")
    words = _flat(unescape(re.sub(r"<[^>]+>", "", verdict.group())))
    assert f"{v['winner']} wins by {v['margin']:.1f} points over {v['runner_up']}." in words
    assert all(r in words for r in v["reasons"])


def test_markdown_report_starts_with_the_verdict(
    saas_run: tuple[str, str, str], saas_json: dict[str, Any]
) -> None:
    lines, v = saas_run[2].splitlines(), saas_json["decision"]["verdict"]
    assert lines[0] == "# underlay report: saas-platform"
    headings = [i for i, line in enumerate(lines) if line.startswith("## ")]
    assert lines[headings[0]] == "## Verdict"
    body = [line for line in lines[headings[0] + 1 : headings[1]] if line]
    winner, runner_up = v["winner"], v["runner_up"]
    assert body[0] == f"**{winner}** wins by {v['margin']:.1f} points over **{runner_up}**."
    assert body[1:] == [f"- {md_escape(r, line_start=True)}" for r in v["reasons"]]


def test_every_part_of_a_score_is_shown_under_its_own_name(
    saas_run: tuple[str, str, str], saas_json: dict[str, Any]
) -> None:
    # Issue 9: the performance index and the SLA figure show each of their parts, in the
    # terminal scorecard (tenants' means) and the reports' figures table (with the worst
    # tenant), as the JSON has them.
    text, md = saas_run[0], saas_run[2]
    subs = saas_json["decision"]["substrates"]

    def pct(x: float, digits: int) -> str:
        return f"{100 * x:.{digits}f}%"

    rows = {  # the row's label → (factor, the JSON figure as the terminal shows it, its unit)
        "performance: throughput (storage I/O, GPU)": (
            "performance", lambda p: 100 * p["throughput"], 1.0),
        "performance: CPU demand unmet": ("performance", lambda p: 100 * p["cpu_unmet"], 0.1),
        "performance: work lost to other tenants' cache and memory-bandwidth load": (
            "performance", lambda p: 100 * p["slowdown"], 0.1),
        "performance: p95 latency (× an idle host)": (
            "performance", lambda p: p["latency_p95"], 0.1),
        "sla: availability SLA met (share of failure years)": (
            "sla", lambda p: 100 * p["availability_sla_probability"], 1.0),
        "sla: CPU SLA met (share of steps)": (
            "sla", lambda p: p["cpu_sla_attainment_percent"], 0.1),
    }  # fmt: skip
    figures = _table_rows(
        text, "The figures behind the scores", lambda x: x.split(":")[0] in FACTORS
    )
    for label, (factor, figure, unit) in rows.items():
        # each cell's first figure, the mean over the tenants (the worst in brackets)
        cells = [float(c.split()[0].strip("×%")) for c in figures[label]]
        # the JSON keeps fewer digits than the exact figure the terminal rounds: half a
        # displayed unit either way
        want = [figure(s["factors"][factor]["parts"]) for s in subs]
        assert cells == pytest.approx(want, abs=unit / 2 + 1e-9), label
    worst = [f"{s['factors']['performance']['parts']['latency_p95_worst']:.1f}×" for s in subs]
    (row,) = [x for x in md.splitlines() if x.startswith("| performance: p95 latency")]
    assert all(f"(worst {w})" in row or f"| {w} |" in row for w in worst)


def test_json_decision_has_the_documented_shape(saas_json: dict[str, Any]) -> None:
    d, names = saas_json["decision"], [s["name"] for s in saas_json["substrates"]]
    tenants = [t.name for t in load_scenario(SAAS).tenants]
    assert _keys(d, "decision") and list(d["weights"]) == list(FACTORS)
    assert _keys(d["verdict"], "verdict") and d["verdict"]["reasons"]
    assert [s["name"] for s in d["substrates"]] == names
    for s in d["substrates"]:
        assert _keys(s, "substrate") and list(s["factors"]) == list(FACTORS)
        assert all(_keys(x, "factor") and 0 <= x["score"] <= 100 for x in s["factors"].values())
    assert [t["name"] for t in d["tenants"]] == tenants
    for t in d["tenants"]:
        assert _keys(t, "tenant") and len(t["scores"]) == len(t["totals"]) == len(names)
        assert t["best"] == names[t["totals"].index(max(t["totals"]))]
    assert _keys(d["hybrid"], "hybrid") and list(d["hybrid"]["assignment"]) == tenants
    assert set(d["hybrid"]["assignment"].values()) <= set(names)
    assert d["pareto"] and all(_keys(p, "pareto") for p in d["pareto"])
    assert [r["factor"] for r in d["sensitivity"]["weights"]] == list(FACTORS)
    assert all(_keys(r, "weight") for r in d["sensitivity"]["weights"])
    assert d["sensitivity"]["tornado"] and all(
        _keys(b, "tornado") for b in d["sensitivity"]["tornado"]
    )
    assert list(d["sensitivity"]) == ["weights", "tornado", "notes"]
    # KVM keeps cores and memory on every host, and taxes the VMs' CPU: both are bars
    bars = {b["parameter"] for b in d["sensitivity"]["tornado"]}
    assert {"hypervisor host reservation", "hypervisor CPU overhead"} <= bars
    # docs/json.md: the parts of the performance index and of the SLA figure
    for s in d["substrates"]:
        assert list(s["factors"]["performance"]["parts"]) == PERFORMANCE_PARTS.split()
        assert list(s["factors"]["sla"]["parts"]) == SLA_PARTS.split()


def test_the_winner_has_the_highest_total(saas_json: dict[str, Any]) -> None:
    d, v = saas_json["decision"], saas_json["decision"]["verdict"]
    ranked = sorted(d["substrates"], key=lambda s: -s["total"])
    assert (v["winner"], v["runner_up"]) == (ranked[0]["name"], ranked[1]["name"])
    assert ranked[0]["total"] > ranked[1]["total"]
    assert v["margin"] == pytest.approx(ranked[0]["total"] - ranked[1]["total"], abs=2e-4)


def test_the_hybrid_costs_the_sum_of_its_tenants(saas_json: dict[str, Any]) -> None:
    _assert_hybrid_is_the_sum_of_tenant_costs(saas_json)
    hybrid = saas_json["decision"]["hybrid"]
    tenants = list(hybrid["assignment"])
    for name, alone in hybrid["single_substrate_costs"].items():
        broken = bool(_by_name(saas_json)[name]["isolation"]["violations"])
        assert (alone is None) == broken, name  # the only constraints the example has
        if alone is not None:
            parts = [_tenant_cost(saas_json, name, t) for t in tenants]
            assert alone == pytest.approx(sum(parts), abs=0.01 * len(parts))
            assert alone >= hybrid["cost_usd_per_month"] - 1e-6  # the plan is least cost
    cheapest = min(p["cost_usd_per_month"] for p in saas_json["decision"]["pareto"])
    assert cheapest == pytest.approx(hybrid["cost_usd_per_month"], abs=1e-3)


# ----------------------------------------------------------------------------- --weight


def test_weighing_cost_makes_the_cheapest_substrate_win() -> None:
    data = _json("compare", SAAS, "--json", "--weight", "cost=1000")
    d = data["decision"]
    costs = {s["name"]: s["cost"]["per_month_usd"]["total"] for s in data["substrates"]}
    assert d["weights"] == load_scenario(SAAS).weights.as_dict() | {"cost": 1000.0}
    assert d["verdict"]["winner"] == min(costs, key=costs.__getitem__)
    assert d["verdict"]["winner"] == max(d["substrates"], key=lambda s: s["total"])["name"]


def test_weighing_isolation_makes_a_substrate_without_violations_win() -> None:
    data = _json("compare", SAAS, "--json", "--weight", "isolation=5")
    d, winner = data["decision"], data["decision"]["verdict"]["winner"]
    assert d["weights"] == load_scenario(SAAS).weights.as_dict() | {"isolation": 5.0}
    assert _by_name(data)[winner]["isolation"]["violations"] == []
    assert any(s["isolation"]["violations"] for s in data["substrates"])  # a real choice
    scores = {s["name"]: s["factors"]["isolation"]["score"] for s in d["substrates"]}
    assert scores[winner] == max(scores.values())


def test_a_weight_past_its_range_flips_the_verdict_as_sensitivity_says(
    saas_json: dict[str, Any],
) -> None:
    ranges = [r for r in saas_json["decision"]["sensitivity"]["weights"] if r["flips_to"]]
    assert ranges
    for r in ranges:
        # The nearer end of the range is where the verdict flips to ``flips_to``.
        ends = [(r["weight"] - r["low"], r["low"] * 0.9)] if r["low"] is not None else []
        ends += [(r["high"] - r["weight"], r["high"] * 1.1)] if r["high"] is not None else []
        past = min(ends)[1]
        data = _json("compare", SAAS, "--json", "--weight", f"{r['factor']}={past}")
        assert data["decision"]["verdict"]["winner"] == r["flips_to"], (r, past)


@pytest.mark.parametrize("command", ["compare", "recommend"])
@pytest.mark.parametrize(
    ("items", "needle"),
    [
        (["cost"], "'cost': write FACTOR=WEIGHT with FACTOR one of performance, versions"),
        (["cost=x"], "'cost=x': 'x' is not a number"),
        (["speed=1"], "'speed=1': write FACTOR=WEIGHT"),
        (["cost=-1"], "'cost=-1': a weight is a number from 0 to 1000"),
        ([f"{f}=0" for f in FACTORS], "at least one weight must be above 0"),
    ],
    ids=["no value", "not a number", "unknown factor", "negative", "all zero"],
)
def test_a_bad_weight_is_one_line_exit_2(
    tmp_path: Path, command: str, items: list[str], needle: str
) -> None:
    plan = tmp_path / "plan.yaml"
    extra = ["--plan", plan] if command == "recommend" else ["--report", tmp_path / "r.html"]
    args = [a for item in items for a in ("--weight", item)]
    message = _error(2, command, SAAS, *args, *extra)
    assert message.startswith("--weight: ") and needle in message
    assert list(tmp_path.iterdir()) == []  # nothing written


# ---------------------------------------------------------------------------- recommend


@pytest.fixture(scope="module")
def saas_recommend(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``recommend --json`` on the SaaS example (the plan measured as one fleet)."""
    return _json("recommend", SAAS, "--json", "--plan", tmp_path_factory.mktemp("r") / "p.yaml")


def test_recommend_prints_the_plan_and_writes_it_as_a_scenario(
    saas_plan: tuple[str, str, Path], saas_recommend: dict[str, Any], saas_json: dict[str, Any]
) -> None:
    text, stderr, path = saas_plan
    hybrid, v = saas_recommend["decision"]["hybrid"], saas_recommend["decision"]["verdict"]
    check = saas_recommend["decision"]["plan_check"]
    kept = check["rounds"][check["kept_round"] - 1]
    cost, printed = _printed_plan(text, [s["name"] for s in saas_json["substrates"]])
    predicted = f"${hybrid['cost_usd_per_month']:,.0f} a month"
    assert cost == f"{predicted} predicted, ${kept['measured_cost']:,.0f} measured as one fleet"
    assert printed == hybrid["assignment"] == kept["assignment"]
    assert f"Wrote the plan to {path}" in _flat(stderr)
    # On top, as comments: the cost, the verdict and its reasons, predicted vs measured.
    lines = path.read_text("utf-8").splitlines()
    header = "\n".join(lines[: next(i for i, x in enumerate(lines) if not x.startswith("#"))])
    assert f"{predicted}." in header and all(r in header for r in v["reasons"])
    assert f"{v['winner']}, {v['margin']:.1f} points ahead of {v['runner_up']}" in header
    assert f"Plan placed and replayed as one fleet ({check['label']})" in header
    plan, original = load_scenario(path), load_scenario(SAAS)
    assert plan.constraints.allowed == {t: [s] for t, s in printed.items()}
    # the plan is a hybrid column of its own, each tenant in the part of its substrate
    (extra,) = [s for s in plan.substrates if s not in original.substrates]
    assert extra.kind == "hybrid" and extra.name == check["label"]
    by_part = {t: p.substrate.name or p.substrate.kind for p in extra.parts for t in p.tenants}
    assert by_part == printed
    rest = {"constraints": {"allowed"}, "substrates": True}  # the rest: the scenario as it was
    assert plan.model_dump(exclude=rest) == original.model_dump(exclude=rest)
    assert plan.substrates[: len(original.substrates)] == original.substrates


def test_the_plan_is_a_fixed_point(
    saas_plan: tuple[str, str, Path], saas_recommend: dict[str, Any]
) -> None:
    again = saas_plan[2].with_name("again.yaml")
    data = _json("recommend", saas_plan[2], "--json", "--plan", again)
    hybrid, before = data["decision"]["hybrid"], saas_recommend["decision"]["hybrid"]
    assert hybrid["assignment"] == before["assignment"]
    # the plan's column is measured with the rest: one round, no new hybrid
    check = data["decision"]["plan_check"]
    assert check["status"] == "stable" and len(check["rounds"]) == 1
    column = next(s for s in data["substrates"] if s["name"] == check["label"])
    total = column["cost"]["per_month_usd"]["total"]
    assert check["rounds"][0]["measured_cost"] == pytest.approx(total, abs=0.01)
    assert load_scenario(again).model_dump() == load_scenario(saas_plan[2]).model_dump()


def test_an_edited_plan_is_evaluated_as_written(
    saas_plan: tuple[str, str, Path], saas_json: dict[str, Any], tmp_path: Path
) -> None:
    data = yaml.safe_load(saas_plan[2].read_text("utf-8"))
    allowed = data["constraints"]["allowed"]
    tenant, now = next(iter(allowed.items()))
    other = next(s["name"] for s in saas_json["substrates"] if s["name"] != now[0])
    allowed[tenant] = [other]
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    result = _json("recommend", edited, "--json", "--plan", tmp_path / "next.yaml")
    hybrid = result["decision"]["hybrid"]
    assert hybrid["assignment"] == {t: s[0] for t, s in allowed.items()}
    _assert_hybrid_is_the_sum_of_tenant_costs(result)
    # The plan was least cost, so the edit costs more, and the report says which list did it.
    assert hybrid["cost_usd_per_month"] > saas_json["decision"]["hybrid"]["cost_usd_per_month"]
    assert any(b.startswith("allowed") and tenant in b for b in hybrid["binding"])


def test_a_plan_made_with_weights_gives_its_verdict_again(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    first = _json("recommend", SAAS, "--json", "--weight", "isolation=5", "--plan", plan)
    again = _json("recommend", plan, "--json", "--plan", tmp_path / "again.yaml")
    # the header's verdict (the plan file adds the plan as a column: scored, not winning)
    verdict, label = again["decision"]["verdict"], first["decision"]["plan_check"]["label"]
    assert verdict["pods_unplaced"].pop(label) == 0
    assert verdict == first["decision"]["verdict"]


TRACE = "series,time_s,cpu_cores,memory_mib\na,0,1,100\na,300,2,200\nb,0,0.5,64\nb,600,0.5,64\n"


def test_trace_paths_are_rewritten_for_a_plan_in_another_folder(tmp_path: Path) -> None:
    source, target = tmp_path / "in", tmp_path / "out" / "plans"
    for folder in (source, target):
        folder.mkdir(parents=True)
    (source / "usage.csv").write_text(TRACE, "utf-8")
    usage = {"model": "trace", "trace": "usage.csv", "series": ["a", "b"]}
    work = make_workload("w", replicas=2, cpu="2", memory="1Gi", usage=usage)
    scenario = source / "scenario.yaml"
    hour = {"horizon_hours": 1, "step_minutes": 5}
    scenario.write_text(
        scenario_yaml(tenants=[make_tenant("t", workloads=[work])], simulation=hour)
    )
    first = _json("recommend", scenario, "--json", "--plan", target / "plan.yaml")
    # The trace is outside the plan's folder now: reading it takes --allow-paths, as the
    # plan's header says.
    assert "with --allow-paths" in (target / "plan.yaml").read_text(encoding="utf-8")
    plan = load_scenario(target / "plan.yaml", allow_paths=True)
    trace = plan.tenants[0].clusters[0].workloads[0].usage.trace
    assert trace is not None and not Path(trace).is_absolute()
    assert (target / trace).resolve() == (source / "usage.csv").resolve()
    # The simulation reads the trace from the plan's folder: a wrong path would exit 2.
    again = _json(
        "recommend", target / "plan.yaml", "--json", "--plan", target / "again.yaml",
        "--allow-paths",
    )  # fmt: skip
    for key in ("assignment", "cost_usd_per_month"):
        assert again["decision"]["hybrid"][key] == first["decision"]["hybrid"][key]
    # the same replays; the plan file adds the plan's column
    replayed = [{s["name"]: s["simulation"] for s in run["substrates"]} for run in (first, again)]
    label = first["decision"]["plan_check"]["label"]
    assert set(replayed[1]) == {*replayed[0], label}
    assert all(replayed[1][name] == figures for name, figures in replayed[0].items())


# --------------------------------------------------------------------------- constraints

PINNED = {"bank": ["baremetal-shared"], "code": ["baremetal-shared"]}
PAIR = [make_tenant("bank", isolation="regulated"), make_tenant("code", isolation="untrusted")]
INFEASIBLE: dict[str, tuple[dict[str, Any], str]] = {  # scenario fields, message parts
    "budget": (
        {"constraints": {"budget_usd_per_month": 1}},
        "the budget of $1.00 a month is below|the least cost meeting every other constraint",
    ),
    "isolation": (  # regulated and untrusted never share a kernel (the default rule)
        {"tenants": PAIR, "constraints": {"allowed": PINNED}},
        "these constraints conflict|bank may only use baremetal-shared|code may only use "
        "baremetal-shared|bank and code may not share baremetal-shared (isolation rule)",
    ),
}


@pytest.mark.parametrize("case", list(INFEASIBLE))
def test_constraints_that_cannot_hold_exit_3_and_compare_notes_it(
    write_yaml: WriteYaml, tmp_path: Path, case: str
) -> None:
    fields, needles = INFEASIBLE[case]
    path = write_yaml(scenario_yaml(**fields))
    message = _error(3, "recommend", path, "--plan", tmp_path / "plan.yaml")
    assert message.startswith("no hybrid plan meets every constraint: ")
    assert all(n in message for n in needles.split("|")), message
    assert not (tmp_path / "plan.yaml").exists()
    data = _json("compare", path, "--json")  # compare still reports; the plan is a note
    assert data["decision"]["hybrid"] is None and data["decision"]["pareto"] == []
    assert message in data["decision"]["notes"]
    if case == "budget":  # one tenant, no other constraint: its cheapest substrate
        least = min(_tenant_cost(data, s, "t") for s in _by_name(data))
        assert f"below ${least:,.0f}, the least cost" in message
    assert f"note: {message}" in _flat(_ok("compare", path))


@pytest.mark.parametrize("command", ["recommend", "compare"])
@pytest.mark.parametrize(
    ("allowed", "needles"),
    [
        ({"ghost": ["vm"]}, ["constraints.allowed.ghost: no tenant is called 'ghost'"]),
        ({"t": ["vmm"]}, ["constraints.allowed.t[0]: no substrate is called 'vmm'", "'vm'?"]),
    ],
    ids=["tenant", "substrate"],
)
def test_an_unknown_name_in_allowed_is_refused_by_the_loader(
    write_yaml: WriteYaml, command: str, allowed: dict[str, list[str]], needles: list[str]
) -> None:
    path = write_yaml(scenario_yaml(constraints={"allowed": allowed}), "bad.yaml")
    message = _error(2, command, path)
    assert message.startswith(f"{path}: line ") and all(n in message for n in needles), message


# -------------------------------------------------------------- pods that do not fit


def _unplaceable(solver_cpu: str) -> str:
    """64-core hosts bought as needed; ``small`` fits everywhere; ``big`` asks for two pods
    of ``solver_cpu`` cores: 63 fit a bare-metal host (64,000 − the kubelet's 230m − the
    DaemonSets' 400m = 63,370m) but no VM (the hypervisor keeps 816m, so a VM has at most
    63 vCPUs, of which its own kubelet and DaemonSets keep 628m), 63.5 fit nowhere."""
    return scenario_yaml(
        tenants=[
            make_tenant("small", workloads=[make_workload("api", replicas=4, cpu="1")]),
            make_tenant(
                "big",
                kubernetes_version="1.31",
                workloads=[make_workload("solver", replicas=2, cpu=solver_cpu)],
            ),
        ],
        substrates=[
            {"kind": "baremetal-shared"},
            {"kind": "vm", "name": "vm-kvm", "hypervisor": "kvm"},
            {"kind": "vm", "name": "vm-esxi", "hypervisor": "esxi"},
        ],
        simulation={"horizon_hours": 24},
    )


def test_a_substrate_that_cannot_place_a_tenant_never_wins_on_cost(
    write_yaml: WriteYaml, tmp_path: Path
) -> None:
    # Issue 9, defect 13: both VM substrates leave big's pods unplaced, KVM costs less (it
    # opens no host for big); versions weighed 100× make them outscore bare metal (one
    # shared version where big wants 1.31). Bare metal, the only substrate placing big,
    # wins instead, and every report says why.
    path = write_yaml(_unplaceable("63"))
    data = _json("compare", path, "--json", "--weight", "versions=100")
    dollars = {s["name"]: s["cost"]["per_month_usd"]["total"] for s in data["substrates"]}
    assert dollars["vm-kvm"] < dollars["baremetal-shared"]  # ESXi's licences cost more
    placed = {s["name"]: s["pods"]["placed"] for s in data["substrates"]}
    assert placed == {"baremetal-shared": 6, "vm-kvm": 4, "vm-esxi": 4}
    d = data["decision"]
    v, subs = d["verdict"], {s["name"]: s for s in d["substrates"]}
    outscore = [
        n for n in ("vm-kvm", "vm-esxi") if subs[n]["total"] > subs["baremetal-shared"]["total"]
    ]
    assert outscore, (
        "the case no longer reproduces the defect: no VM substrate outscores bare metal"
    )
    assert v["winner"] == "baremetal-shared" and v["placement_decides"] is True
    assert v["pods_unplaced"] == {"baremetal-shared": 0, "vm-kvm": 2, "vm-esxi": 2}
    for name in outscore:
        assert any(
            r.startswith(
                f"placement: {name} places 2 pods fewer than baremetal-shared (short on big)"
            )
            for r in v["reasons"]
        )
    # the VM substrates' lower bills are no saving: they score 0 on cost
    assert [subs[n]["factors"]["cost"]["score"] for n in ("vm-kvm", "vm-esxi")] == [0, 0]
    # big is best on bare metal; the least-cost plan keeps it there
    assert {t["name"]: t["best"] for t in d["tenants"]}["big"] == "baremetal-shared"
    assert d["hybrid"]["assignment"]["big"] == "baremetal-shared"
    # only bare metal places every pod: nothing can flip the verdict, and it says so
    assert d["sensitivity"]["tornado"] == []
    assert "the verdict rests on placement" in " ".join(d["notes"] + d["sensitivity"]["notes"])
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    text = _flat(
        _ok("compare", path, "--weight", "versions=100", "--report", html, "--markdown", md)
    )
    runner_up = v["runner_up"]
    assert f"Verdict: baremetal-shared ahead of {runner_up}, which places fewer pods" in text
    assert (
        f"**baremetal-shared** wins over **{runner_up}**, which places fewer pods."
        in md.read_text("utf-8")
    )
    words = _flat(unescape(re.sub(r"<[^>]+>", "", html.read_text("utf-8"))))
    assert f"baremetal-shared wins over {runner_up}, which places fewer pods." in words
    assert all(_flat(r) in words for r in v["reasons"])


def test_when_no_substrate_can_place_a_tenant_the_verdict_says_so(write_yaml: WriteYaml) -> None:
    path = write_yaml(_unplaceable("63500m"))
    data = _json("compare", path, "--json")
    assert {s["name"]: s["pods"]["placed"] for s in data["substrates"]} == dict.fromkeys(
        ("baremetal-shared", "vm-kvm", "vm-esxi"), 4
    )
    v = data["decision"]["verdict"]
    assert v["reasons"][0].startswith("no substrate places every pod: ")
    assert "places the most, 4 of 6" in v["reasons"][0]
    assert not v["placement_decides"]
    # the plan still holds: big goes where most of it fits (nowhere: 0 of 2 on each)
    hybrid = data["decision"]["hybrid"]
    assert (
        "big: no substrate places all its pods; the plan may only put it where most fit (0 of 2)"
        in hybrid["notes"]
    )
    assert "no substrate places every pod" in _flat(_ok("compare", path))


# ----------------------------------------------------------------------------- injection

NAMES = ["<script>alert(1)</script>", "[red]x[/red]"]


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("injection")
    path = folder / "scenario.yaml"
    path.write_text(scenario_yaml(tenants=[make_tenant(n) for n in NAMES]), "utf-8")
    data = _json(
        "compare", path, "--report", folder / "r.html", "--markdown", folder / "r.md", "--json"
    )
    files = {k: (folder / f"r.{k}").read_text("utf-8") for k in ("html", "md")}
    return {"json": data, **files, "terminal": _ok("compare", path)}


def test_the_reports_show_the_names_only_escaped(
    injected: dict[str, Any], saas_run: tuple[str, str, str]
) -> None:
    html = injected["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html.lower()
    _assert_self_contained(html)
    scripts = [[a for t, a in _Tags(page).tags if t == "script"] for page in (html, saas_run[1])]
    assert scripts[0] == scripts[1]  # the names added no script element
    md = injected["md"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md and "<script" not in md.lower()
    assert "\\[red\\]x\\[/red\\]" in md and "[red]x[/red]" not in md


def test_the_terminal_shows_markup_literally(injected: dict[str, Any]) -> None:
    text = injected["terminal"]
    assert all(n in text for n in NAMES)
    # Tables cut the long name short ("<script>aler…"); each name is in every per-tenant
    # table (rows naming a worst tenant add to one or the other): a markup-parsed
    # "[red]x[/red]" would show as "x" and drop out of the count.
    flat = _flat(text)
    tail = flat[flat.rfind(DECISION_TITLE) :]
    assert flat.count("[red]x[/red]") >= 7 and flat.count("<script>aler") >= 7  # 6 tables, the plan
    assert tail.count("[red]x[/red]") >= 2 and tail.count("<script>aler") >= 2  # scores, the plan


def test_the_json_round_trips_both_names(injected: dict[str, Any]) -> None:
    data, d = injected["json"], injected["json"]["decision"]
    assert [t["name"] for t in d["tenants"]] == NAMES == list(d["hybrid"]["assignment"])
    for entry in data["substrates"]:
        assert [t["name"] for t in entry["tenants"]] == NAMES
        for section in ("simulation", "isolation", "failures", "lifecycle", "cost"):
            assert [t["name"] for t in entry[section]["tenants"]] == NAMES, section


ONE_SUBSTRATE = """\
name: single
hardware:
  host_models:
    - {name: std, cores: 32, memory: 256Gi}
substrates:
  - kind: baremetal-shared
tenants:
  - name: web
    workloads:
      - {name: api, replicas: 4, requests: {cpu: "1", memory: 2Gi}}
"""


def test_one_substrate_has_no_verdict_to_flip(tmp_path: Path) -> None:
    # With no rival the winner's margin is infinite: no tornado bar may carry it (JSON
    # refuses inf; this was an internal error).
    path = tmp_path / "single.yaml"
    path.write_text(ONE_SUBSTRATE, encoding="utf-8")
    result = CliRunner().invoke(app, ["compare", str(path), "--json"])
    assert result.exit_code == 0, result.output
    sensitivity = json.loads(result.stdout)["decision"]["sensitivity"]
    assert sensitivity["tornado"] == []
    assert any("only substrate" in n for n in sensitivity["notes"])
