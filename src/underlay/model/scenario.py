"""The scenario: fleet, substrates to compare, tenants, clusters and workloads.

Parsed once at the edge (:mod:`underlay.model.loading`) into these frozen models; the
rest of underlay never sees raw dicts.  Quantities are written as Kubernetes quantities
in the file (``cpu: 500m``, ``memory: 4Gi``) and stored in integer units
(``cpu_milli``, ``memory_mib``).

This module holds the root model, :class:`Scenario`, and its JSON Schema; the parts live
by concept in :mod:`~underlay.model.hardware`, :mod:`~underlay.model.substrates`,
:mod:`~underlay.model.workloads`, :mod:`~underlay.model.tenants`,
:mod:`~underlay.model.policy` and :mod:`~underlay.model.settings` (shared field types in
:mod:`~underlay.model.fields`), and every public name is re-exported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, PrivateAttr, model_validator

from underlay.model.fields import (
    MAX_CPU_MILLI,
    MAX_MEMORY_MIB,
    MAX_SEED,
    SUBSTRATE_KINDS,
    CpuMilli,
    HostCpuMilli,
    IsolationClass,
    KubeVersion,
    MemoryMiB,
    Name,
    Real,
    SubstrateKind,
    SupportChannel,
    Whole,
    WorkloadClass,
    _did_you_mean,
    _Model,
    _require_unique,
    at,
)
from underlay.model.hardware import (
    GpuSpec,
    Hardware,
    HostModel,
    InventoryEntry,
    MaxPodsPolicy,
    PowerCurve,
    Topology,
)
from underlay.model.measured import MeasuredDefaults, merge_overrides
from underlay.model.placement_names import PLUGINS, SCORE_PLUGINS, STRATEGIES
from underlay.model.policy import (
    DEFAULT_ISOLATION_CLASSES,
    FACTORS,
    Constraints,
    IsolationClassDef,
    IsolationPolicy,
    IsolationRule,
    Weights,
)
from underlay.model.settings import (
    CostSettings,
    FailureSettings,
    KubernetesSettings,
    LifecycleSettings,
    PlacementSettings,
    SimulationSettings,
)
from underlay.model.substrates import (
    CONTROL_PLANE_HELP,
    BaremetalDedicated,
    BaremetalShared,
    ControlPlaneMode,
    Hybrid,
    HybridPart,
    PartSubstrate,
    Sandboxed,
    Substrate,
    Vm,
    VmShape,
    VmShapes,
    workload_key,
    workload_tenant,
)
from underlay.model.tenants import (
    TENANT_NAME_MAX,
    Cluster,
    Sla,
    Tenant,
    TenantName,
    cluster_name_for,
)
from underlay.model.workloads import (
    DisruptionBudget,
    GpuRequest,
    Resources,
    Spread,
    SystemPod,
    Usage,
    Workload,
)

__all__ = [
    "CONTROL_PLANE_HELP",
    "DEFAULT_ISOLATION_CLASSES",
    "FACTORS",
    "MAX_CPU_MILLI",
    "MAX_MEMORY_MIB",
    "MAX_SEED",
    "SCHEMA_ID",
    "SUBSTRATE_KINDS",
    "TENANT_NAME_MAX",
    "BaremetalDedicated",
    "BaremetalShared",
    "Cluster",
    "Constraints",
    "ControlPlaneMode",
    "CostSettings",
    "CpuMilli",
    "DisruptionBudget",
    "FailureSettings",
    "GpuRequest",
    "GpuSpec",
    "Hardware",
    "HostCpuMilli",
    "HostModel",
    "Hybrid",
    "HybridPart",
    "InventoryEntry",
    "IsolationClass",
    "IsolationClassDef",
    "IsolationPolicy",
    "IsolationRule",
    "KubeVersion",
    "KubernetesSettings",
    "LifecycleSettings",
    "MaxPodsPolicy",
    "MemoryMiB",
    "Name",
    "PartSubstrate",
    "PlacementSettings",
    "PowerCurve",
    "Real",
    "Resources",
    "Sandboxed",
    "Scenario",
    "SimulationSettings",
    "Sla",
    "Spread",
    "Substrate",
    "SubstrateKind",
    "SupportChannel",
    "SystemPod",
    "Tenant",
    "TenantName",
    "Topology",
    "Usage",
    "Vm",
    "VmShape",
    "VmShapes",
    "Weights",
    "Whole",
    "Workload",
    "WorkloadClass",
    "at",
    "cluster_name_for",
    "scenario_json_schema",
    "workload_key",
    "workload_tenant",
]


class Scenario(_Model):
    """Everything underlay needs to compare substrates for one fleet."""

    # Folder that relative paths in the file (trace files) are resolved against.
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    # The trace files its workloads replay, read when the file was loaded: resolved path →
    # series name → series (underlay.model.traces types them; None: not read yet).
    _traces: dict[Path, dict[str, Any]] | None = PrivateAttr(default=None)
    # The calibration file's measured figures, read when the file was loaded (None: no
    # calibration, or not read yet: underlay.model.calibration.scenario_overrides reads it).
    _measured: MeasuredDefaults | None = PrivateAttr(default=None)

    name: Name
    description: str = ""
    hardware: Hardware
    substrates: list[Substrate] = Field(
        default_factory=lambda: [  # type: ignore[arg-type]
            BaremetalDedicated(kind="baremetal-dedicated"),
            BaremetalShared(kind="baremetal-shared"),
            Vm(kind="vm"),
            Sandboxed(kind="sandboxed"),
        ],
        min_length=1,
    )
    tenants: list[Tenant] = Field(min_length=1)
    kubernetes: KubernetesSettings = KubernetesSettings()
    placement: PlacementSettings = PlacementSettings()
    simulation: SimulationSettings = SimulationSettings()
    isolation: IsolationPolicy = IsolationPolicy()
    lifecycle: LifecycleSettings = LifecycleSettings()
    failures: FailureSettings = FailureSettings()
    costs: CostSettings = CostSettings()
    weights: Weights = Weights()
    constraints: Constraints = Constraints()
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="replace any default, same layout as `underlay defaults`"
    )
    calibration: Annotated[str, Field(min_length=1, max_length=4096)] | None = Field(
        default=None,
        description="calibration file (`underlay calibrate`), relative to the scenario file: "
        "its measured figures replace the cited defaults; `overrides` still win over them",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        _require_unique("tenant", [t.name for t in self.tenants], "tenants")
        _require_unique("substrate", [s.name or s.kind for s in self.substrates], "substrates")
        gpu_models = sorted({m.gpus.model for m in self.hardware.host_models if m.gpus})
        classes = self.isolation.class_names
        for ti, tenant in enumerate(self.tenants):
            if tenant.isolation not in classes:
                raise ValueError(
                    f"{at('tenants', ti, 'isolation')}no isolation class is called "
                    f"{tenant.isolation!r}{_did_you_mean(tenant.isolation, classes)} (known: "
                    f"{', '.join(classes)}; add your own under isolation.classes)"
                )
            for ci, cluster in enumerate(tenant.clusters):
                for wi, w in enumerate(cluster.workloads):
                    for mi, model in enumerate(w.gpu.models if w.gpu else []):
                        if model not in gpu_models:
                            where = at(
                                "tenants", ti, "clusters", ci, "workloads", wi, "gpu", "models", mi
                            )
                            raise ValueError(
                                f"{where}no host model has GPU model {model!r}"
                                f"{_did_you_mean(model, gpu_models)} (hosts have: "
                                f"{', '.join(gpu_models) or 'no GPUs'})"
                            )
        for si, sub in enumerate(self.substrates):
            if isinstance(sub, Hybrid):
                _check_hybrid(self, sub, si)
        labels = self.substrate_labels
        names = [t.name for t in self.tenants]
        for who, allowed in self.constraints.allowed.items():
            if who not in names:
                raise ValueError(
                    f"{at('constraints', 'allowed', who)}no tenant is called {who!r}"
                    f"{_did_you_mean(who, names)}"
                )
            for i, label in enumerate(allowed):
                if label not in labels:
                    raise ValueError(
                        f"{at('constraints', 'allowed', who, i)}no substrate is called "
                        f"{label!r}{_did_you_mean(label, labels)} (known: {', '.join(labels)})"
                    )
        return self

    @property
    def base_dir(self) -> Path:
        """Folder of the scenario file: relative paths in it are resolved from here."""
        return self._base_dir

    def with_base_dir(self, folder: Path) -> Scenario:
        """This scenario, resolving relative paths from ``folder``."""
        self._base_dir = folder
        return self

    @property
    def loaded_traces(self) -> dict[Path, dict[str, Any]] | None:
        """The trace files read when the scenario was loaded (None when it was not loaded
        from a file); :func:`underlay.model.traces.scenario_traces` reads them otherwise."""
        return self._traces

    def with_traces(self, traces: dict[Path, dict[str, Any]]) -> Scenario:
        """This scenario, with its trace files already read (``traces``)."""
        self._traces = traces
        return self

    @property
    def measured(self) -> MeasuredDefaults | None:
        """The calibration file's measured figures, once read (None otherwise)."""
        return self._measured

    def with_measured(self, measured: MeasuredDefaults | None) -> Scenario:
        """This scenario, with its calibration file's figures already read."""
        self._measured = measured
        return self

    @property
    def defaults_overrides(self) -> dict[str, Any]:
        """What the defaults are loaded with: the measured figures (when read), with the
        scenario's own ``overrides`` merged over them (:mod:`underlay.model.measured`)."""
        if self._measured is None:
            return self.overrides
        return merge_overrides(self._measured.overrides(), self.overrides)

    def with_hybrid(self, hybrid: Hybrid) -> Scenario:
        """This scenario with ``hybrid`` added as its last substrate, checked as the loader
        checks one (ValueError saying what is wrong); its folder and traces kept."""
        labels = self.substrate_labels
        if (hybrid.name or hybrid.kind) in labels:
            raise ValueError(f"substrate {hybrid.name or hybrid.kind!r} is already in the scenario")
        _check_hybrid(self, hybrid, len(self.substrates))
        # model_copy keeps the private attributes (base folder, traces already read)
        return self.model_copy(update={"substrates": [*self.substrates, hybrid]})

    def substrate(
        self, label: str
    ) -> BaremetalDedicated | BaremetalShared | Vm | Sandboxed | Hybrid:
        """The substrate with this name (or, when unnamed, this kind)."""
        return next(s for s in self.substrates if (s.name or s.kind) == label)

    @property
    def substrate_labels(self) -> list[str]:
        """Each substrate's name, or its kind when unnamed, in file order."""
        return [s.name or s.kind for s in self.substrates]


