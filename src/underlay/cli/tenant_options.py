"""Command-line options shared by the verbs that import Kubernetes state: how namespaces
become tenants, and which namespaces are the platform's (see
:mod:`underlay.importers.kubectl.tenancy`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from underlay.importers.kubectl.tenancy import TenantRules

__all__ = [
    "PlatformNamespaceOption",
    "TenantAnnotationOption",
    "TenantLabelOption",
    "TenantPatternOption",
    "tenant_rules",
]

TenantLabelOption = Annotated[
    str | None,
    typer.Option(
        "--tenant-label",
        metavar="KEY",
        help="tenant = the value of this namespace label (e.g. team)",
    ),
]
TenantAnnotationOption = Annotated[
    str | None,
    typer.Option(
        "--tenant-annotation",
        metavar="KEY",
        help="tenant = the value of this namespace annotation",
    ),
]
TenantPatternOption = Annotated[
    str | None,
    typer.Option(
        "--tenant-pattern",
        metavar="REGEX",
        help="tenant = the first group of this regex on the namespace name, e.g. '(.+)-(dev|prod)'",
    ),
]
PlatformNamespaceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--platform-namespace",
        metavar="NAME",
        help="a platform namespace (or pattern, 'istio-*') besides kube-* and openshift-*; repeatable",
    ),
]


def tenant_rules(
    label: str | None,
    annotation: str | None,
    pattern: str | None,
    platform: list[str] | None,
    pod_label: str | None = None,
) -> TenantRules:
    """The rules from the options (InputError when they contradict each other)."""
    from underlay.importers.kubectl.tenancy import TenantRules

    return TenantRules(
        label=label,
        annotation=annotation,
        pattern=pattern,
        pod_label=pod_label,
        platform_namespaces=tuple(platform or ()),
    )
