"""The whole ``underlay compare --report`` on the bundled examples: wall time and its stages.

Issue target: the whole ``compare --report`` on the largest bundled example in <= 30 s on
a 2-core machine.

What it does:

1. sizes every ``examples/*.yaml`` (tenants, workloads, pods, simulation steps,
   substrates) and takes the largest by pods x steps (then x substrates) as the one the
   target applies to;
2. per example, ``--runs`` times, each command in a fresh process (after one untimed
   warm-up run of the full command, so the OS file cache is the same for every run):

   - ``underlay compare EXAMPLE --report OUT.html``, what a user waits for: the entry
     point next to this interpreter (``.venv/bin/underlay``), stdout to /dev/null (the
     terminal tables are still rendered: the CLI prints them with ``--report``), stderr
     kept for errors; wall time and the process's peak RSS (``os.wait4``);
   - the baseline: ``underlay compare EXAMPLE --no-analyse`` (placement, capacity and the
     simulation; no analyses, no decision, no report), and ``underlay --help`` (the
     interpreter and the CLI's imports: the floor of any command). The ratio report /
     no-analyse and the difference show what the analyses, the decision and the report
     cost;
   - the split by stage: a fresh process (``--one``) that runs the same steps as the CLI
     with the Python API — ``import underlay.cli``, ``load_scenario``,
     ``pipeline.compare`` (placement + capacity), ``pipeline.simulate``,
     ``pipeline.analyse`` (per section, summed over substrates, from its ``on_step``
     calls), ``decide`` (its parts timed by wrapping the functions it calls: evidence,
     scorecard, least-cost hybrid, Pareto frontier, sensitivity), ``render_html`` (its
     parts likewise: the report modules' import, figures, tables, figure JSON, inlined
     plotly.js, the rest = the template and figure dicts), writing the file, the terminal
     tables (into a string), and ``render_markdown`` (not part of ``--report``; shown
     apart). "cold" is that first pass, which pays the lazy imports and caches exactly as
     the CLI does; "warm" repeats every stage from ``compare`` on in the same process:
     the work alone. The process also checks that its HTML is byte-identical to the
     CLI's (same stages, same work).

Times are the median of the runs (min and max printed for the commands); the target is
judged on the slowest run of the largest example.

    .venv/bin/python benchmarks/report.py                              # all three examples
    .venv/bin/python benchmarks/report.py --runs 5 --example examples/saas-platform.yaml

Not part of the test suite. Imports nothing from underlay at the top, so the stage
process measures the imports itself.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TARGET_SECONDS = 30.0
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
UNDERLAY = Path(sys.executable).parent / "underlay"  # the console script: underlay.cli:main

# Stage rows of the split, in pipeline order: (key, label, indent). Keys with a dot are
# parts of the stage before them; "sum" adds the top-level rows of the --report run.
STAGES = [
    ("import", "import underlay.cli (typer, rich, pipeline)", 0),
    ("load", "load_scenario", 0),
    ("compare", "compare (placement + capacity)", 0),
    ("simulate", "simulate", 0),
    ("analyse", "analyse", 0),
    ("analyse.import", "import (analyses)", 1),
    ("analyse.isolation", "isolation", 1),
    ("analyse.failures", "failures", 1),
    ("analyse.lifecycle", "lifecycle", 1),
    ("analyse.cost", "cost", 1),
    ("decide", "decide", 0),
    ("decide.import", "import (optimiser, Pareto)", 1),
    ("decide.gather", "evidence (gather)", 1),
    ("decide.score", "scorecard", 1),
    ("decide.hybrid", "least-cost hybrid (MILP)", 1),
    ("decide.pareto", "Pareto frontier", 1),
    ("decide.sensitivity", "sensitivity", 1),
    ("html", "render_html", 0),
    ("html.import", "import (plotly, jinja2)", 1),
    ("html.figures", "figures (build_figures)", 1),
    ("html.sections", "tables (report_sections)", 1),
    ("html.json", "figure JSON (script_json)", 1),
    ("html.plotly_js", "plotly.js, inlined", 1),
    ("html.rest", "template, figure dicts, rest", 1),
    ("write", "write the HTML file", 0),
    ("terminal", "terminal tables (stdout)", 0),
]
MARKDOWN = ("markdown", "render_markdown (not in --report)", 0)


# -- the stage process (--one) ------------------------------------------------------------


class Clock:
    """Seconds per stage key. Wrapped functions stay installed after the cold pass; giving
    the clock a fresh ``times`` dict makes them count into the warm pass."""

    def __init__(self) -> None:
        self.times: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, key: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.times[key] += time.perf_counter() - t0

    def wrap(self, module: Any, name: str, key: str) -> None:
        """Replace ``module.name`` by a timed call of the original (looked up at call time
        by the code that calls it: module globals, or ``from module import name`` inside
        a function)."""
        fn: Callable[..., Any] = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self(key):
                return fn(*args, **kwargs)

        setattr(module, name, timed)


def stage_pass(clock: Clock, path: Path, html_out: Path, *, cold: bool) -> dict[str, Any]:
    """One pass of what ``compare --report`` runs, timed by stage (imports on the cold
    pass only). Returns the sizes of the HTML and Markdown it rendered."""
    if cold:
        with clock("import"):
            import underlay.cli  # what the console script imports first
    from underlay.model.loading import load_scenario
    from underlay.pipeline import SECTIONS, analyse, compare, simulate

    with clock("load"):
        sc = load_scenario(path)
    with clock("compare"):
        comparison = compare(sc)
    with clock("simulate"):
        simulation = simulate(sc, comparison=comparison)

    marks: list[tuple[str, float]] = []

    def on_step(what: str) -> None:  # "isolation on vm": that section starts now
        marks.append((what.split(" ", 1)[0], time.perf_counter()))

    with clock("analyse"):
        if cold:  # analyse imports each section's module just before its first step
            with clock("analyse.import"):
                import underlay.analysis.cost
                import underlay.analysis.failures
                import underlay.analysis.isolation
                import underlay.analysis.lifecycle  # noqa: F401
        analysis = analyse(comparison, simulation, sections=SECTIONS, on_step=on_step)
    marks.append(("", time.perf_counter()))
    for (section, t0), (_, t1) in itertools.pairwise(marks):
        clock.times[f"analyse.{section}"] += t1 - t0

    with clock("decide"):
        if cold:
            with clock("decide.import"):
                import underlay.decision.decide as decide_mod
                import underlay.decision.pareto as pareto_mod
            for name, key in (("gather", "gather"), ("score", "score"),
                              ("least_cost_plan", "hybrid"), ("sensitivity", "sensitivity")):  # fmt: skip
                clock.wrap(decide_mod, name, f"decide.{key}")
            clock.wrap(pareto_mod, "pareto_frontier", "decide.pareto")
        from underlay.decision.decide import decide, parse_weights

        decision = decide(
            comparison, simulation, analysis, weights=parse_weights([], sc.weights.as_dict())
        )

    with clock("html"):
        if cold:
            with clock("html.import"):
                import underlay.report.html as html_mod
            for name, key in (("build_figures", "figures"), ("report_sections", "sections"),
                              ("script_json", "json"), ("_plotly_js", "plotly_js")):  # fmt: skip
                clock.wrap(html_mod, name, f"html.{key}")
        from underlay.report.html import render_html

        html = render_html(comparison, simulation, analysis, decision)
    with clock("write"):
        from underlay.cli import write_atomically

        write_atomically(html_out, html)
    with clock("terminal"):
        from rich.console import Console

        from underlay.report.decision_terminal import render_decision, render_verdict_line
        from underlay.report.terminal import (
            render_analysis,
            render_comparison,
            render_simulation,
        )

        console = Console(file=io.StringIO())  # not a terminal: 80 columns, as to /dev/null
        render_verdict_line(decision, console)
        render_comparison(comparison, console, max_tenants=25)
        render_simulation(simulation, console, max_tenants=25)
        render_analysis(analysis, console, max_tenants=25)
        render_decision(decision, console, max_tenants=25)
    with clock("markdown"):
        from underlay.report.markdown import render_markdown

        markdown = render_markdown(comparison, simulation, analysis, decision)
    return {
        "html_bytes": len(html.encode("utf-8")),
        "markdown_bytes": len(markdown.encode("utf-8")),
    }


def run_one(path: Path, html_out: Path) -> dict[str, Any]:
    """The stage process: a cold pass (as the CLI), then a warm pass in the same process
    (the wrappers installed by the cold pass now count into the warm pass's times)."""
    clock = Clock()
    info = stage_pass(clock, path, html_out, cold=True)
    cold = finish(clock.times)
    clock.times = defaultdict(float)
    stage_pass(clock, path, html_out.with_suffix(".warm.html"), cold=False)
    warm = finish(clock.times)
    from underlay.report.html import _plotly_js  # cached: the bytes the page inlines

    info["plotly_js_bytes"] = len(_plotly_js().encode("utf-8"))
    return {"cold": cold, "warm": warm, **info}


def finish(times: dict[str, float]) -> dict[str, float]:
    """The split's derived rows: the rest of render_html, and the --report run's sum."""
    out = dict(times)
    parts = sum(out.get(f"html.{k}", 0.0) for k in ("import", "figures", "sections", "json",
                                                    "plotly_js"))  # fmt: skip
    out["html.rest"] = out.get("html", 0.0) - parts
    out["sum"] = sum(out.get(k, 0.0) for k, _, indent in STAGES if indent == 0)
    return out


# -- the parent: commands in fresh processes, tables --------------------------------------


def example_size(path: Path) -> dict[str, Any]:
    """What makes an example big: pods x steps, on how many substrates."""
    from underlay.model.loading import load_scenario
    from underlay.pipeline import total_pods

    sc = load_scenario(path)
    pods = total_pods(sc)
    return {
        "name": path.stem,
        "path": str(path),
        "tenants": len(sc.tenants),
        "workloads": sum(len(c.workloads) for t in sc.tenants for c in t.clusters),
        "pods": pods,
        "steps": sc.simulation.steps,
        "substrates": len(sc.substrate_labels),
        "pod_steps": pods * sc.simulation.steps,
    }


def timed_command(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of ``cmd`` in a fresh process; exit on failure."""
    with tempfile.TemporaryFile() as errors:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errors, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            errors.seek(0)
            sys.exit(f"{' '.join(cmd)}: exit {proc.returncode}\n{errors.read().decode()[-3000:]}")
    return wall, usage.ru_maxrss / 1024  # Linux: KiB


def stage_process(path: Path, html_out: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", str(path),
           "--html", str(html_out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"stage process for {path}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per stage key, the median over the stage processes."""
    return {k: statistics.median(r.get(k, 0.0) for r in runs) for k in runs[0]}


def bench_example(size: dict[str, Any], runs: int, tmp: Path) -> dict[str, Any]:
    """``runs`` repetitions of the three commands and the stage process, interleaved."""
    path = Path(size["path"])
    report = tmp / f"{size['name']}.html"
    commands = {
        "help": [str(UNDERLAY), "--help"],
        "no_analyse": [str(UNDERLAY), "compare", str(path), "--no-analyse"],
        "report": [str(UNDERLAY), "compare", str(path), "--report", str(report)],
    }
    timed_command(commands["report"])  # warm-up, not counted
    walls: dict[str, list[float]] = defaultdict(list)
    rss: dict[str, list[float]] = defaultdict(list)
    stages: list[dict[str, Any]] = []
    identical = True
    for _ in range(runs):
        for key, cmd in commands.items():
            wall, peak = timed_command(cmd)
            walls[key].append(wall)
            rss[key].append(peak)
        staged = tmp / f"{size['name']}.staged.html"
        stages.append(stage_process(path, staged))
        identical &= staged.read_bytes() == report.read_bytes()
    return {
        **size,
        "walls": dict(walls),
        "rss_mib": {k: max(v) for k, v in rss.items()},
        "html_bytes": report.stat().st_size,
        "plotly_js_bytes": stages[0]["plotly_js_bytes"],
        "markdown_bytes": stages[0]["markdown_bytes"],
        "html_identical": identical,
        "cold": medians([s["cold"] for s in stages]),
        "warm": medians([s["warm"] for s in stages]),
    }


def print_example(r: dict[str, Any], runs: int) -> None:
    med = {k: statistics.median(v) for k, v in r["walls"].items()}
    print(f"\n== {r['name']}: {r['pods']:,} pods x {r['steps']:,} steps x {r['substrates']} "
          f"substrates, {r['tenants']} tenants ==")  # fmt: skip
    head = (
        f"{'command (fresh process each)':<46} {'median s':>8} {'min':>6} {'max':>6} {'RSS MiB':>8}"
    )
    print(head + "\n" + "-" * len(head))
    for key, text in (("help", "underlay --help (interpreter + CLI imports)"),
                      ("no_analyse", "underlay compare --no-analyse (baseline)"),
                      ("report", "underlay compare --report OUT.html")):  # fmt: skip
        w = r["walls"][key]
        print(f"{text:<46} {med[key]:>8.2f} {min(w):>6.2f} {max(w):>6.2f} "
              f"{r['rss_mib'][key]:>8.0f}")  # fmt: skip
    extra = med["report"] - med["no_analyse"]
    print(f"ratio --report / --no-analyse: {med['report'] / med['no_analyse']:.2f}x "
          f"(+{extra:.2f} s for the analyses, the decision, the HTML); startup is "
          f"{med['help'] / med['report']:.0%} of --report")  # fmt: skip
    print(f"HTML: {r['html_bytes']:,} bytes ({r['html_bytes'] / 2**20:.2f} MiB), of which "
          f"plotly.js {r['plotly_js_bytes']:,} ({r['plotly_js_bytes'] / r['html_bytes']:.0%}); "
          f"Markdown {r['markdown_bytes']:,} bytes; stage process's HTML byte-identical to "
          f"the CLI's: {'yes' if r['html_identical'] else 'NO'}")  # fmt: skip

    cold, warm = r["cold"], r["warm"]
    head = f"{'stage (Python API, fresh process)':<46} {'cold s':>8} {'warm s':>8} {'% cold':>7}"
    print("\n" + head + "\n" + "-" * len(head))
    for key, text, indent in [*STAGES, ("sum", "sum: what compare --report runs", 0), MARKDOWN]:
        if key not in cold:
            continue
        label = "  " * indent + text
        w = f"{warm[key]:>8.3f}" if key in warm else f"{'-':>8}"
        print(f"{label:<46} {cold[key]:>8.3f} {w} {100 * cold[key] / cold['sum']:>6.1f}%")
    rest = med["report"] - cold["sum"]
    print(f"(median of {runs} stage processes; cold = first pass in a fresh process, lazy "
          f"imports and caches included, as in the CLI; warm = the same stages again in that "
          f"process. --report wall {med['report']:.2f} s - sum {cold['sum']:.2f} s = "
          f"{rest:.2f} s of interpreter start-up and exit, and argument parsing)")  # fmt: skip
    top = max((k for k, _, i in STAGES if i == 0), key=lambda k: cold[k])
    print(f"dominant stage (cold): {dict((k, t) for k, t, _ in STAGES)[top]}, "
          f"{cold[top]:.2f} s = {cold[top] / cold['sum']:.0%} of the sum")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=3, help="repetitions of each command")
    ap.add_argument("--example", action="append", type=Path, default=None,
                    help="scenario file(s) to run (repeatable; default: every examples/*.yaml)")  # fmt: skip
    ap.add_argument("--json", default=None, help="also write all results to this JSON file")
    ap.add_argument("--one", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--html", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.html)))
        return 0
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if not UNDERLAY.exists():
        sys.exit(f"{UNDERLAY}: no console script; install the project (pip install -e .)")

    import numpy as np

    import underlay

    bundled = sorted(EXAMPLES.glob("*.yaml"))
    sizes = [example_size(p) for p in bundled]
    largest = max(sizes, key=lambda s: (s["pod_steps"], s["substrates"]))
    chosen = [p.resolve() for p in args.example] if args.example else bundled
    for p in chosen:
        if not p.is_file():
            ap.error(f"--example {p}: no such file")
    print(f"underlay {underlay.__version__} compare --report benchmark: {args.runs} runs; "
          f"python {sys.version.split()[0]}, numpy {np.__version__}; "
          f"{len(os.sched_getaffinity(0))} cores")  # fmt: skip
    head = (f"{'bundled example':<16} {'tenants':>7} {'workloads':>9} {'pods':>6} {'steps':>6} "
            f"{'substrates':>10} {'pods x steps':>13}")  # fmt: skip
    print("\n" + head + "\n" + "-" * len(head))
    for s in sizes:
        print(f"{s['name']:<16} {s['tenants']:>7} {s['workloads']:>9} {s['pods']:>6,} "
              f"{s['steps']:>6,} {s['substrates']:>10} {s['pod_steps']:>13,}"
              f"{'  <- largest' if s is largest else ''}")  # fmt: skip

    results = []
    with tempfile.TemporaryDirectory(prefix="underlay-report-bench-") as tmp:
        for path in chosen:
            size = next((s for s in sizes if Path(s["path"]).resolve() == path), None)
            r = bench_example(size or example_size(path), args.runs, Path(tmp))
            results.append(r)
            print_example(r, args.runs)

    print("\nsummary (median wall s, fresh process)")
    head = (f"{'example':<16} {'--report':>8} {'--no-analyse':>12} {'ratio':>6} {'--help':>7} "
            f"{'stages sum':>10} {'HTML MiB':>8}")  # fmt: skip
    print(head + "\n" + "-" * len(head))
    for r in results:
        m = {k: statistics.median(v) for k, v in r["walls"].items()}
        print(f"{r['name']:<16} {m['report']:>8.2f} {m['no_analyse']:>12.2f} "
              f"{m['report'] / m['no_analyse']:>5.2f}x {m['help']:>7.2f} {r['cold']['sum']:>10.2f} "
              f"{r['html_bytes'] / 2**20:>8.2f}")  # fmt: skip
    target = next((r for r in results if r["path"] == largest["path"]), None)
    if target is None:
        print(
            f"\ntarget: not checked (the largest bundled example, {largest['name']}, was not run)"
        )
        ok = True
    else:
        worst = max(target["walls"]["report"])
        ok = worst <= TARGET_SECONDS
        print(f"\ntarget: compare --report on the largest bundled example ({target['name']}) in "
              f"<= {TARGET_SECONDS:.0f} s: slowest of {args.runs} runs {worst:.2f} s -> "
              f"{'met' if ok else 'NOT met'} ({worst / TARGET_SECONDS:.1%} of the budget)")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if ok and all(r["html_identical"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
