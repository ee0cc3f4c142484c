"""Kubernetes object names and quantities as the exported manifests write them.

Scenario names are free text (tenants) or ``A-Z a-z 0-9 - _ .`` (clusters, parts, host
models); object names are DNS labels (RFC 1123: lower case, digits and ``-``, at most 63
characters, a letter or digit at each end), which Cluster API also asks of a cluster's
name (it becomes a label value). :func:`object_name` turns the first into the second,
deterministically, and keeps two different inputs apart when the slug alone would not.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["DNS_LABEL", "cpu_quantity", "memory_quantity", "object_name", "semver"]

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_OUTSIDE = re.compile(r"[^a-z0-9]+")
_MAX = 63


def object_name(*parts: str) -> str:
    """``parts`` joined by ``-`` as a DNS label: lower case, each run of other characters
    one ``-``, trimmed; when that changed the text (beyond case) or the result is longer
    than 63 characters, a 6-character hash of the original joins it, so ``a_b`` and
    ``a.b`` stay two names."""
    joined = "-".join(p for p in parts if p)
    slug = _OUTSIDE.sub("-", joined.lower()).strip("-") or "x"
    if slug == joined.lower() and len(slug) <= _MAX:
        return slug
    digest = hashlib.sha256(joined.encode("utf-8")).hexdigest()[:6]
    return f"{slug[: _MAX - 7].rstrip('-')}-{digest}"


def cpu_quantity(milli: int) -> str:
    """A CPU quantity: whole cores as ``4``, else millicores (``90m``)."""
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def memory_quantity(mib: int) -> str:
    """A memory quantity: ``64Gi`` when a whole number of GiB, else ``3646Mi``."""
    return f"{mib // 1024}Gi" if mib % 1024 == 0 and mib else f"{mib}Mi"


def semver(version: str) -> str:
    """A Kubernetes minor (``1.33``) as the release Cluster API asks for (``v1.33.0``);
    a full version is kept (``1.33.4`` → ``v1.33.4``)."""
    bare = version.removeprefix("v")
    return f"v{bare}.0" if bare.count(".") == 1 else f"v{bare}"
