"""The Markdown report: golden output for the bundled example, escaping of names, and the
line that says why a section has no data.

The golden report shows the real decision on the bundled example (``decide`` on its
comparison, simulation and analyses): the same decision the JSON golden freezes
(``tests/golden/saas-platform.json``, checked against the Python API by
``tests/cli/test_cli_golden.py``), and its scorecard is checked here against that file
and against its own weights (each total the weighted mean of the scores shown).

``saas_decision`` builds a decision by hand, for the tests that need one over names the
pipeline refuses (an injected ``<script>``) or without a plan; its totals are the
weighted means of its scores, so even a made-up scorecard adds up.

Regenerate the golden file after an intended change with::

    UPDATE_GOLDEN=1 scripts/test tests/report

then review the diff of ``tests/golden/saas-platform.md`` like any other change.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from underlay import compare, load_scenario
from underlay.decision.decide import decide
from underlay.decision.results import (
    Decision,
    FactorScore,
    HybridPlan,
    ParetoPoint,
    Scorecard,
    Sensitivity,
    SubstrateScore,
    TenantScore,
    TornadoBar,
    Verdict,
    WeightRange,
)
from underlay.model.scenario import Scenario
from underlay.pipeline import Analysis, Comparison, Simulation, analyse, simulate
from underlay.report.markdown import escape, render_markdown

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "saas-platform.md"
JSON_GOLDEN = REPO / "tests" / "golden" / "saas-platform.json"
EXAMPLE = REPO / "examples" / "saas-platform.yaml"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
FACTORS = ("performance", "versions", "isolation", "sla", "cost")


def saas_decision(tenants: list[str], substrates: list[str], winner: str = "vm") -> Decision:
    """A hand-made decision over ``substrates`` (made-up scores: ``winner`` first, the rest
    in falling order, each total the weighted mean of its scores) with a hybrid plan, a
    Pareto frontier and a sensitivity."""
    order = [winner, *(s for s in substrates if s != winner)]
    weights = {"performance": 1.0, "versions": 1.0, "isolation": 2.0, "sla": 1.5, "cost": 1.0}
    base = {s: 80.0 - 12.5 * k for k, s in enumerate(order)}
    factor_scores = {s: {f: base[s] + 2 * i for i, f in enumerate(FACTORS)} for s in substrates}
    total = {
        s: sum(weights[f] * x for f, x in factor_scores[s].items()) / sum(weights.values())
        for s in substrates
    }
    scores = [
        SubstrateScore(
            s,
            s,
            {
                f: FactorScore(f, factor_scores[s][f], i + 1.5, "unit", f"{f} figure of {s}")
                for i, f in enumerate(FACTORS)
            },
            total[s],
        )
        for s in substrates
    ]
    tenant_scores = [
        TenantScore(
            t,
            [{f: total[s] for f in FACTORS} for s in substrates],
            [total[s] - i for s in substrates],
            winner,
        )
        for i, t in enumerate(tenants)
    ]
    runner_up = order[1] if len(order) > 1 else None
    verdict = Verdict(
        winner,
        runner_up,
        total[winner] - total[runner_up] if runner_up else 0.0,
        [
            f"{winner} costs $2,673 a month against $4,897 for {runner_up}",
            f"{winner} keeps regulated tenants off the untrusted tenant's kernel",
        ],
    )
    split = {t: (substrates[0] if i % 2 else winner) for i, t in enumerate(tenants)}
    plan = HybridPlan(
        split,
        2500.0,
        {s: (None if k == 1 else 2673.0 + 1000 * k) for k, s in enumerate(substrates)},
        ["regulated tenants never share a kernel with untrusted ones"],
        ["regulated tenants never share a kernel with untrusted ones"],
    )
    pareto = [
        ParetoPoint(2500.0, 4.34, 0.91, split),
        ParetoPoint(4897.0, 1.2, 0.95, {t: order[-1] for t in tenants}),
        ParetoPoint(11687.0, 0.0, 0.99, {t: substrates[0] for t in tenants}),
    ]
    sensitivity = Sensitivity(
        [
            WeightRange("cost", 1.0, 0.4, None, runner_up),
            WeightRange("isolation", 2.0, None, 6.5, runner_up),
        ],
        [
            TornadoBar("hypervisor CPU overhead", 2.0, 1.0, 8.0, "%", 14.0, 3.5, winner, winner),
            TornadoBar("host price", 24000, 18000, 30000, "USD", 9.0, 15.0, winner, winner),
            TornadoBar(
                "hypervisor escapes a year", 2.0, 0.5, 6.0, "/yr", 16.0, -2.0, winner, order[-1]
            ),
        ],
    )
    return Decision(Scorecard(weights, scores, tenant_scores, verdict), plan, pareto, sensitivity)


@cache
def _saas() -> tuple[Comparison, Simulation, Analysis]:
    scenario = load_scenario(EXAMPLE)
    comparison = compare(scenario)
    simulation = simulate(scenario, comparison=comparison)
    return comparison, simulation, analyse(comparison, simulation)


@cache
def saas_real_decision() -> Decision:
    """The decision the pipeline computes on the bundled example (as ``compare`` does)."""
    return decide(*_saas())


def _decision_for(comparison: Comparison) -> Decision:
    return saas_decision(
        [t.name for t in comparison.scenario.tenants], [s.name for s in comparison.substrates]
    )


def _md_rows(text: str, title: str) -> list[list[str]]:
    """The body rows of the Markdown table under ``**title**`` (cells unescaped)."""
    block = text.split(f"**{title}**\n\n", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip("|").split(" | ") for line in block.splitlines()[2:]]
    return [[cell.strip().replace("\\", "") for cell in row] for row in rows]


def test_saas_markdown_golden() -> None:
    comparison, simulation, analysis = _saas()
    text = render_markdown(comparison, simulation, analysis, saas_real_decision())
    if UPDATE:
        GOLDEN.write_text(text, encoding="utf-8")
        return
    if not GOLDEN.exists():
        pytest.fail(
            f"{GOLDEN} is missing; create it with: UPDATE_GOLDEN=1 scripts/test tests/report"
        )
    assert text == GOLDEN.read_text(encoding="utf-8"), (
        "Markdown report differs from tests/golden/saas-platform.md; if intended, regenerate "
        "with UPDATE_GOLDEN=1 scripts/test tests/report"
    )


def test_the_golden_scorecard_adds_up_and_is_the_pipeline_s() -> None:
    # The scorecard of the golden report, read back from the Markdown: each total is the
    # weighted mean of the scores shown (rounded to whole points, so within half a point),
    # and scores, weights and totals are those of the decision the JSON golden freezes.
    text = GOLDEN.read_text(encoding="utf-8")
    rows = _md_rows(text, "Scores")
    header = text.split("**Scores**\n\n", 1)[1].splitlines()[0].strip("|").split(" | ")
    substrates = [h.strip() for h in header[2:]]
    factors = {r[0]: (float(r[1]), [float(x) for x in r[2:]]) for r in rows if r[0] != "total"}
    totals = [float(x) for x in next(r for r in rows if r[0] == "total")[2:]]
    weight_sum = sum(w for w, _ in factors.values())
    for j, total in enumerate(totals):
        mean = sum(w * xs[j] for w, xs in factors.values()) / weight_sum
        assert abs(mean - total) <= 0.5 + 0.05, (substrates[j], mean, total)
    frozen = json.loads(JSON_GOLDEN.read_text(encoding="utf-8"))["decision"]
    assert {f: w for f, (w, _) in factors.items()} == frozen["weights"]
    assert substrates == [s["name"] for s in frozen["substrates"]]
    for j, s in enumerate(frozen["substrates"]):
        assert totals[j] == round(s["total"], 1)
        for f, (_, xs) in factors.items():
            assert xs[j] == round(s["factors"][f]["score"])


def test_the_verdict_comes_first_then_a_section_per_factor() -> None:
    comparison, simulation, analysis = _saas()
    decision = saas_real_decision()
    text = render_markdown(comparison, simulation, analysis, decision)
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings == [
        "Verdict",
        "Scorecard",
        "Performance and capacity",
        "Resource guarantees and SLAs",
        "Security and isolation",
        "Kubernetes versions",
        "Cost",
        "Trade-offs and sensitivity",
    ]
    v = decision.scorecard.verdict
    assert v.runner_up and not v.tie and not v.placement_decides  # the line checked below
    verdict = text.split("## Verdict\n\n", 1)[1]
    assert verdict.startswith(
        f"**{escape(v.winner)}** wins by {v.margin:.1f} points over **{escape(v.runner_up)}**."
    )
    # The hybrid plan and its cost are in the scorecard section.
    plan = decision.hybrid
    assert plan is not None
    assert f"Hybrid plan: ${plan.cost_usd_per_month:,.0f} a month" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bank-eu", "bank-eu"),
        ("a|b", "a\\|b"),  # would split a table cell
        ("`rm -rf`", "\\`rm -rf\\`"),  # would open a code span
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("R&D", "R&amp;D"),
        ("a_b*c*", "a\\_b\\*c\\*"),  # emphasis
        ("[x](http://e)", "\\[x\\](http://e)"),  # a link
        ("two\nlines", "two lines"),  # a line break would end the table row
        ("back\\slash", "back\\\\slash"),
        ("1.31", "1.31"),  # figures stay as they are
    ],
)
def test_escape(text: str, expected: str) -> None:
    assert escape(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# not a heading", "\\# not a heading"),
        ("1. not a list", "\\1. not a list"),
        ("- not a bullet", "\\- not a bullet"),
        ("1.5 hosts", "1.5 hosts"),
        ("#1", "#1"),
    ],
)
def test_escape_at_the_start_of_a_line(text: str, expected: str) -> None:
    assert escape(text, line_start=True) == expected


def _unescaped(text: str) -> str:
    """The characters of ``text`` not escaped by a backslash."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


