"""Golden files of the ``kubernetes`` and ``karpenter`` targets on each bundled example
(one substrate each, the one with the most to say: a sandbox, a hybrid, GPUs), in
tests/golden/export-k8s/: every manifest as YAML, preceded by its file and followed by
the figure of each number; and the SaaS example's dedicated clusters merged into one.
Regenerate after an intended change with

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/export/test_export_golden_k8s.py

and review the diff. The figures in them are checked by hand first: the rules by
tests/export/test_export_kubernetes.py and test_export_karpenter.py, and one quota and
one NodePool of the SaaS example below, from the example's own numbers.
"""

from __future__ import annotations

import os

import pytest
import yaml

from export_k8s_cases import REPO, bundled_input, named
from underlay.bundled import examples
from underlay.export.karpenter import karpenter, karpenter_target
from underlay.export.kubernetes import kubernetes, kubernetes_target
from underlay.export.manifest import Manifest, Target

GOLDEN = REPO / "tests" / "golden" / "export-k8s"
CHOSEN = {
    "ai-platform": "baremetal-dedicated",
    "edge-platform": "edge-metal-core-vms",
    "edge-site": "sandboxed",
    "hybrid-platform": "gpu-metal-in-vm-platform",
    "saas-platform": "sandboxed",
}
TARGETS: dict[str, Target] = {"kubernetes": kubernetes, "karpenter": karpenter}


def render(manifests: list[Manifest]) -> str:
    """The manifests as one YAML stream: ``# file`` above each, ``# path: figure`` below."""
    parts = []
    for m in manifests:
        text = yaml.safe_dump(m.body, sort_keys=False, allow_unicode=True, width=100)
        notes = "".join(f"# {s.path}: {s.figure}\n" for s in m.sources)
        parts.append(f"# {m.file}\n{text}{notes}")
    return "---\n".join(parts)


def test_every_bundled_example_has_a_chosen_substrate() -> None:
    assert sorted(CHOSEN) == sorted(examples())


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("name", sorted(CHOSEN))
def test_golden(name: str, target: str) -> None:
    text = render(TARGETS[target](bundled_input(name, CHOSEN[name])))
    path = GOLDEN / f"{name}.{CHOSEN[name]}.{target}.yaml"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_golden_merged(target: str) -> None:
    """The SaaS example's dedicated clusters merged into one existing cluster ``prod``."""
    into = {"kubernetes": kubernetes_target, "karpenter": karpenter_target}[target](into="prod")
    text = render(into(bundled_input("saas-platform", "baremetal-dedicated")))
    path = GOLDEN / f"saas-platform.baremetal-dedicated.into-prod.{target}.yaml"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text


def test_the_saas_figures_by_hand() -> None:
    inp = bundled_input("saas-platform", "sandboxed")
    out = kubernetes(inp)
    # examples/saas-platform.yaml, bank-eu: api 24 × (1 core, 2Gi; limits 2, 2Gi) and
    # ledger-db 3 × (8, 64Gi; limits 8, 64Gi); Kata's pod overhead 250m, 160Mi
    # (src/underlay/defaults/defaults.yaml sandbox_runtimes.kata).
    hard = named(out, "ResourceQuota", "underlay-plan", "bank-eu").body["spec"]["hard"]
    assert hard == {
        "pods": "27",  # 24 + 3
        "requests.cpu": "54750m",  # 24 × 1.25 + 3 × 8.25 = 30 + 24.75
        "limits.cpu": "78750m",  # 24 × 2.25 + 3 × 8.25 = 54 + 24.75
        "requests.memory": "250080Mi",  # 24 × (2048 + 160) + 3 × (65536 + 160) = 52992 + 197088
        "limits.memory": "250080Mi",  # limits = requests for memory
    }
    assert named(out, "RuntimeClass", "kata").body["overhead"]["podFixed"] == {
        "cpu": "250m",
        "memory": "160Mi",
    }
    # ledger-db's budget: max_unavailable 1
    assert (
        named(out, "PodDisruptionBudget", "ledger-db", "bank-eu").body["spec"]["maxUnavailable"]
        == 1
    )
    # one shared cluster of the plan's r6525 hosts (128 cores, 1Ti each)
    (pool,) = karpenter(inp)
    hosts = int((inp.placement.nodes.role == 0).sum())
    assert pool.body["spec"]["limits"] == {"cpu": str(hosts * 128), "memory": f"{hosts * 1024}Gi"}
    assert pool.body["spec"]["disruption"]["budgets"] == [{"nodes": "1"}]  # ledger-db: 1 at once
