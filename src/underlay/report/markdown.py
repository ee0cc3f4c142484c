"""The Markdown report: the verdict on top, then the sections of
:mod:`underlay.report.sections` as GitHub-flavoured Markdown tables.

Every name comes from user input (scenario, tenants, substrates, classes, workloads), so
every text is escaped on the way out (:func:`escape`): a tenant called ``a|b`` does not
split a table row, ``<script>`` stays text, backticks open no code span.
"""

from __future__ import annotations

import re

from underlay.analysis.results import Analysis, Comparison
from underlay.decision.results import Decision
from underlay.report.document import Table, missing
from underlay.report.sections import report_sections, run_summary
from underlay.simulation.results import Simulation

__all__ = ["escape", "render_markdown"]

_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "`": "\\`",
        "|": "\\|",
        "*": "\\*",
        "_": "\\_",
        "[": "\\[",
        "]": "\\]",
        "~": "\\~",
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        "\n": " ",
        "\r": " ",
    }
)
# What would open a block (heading, list, rule, setext underline) at the start of a line.
_BLOCK_START = re.compile(r"^(#{1,6}(\s|$)|[-+=]|\d{1,9}[.)](\s|$))")


def escape(text: str, *, line_start: bool = False) -> str:
    """``text`` as literal Markdown (GitHub-flavoured, CommonMark): table pipes, emphasis,
    code spans, links and HTML escaped, line breaks folded; ``line_start``: the text
    begins a line, so a leading block marker (``#``, ``-``, ``1.``) is escaped too."""
    out = text.translate(_ESCAPES)
    return "\\" + out if line_start and _BLOCK_START.match(out) else out


def _md_table(t: Table) -> list[str]:
    align = ["--:" if right else "---" for right in t.right_aligned()]
    lines = [f"**{escape(t.title)}**", ""] if t.title else []
    lines.append("| " + " | ".join(escape(h) for h in t.header) + " |")
    lines.append("| " + " | ".join(align) + " |")
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in t.labelled()]
    return [*lines, ""]


def render_markdown(
    comparison: Comparison,
    simulation: Simulation | None = None,
    analysis: Analysis | None = None,
    decision: Decision | None = None,
) -> str:
    """The whole report as GitHub-flavoured Markdown: the verdict first, a section per
    factor, the trade-offs. Stages passed as None are left out with a line saying so."""
    sc = comparison.scenario
    out = [f"# underlay report: {escape(sc.name)}", ""]
    if sc.description:
        out += [escape(sc.description.strip(), line_start=True), ""]
    out += [
        escape(run_summary(comparison, simulation, analysis), line_start=True) + ".",
        "",
        "## Verdict",
        "",
    ]
    if decision is None:
        out += [escape(missing("verdict", "decision")), ""]
    else:
        v = decision.scorecard.verdict
        lead = f"over **{escape(v.runner_up)}**" if v.runner_up else "(the only substrate compared)"
        if v.tie and v.runner_up:
            out += [f"A tie between **{escape(v.winner)}** and **{escape(v.runner_up)}**.", ""]
        elif v.runner_up and v.placement_decides:
            out += [f"**{escape(v.winner)}** wins {lead}, which places fewer pods.", ""]
        else:
            out += [f"**{escape(v.winner)}** wins by {v.margin:.1f} points {lead}.", ""]
        out += [f"- {escape(r, line_start=True)}" for r in v.reasons] + ([""] if v.reasons else [])
    for s in report_sections(comparison, simulation, analysis, decision):
        out += [f"## {escape(s.title)}", "", escape(s.intro, line_start=True), ""]
        out += [f"- {escape(p, line_start=True)}" for p in s.points] + ([""] if s.points else [])
        for t in s.tables:
            out += _md_table(t)
        for n in s.notes:
            out += [f"> {escape(n, line_start=True)}", ""]
    return "\n".join(out).rstrip() + "\n"
