"""Tenants (free-text names, SLA, version and cadence) and their clusters; the
``workloads:`` shorthand and the cluster name it gives (:func:`cluster_name_for`)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
    WithJsonSchema,
    model_validator,
)

from underlay.model.fields import (
    IsolationClass,
    KubeVersion,
    Name,
    Real,
    SupportChannel,
    Whole,
    _Model,
    _require_unique,
)
from underlay.model.hardware import MaxPodsPolicy
from underlay.model.substrates import CONTROL_PLANE_HELP, ControlPlaneMode
from underlay.model.workloads import SystemPod, Workload

__all__ = ["TENANT_NAME_MAX", "Cluster", "Sla", "Tenant", "TenantName", "cluster_name_for"]


class Cluster(_Model):
    """One Kubernetes cluster of a tenant."""

    name: Name
    control_plane: ControlPlaneMode = Field(default="auto", description=CONTROL_PLANE_HELP)
    system_pods: list[SystemPod] | None = Field(
        default=None, description="DaemonSet pods on every node (default: the defaults file's set)"
    )
    max_pods: MaxPodsPolicy = MaxPodsPolicy()
    workloads: list[Workload] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_workloads(self) -> Cluster:
        _require_unique("workload", [w.name for w in self.workloads], "workloads")
        return self


class Sla(_Model):
    """What the tenant was promised."""

    availability_percent: Real = Field(default=99.9, ge=0, le=100)
    cpu_satisfaction_percent: Real = Field(
        default=99.0, ge=0, le=100, description="share of CPU demand that must be granted"
    )


# C0 and C1 control characters, DEL, and the bidirectional overrides and isolates that can
# make a name display as something else in a terminal or a browser.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _tenant_name(value: str) -> str:
    bad = _CONTROL.search(value)
    if bad is not None:
        raise ValueError(
            f"{value!r} contains a control character ({bad.group()!r} at position "
            f"{bad.start() + 1}); write the name on one line, without tabs, other control "
            "characters or bidirectional overrides"
        )
    if not value.strip():
        raise ValueError(f"{value!r} is only spaces; give the tenant a name")
    return value


TENANT_NAME_MAX = 100
TenantName = Annotated[
    str,
    Field(min_length=1, max_length=TENANT_NAME_MAX),
    AfterValidator(_tenant_name),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": TENANT_NAME_MAX,
            # No control character anywhere, and one that is not a space. No "$": Python's
            # matches before a final newline, ECMAScript's does not.
            "pattern": "^(?![\\s\\S]*[\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e"
            "\\u2066-\\u2069])[\\s\\S]*\\S",
            "description": "free text, e.g. 'ACME Corp (EU)': 1 to 100 characters, not only "
            "spaces, no control characters (tabs, newlines); unique. With `workloads:` "
            "directly under the tenant, its one cluster is named after it (see Tenant)",
        }
    ),
]
"""A tenant's name: free text (a team or customer), printed literally by every report."""

_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_NAME_EDGES = "-_."


def cluster_name_for(tenant: str) -> str:
    """The name of the one cluster the ``workloads:`` shorthand gives a tenant.

    A slug of the tenant's name, so the cluster gets a valid (Kubernetes-style) name
    whatever the tenant is called: every run of characters outside ``A-Z a-z 0-9 - _ .``
    becomes one ``-``; ``-``, ``_`` and ``.`` are trimmed from both ends (a name starts and
    ends with a letter or digit); the result is cut to 63 characters (and trimmed again);
    ``cluster`` when nothing is left. Deterministic: ``Team <Payments>`` always gives
    ``Team-Payments``, and a name that is already a valid cluster name is kept as it is.
    """
    slug = _NOT_IN_NAME.sub("-", tenant).strip(_NAME_EDGES)[:63].rstrip(_NAME_EDGES)
    return slug or "cluster"


class Tenant(_Model):
    """A team or customer with its clusters.

    ``name`` is free text (``ACME Corp (EU)``, ``Team <Payments>``): 1 to 100 characters,
    not only spaces, no control characters, unique in the scenario. Reports print it
    literally (escaped for their format), never as markup. ``workloads:`` written directly
    under a tenant stand for one cluster, named after the tenant by :func:`cluster_name_for`.
    """

    name: TenantName
    kubernetes_version: KubeVersion = "1.33"
    isolation: IsolationClass = "internal"
    sla: Sla = Sla()
    upgrade_cadence_months: Whole = Field(
        default=12, ge=1, le=60, description="months between the tenant's own upgrades"
    )
    support: SupportChannel = Field(
        default="upstream", description="whose support calendar counts for this tenant"
    )
    must_stay_supported: StrictBool = Field(
        default=False, description="reject a cadence that cannot keep a supported version"
    )
    clusters: list[Cluster] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _single_cluster_shorthand(cls, data: Any) -> Any:
        # `workloads:` directly under a tenant means one cluster named after the tenant
        # (a slug of its name: tenant names are free text, cluster names are not).
        if isinstance(data, dict) and "workloads" in data and "clusters" not in data:
            data = dict(data)
            name = data.get("name")
            cluster = {
                "name": cluster_name_for(name) if isinstance(name, str) else "cluster",
                "workloads": data.pop("workloads"),
            }
            for key in ("control_plane", "system_pods", "max_pods"):
                if key in data:
                    cluster[key] = data.pop(key)
            data["clusters"] = [cluster]
        return data

    @model_validator(mode="after")
    def _unique_clusters(self) -> Tenant:
        _require_unique("cluster", [c.name for c in self.clusters], "clusters")
        return self
