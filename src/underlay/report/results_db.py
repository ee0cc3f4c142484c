"""The results store: an embedded DuckDB file of sweeps and runs (docs/results.md).

Three tables. ``sweeps``: one row per sweep (its scenario, grid, sample and points).
``runs``: one row per run — a sweep's point, or a single ``compare --db`` — with its
parameters, verdict and whole JSON document. ``results``: one row per run × substrate ×
tenant with every figure of that tenant (:mod:`underlay.report.result_rows`), the point's
parameters (``p_`` + the dotted key with ``_`` for ``.``) and the verdict; its figure
columns are added as new figures appear.

One process writes at a time (DuckDB locks the file). Each run is committed in one
transaction with its rows, so a killed writer loses at most the run it was writing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from underlay.errors import InputError
from underlay.report.result_rows import result_rows, verdict

__all__ = ["ResultsDB", "param_column"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sweeps (
    sweep_id BIGINT PRIMARY KEY, key VARCHAR UNIQUE, scenario VARCHAR, scenario_path VARCHAR,
    grid_path VARCHAR, sample VARCHAR, sample_seed BIGINT, points BIGINT,
    parameters VARCHAR, created_at TIMESTAMP DEFAULT current_timestamp,
    underlay_version VARCHAR
);
CREATE TABLE IF NOT EXISTS runs (
    run_id BIGINT PRIMARY KEY, sweep_id BIGINT, point BIGINT, scenario VARCHAR,
    scenario_path VARCHAR, parameters VARCHAR, status VARCHAR, error VARCHAR,
    winner VARCHAR, runner_up VARCHAR, margin DOUBLE, tie BOOLEAN, seconds DOUBLE,
    finished_at TIMESTAMP DEFAULT current_timestamp, document VARCHAR,
    UNIQUE (sweep_id, point)
);
CREATE TABLE IF NOT EXISTS results (
    run_id BIGINT, sweep_id BIGINT, point BIGINT, substrate VARCHAR, tenant VARCHAR
);
"""

_TYPES = {bool: "BOOLEAN", int: "DOUBLE", float: "DOUBLE", str: "VARCHAR"}


def param_column(key: str) -> str:
    """The ``results`` column of grid key ``key``: ``weights.cost`` → ``p_weights_cost``."""
    return "p_" + re.sub(r"[^0-9A-Za-z]+", "_", key).strip("_").lower()


def _sql_type(value: Any) -> str:
    return "DOUBLE" if value is None else _TYPES.get(type(value), "VARCHAR")


