"""A measured container tax in use: a scenario naming a calibration file whose
``container_runtime.cpu_overhead_percent`` is 20 % charges every plain container that
tax (bare metal: 20 %; in a KVM guest compounded with the hypervisor's), and
``underlay defaults --calibration`` marks the figure as measured."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from factories import make_tenant, make_workload, scenario_dict
from underlay.cli import app
from underlay.defaults.catalog import load_defaults, raw_defaults
from underlay.model.loading import load_scenario
from underlay.pipeline import simulate
from underlay.placement.overheads import cpu_tax

TAX = 20.0
CALIBRATION = textwrap.dedent(
    f"""\
    calibration: 1
    host: lab-7
    measured_at: "2026-12-03T10:00:00Z"
    cores: 2
    cgroup: v1
    duration_s: 20
    figures:
      - default: container_runtime.cpu_overhead_percent
        value: {TAX}
        unit: "%"
        how: CPU-bound loop natively vs in the container sandbox
    """
)
KVM = raw_defaults()["hypervisors"]["kvm"]["cpu_overhead_percent"]  # 2.0


def _scenario(folder: Path, calibration: bool = True) -> Path:
    (folder / "cal.yaml").write_text(CALIBRATION)
    # 8 pods asking 2 cores and using 75 % of them all the time, for 2 hours
    api = make_workload(
        "api", replicas=8, cpu="2", memory="2Gi", usage={"model": "constant", "cpu": 0.75}
    )
    data = scenario_dict(
        substrates=[{"kind": "baremetal-shared"}, {"kind": "vm", "sizing": "requests"}],
        tenants=[make_tenant("web", workloads=[api])],
        simulation={"horizon_hours": 2, "step_minutes": 15},
        **({"calibration": "cal.yaml"} if calibration else {}),
    )
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_the_measured_container_tax_is_charged_as_the_arithmetic_says(tmp_path: Path) -> None:
    results = {r.kind: r for r in simulate(load_scenario(_scenario(tmp_path))).results}
    work = 8 * 2 * 0.75 * 2  # core-hours of work: pods × cores × use × hours = 24
    (bare,) = results["baremetal-shared"].tenants
    # a plain container on bare metal: work ÷ (1 − 0.20) = 24 ÷ 0.8 = 30 core-hours
    assert bare.demand_core_hours == pytest.approx(work / (1 - TAX / 100))
    assert bare.demand_core_hours == pytest.approx(30.0)
    (vm,) = results["vm"].tenants
    # in a KVM guest: the work left after both losses is (1 − 0.02)(1 − 0.20) = 0.784
    assert vm.demand_core_hours == pytest.approx(work / ((1 - KVM / 100) * (1 - TAX / 100)))


def test_without_the_calibration_containers_pay_the_cited_tax(tmp_path: Path) -> None:
    cited = raw_defaults()["container_runtime"]["cpu_overhead_percent"]
    results = {r.kind: r for r in simulate(load_scenario(_scenario(tmp_path, False))).results}
    (bare,) = results["baremetal-shared"].tenants
    assert bare.demand_core_hours == pytest.approx(8 * 2 * 0.75 * 2 / (1 - cited / 100))


def test_the_shipped_container_tax_is_felters_negligible_as_zero(tmp_path: Path) -> None:
    # Felter et al. (ISPASS 2015) found Docker's CPU cost "negligible" against native:
    # the cited default is 0 %, so a plain container on bare metal demands exactly its
    # work, 8 pods × 2 cores × 0.75 × 2 h = 24 core-hours, and nothing more.
    assert raw_defaults()["container_runtime"]["cpu_overhead_percent"] == 0
    results = {r.kind: r for r in simulate(load_scenario(_scenario(tmp_path, False))).results}
    (bare,) = results["baremetal-shared"].tenants
    assert bare.demand_core_hours == pytest.approx(24.0)


def test_a_zero_container_tax_leaves_a_vms_tax_exactly_the_hypervisors() -> None:
    from underlay.model.substrates import Vm

    vm = Vm.model_validate({"kind": "vm"})
    defaults = load_defaults({"container_runtime": {"cpu_overhead_percent": 0}})
    assert cpu_tax(vm, defaults, "cpu") == defaults.hypervisors["kvm"].cpu_overhead_percent / 100


def test_defaults_marks_the_container_tax_measured(tmp_path: Path) -> None:
    (tmp_path / "cal.yaml").write_text(CALIBRATION)
    runner = CliRunner()
    result = runner.invoke(app, ["defaults", "--calibration", str(tmp_path / "cal.yaml"), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    section = data["container_runtime"]
    assert section["cpu_overhead_percent"] == TAX
    assert section["source"].startswith(
        f"cpu_overhead_percent {TAX:g}: measured on lab-7 at 2026-12-03T10:00:00Z"
    )
    cited = raw_defaults()["container_runtime"]["cpu_overhead_percent"]
    assert data["measured"]["container_runtime.cpu_overhead_percent"]["cited"] == cited