def _check_hybrid(scenario: Scenario, hybrid: Hybrid, index: int) -> None:
    """Part names unique; every tenant, class, host model and rack a part names exists;
    every workload lands in a part (see :class:`Hybrid`); one part at most takes the GPU
    workloads. Each shared-cluster part (``baremetal-shared``, ``sandboxed``) is a shared
    cluster of its own, so a hybrid may have several. A ``labels`` selector that no
    workload matches is no error (the part is then empty, as one whose isolation classes
    no tenant has, and left out of the fleet)."""
    _require_unique("part", [p.name for p in hybrid.parts], f"substrates.{index}.parts")
    names = [t.name for t in scenario.tenants]
    classes = scenario.isolation.class_names
    for pi, part in enumerate(hybrid.parts):
        for i, name in enumerate(part.tenants):
            if name not in names:
                raise ValueError(
                    f"{at('substrates', index, 'parts', pi, 'tenants', i)}no tenant is called "
                    f"{name!r}{_did_you_mean(name, names)}"
                )
            other = hybrid.part_of(name, "")
            if other != pi:
                raise ValueError(
                    f"{at('substrates', index, 'parts', pi, 'tenants', i)}tenant {name!r} is "
                    f"already in part {hybrid.parts[other or 0].name!r}: a tenant runs in one part"
                )
        for i, cls in enumerate(part.isolation):
            if cls not in classes:
                raise ValueError(
                    f"{at('substrates', index, 'parts', pi, 'isolation', i)}no isolation class "
                    f"is called {cls!r}{_did_you_mean(cls, classes)} (known: {', '.join(classes)})"
                )
        at_part = ("substrates", index, "parts", pi)
        scenario.hardware.check_named_models(part.hosts, (*at_part, "hosts"))
        scenario.hardware.check_named_racks(part.racks, (*at_part, "racks"))
    gpu = [i for i, p in enumerate(hybrid.parts) if p.gpu_workloads]
    if len(gpu) > 1:
        raise ValueError(
            f"{at('substrates', index, 'parts', gpu[1], 'gpu_workloads')}part "
            f"{hybrid.parts[gpu[0]].name!r} takes the GPU workloads already: one part at most"
        )
    _check_part_workloads(scenario, hybrid, index)
    for tenant in scenario.tenants:
        for c in tenant.clusters:
            for w in c.workloads:
                key = workload_key(tenant.name, c.name, w.name)
                if (
                    hybrid.workload_part(tenant.name, tenant.isolation, w.gpu_count, key, w.labels)
                    is None
                ):
                    of = f" (cluster {c.name!r})" if len(tenant.clusters) > 1 else ""
                    raise ValueError(
                        f"{at('substrates', index, 'parts')}workload {w.name!r}{of} of tenant "
                        f"{tenant.name!r} (isolation {tenant.isolation!r}) is in no part: name "
                        f"the tenant in a part's tenants, add {tenant.isolation!r} to a part's "
                        "isolation, or give a part labels the workload carries"
                    )


