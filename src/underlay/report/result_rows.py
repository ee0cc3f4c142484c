"""A run's JSON (``compare --json``) as flat rows: one per substrate × tenant.

Each row holds every figure the JSON has for that tenant on that substrate, named by one
rule (docs/results.md): the JSON path below the tenant's record joined by ``_``, behind
the section's prefix — ``placement_`` (the substrate's ``tenants``), ``sim_``,
``isolation_``, ``failures_``, ``lifecycle_``, ``cost_`` (each section's ``tenants``) and
``score_`` (the decision's per-tenant scores on that substrate); the substrate's own
figures behind ``substrate_`` (its record without its tenants and unplaced list), its
decision scores behind ``substrate_score_``; and the verdict. Lists are kept as JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["SECTION_PREFIXES", "flatten", "result_rows", "verdict"]

SECTION_PREFIXES = {
    "simulation": "sim",
    "isolation": "isolation",
    "failures": "failures",
    "lifecycle": "lifecycle",
    "cost": "cost",
}
"""Each per-substrate section of the JSON and the prefix of its tenant figures."""

# Per-substrate records too long to be figures of a row (kept whole in runs.document).
_SUBSTRATE_SKIPPED = {"name", "tenants", "unplaced", "notes", "simulation", *SECTION_PREFIXES}


def flatten(record: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    """``(column, value)`` for every leaf of ``record``: nested keys joined by ``_``
    behind ``prefix``; lists as JSON text."""
    for key, value in record.items():
        name = f"{prefix}_{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            yield from flatten(value, name)
        elif isinstance(value, list):
            yield name, json.dumps(value, sort_keys=True)
        else:
            yield name, value


def verdict(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The decision's verdict as flat figures (all None without a decision)."""
    v = (doc.get("decision") or {}).get("verdict") or {}
    return {
        "winner": v.get("winner"),
        "runner_up": v.get("runner_up"),
        "margin": v.get("margin"),
        "tie": v.get("tie"),
    }


def result_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per substrate × tenant of run JSON ``doc``, in file order."""
    decision = doc.get("decision") or {}
    won = verdict(doc)
    cards = {c["name"]: c for c in decision.get("substrates", [])}
    scores = {t["name"]: t for t in decision.get("tenants", [])}
    hybrid = (decision.get("hybrid") or {}).get("assignment", {})
    rows = []
    for k, sub in enumerate(doc["substrates"]):
        common: dict[str, Any] = {"substrate": sub["name"]}
        common.update(
            flatten({k2: v for k2, v in sub.items() if k2 not in _SUBSTRATE_SKIPPED}, "substrate")
        )
        card = cards.get(sub["name"])
        if card is not None:
            common["substrate_score_total"] = card["total"]
            for factor, one in card["factors"].items():
                common[f"substrate_score_{factor}"] = one["score"]
                common[f"substrate_value_{factor}"] = one["value"]
        common["verdict_winner"] = won["winner"]
        common["verdict_runner_up"] = won["runner_up"]
        common["verdict_margin"] = won["margin"]
        common["verdict_tie"] = won["tie"]
        common["is_winner"] = sub["name"] == won["winner"] if won["winner"] else None
        for tenant in sub["tenants"]:
            name = tenant["name"]
            row = {**common, "tenant": name}
            row.update(flatten({t: v for t, v in tenant.items() if t != "name"}, "placement"))
            for section, prefix in SECTION_PREFIXES.items():
                part = sub.get(section)
                mine = _tenant(part, name) if isinstance(part, Mapping) else None
                if mine is not None:
                    row.update(flatten({t: v for t, v in mine.items() if t != "name"}, prefix))
            one = scores.get(name)
            if one is not None:
                for factor, score in one["scores"][k].items():
                    row[f"score_{factor}"] = score
                row["score_total"] = one["totals"][k]
                row["score_best"] = one["best"]
            row["hybrid_substrate"] = hybrid.get(name)
            rows.append(row)
    return rows


def _tenant(section: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    return next((t for t in section.get("tenants", []) if t.get("name") == name), None)
