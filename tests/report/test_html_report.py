"""The HTML report, opened in a real browser: Debian's Chromium, headless, through Playwright.

The report of ``examples/saas-platform.yaml`` (compare, simulate, analyse and decide, as
``underlay compare --report`` runs them) is written to a temporary file and opened by its ``file://`` URL. The page must
draw every figure, log no console error and no page error, and request nothing but the
file itself. A tenant, an isolation class and the scenario named
``<script>alert(1)</script>`` must show as text, and no alert may fire.

Artefacts: each browser test saves a full-page screenshot (and the page) in its
``tmp_path``; when ``UNDERLAY_ARTIFACTS`` names a folder, they are copied there too (e.g.
``UNDERLAY_ARTIFACTS=tests/artifacts scripts/test tests/report``) for a person to look at.

The browser tests need ``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run``
installs it) and skip with that reason without it. Playwright's own browser download
(``playwright install``) is not used.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_markdown_report import saas_decision, saas_real_decision

from underlay import compare, load_scenario
from underlay.model.scenario import IsolationClassDef, Scenario
from underlay.pipeline import Analysis, Comparison, Simulation, analyse, simulate
from underlay.report.figure_set import build_figures
from underlay.report.html import render_html, script_json

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "saas-platform.yaml"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INJECTED = "<script>alert(1)</script>"
MARKUP = "<b>bold</b>&amp;"  # Plotly would draw this bold and decode the entity
ALL_FIGURES = [
    "fig-utilisation",
    "fig-sla",
    "fig-interference",
    "fig-kernel-sharing",
    "fig-blast-radius",
    "fig-versions",
    "fig-cost",
    "fig-pareto",
    "fig-tornado",
]


@cache
def _saas() -> tuple[Comparison, Simulation, Analysis]:
    scenario = load_scenario(EXAMPLE)
    comparison = compare(scenario)
    simulation = simulate(scenario, comparison=comparison)
    return comparison, simulation, analyse(comparison, simulation)


def _names(comparison: Comparison) -> tuple[list[str], list[str]]:
    return [t.name for t in comparison.scenario.tenants], [s.name for s in comparison.substrates]


# ---------------------------------------------------------------------------- no browser


@given(
    st.recursive(
        st.text() | st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
        lambda kids: st.lists(kids) | st.dictionaries(st.text(), kids),
    )
)
def test_script_json_cannot_close_the_script_element(data: Any) -> None:
    text = script_json(data)
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(text) == data  # ... and means the same


def test_script_json_escapes_a_closing_tag() -> None:
    name = "</script><script>alert(1)</script>\u2028"
    text = script_json({"name": name})
    assert "\\u003c" in text and "\\u2028" in text
    assert not set(text) & {"<", ">", "\u2028"}
    assert json.loads(text) == {"name": name}


def _outside_scripts(page: str) -> str:
    return re.sub(r"<script\b[^>]*>.*?</script>", "", page, flags=re.DOTALL)


def test_the_page_references_nothing_outside_itself() -> None:
    comparison, simulation, analysis = _saas()
    page = render_html(comparison, simulation, analysis)
    markup = _outside_scripts(page)
    # Links only to anchors in the page; no src, no stylesheet, no font.
    assert re.findall(r"""\b(?:src|href)\s*=\s*(?!["']?#)""", markup) == []
    assert "@import" not in markup and "url(" not in markup
    assert "default-src 'none'" in markup  # the CSP that forbids any request
    assert page.count("<script") == 3  # plotly.js, the figures' JSON, the renderer


def test_stages_not_run_leave_a_line_and_no_figure() -> None:
    comparison, _, _ = _saas()
    page = render_html(comparison)
    assert "No verdict: the decision did not run." in page
    assert "the simulation did not run" in page
    assert "the isolation analysis did not run" in page
    figures = re.findall(r'<div class="plot" id="([-a-z]+)">', page)
    assert figures == ["fig-cost"]  # the static cost estimate is always there


def test_figures_show_at_most_max_tenants() -> None:
    comparison, simulation, analysis = _saas()
    page = render_html(comparison, simulation, analysis, max_tenants=2)
    assert page.count("Showing 2 of 4 tenants: ") == 4  # SLA, interference, graph, versions


def test_names_never_enter_a_hover_template() -> None:
    # Plotly substitutes "%{...}" in a hover template: a name must travel as data.
    odd = "zz%{x}zz"
    scenario = _injected(load_scenario(EXAMPLE))
    tenants = list(scenario.tenants)
    tenants[0] = tenants[0].model_copy(update={"name": odd})
    scenario = scenario.model_copy(update={"tenants": tenants})
    comparison = compare(scenario)
    simulation = simulate(scenario, comparison=comparison)
    analysis = analyse(comparison, simulation)
    decision = saas_decision(*_names(comparison))
    figures = build_figures(comparison, simulation, analysis, decision)
    assert [f.key for f in figures] == ALL_FIGURES
    for f in figures:
        for trace in f.figure.data:
            assert "zz" not in (getattr(trace, "hovertemplate", None) or ""), f.key
    text = json.dumps([f.figure.to_plotly_json() for f in figures], default=str)
    assert "zz%{x}zz" in text  # ... it is in the data, escaped for Plotly's text


# ---------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless (skips without it)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Visit:
    """What happened while a page was open."""

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []


def _open(browser: Any, path: Path, visit: Visit) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: m.type == "error" and visit.console_errors.append(m.text))
    page.on("pageerror", lambda e: visit.page_errors.append(str(e)))
    page.on("request", lambda r: visit.requests.append(r.url))

    def dialog(d: Any) -> None:
        visit.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    page.on("dialog", dialog)
    # Nothing may leave the machine even if the page tried: abort all but the file.
    page.route(re.compile(r"^(?!file:)"), lambda route: route.abort())
    page.goto(path.as_uri(), wait_until="load")
    # CSS selectors only: the page's CSP forbids the eval a JS predicate would need.
    for key in page.eval_on_selector_all(".plot", "els => els.map(e => e.id)"):
        page.wait_for_selector(f"#{key} .main-svg", state="attached", timeout=30_000)
    return page


