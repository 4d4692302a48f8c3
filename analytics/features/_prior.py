"""How many earlier complaints each complaint had: the history a complaint arrived with."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics._time import naive_utc


def prior_count(keys: pd.Series, moments: pd.Series, window: pd.Timedelta) -> np.ndarray:
    """For each row, the rows with the same key (a client, or client and trigger) opened in
    the ``window`` before it: one sort and one binary search, not a self-join.

    Examples
    --------
    >>> import pandas as pd
    >>> from analytics.features import prior_count
    >>> opened = pd.to_datetime(["2025-01-01", "2025-01-20", "2025-03-01", "2025-01-05"])
    >>> prior_count(pd.Series(["a", "a", "a", "b"]), pd.Series(opened), pd.Timedelta("30D")).tolist()
    [0, 1, 0, 0]
    """
    codes = pd.factorize(keys)[0].astype(np.int64)
    seconds = naive_utc(moments).to_numpy("datetime64[s]").astype(np.int64)
    key = codes * (1 << 40) + (seconds - seconds.min())  # 2^40 s outlasts any history: keys never overlap
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    first = np.searchsorted(ordered, ordered - int(window.total_seconds()), side="left")
    result = np.empty(len(key), dtype=np.int64)
    result[order] = np.arange(len(ordered)) - first
    return result
