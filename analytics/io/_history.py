"""``History``: the canonical tables of one business, with what was rejected and why."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics._time import utc
from analytics.results import Result
from analytics.schemas import KNOWN_AT_RESOLUTION, PRACTICES, empty_table

TABLES = ("clients", "complaints", "interactions")


@dataclass(repr=False)
class LoadReport(Result):
    """What a load read, loaded and quarantined, per table and source; ``summary`` is
    ``counts``. Its Markdown and HTML add the quarantine's reasons, the values left unmapped
    and what each column of the export holds.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> report = load_sample().report
    >>> report.computed_on
    '38,707 rows read from 3 sources with the profile generic: 38,707 loaded, 0 quarantined'
    >>> report.summary[["table", "rows_read", "rows_loaded"]].to_dict("list")
    {'table': ['clients', 'complaints', 'interactions'], 'rows_read': [3000, 13119, 22588], 'rows_loaded': [3000, 13119, 22588]}
    """

    title = "Load report"

    counts: pd.DataFrame  # table, source, rows_read, rows_loaded, rows_quarantined, cells_quarantined, exact_duplicates
    unmapped: pd.DataFrame  # table, column, value, rows: values the profile could not map
    reasons: pd.DataFrame  # table, column, check, rows, example
    profile: str = "generic"
    notes: list[str] = field(default_factory=list)
    coverage: pd.DataFrame | None = None  # table, column, filled, other: what each provided canonical column holds

    def _table(self) -> pd.DataFrame:
        """``counts``, each source by its file name."""
        return self.counts.assign(source=self.counts["source"].map(lambda s: str(s).rsplit("/", 1)[-1]))

    @property
    def computed_on(self) -> str:
        sources = self.counts["source"].nunique()
        return (f"{self.rows_read:,} rows read from {sources:,} source{'s' if sources != 1 else ''} with the profile {self.profile}: "
                f"{int(self.counts['rows_loaded'].sum()):,} loaded, {self.rows_quarantined:,} quarantined")

    def plot(self):
        """Rows loaded and quarantined per table and source."""
        import plotly.graph_objects as go  # here: loading never needs plotly

        names = self.counts["table"] + ": " + self.counts["source"].map(lambda s: str(s).rsplit("/", 1)[-1])
        figure = go.Figure([go.Bar(y=names, x=self.counts[column], name=label, orientation="h", hovertemplate="%{y}: %{x:,} rows<extra>" + label + "</extra>")
                            for column, label in (("rows_loaded", "loaded"), ("rows_quarantined", "quarantined"))])
        figure.update_layout(title="Rows loaded and quarantined", barmode="stack", xaxis_title="rows", yaxis_autorange="reversed")
        return figure

    @property
    def rows_read(self) -> int:
        return int(self.counts["rows_read"].sum())

    @property
    def rows_quarantined(self) -> int:
        return int(self.counts["rows_quarantined"].sum())

    @property
    def cells_quarantined(self) -> int:
        """Bad values in optional columns of loaded rows: made missing, each in the quarantine."""
        return int(self.counts["cells_quarantined"].sum()) if "cells_quarantined" in self.counts else 0

    def to_markdown(self) -> str:
        heading, counts = self._rendering()
        parts = [f"**{heading}**", "", counts.to_markdown(index=False, disable_numparse=True)]
        if len(self.reasons):
            parts += ["", "**Quarantine reasons**", "", self.reasons.to_markdown(index=False)]
        if len(self.unmapped):
            parts += ["", "**Values mapped to `other` or left empty**", "", self.unmapped.to_markdown(index=False)]
        if self.coverage is not None and len(self.coverage):
            parts += ["", "**Columns the export provides** (share filled, share other)", "",
                      self.coverage.to_markdown(index=False, floatfmt=".0%", missingval="")]
        parts += [f"- {note}" for note in self.notes]
        return "\n".join(parts)

    def to_html(self) -> str:
        from analytics.tables import styled  # here: tables are for showing, loading never needs them

        counts = self._table()
        numbers = [c for c in counts.columns if c.startswith("rows_") or c in ("cells_quarantined", "exact_duplicates", "records")]
        parts = [f"<h4>{html.escape(self.title)}</h4>", f"<p>{html.escape(self.computed_on)}</p>", styled(counts, counts=numbers).to_html()]
        if len(self.reasons):
            parts += ["<h5>Quarantine reasons</h5>", styled(self.reasons, counts=["rows"]).to_html()]
        if len(self.unmapped):
            unmapped = self.unmapped.rename(columns={"value": "value as exported"})
            parts += ["<h5>Values mapped to <code>other</code> or left empty</h5>", styled(unmapped, counts=["rows"]).to_html()]
        if self.coverage is not None and len(self.coverage):
            coverage = self.coverage.rename(columns={"filled": "share filled", "other": "share other"})
            parts += ["<h5>Columns the export provides: share of rows with a value, and of those, share <code>other</code></h5>",
                      styled(coverage, percent=["share filled", "share other"],
                             caption="– in share other: the column has no fixed list of values").to_html()]
        if self.notes:
            parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in self.notes) + "</ul>")
        return "\n".join(parts)

    _repr_html_ = to_html

    def to_dict(self) -> dict:
        return {
            "profile": self.profile,
            "notes": self.notes,
            "counts": self.counts.to_dict(orient="records"),
            "unmapped": self.unmapped.to_dict(orient="records"),
            "reasons": self.reasons.to_dict(orient="records"),
        }

    @classmethod
    def from_dict(cls, data: dict) -> LoadReport:
        return cls(
            counts=pd.DataFrame(data["counts"]),
            unmapped=pd.DataFrame(data["unmapped"], columns=["table", "column", "value", "rows"]),
            reasons=pd.DataFrame(data["reasons"], columns=["table", "column", "check", "rows", "example"]),
            profile=data["profile"],
            notes=data["notes"],
        )


@dataclass
class History:
    """A business's clients, complaints and interactions in canonical form.

    ``quarantine`` has one row per problem found (table, source, row, column, value,
    reason, and the whole row as exported in ``record``); ``report`` counts what was
    read, loaded and quarantined. ``seen_until``: for an event log, its last event: the
    export saw nothing after it, whatever later dates its columns carry (a scheduled
    closing), so the data ends there. ``engine``: where its analyses run unless they are
    told otherwise; ``load_history(..., engine=...)`` sets it and every history taken from
    this one (:meth:`as_of`, :meth:`of_clients`) keeps it.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> history = load_sample()
    >>> len(history.clients), len(history.complaints), len(history.interactions)
    (3000, 13119, 22588)
    >>> [f"{moment:%Y-%m-%d}" for moment in history.span]
    ['2023-01-01', '2025-12-27']
    >>> history.has("csat"), history.report.rows_quarantined
    (True, 0)
    """

    clients: pd.DataFrame
    complaints: pd.DataFrame
    interactions: pd.DataFrame = field(default_factory=lambda: empty_table("interactions"))
    quarantine: pd.DataFrame = field(default_factory=pd.DataFrame)
    report: LoadReport | None = None
    clients_derived: bool = False
    seen_until: pd.Timestamp | None = None
    engine: object = field(default=None, compare=False)
    #: complaint-level facts computed once (see :meth:`remembered`)
    _remembered: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"History({len(self.clients):,} clients, {len(self.complaints):,} complaints, "
            f"{len(self.interactions):,} interactions, {self.quarantined_rows():,} rows quarantined)"
        )

    def remembered(self, key, columns: list[str], compute) -> pd.DataFrame:
        """``compute()``, run once per ``key`` while the complaints' ``columns`` hold the same
        values: every analysis that needs a derived fact (repeat flags) shares one
        computation, and a table changed in place (a trigger corrected in a notebook) is
        computed anew. A copy is returned, so a caller's changes stay its own.

        Examples
        --------
        >>> from analytics.datasets import load_sample
        >>> history, runs = load_sample(), []
        >>> def count():
        ...     runs.append(1)
        ...     return history.complaints[["trigger"]].value_counts().reset_index()
        >>> first = history.remembered("trigger counts", ["trigger"], count)
        >>> again = history.remembered("trigger counts", ["trigger"], count)
        >>> history.complaints.loc[0, "trigger"] = "billing"
        >>> changed = history.remembered("trigger counts", ["trigger"], count)
        >>> len(runs), first.equals(again)
        (2, True)
        """
        stamp = (key, len(self.complaints), _fingerprint(self.complaints, columns))
        if stamp not in self._remembered:
            self._remembered[stamp] = compute()
        return self._remembered[stamp].copy()

    @property
    def complaint_count(self) -> int:
        """How many complaints the history holds."""
        return len(self.complaints)

    def quarantined_rows(self) -> int:
        return 0 if self.report is None else self.report.rows_quarantined

    @property
    def span(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """First and last complaint opening."""
        if self.complaints.empty:
            return None
        return utc(self.complaints["opened_at"].min()), utc(self.complaints["opened_at"].max())

    def has(self, *columns: str, table: str = "complaints") -> bool:
        """Whether ``table`` records every one of ``columns`` (a column that is all null is not recorded)."""
        frame = getattr(self, table)
        return all(c in frame and frame[c].notna().any() for c in columns)

    def _repr_html_(self) -> str:
        span = self.span
        rows = [
            ("clients", f"{len(self.clients):,}" + (" (derived from complaints)" if self.clients_derived else "")),
            ("complaints", f"{len(self.complaints):,}"),
            ("interactions", f"{len(self.interactions):,}"),
            ("quarantined rows", f"{self.quarantined_rows():,}"),
            ("values set aside (row kept, value missing)", f"{0 if self.report is None else self.report.cells_quarantined:,}"),
        ]
        if span:
            rows.append(("complaints opened", f"{span[0]:%Y-%m-%d} to {span[1]:%Y-%m-%d}"))
        practices = [p for p in PRACTICES if self.has(p)]
        rows.append(("handling practices recorded", ", ".join(p.replace("_", " ") for p in practices) or "none"))
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return f"<table><caption>History</caption>{body}</table>"

    def as_of(self, moment) -> History:
        """Everything that was known strictly before ``moment``.

        Complaints opened at or after it disappear; for complaints still unresolved
        at that moment, the resolution and everything recorded with it is unknown.
        Clients who had not started are dropped; a client that ended later is active.
        """
        moment = utc(moment)
        before = (self.complaints["opened_at"] < moment).to_numpy(dtype=bool, na_value=False)
        # the latest quarter's review keeps every complaint: taking all rows would cost seconds
        complaints = (self.complaints if before.all() else self.complaints.loc[before]).copy()
        for column in ("first_response_at", "resolved_at", "closed_at"):
            if column in complaints:  # a history built from a table may lack the optional ones
                complaints[column] = complaints[column].mask(complaints[column] >= moment)
        unresolved = complaints["resolved_at"].isna()
        for column in KNOWN_AT_RESOLUTION:
            if column in complaints:
                complaints[column] = complaints[column].mask(unresolved)
        clients = self.clients
        if "contract_start" in clients:
            clients = clients.loc[~(clients["contract_start"] >= moment)]
        clients = clients.copy()
        later = (clients["ended_at"] >= moment).fillna(False).astype(bool)
        clients.loc[later, "status"] = "active"
        clients["ended_at"] = clients["ended_at"].mask(later)
        clients["end_reason"] = clients["end_reason"].mask(later)
        interactions = self.interactions.loc[self.interactions["at"] < moment]
        seen = None if self.seen_until is None else min(utc(self.seen_until), moment)
        return History(clients.reset_index(drop=True), complaints.reset_index(drop=True), interactions.reset_index(drop=True), self.quarantine,
                       self.report, self.clients_derived, seen, self.engine)

    def whole_clients(self, complaints: int, random_state: int = 0) -> History:
        """The history of randomly chosen clients holding about ``complaints`` complaints
        (all of it when it holds no more): whole clients, so effects and their
        client-clustered intervals stay honest on a sample."""
        if len(self.complaints) <= complaints:
            return self
        per_client = self.complaints["client_id"].value_counts().sort_index()  # in a defined order, as an engine counts them
        order = per_client.sample(frac=1.0, random_state=random_state)
        return self.of_clients(order.index[: max(1, int(np.searchsorted(order.cumsum().to_numpy(), complaints)))])

    def of_clients(self, client_ids) -> History:
        """The history of these clients only, all of it."""
        chosen = pd.Index(client_ids)
        keep = {name: getattr(self, name).loc[getattr(self, name)["client_id"].isin(chosen)].reset_index(drop=True) for name in TABLES}
        return History(keep["clients"], keep["complaints"], keep["interactions"], self.quarantine, self.report, self.clients_derived,
                       self.seen_until, self.engine)

    def save(self, folder) -> Path:
        """Write the history to a folder of Parquet files (and the report as JSON), with times
        in microseconds: every engine reads them (Spark refuses nanoseconds)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            getattr(self, table).to_parquet(folder / f"{table}.parquet", index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
        self.quarantine.to_parquet(folder / "quarantine.parquet", index=False)
        meta = {"clients_derived": self.clients_derived, "report": self.report.to_dict() if self.report else None,
                "seen_until": None if self.seen_until is None else utc(self.seen_until).isoformat()}
        (folder / "history.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        return folder

    @classmethod
    def read(cls, folder) -> History:
        """A history written by :meth:`save`."""
        folder = Path(folder)
        meta = json.loads((folder / "history.json").read_text(encoding="utf-8"))
        tables = {t: pd.read_parquet(folder / f"{t}.parquet", dtype_backend="pyarrow") for t in TABLES}
        return cls(
            **tables,
            quarantine=pd.read_parquet(folder / "quarantine.parquet"),
            report=LoadReport.from_dict(meta["report"]) if meta["report"] else None,
            clients_derived=meta["clients_derived"],
            seen_until=pd.Timestamp(meta["seen_until"]) if meta.get("seen_until") else None,
        )


def _fingerprint(frame: pd.DataFrame, columns: list[str]) -> str:
    """A digest of the columns' values in their order: DuckDB sums a hash of each row with its
    position, read from Arrow without copying (several times faster than pandas' hashing),
    so any change in place changes it."""
    values = pa.table({"row": np.arange(len(frame))} | {f"c{i}": pa.array(frame[c], from_pandas=True) for i, c in enumerate(columns)})
    with duckdb.connect() as con:
        return str(con.sql(f"SELECT sum(hash({', '.join(values.column_names)}))::VARCHAR FROM values").fetchall()[0][0])
