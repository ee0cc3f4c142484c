"""Namespaces grouped into tenants, and the platform's namespaces told apart.

A tenant is what a platform team bills or promises to: a team, a product, a customer.
Teams record it on their namespaces, so the rules read the namespace:

* ``label``: the value of a namespace label (``--tenant-label team``);
* ``annotation``: the value of a namespace annotation (``--tenant-annotation owner``);
* ``pattern``: a regular expression matched against the namespace's name from its
  start, the first group naming the tenant (``--tenant-pattern '(.+)-(dev|prod)'``
  puts ``shop-dev`` and ``shop-prod`` in tenant ``shop``);
* ``pod_label``: the value of a pod label (the older ``--tenant-from label:KEY``);
* none of them: one tenant per namespace.

A namespace the rule does not place (no such label, no match) goes to the tenant
:data:`UNASSIGNED` (``unlabelled`` for the pod label); the header names them.

Platform namespaces (:data:`DEFAULT_PLATFORM_NAMESPACES` and the ``--platform-namespace``
names or shell-style patterns) hold the platform's own pods: they are never tenants;
their DaemonSet pods become the clusters' system pods and their other pods are listed
in the header as add-ons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Final

from underlay.errors import InputError
from underlay.importers.kubectl.cursor import _At

__all__ = ["DEFAULT_PLATFORM_NAMESPACES", "UNASSIGNED", "NamespaceInfo", "TenantRules"]

DEFAULT_PLATFORM_NAMESPACES: Final = ("kube-*", "openshift", "openshift-*")
"""Namespaces of the platform itself: Kubernetes' own (``kube-system``, ``kube-public``,
``kube-node-lease``) and OpenShift's (``openshift-*``, about 60 on a 4.x cluster)."""

UNASSIGNED: Final = "unassigned"
"""The tenant of namespaces that a namespace rule does not place."""
_UNLABELLED: Final = "unlabelled"


@dataclass(frozen=True)
class NamespaceInfo:
    """What the rules read from a Namespace object."""

    name: str
    labels: dict[str, str]
    annotations: dict[str, str]


def parse_namespace(item: _At) -> NamespaceInfo | None:
    """The namespace's name, labels and annotations; ``None`` without a name."""
    meta = item.mapping("metadata")
    name = meta.text("name") if meta else None
    if not name:
        return None
    return NamespaceInfo(name, meta.strings("labels"), meta.strings("annotations"))  # type: ignore[union-attr]


@dataclass(frozen=True)
class TenantRules:
    """How namespaces become tenants (at most one of the four rules) and which
    namespaces are the platform's.  See the module docstring."""

    label: str | None = None
    """Namespace label whose value names the tenant."""
    annotation: str | None = None
    """Namespace annotation whose value names the tenant."""
    pattern: str | None = None
    """Regular expression on the namespace name; its first group names the tenant."""
    pod_label: str | None = None
    """Pod label whose value names the tenant."""
    platform_namespaces: tuple[str, ...] = ()
    """More platform namespaces (names or shell patterns), besides the defaults."""
    default_platform: bool = True
    """Whether :data:`DEFAULT_PLATFORM_NAMESPACES` count too."""

    def __post_init__(self) -> None:
        given = [
            option
            for option, value in (
                ("--tenant-label", self.label),
                ("--tenant-annotation", self.annotation),
                ("--tenant-pattern", self.pattern),
                ("--tenant-from label:KEY", self.pod_label),
            )
            if value is not None
        ]
        if len(given) > 1:
            raise InputError(f"{' and '.join(given)}: give one way to find tenants, not several")
        for option, value in (
            ("--tenant-label", self.label),
            ("--tenant-annotation", self.annotation),
        ):
            if value is not None and not value.strip():
                raise InputError(f"{option}: give a key, e.g. {option} team")
        if self.pattern is not None:
            try:
                compiled = re.compile(self.pattern)
            except re.error as exc:
                raise InputError(
                    f"--tenant-pattern: {self.pattern!r} is not a regular expression: {exc}"
                ) from None
            if compiled.groups < 1:
                raise InputError(
                    f"--tenant-pattern: {self.pattern!r} has no group: put the part that "
                    "names the tenant in parentheses, e.g. '(.+)-(dev|prod)'"
                )

    @property
    def needs_namespaces(self) -> bool:
        """Whether the rule reads Namespace objects (labels or annotations)."""
        return self.label is not None or self.annotation is not None

    def is_platform(self, namespace: str) -> bool:
        """Whether ``namespace`` is one of the platform's."""
        patterns = (*(DEFAULT_PLATFORM_NAMESPACES if self.default_platform else ()),)
        patterns += self.platform_namespaces
        return any(fnmatchcase(namespace, p) for p in patterns)

    def tenant_of(
        self,
        namespace: str,
        pod_labels: dict[str, str],
        namespaces: dict[str, NamespaceInfo],
    ) -> str:
        """The tenant key of a pod of ``namespace`` (not a platform one)."""
        if self.pod_label is not None:
            return pod_labels.get(self.pod_label) or _UNLABELLED
        if self.pattern is not None:
            match = re.match(self.pattern, namespace)
            return (match.group(1) if match else None) or UNASSIGNED
        info = namespaces.get(namespace)
        if self.label is not None:
            return (info.labels.get(self.label) if info else None) or UNASSIGNED
        if self.annotation is not None:
            return (info.annotations.get(self.annotation) if info else None) or UNASSIGNED
        return namespace

    def describe(self) -> str:
        """The rule in words, for the scenario's header."""
        if self.pod_label is not None:
            return f"the pod label {self.pod_label!r}"
        if self.label is not None:
            return f"the namespace label {self.label!r}"
        if self.annotation is not None:
            return f"the namespace annotation {self.annotation!r}"
        if self.pattern is not None:
            return f"the namespace pattern {self.pattern!r}"
        return "namespaces"

    def source_of(self, tenant: str, namespaces: list[str]) -> str:
        """Where one tenant came from, for the comment above it."""
        where = ", ".join(namespaces[:5]) + (
            f" and {len(namespaces) - 5} more" if len(namespaces) > 5 else ""
        )
        if self.pod_label is not None:
            if tenant == _UNLABELLED:
                return f"pods without the label {self.pod_label}"
            return f"pods labelled {self.pod_label}={tenant}"
        if self.describe() == "namespaces":
            return f"namespace {tenant}"
        if tenant == UNASSIGNED:
            return f"namespaces that {self.describe()} does not place: {where}"
        return f"{self.describe()} = {tenant!r}: namespaces {where}"
