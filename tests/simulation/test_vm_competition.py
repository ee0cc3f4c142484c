"""VMs competing for a host's cores (``Stepper._compete``): a host whose VMs' use above
their reservations fits what it has free at every step gives every VM exactly what it
uses; the other hosts share by vCPU weight, each on its own terms, bit for bit as when
every host of the block is water-filled together.

The block is the bundled saas-platform example's ``vm`` placement with
``cpu_overcommit: 2``, in one block; the VMs' use is drawn so that some hosts fit and
some do not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from underlay.defaults.catalog import load_defaults
from underlay.model.scenario import Scenario
from underlay.pipeline import compare
from underlay.simulation.contention import share_by_weight
from underlay.simulation.engine import Replay, prepare_replay

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "underlay" / "examples"


@pytest.fixture(scope="module")
def replay() -> Replay:
    data = yaml.safe_load((EXAMPLES / "saas-platform.yaml").read_text())
    for substrate in data["substrates"]:
        if substrate["kind"] == "vm" and "name" not in substrate:
            substrate["cpu_overcommit"] = 2.0
    data["substrates"] = [s for s in data["substrates"] if s["kind"] == "vm" and "name" not in s]
    scenario = Scenario.model_validate(data)
    placement = compare(scenario, substrates=["vm"]).placements[0]
    return prepare_replay(scenario, load_defaults(scenario.overrides), placement, seed=None)


def test_fitting_hosts_give_each_vm_its_use_and_the_others_share_as_before(
    replay: Replay,
) -> None:
    stepper, blk = replay.stepper, replay.blocks[0]
    assert stepper.overcommit == 2.0 and len(blk.hosts) >= 4
    k = slice(blk.k0, blk.k1)
    kernels, steps = blk.k1 - blk.k0, 6
    rng = np.random.default_rng(3)
    # Each VM's use: from idle to twice its vCPUs, so that some hosts are over their
    # cores at some step and others never are (half the hosts kept at a quarter).
    vcpus = stepper.vm_cores[k]
    used = (vcpus * rng.uniform(0, 2, (kernels, steps))).astype(np.float32)
    calm_hosts = np.arange(len(blk.hosts)) % 2 == 0
    calm = calm_hosts[blk.kernel_host]
    used[calm] = (vcpus[calm] * np.float32(0.25)).astype(np.float32)
    pods = blk.p1 - blk.p0
    granted = rng.uniform(0, 500, (pods, steps)).astype(np.float32)

    # The rule as written before, every host water-filled together.
    reserve = vcpus / np.float32(stepper.overcommit)
    guaranteed = np.minimum(used, reserve)
    hosts = blk.hosts
    free = stepper.host_cap[hosts] - stepper.host_idle_load[hosts] - blk.to_host @ guaranteed
    perm, present, by_host = blk.by_host
    extra_all = np.zeros_like(used)
    extra_all[perm] = share_by_weight(
        (used - guaranteed)[perm],
        np.broadcast_to(vcpus[perm], used.shape),
        free[present],
        by_host,
    )
    got_all = guaranteed + extra_all

    granted_pod, got, (rows, ready), factor, (sub, vms), lost, extra = stepper._compete(
        blk, k, granted.copy(), used
    )
    above = (blk.to_host @ (used - guaranteed))[present]
    tight_hosts = np.flatnonzero(~(above <= free[present] * np.float32(1 - 1e-4)).all(axis=1))
    assert 0 < len(tight_hosts) < len(present)  # the case has both kinds of host
    on_tight = np.isin(blk.kernel_host, present[tight_hosts])
    np.testing.assert_array_equal(np.sort(vms), np.flatnonzero(on_tight))
    np.testing.assert_array_equal(
        sub.counts, np.bincount(blk.kernel_host[vms])[present[tight_hosts]]
    )
    # fitting hosts: exactly the use, nothing lost; and the rounds give the same within
    # float32 rounding
    np.testing.assert_array_equal(got[~on_tight], used[~on_tight])
    np.testing.assert_array_equal(factor[~on_tight], 1)
    np.testing.assert_allclose(got_all[~on_tight], used[~on_tight], rtol=1e-6)
    # competing hosts: bit for bit the grants of the rule water-filled over every host
    np.testing.assert_array_equal(got[vms], got_all[vms])
    np.testing.assert_array_equal(extra, extra_all[vms])
    np.testing.assert_array_equal(lost, used[vms] - got_all[vms])
    assert (got[vms] <= used[vms]).all()
    # CPU-ready: the pods of the VMs that lost some are scaled by their VM's share
    losers = np.flatnonzero((factor < 1).any(axis=1))
    assert len(losers) and np.isin(losers, vms).all()
    kernel_of_row = blk.kernels.kernel_of_pod[rows]
    np.testing.assert_array_equal(np.unique(kernel_of_row), losers)
    np.testing.assert_allclose(granted_pod[rows], granted[rows] * factor[kernel_of_row], rtol=1e-6)
    np.testing.assert_allclose(ready, granted[rows] - granted_pod[rows], rtol=1e-5, atol=1e-3)
