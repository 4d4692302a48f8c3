"""A saved history left where it is: its analyses run in the engine, which reads the Parquet
files (or, on Spark, the URL) itself. Only the clients, counts and the complaints of the
clients an analysis asks for come to this process."""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from analytics._engine import connection, is_url, runs_analyses
from analytics._time import utc
from analytics.features._saved import Saved, counted_columns, fetched, in_utc
from analytics.io import History, LoadReport
from analytics.schemas import KNOWN_AT_RESOLUTION, empty_table
from analytics.schemas import ORDERED_AFTER_OPENING as MOMENTS


class StoredHistory:
    """The history saved at ``location`` (:meth:`History.save` or
    :func:`analytics.io.load_into`: a folder, or a URL Spark reads), analysed by ``engine``
    (DuckDB in this process unless given) where it lies, as it was known before ``moment``
    (:meth:`as_of`). It answers what the quarterly review and the action list ask of a
    :class:`~analytics.io.History` (clients, span, what is recorded, :meth:`as_of`); the
    complaints of chosen clients come to this process as a History (:meth:`of_clients`,
    :meth:`whole_clients`), and every engine analysis (snapshots, KPIs, Pareto, repeat rates,
    practice effects) takes it as it takes a saved history's folder.

    Examples
    --------
    >>> from analytics.datasets import SAMPLE_FOLDER, load_sample
    >>> from analytics.features import StoredHistory
    >>> stored = StoredHistory(SAMPLE_FOLDER)
    >>> stored.complaint_count, len(stored.clients), stored.has("csat")
    (13119, 3000, True)
    >>> earlier = stored.as_of("2025-01-01")
    >>> earlier.complaint_count == len(load_sample().as_of("2025-01-01").complaints)
    True
    """

    def __init__(self, location: str | Path, engine=None, moment=None):
        self.location, self.engine, self.moment = location, engine, None if moment is None else utc(moment)
        with connection(engine) as con:
            saved = Saved(location, con)
            meta = saved.meta()
            self.clients_derived = bool(meta.get("clients_derived"))
            self.report = LoadReport.from_dict(meta["report"]) if meta.get("report") else None
            seen = utc(meta["seen_until"]) if meta.get("seen_until") else None
            self.seen_until = seen if seen is None or self.moment is None else min(seen, self.moment)
            # the clients as History.as_of leaves them: one rule for both
            self.clients = History(saved.frame("clients"), empty_table("complaints")).as_of(self.moment).clients if self.moment else saved.frame("clients")
            complaints, interactions = self.complaints_table(con), self.interactions_table(con)
            self._recorded = {"complaints": self._recorded_in(saved, "complaints", complaints),
                              "interactions": self._recorded_in(saved, "interactions", interactions),
                              "clients": {c for c in self.clients.columns if self.clients[c].notna().any()}}
            c = complaints
            facts = con.execute(c.aggregate(
                count=c.count(), first=c.opened_at.min(), last=c.opened_at.max(), **{name: c[name].max() for name in MOMENTS if name in c.columns},
            )).iloc[0]
            self.complaint_count = int(facts["count"])
            self.span = None if pd.isna(facts["first"]) else (utc(facts["first"]), utc(facts["last"]))
            moments = [facts[name] for name in ("last", *MOMENTS) if name in facts] + [con.execute(interactions.at.max()), self.clients["ended_at"].max()]
            # where the data ends, as data_end counts it
            self.end = self.seen_until if self.seen_until is not None else max(utc(m) for m in moments if pd.notna(m))

    def __repr__(self) -> str:
        moment = "" if self.moment is None else f" as of {self.moment:%Y-%m-%d %H:%M}"
        return f"StoredHistory({self.location}{moment}: {len(self.clients):,} clients, {self.complaint_count:,} complaints)"

    def _recorded_in(self, saved: Saved, name: str, table) -> set[str]:
        """From the files' statistics; as of a moment, counted in the masked table."""
        return saved.recorded(name) if self.moment is None else counted_columns(saved.con, table)

    def complaints_table(self, con, numbered: bool = False) -> ibis.Table:
        """The complaints as the engine ``con`` reads them, masked as :meth:`History.as_of` masks them."""
        t = Saved(self.location, con).table("complaints", numbered)
        if self.moment is None:
            return t
        moment = ibis.literal(self.moment)
        t = t.filter(in_utc(t.opened_at) < moment)
        t = t.mutate(**{c: ibis.ifelse(in_utc(t[c]) >= moment, ibis.null(t[c].type()), t[c]) for c in MOMENTS if c in t.columns})
        if "resolved_at" in t.columns:
            t = t.mutate(**{c: ibis.ifelse(t.resolved_at.isnull(), ibis.null(t[c].type()), t[c]) for c in KNOWN_AT_RESOLUTION if c in t.columns})
        return t

    def interactions_table(self, con, numbered: bool = False) -> ibis.Table:
        t = Saved(self.location, con).table("interactions", numbered)
        return t if self.moment is None else t.filter(in_utc(t.at) < ibis.literal(self.moment))

    def has(self, *columns: str, table: str = "complaints") -> bool:
        """Whether ``table`` records every one of ``columns`` (a value in at least one row)."""
        return all(c in self._recorded[table] for c in columns)

    def quarantined_rows(self) -> int:
        return 0 if self.report is None else self.report.rows_quarantined

    def as_of(self, moment) -> StoredHistory:
        """What was known strictly before ``moment`` (see :meth:`History.as_of`)."""
        moment = utc(moment) if self.moment is None else min(utc(moment), self.moment)
        return StoredHistory(self.location, self.engine, moment)

    def of_clients(self, client_ids) -> History:
        """The history of these clients, all of it as known, in this process."""
        chosen = pd.Index(client_ids)
        with connection(self.engine) as con:
            ids = ibis.memtable(pd.DataFrame({"chosen_id": pd.array(chosen.astype(str), dtype="string")}))
            tables = {"complaints": self.complaints_table(con, numbered=True), "interactions": self.interactions_table(con, numbered=True)}
            frames = {}
            for name, t in tables.items():
                kept = t.semi_join(ids, t.client_id.cast("string") == ids.chosen_id)
                kept = kept.order_by("_row").drop("_row")  # in the saved order, as History.of_clients keeps it
                frames[name] = fetched(con, kept)
        clients = self.clients.loc[self.clients["client_id"].isin(chosen)].reset_index(drop=True)
        return History(clients, frames["complaints"], frames["interactions"], report=self.report, clients_derived=self.clients_derived,
                       seen_until=self.seen_until, engine=self.engine)

    def whole_clients(self, complaints: int, random_state: int = 0) -> History:
        """Randomly chosen whole clients holding about ``complaints`` complaints (every client
        when the history holds no more), in this process: the same clients
        :meth:`History.whole_clients` chooses."""
        if self.complaint_count <= complaints:
            return self.of_clients(self.clients["client_id"])
        with connection(self.engine) as con:
            t = self.complaints_table(con)
            counts = con.execute(t.group_by(client_id=t.client_id.cast("string")).aggregate(n=t.count()))
        per_client = counts.set_index("client_id")["n"].sort_index()
        order = per_client.sample(frac=1.0, random_state=random_state)
        return self.of_clients(order.index[: max(1, int(np.searchsorted(order.cumsum().to_numpy(), complaints)))])

    def clients_with_open_complaints(self) -> pd.Index:
        """The clients with a complaint neither resolved nor closed."""
        with connection(self.engine) as con:
            t = self.complaints_table(con)
            waiting = ibis.literal(True)
            for name in ("resolved_at", "closed_at"):
                if name in t.columns:
                    waiting &= t[name].isnull()
            found = con.execute(t.filter(waiting).select(client_id=t.client_id.cast("string")).distinct())
        return pd.Index(found["client_id"])

    @property
    def quarantine(self) -> pd.DataFrame:
        """The rows set aside when the history was loaded, with their reasons: few, so they
        come to this process."""
        with connection(self.engine) as con:
            return Saved(self.location, con).frame("quarantine")

    @property
    def complaints(self):
        raise AttributeError("a stored history keeps its complaints where they are: take those of chosen clients with of_clients(ids), "
                             "or History.read(location) for all of them")


