"""A run's rows go into ``results`` in one multi-row INSERT: every row lands with its own
values, a column that is text in one row and a number or true/false in another is text
in all, and a figure only some rows have is NULL in the others."""

from __future__ import annotations

from pathlib import Path

import duckdb
from sweep_db_cases import point_doc

from underlay.report.results_db import ResultsDB


def test_rows_keep_their_values_and_a_mixed_column_is_text(tmp_path: Path) -> None:
    doc = point_doc({"A": 2.0, "B": 1.0})
    # tenant figures, by substrate and tenant: `mixed` is a number, a word, true
    doc["substrates"][0]["tenants"] = [
        {"name": "web", "mixed": 3, "only_here": 1.5},
        {"name": "bank", "mixed": "abc"},
    ]
    doc["substrates"][1]["tenants"] = [{"name": "web", "mixed": True}, {"name": "bank"}]
    path = tmp_path / "r.duckdb"
    with ResultsDB(path) as db:
        db.add_run(doc, parameters={"k": 1})
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT substrate, tenant, placement_mixed, placement_only_here, p_k "
            "FROM results ORDER BY rowid"
        ).fetchall()
        kinds = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'results'"
            ).fetchall()
        )
    assert rows == [
        ("A", "web", "3", 1.5, 1.0),
        ("A", "bank", "abc", None, 1.0),
        ("B", "web", "true", None, 1.0),
        ("B", "bank", None, None, 1.0),
    ]
    assert kinds["placement_mixed"] == "VARCHAR" and kinds["placement_only_here"] == "DOUBLE"
