"""Point-in-time features per client and cutoff, run by an engine (DuckDB or Spark); and
what other analyses use to run there: a history's tables as the engine reads them, its
complaint groups, and expression helpers."""

from analytics._engine import connect, connection, engine_of, is_url, runs_analyses, spark_session
from analytics.features._aggregate import HOUR_MS, cutoff_index, milliseconds
from analytics.features._catalogue import FEATURES
from analytics.features._groups import Groups, Tables, interval, period_index
from analytics.features._prior import prior_count
from analytics.features._repeats import repeats
from analytics.features._saved import Saved
from analytics.features._snapshots import snapshots
from analytics.features._source import data_end, reading, resolve_cutoffs, staged
from analytics.features._stored import StoredHistory, open_history

__all__ = [
    "FEATURES", "HOUR_MS", "Groups", "Saved", "StoredHistory", "Tables", "connect", "connection", "cutoff_index", "data_end", "engine_of", "interval", "is_url", "milliseconds", "open_history", "period_index", "prior_count", "reading",
    "repeats", "resolve_cutoffs", "runs_analyses", "snapshots", "spark_session", "staged",
]