def open_history(source: str | Path, profile="generic", engine=None, into: str | Path | None = None, **load) -> History | StoredHistory:
    """A saved history (a folder holding ``history.json`` beside its tables, as
    :meth:`History.save` and :func:`analytics.io.load_into` write them; or a URL Spark reads)
    stays where it is, as a :class:`StoredHistory` that ``engine`` analyses; any other
    source is loaded with :func:`analytics.io.load_history` (``profile``, ``engine`` and
    ``load`` as it takes them).

    With ``into`` (a folder; on Spark also a URL of shared storage), an export the engine
    reads (Parquet files, or the engine's own tables) is checked in the engine and written
    there by :func:`analytics.io.load_into`, then left where it is: of its rows only the
    quarantined ones come to this process.

    Examples
    --------
    >>> from analytics import open_history
    >>> from analytics.datasets import SAMPLE_FOLDER, load_sample
    >>> type(open_history(SAMPLE_FOLDER)).__name__  # an export: loaded and checked
    'History'
    >>> saved = load_sample().save(getfixture("tmp_path") / "saved")
    >>> open_history(saved)
    StoredHistory(...: 3,000 clients, 13,119 complaints)
    >>> open_history(saved, into=getfixture("tmp_path") / "checked")  # checked in DuckDB, written from there
    StoredHistory(...checked: 3,000 clients, 13,119 complaints)
    """
    from analytics.io import is_database_url, load_history, load_into

    if into is not None:
        load_into(source, into, profile, engine=engine or "duckdb", **load)
        return StoredHistory(into, engine if runs_analyses(engine) else None)
    text = str(source)
    if is_url(text) or (not is_database_url(text) and (Path(source) / "history.json").is_file()):
        return StoredHistory(source, engine)
    return load_history(source, profile, engine=engine, **load)