def _keep(page: Any, html_path: Path, name: str) -> None:
    shot = html_path.with_suffix(".png")
    page.screenshot(path=str(shot), full_page=True)
    folder = os.environ.get("UNDERLAY_ARTIFACTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / f"{name}.png")
        shutil.copy(html_path, Path(folder) / f"{name}.html")


def test_saas_report_in_a_browser(browser: Any, tmp_path: Path) -> None:
    comparison, simulation, analysis = _saas()
    decision = saas_real_decision()
    v = decision.scorecard.verdict
    assert v.runner_up and not v.tie and not v.placement_decides  # the headline checked below
    path = tmp_path / "saas-platform.html"
    path.write_text(render_html(comparison, simulation, analysis, decision), encoding="utf-8")
    visit = Visit()
    page = _open(browser, path, visit)
    try:
        assert visit.console_errors == []
        assert visit.page_errors == []
        assert visit.requests == [path.as_uri()]
        drawn = page.eval_on_selector_all(
            ".plot",
            "els => els.map(e => [e.id, e.classList.contains('js-plotly-plot'),"
            " e.querySelectorAll('.main-svg').length > 0])",
        )
        assert drawn == [[key, True, True] for key in ALL_FIGURES]
        verdict = page.inner_text("#verdict")
        assert f"{v.winner} wins by {v.margin:.1f} points over {v.runner_up}." in verdict
        assert v.reasons and all(reason in verdict for reason in v.reasons)
        # The verdict comes before every section.
        order = page.eval_on_selector_all(
            "header section, main section", "els => els.map(e => e.id)"
        )
        assert order[0] == "verdict"
        _keep(page, path, "saas-platform-report")
    finally:
        page.close()


def _injected(scenario: Scenario) -> Scenario:
    # Tenant and class names are still restricted by the model: bypass validation on purpose.
    cls = f"{INJECTED}-class"
    iso = scenario.isolation.model_copy(
        update={"classes": {cls: IsolationClassDef(inherits=["untrusted"])}}
    )
    tenants = list(scenario.tenants)
    tenants[3] = tenants[3].model_copy(update={"name": INJECTED, "isolation": cls})
    tenants[2] = tenants[2].model_copy(update={"name": MARKUP})
    return scenario.model_copy(update={"tenants": tenants, "isolation": iso, "name": INJECTED})


def test_injected_names_stay_text(browser: Any, tmp_path: Path) -> None:
    scenario = _injected(load_scenario(EXAMPLE))
    comparison = compare(scenario)
    simulation = simulate(scenario, comparison=comparison)
    analysis = analyse(comparison, simulation)
    tenants, substrates = _names(comparison)
    decision = saas_decision(tenants, substrates)
    decision.scorecard.verdict.reasons.append(f"{INJECTED} is untrusted")
    path = tmp_path / "injected.html"
    path.write_text(render_html(comparison, simulation, analysis, decision), encoding="utf-8")
    visit = Visit()
    page = _open(browser, path, visit)
    try:
        assert visit.dialogs == []
        assert visit.page_errors == []
        assert visit.console_errors == []
        assert page.locator("script").count() == 3  # none added by a name
        text = page.inner_text("body")
        assert f"underlay report: {INJECTED}" in text  # the title
        assert f"{INJECTED} is untrusted" in text  # a verdict reason
        assert f"{INJECTED}-class" in text  # the class, in the exposure table
        # In the figures too, drawn as written (Plotly would otherwise eat the tags).
        graph = " ".join(page.locator("#fig-kernel-sharing .main-svg").all_text_contents())
        assert INJECTED in graph
        assert MARKUP in graph
        assert MARKUP in text
        assert page.title() == f"underlay report: {INJECTED}"
        _keep(page, path, "injected-report")
    finally:
        page.close()