@given(st.text())
def test_escaped_text_has_no_live_markup(text: str) -> None:
    live = _unescaped(escape(text))
    assert not set(live) & set("|`<>*_[]~\n\r")


def _injected(scenario: Scenario, name: str) -> Scenario:
    # Tenant names are still restricted by the model: bypass validation on purpose.
    tenants = list(scenario.tenants)
    tenants[0] = tenants[0].model_copy(update={"name": name})
    return scenario.model_copy(update={"tenants": tenants, "name": name})


def test_names_cannot_break_tables_or_inject_html() -> None:
    bad = "evil|`x`<script>alert(1)</script>"
    scenario = _injected(load_scenario(EXAMPLE), bad)
    comparison = compare(scenario)
    analysis = analyse(comparison, sections=("isolation", "cost"))
    decision = saas_decision([t.name for t in scenario.tenants], [bad, "vm"], winner=bad)
    text = render_markdown(comparison, None, analysis, decision)
    assert "<script>" not in text
    assert "evil\\|\\`x\\`&lt;script&gt;alert(1)&lt;/script&gt;" in text
    # Every table keeps its shape: as many live pipes in each row as in its header.
    for block in re.findall(r"((?:^\|.*\n)+)", text, flags=re.MULTILINE):
        counts = {_unescaped(row).count("|") for row in block.splitlines()}
        assert len(counts) == 1, block


