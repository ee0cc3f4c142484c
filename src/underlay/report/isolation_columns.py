"""Rows of the isolation table: plain text, titles included (``escapes reaching <class>``)."""

from __future__ import annotations

from underlay.analysis.isolation import SubstrateIsolation
from underlay.report.columns import Column

__all__ = ["isolation_rows"]


def _reach(s: SubstrateIsolation, host: bool) -> str:
    # A hybrid with several vm or sandboxed parts has a host escape per part: the one
    # reaching most tenants (the first part's alone could be a site with nobody beside it).
    kinds = [b for b in s.blast if (b.escape != "container") == host]
    if not kinds:
        return "–"
    b = max(kinds, key=lambda k: (k.tenants_exposed_mean, k.pods_exposed_mean))
    return f"{b.tenants_exposed_mean:.1f} / {b.pods_exposed_mean:,.0f}"


def _rates(s: SubstrateIsolation) -> str:
    by = {b.escape: b.per_year for b in s.blast}
    host = next((v for k, v in by.items() if k != "container"), None)
    return f"{by.get('container', 0):g} / " + ("–" if host is None else f"{host:g}")


def _class_reached(name: str) -> Column[SubstrateIsolation]:
    def text(s: SubstrateIsolation) -> str:
        worst = max((b.class_exposed_percent.get(name, 0.0) for b in s.blast), default=0.0)
        return f"{worst:.0f}%"

    return Column(f"escapes reaching {name}", "% (worst kind)", text)


def isolation_rows(classes: list[str]) -> list[Column[SubstrateIsolation]]:
    """The isolation table: one row per measure, one per isolation class in use."""
    return [
        Column("kernels", "", lambda s: f"{s.kernels:,}"),
        Column("tenants", "per kernel (max)", lambda s: str(s.tenants_per_kernel_max)),
        Column("tenants", "per host (max)", lambda s: str(s.tenants_per_host_max)),
        Column("policy violations", "tenant pairs", lambda s: str(len(s.violations))),
        Column("escapes a year", "container / host", _rates),
        Column("container escape reaches", "tenants / pods", lambda s: _reach(s, False)),
        Column("host escape reaches", "tenants / pods", lambda s: _reach(s, True)),
        *(_class_reached(c) for c in classes),
        Column("exposure", "others' escapes / yr", lambda s: f"{s.incidents_per_year:.2f}"),
    ]
