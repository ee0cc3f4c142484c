"""Hypothesis strategies shared by the hybrid property tests: a pure substrate and small
random tenants, for "a hybrid with every tenant in one part is that substrate"."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from factories import make_tenant, make_workload

__all__ = ["KINDS", "one_part_rule", "random_substrate", "random_tenants"]

KINDS = ["baremetal-dedicated", "baremetal-shared", "vm", "sandboxed"]


def random_substrate(draw: st.DrawFn, kinds: list[str]) -> dict[str, Any]:
    """One of ``kinds`` (a vm sized by requests or by peak)."""
    substrate: dict[str, Any] = {"kind": draw(st.sampled_from(kinds))}
    if substrate["kind"] == "vm":
        substrate["sizing"] = draw(st.sampled_from(["requests", "peak"]))
    return substrate


def random_tenants(
    draw: st.DrawFn, *, max_replicas: int = 40, max_cpu: int = 16000, replay: bool = False
) -> list[dict[str, Any]]:
    """One to three tenants of one to three workloads each, every workload labelled
    ``fleet: one``; with ``replay``, diurnal usage, workload classes and isolation classes
    drawn too."""
    tenants = []
    for ti in range(draw(st.integers(1, 3))):
        extra: dict[str, Any] = {}
        if replay:
            extra = {
                "usage": {"model": "diurnal", "cpu": draw(st.sampled_from([0.3, 0.8, 1.2]))},
                "class": draw(st.sampled_from(["cpu", "network-latency", "storage-io"])),
            }
        workloads = [
            make_workload(
                f"w{wi}",
                replicas=draw(st.integers(1, max_replicas)),
                cpu=f"{draw(st.integers(100, max_cpu))}m",
                memory=f"{draw(st.integers(128, 4 * max_cpu))}Mi",
                labels={"fleet": "one", "app": f"t{ti}-w{wi}"},
                **extra,
            )
            for wi in range(draw(st.integers(1, 3 if not replay else 2)))
        ]
        isolation = draw(st.sampled_from(["internal", "regulated"])) if replay else "internal"
        tenants.append(make_tenant(f"t{ti}", workloads=workloads, isolation=isolation))
    return tenants


def one_part_rule(draw: st.DrawFn, tenants: list[dict[str, Any]]) -> dict[str, Any]:
    """How one part takes every tenant of ``tenants``: by name, by class or by the label
    every workload of :func:`random_tenants` carries."""
    classes = sorted({t.get("isolation", "internal") for t in tenants})
    return draw(
        st.sampled_from(
            [
                {"tenants": [t["name"] for t in tenants]},
                {"isolation": classes},
                {"labels": {"fleet": "one"}},
            ]
        )
    )
