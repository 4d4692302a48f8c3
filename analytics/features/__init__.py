"""Point-in-time features per client and cutoff, run by an engine (DuckDB or Spark)."""

from analytics.features._catalogue import FEATURES
from analytics.features._engine import connect, spark_session
from analytics.features._prior import prior_count
from analytics.features._repeats import repeats
from analytics.features._snapshots import snapshots
from analytics.features._source import data_end, resolve_cutoffs

__all__ = ["FEATURES", "connect", "data_end", "prior_count", "repeats", "resolve_cutoffs", "snapshots", "spark_session"]