def _check_part_workloads(scenario: Scenario, hybrid: Hybrid, index: int) -> None:
    """Every ``tenant/cluster/workload`` a part names exists and is named by one part."""
    if not any(part.workloads for part in hybrid.parts):
        return
    keys = [
        workload_key(t.name, c.name, w.name)
        for t in scenario.tenants
        for c in t.clusters
        for w in c.workloads
    ]
    known = set(keys)
    seen: dict[str, str] = {}
    for pi, part in enumerate(hybrid.parts):
        for i, key in enumerate(part.workloads):
            where = at("substrates", index, "parts", pi, "workloads", i)
            if key not in known:
                raise ValueError(
                    f"{where}no workload is called {key!r}{_did_you_mean(key, keys)} (write "
                    "tenant/cluster/workload)"
                )
            if key in seen:
                raise ValueError(
                    f"{where}workload {key!r} is already in part {seen[key]!r}: a workload "
                    "runs in one part"
                )
            seen[key] = part.name


SCHEMA_ID = "urn:underlay:scenario"


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of scenario files, as editors should see them.

    Pydantic's schema of :class:`Scenario`, plus what pydantic cannot say by itself: the
    tenant shorthand (``workloads:`` and the cluster settings written directly under a
    tenant stand for one cluster, named by :func:`cluster_name_for`), the quantity
    patterns, the strategies, score plugins (``placement.weights``) and plugins
    (``placement.args``) of the built-in placement registry, and patterns that end
    where the loader's do. What the schema cannot check are references between parts of
    the file (unique names, host models and isolation classes named elsewhere, GPU models
    on some host), comparisons of two values (limits against requests, peak against idle
    watts) and the defaults ``overrides`` replace: the loader does.
    """
    schema = Scenario.model_json_schema(by_alias=True)
    tenant = schema["$defs"]["Tenant"]
    props = tenant.setdefault("properties", {})
    props["workloads"] = {
        "type": "array",
        "items": {"$ref": "#/$defs/Workload"},
        "description": "shorthand for one cluster named after the tenant: a slug of its name "
        "(each run of characters outside A-Z a-z 0-9 - _ . becomes '-', trimmed, cut to 63 "
        "characters; 'cluster' when nothing is left), e.g. 'Team <Payments>' -> "
        "'Team-Payments'",
    }
    props["control_plane"] = {"enum": ["auto", "dedicated", "stacked", "management", "hosted"]}
    props["system_pods"] = {"type": "array", "items": {"$ref": "#/$defs/SystemPod"}}
    props["max_pods"] = {"$ref": "#/$defs/MaxPodsPolicy"}
    tenant["required"] = [r for r in tenant.get("required", []) if r != "clusters"]
    tenant["oneOf"] = [{"required": ["clusters"]}, {"required": ["workloads"]}]

    placement = schema["$defs"]["PlacementSettings"]["properties"]
    placement["weights"]["propertyNames"] = {"enum": list(SCORE_PLUGINS)}
    placement["strategy"]["enum"] = list(STRATEGIES)
    placement["args"]["propertyNames"] = {"enum": list(PLUGINS)}
    _end_patterns_at_the_end(schema)
    _refuse_nan(schema)
    schema["$defs"]["NaN"] = {
        "$comment": "NaN fails no comparison, so only NaN is at least 1 and at most 0; "
        "numbers say not this one (the loader refuses .nan, and .inf by the bounds)",
        "type": "number",
        "minimum": 1,
        "maximum": 0,
    }
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def _refuse_nan(node: Any) -> None:
    """Every ``"type": "number"`` in the schema also says ``"not": NaN`` (see $defs.NaN)."""
    if isinstance(node, dict):
        if node.get("type") == "number" and "not" not in node:
            node["not"] = {"$ref": "#/$defs/NaN"}
        for value in node.values():
            _refuse_nan(value)
    elif isinstance(node, list):
        for value in node:
            _refuse_nan(value)


def _end_patterns_at_the_end(node: Any) -> None:
    r"""Make every ``...$`` pattern end at the end of the text in every regex dialect.

    ECMAScript's ``$`` (an editor's) matches only at the end; Python's (the ``jsonschema``
    package's) also before a final newline, so ``"web\n"`` would pass there while the
    loader refuses it. ``(?![\s\S])`` (nothing follows) means the end in both.
    """
    if isinstance(node, dict):
        pattern = node.get("pattern")
        if isinstance(pattern, str) and pattern.endswith("$"):
            node["pattern"] = pattern + r"(?![\s\S])"
        for value in node.values():
            _end_patterns_at_the_end(value)
    elif isinstance(node, list):
        for value in node:
            _end_patterns_at_the_end(value)