def test_sections_without_data_say_why() -> None:
    comparison, _, _ = _saas()
    text = render_markdown(comparison)
    for line in [
        "No verdict: the decision did not run.",
        "No scorecard: the decision did not run.",
        "No utilisation, throughput or latency over time: the simulation did not run.",
        "No CPU SLA attainment or interference: the simulation did not run.",
        "No availability under failures: the failures analysis did not run.",
        "No kernel-sharing graph or blast radius: the isolation analysis did not run.",
        "No version timeline: the lifecycle analysis did not run.",
        "No operations cost or energy: the cost analysis did not run.",
        "No Pareto frontier or sensitivity: the decision did not run.",
    ]:
        assert line in text
    # ... and what does exist is still there: the static tables.
    assert "**Substrates (placement and capacity)**" in text
    assert "**Cost per tenant (USD / month, no ops, power at allocation)**" in text


def test_a_made_up_plan_shows_an_infeasible_substrate() -> None:
    comparison, simulation, analysis = _saas()
    text = render_markdown(comparison, simulation, analysis, _decision_for(comparison))
    assert "Hybrid plan: $2,500 a month" in text
    assert "baremetal-shared infeasible" in text  # saas_decision's second substrate


def test_a_decision_without_plan_pareto_or_sensitivity() -> None:
    comparison, simulation, analysis = _saas()
    full = saas_real_decision()
    bare = Decision(full.scorecard, None, [], None, notes=["weights from the scenario"])
    text = render_markdown(comparison, simulation, analysis, bare)
    assert "No hybrid plan: the decision holds none." in text
    assert "No Pareto frontier: the decision holds none." in text
    assert "No sensitivity: the decision holds none." in text
    assert "> weights from the scenario" in text