class ResultsDB:
    """An open results file; use as a context manager (closes it)."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        import duckdb

        if read_only and not path.is_file():
            raise InputError(f"{path}: no such results file")
        if not path.parent.is_dir():
            raise InputError(f"--db {path}: folder {path.parent} does not exist")
        self.path = path
        try:
            self.con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise InputError(f"{path}: cannot open as a DuckDB results file ({first})") from None
        if not read_only:
            self.con.execute(_SCHEMA)
        self._columns = self._read_columns()

    def __enter__(self) -> ResultsDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()

    @property
    def columns(self) -> dict[str, str]:
        """The ``results`` table's columns (lower case) and their SQL types."""
        return dict(self._columns)

    def _read_columns(self) -> dict[str, str]:
        rows = self.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'results'"
        ).fetchall()
        return {str(n).lower(): str(t) for n, t in rows}

    # ------------------------------------------------------------------ sweeps

    def sweep_id(self, key: str, **fields: Any) -> tuple[int, bool]:
        """The sweep whose identity is ``key`` (and True), or a new one with ``fields``."""
        found = self.con.execute("SELECT sweep_id FROM sweeps WHERE key = ?", [key]).fetchone()
        if found is not None:
            return int(found[0]), True
        new = self._next("sweeps", "sweep_id")
        names = ["sweep_id", "key", *fields]
        marks = ", ".join("?" for _ in names)
        self.con.execute(
            f"INSERT INTO sweeps ({', '.join(names)}) VALUES ({marks})",
            [new, key, *fields.values()],
        )
        return new, False

    def finished_points(self, sweep_id: int) -> set[int]:
        """Points of ``sweep_id`` already committed (done or failed)."""
        rows = self.con.execute("SELECT point FROM runs WHERE sweep_id = ?", [sweep_id]).fetchall()
        return {int(r[0]) for r in rows}

    def _next(self, table: str, column: str) -> int:
        row = self.con.execute(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}").fetchone()
        assert row is not None
        return int(row[0])

    # ------------------------------------------------------------------ runs

    def add_run(
        self,
        doc: Mapping[str, Any] | None,
        *,
        parameters: Mapping[str, Any] | None = None,
        sweep_id: int | None = None,
        point: int | None = None,
        scenario_path: str = "",
        seconds: float = 0.0,
        error: str | None = None,
    ) -> int:
        """Commit one run (its document, verdict and rows) in one transaction; its id."""
        params = dict(parameters or {})
        rows = result_rows(doc) if doc is not None else []
        for row in rows:
            row.update({param_column(k): v for k, v in params.items()})
        with self._transaction():
            run_id = self._next("runs", "run_id")
            won = verdict(doc or {})
            self.con.execute(
                "INSERT INTO runs (run_id, sweep_id, point, scenario, scenario_path, parameters,"
                " status, error, winner, runner_up, margin, tie, seconds, document)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run_id,
                    sweep_id,
                    point,
                    (doc or {}).get("scenario"),
                    scenario_path,
                    json.dumps(params),
                    "failed" if error else "done",
                    error,
                    won["winner"],
                    won["runner_up"],
                    won["margin"],
                    won["tie"],
                    seconds,
                    json.dumps(doc, allow_nan=False) if doc is not None else None,
                ],
            )
            self._insert_rows(rows, run_id, sweep_id, point)
        return run_id

    def _insert_rows(
        self, rows: Sequence[dict[str, Any]], run_id: int, sweep_id: int | None, point: int | None
    ) -> None:
        if not rows:
            return
        rows = [{k.lower(): v for k, v in row.items()} for row in rows]
        wanted: dict[str, str] = {}  # column → its type (a None alone: DOUBLE)
        typed: set[str] = set()  # columns typed by a value, not by a None
        for row in rows:
            for name, value in row.items():
                have = wanted.get(name)
                if have is None or (value is not None and have == "DOUBLE" and name not in typed):
                    wanted[name] = _sql_type(value)
                elif value is not None and have != _sql_type(value):
                    wanted[name] = "VARCHAR"
                if value is not None:
                    typed.add(name)
        for name, kind in wanted.items():
            self._ensure_column(name, kind)
        names = ["run_id", "sweep_id", "point", *wanted]
        quoted = ", ".join(f'"{n}"' for n in names)
        columns = [[r.get(n) for r in rows] for n in wanted]
        if all(self._one_type(n, c) for n, c in zip(wanted, columns, strict=True)):
            # column-wise, one list a column: ~3x faster than a row of parameters a value
            n = len(rows)
            lists = [[run_id] * n, [sweep_id] * n, [point] * n, *columns]
            unnest = ", ".join("unnest(?)" for _ in lists)
            self.con.execute(f"INSERT INTO results ({quoted}) SELECT {unnest}", lists)
            return
        # a column of mixed values (text here, a number there): each value cast alone
        values = [v for row in rows for v in (run_id, sweep_id, point, *map(row.get, wanted))]
        marks = "(" + ", ".join("?" for _ in names) + ")"
        self.con.execute(
            f"INSERT INTO results ({quoted}) VALUES {', '.join(marks for _ in rows)}", values
        )

    def _one_type(self, name: str, values: list[Any]) -> bool:
        """True when a list of ``values`` casts to column ``name`` as each value alone
        would: one Python type (ints with floats only into a DOUBLE column)."""
        kinds = {type(v) for v in values if v is not None}
        return len(kinds) <= 1 or (kinds == {int, float} and self._columns[name] == "DOUBLE")

    def _ensure_column(self, name: str, kind: str) -> None:
        have = self._columns.get(name)
        if have is None:
            self.con.execute(f'ALTER TABLE results ADD COLUMN "{name}" {kind}')
            self._columns[name] = kind
        elif have != kind and have != "VARCHAR" and kind == "VARCHAR":
            self.con.execute(f'ALTER TABLE results ALTER COLUMN "{name}" TYPE VARCHAR')
            self._columns[name] = "VARCHAR"

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            self._columns = self._read_columns()
            raise
        self.con.execute("COMMIT")

    # ------------------------------------------------------------------ reading

    def query(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of ``sql`` (InputError naming the problem when it fails)."""
        import duckdb

        try:
            cur = self.con.execute(sql, list(params))
        except duckdb.Error as exc:
            raise InputError(f"--sql: {str(exc).splitlines()[0]}") from None
        if cur.description is None:
            return [], []
        return [d[0] for d in cur.description], cur.fetchall()

    def export(self, sql: str, path: Path, fmt: str) -> None:
        """Write ``sql``'s result to ``path`` as CSV or Parquet, whole or not at all."""
        import duckdb

        tmp = path.with_name(f".{path.name}.tmp")
        option = "FORMAT CSV, HEADER" if fmt == "csv" else "FORMAT PARQUET"
        target = str(tmp).replace("'", "''")
        try:
            self.con.execute(f"COPY ({sql}) TO '{target}' ({option})")
            tmp.replace(path)
        except duckdb.Error as exc:
            raise InputError(f"--sql: {str(exc).splitlines()[0]}") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
        finally:
            tmp.unlink(missing_ok=True)
