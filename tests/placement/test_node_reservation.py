"""Kubernetes node reservations (kube + system reserved + eviction), by published formula."""

from __future__ import annotations

import pytest

from underlay.defaults.catalog import load_defaults
from underlay.placement.overheads import node_reservation, tiered

GIB = 1024


@pytest.mark.parametrize(
    ("policy", "cores", "memory_gib", "max_pods", "cpu_milli", "memory_mib"),
    [
        # ---- GKE: CPU 6 % of core 1, 1 % of core 2, 0.5 % of cores 3-4, 0.25 % above 4;
        #      memory 25 % of the first 4 GiB, 20 % of the next 4, 10 % of the next 8,
        #      6 % of the next 112, 2 % above 128 GiB; + 100 MiB eviction.
        # 1 core: 60m. 4 GiB: 0.25 × 4 = 1 GiB = 1024 MiB + 100 = 1124.
        ("gke", 1, 4, 110, 60, 1124),
        # 4 cores: 60 + 10 + 2 × 5 = 80m. 16 GiB: 1 + 0.8 + 0.8 = 2.6 GiB = 2662.4 + 100
        #   = 2762.4 → 2763 MiB.
        ("gke", 4, 16, 110, 80, 2763),
        # 8 cores: 60 + 10 + 10 + 4 × 2.5 = 90m. 32 GiB: 1 + 0.8 + 0.8 + 0.06 × 16 = 3.56 GiB
        #   = 3645.44 + 100 = 3745.44 → 3746 MiB.
        ("gke", 8, 32, 110, 90, 3746),
        # 128 cores: 80 + 124 × 2.5 = 390m. 1024 GiB: 2.6 + 0.06 × 112 = 9.32, + 0.02 × 896
        #   = 17.92 → 27.24 GiB = 27893.76 + 100 = 27993.76 → 27994 MiB.
        ("gke", 128, 1024, 110, 390, 27994),
        # max pods do not enter the GKE formula.
        ("gke", 8, 32, 250, 90, 3746),
        # ---- EKS: CPU as GKE; memory 11 MiB × maxPods + 255 MiB, + 100 MiB eviction.
        # 8 cores, 110 pods: 11 × 110 + 255 = 1465 + 100 = 1565 MiB.
        ("eks", 8, 32, 110, 90, 1565),
        # 250 pods: 11 × 250 + 255 = 3005 + 100 = 3105 MiB (memory size does not matter).
        ("eks", 8, 32, 250, 90, 3105),
        ("eks", 64, 512, 250, 230, 3105),  # CPU 80 + 60 × 2.5 = 230m
        # ---- AKS: CPU by the published points (1/2/4/8/16/32/64 cores → 60/100/140/180/260/
        #      420/740m), linear between them and extended at the 32→64 slope (10m/core);
        #      memory min(20 MB × maxPods + 50 MB, 25 % of RAM) + 100 MiB, MB → MiB.
        # 8 cores: 180m. 110 pods: 19.07 × 110 + 47.68 = 2145.38 < 8192 (25 % of 32 GiB)
        #   → 2145.38 + 100 = 2245.38 → 2246 MiB.
        ("aks", 8, 32, 110, 180, 2246),
        # 4 cores: 140m. 8 GiB: 25 % = 2048 < 2145.38 → 2048 + 100 = 2148 MiB.
        ("aks", 4, 8, 110, 140, 2148),
        # 12 cores: halfway between 8 (180) and 16 (260) → 220m.
        ("aks", 12, 64, 110, 220, 2246),
        # 128 cores: 740 + 64 × (740 - 420) / 32 = 740 + 640 = 1380m.
        ("aks", 128, 1024, 110, 1380, 2246),
        # 64 cores exactly: the last published point, 740m.
        ("aks", 64, 256, 110, 740, 2246),
        # ---- none: nothing kept back.
        ("none", 64, 256, 110, 0, 0),
    ],
)
def test_node_reservation(
    policy: str,
    cores: int,
    memory_gib: int,
    max_pods: int,
    cpu_milli: int,
    memory_mib: int,
) -> None:
    reservation = load_defaults().node_reservation[policy]
    got = node_reservation(
        reservation, cpu_milli=cores * 1000, memory_mib=memory_gib * GIB, max_pods=max_pods
    )
    assert got == (cpu_milli, memory_mib)


@pytest.mark.parametrize("policy", ["gke", "eks", "aks"])
def test_reservation_grows_with_the_node(policy: str) -> None:
    reservation = load_defaults().node_reservation[policy]
    sizes = [(c, c * 4 * GIB) for c in (1, 2, 4, 8, 16, 32, 64, 128, 256)]
    got = [
        node_reservation(reservation, cpu_milli=c * 1000, memory_mib=m, max_pods=110)
        for c, m in sizes
    ]
    cpus = [g[0] for g in got]
    mems = [g[1] for g in got]
    assert cpus == sorted(cpus)
    assert mems == sorted(mems)
    # ... but always less than the node itself.
    for (c, m), (rc, rm) in zip(sizes, got, strict=True):
        assert rc < c * 1000
        assert rm < m


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (0, 0.0),
        (2, 0.5),  # 25 % of 2
        (4, 1.0),  # 25 % of 4
        (6, 1.4),  # 1 + 20 % of 2
        (20, 1.0 + 0.8 + 12 * 0.02),  # third tier open-ended
    ],
)
def test_tiered(amount: float, expected: float) -> None:
    assert tiered(amount, [(4, 0.25), (4, 0.20), (None, 0.02)]) == pytest.approx(expected)
