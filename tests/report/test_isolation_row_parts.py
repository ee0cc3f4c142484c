"""The isolation table's "host escape reaches" row on a hybrid with several vm parts.

examples/edge-platform.yaml, column vms-everywhere: a vm part per site (each site alone
on its own edge-1u hosts) and a core vm part holding three tenants.
"""

from __future__ import annotations

from pathlib import Path

from factories import place
from underlay.analysis.isolation import analyse_isolation
from underlay.defaults.catalog import load_defaults
from underlay.model.loading import load_scenario
from underlay.report.isolation_columns import isolation_rows

EDGE = Path(__file__).resolve().parents[2] / "examples" / "edge-platform.yaml"


def test_the_isolation_row_shows_the_host_escape_reaching_most_tenants() -> None:
    # One vm part per site (a site alone on its hosts: its escape reaches
    # nobody), the core part with three tenants beside each other. The row names the core
    # part's escape, not the first part's 0.0 / 0.
    sc = load_scenario(EDGE)
    iso = analyse_isolation(sc, load_defaults(), place(sc, "vms-everywhere"))
    host = {b.escape: b for b in iso.blast if b.escape != "container"}
    assert list(host) == [f"hypervisor ({n})" for n in ("north", "south", "east", "core")]
    assert host["hypervisor (north)"].tenants_exposed_mean == 0
    core = host["hypervisor (core)"]
    assert core.tenants_exposed_mean > 0
    (row,) = [c for c in isolation_rows([]) if c.title == "host escape reaches"]
    assert row.text(iso) == f"{core.tenants_exposed_mean:.1f} / {core.pods_exposed_mean:,.0f}"
