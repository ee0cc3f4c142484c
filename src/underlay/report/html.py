"""The self-contained HTML report: one file that works offline, with interactive figures.

What is in the file: the verdict on top (winner, margin, reasons), the sections of
:mod:`underlay.report.sections` (the same tables as the Markdown report) and the figures of
:mod:`underlay.report.figures`, each placed in its section. It needs nothing else:

- plotly.js is inlined once, from the installed ``plotly`` package (no CDN); CSS is
  inline; fonts are the system's (no web fonts). A Content-Security-Policy in the page
  (``default-src 'none'``) forbids every request the page could make — fetches, images,
  fonts, frames — so even a future figure option that would reach out cannot;
- the figures travel as one JSON document in a ``<script type="application/json">``
  element, drawn by a ten-line script with ``Plotly.newPlot``.

Security: every name in the report comes from user input (scenario, tenants, substrates,
workloads, isolation classes). Text reaches the page only through Jinja2 with
autoescaping on; the two inserts that are not escaped are made safe for a ``<script>``
element here: the figure JSON has ``<``, ``>``, ``&``, U+2028 and U+2029 written as
``\\uXXXX`` escapes (:func:`script_json`), so no name can close the element or start a
comment; plotly.js, which contains no ``</script``, gets the same check. Inside the
figures, names are escaped for Plotly's own HTML-like text (:func:`figures.label`).
"""

from __future__ import annotations

import functools
import re
from importlib.resources import files
from typing import Any

from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup

from underlay.analysis.results import Analysis, Comparison
from underlay.decision.results import Decision
from underlay.report.document import is_figure, missing
from underlay.report.figure_set import build_figures
from underlay.report.sections import report_sections, run_summary
from underlay.simulation.results import Simulation

__all__ = ["page_template", "plotly_js", "render_html", "script_json"]

_SCRIPT_UNSAFE = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)


def script_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element: the characters that
    could end the element, open a comment or break a JavaScript string are escaped (JSON
    has them only inside strings, where ``\\uXXXX`` means the same character)."""
    from plotly.io.json import to_json_plotly  # type: ignore[import-untyped]

    # Plotly's encoder turns NumPy arrays into typed-array specs (base64), dates to ISO.
    text: str = to_json_plotly(data)
    return text.translate(_SCRIPT_UNSAFE)


@functools.cache
def plotly_js() -> str:
    """plotly.js from the installed package, safe inside a ``<script>`` element."""
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    js: str = get_plotlyjs()
    # The bundle has no "</script"; should a future one, "<\/" means "</" in JavaScript.
    return re.sub(r"</(?=script)", r"<\\/", js, flags=re.IGNORECASE)


@functools.cache
def page_template(name: str) -> Template:
    """The package's HTML template ``templates/{name}`` (escaping on, undefined names an
    error), read once."""
    env = Environment(
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    text = files("underlay.report").joinpath(f"templates/{name}").read_text("utf-8")
    return env.from_string(text)


def render_html(
    comparison: Comparison,
    simulation: Simulation | None = None,
    analysis: Analysis | None = None,
    decision: Decision | None = None,
    *,
    max_tenants: int = 40,
) -> str:
    """The whole report as one HTML page (a few MB: plotly.js is inside). Stages passed
    as None are left out with a line saying so; figures with one mark per tenant show at
    most ``max_tenants`` tenants (the tables show all)."""
    from underlay.version import __version__

    sc = comparison.scenario
    figures = build_figures(comparison, simulation, analysis, decision, max_tenants=max_tenants)
    sections = [
        {**vars(s), "figures": [f for f in figures if f.section == s.key]}
        for s in report_sections(comparison, simulation, analysis, decision)
    ]
    data = {f.key: f.figure.to_plotly_json() for f in figures}
    return page_template("report.html.j2").render(
        scenario=sc.name,
        description=(sc.description or "").strip(),
        summary=run_summary(comparison, simulation, analysis),
        verdict=None if decision is None else decision.scorecard.verdict,
        no_verdict=missing("verdict", "decision"),
        sections=sections,
        figures=Markup(script_json(data)),
        plotly_js=Markup(plotly_js()),
        version=__version__,
        is_figure=is_figure,
    )
