"""Every client active at each cutoff, with its attributes and what followed: the rows of
the snapshot table and their labels (output-sized, on the driver)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics._time import naive_utc
from analytics.features._catalogue import OUTCOME_COLUMNS


def client_grid(clients: pd.DataFrame, dates: list[pd.Timestamp], horizon: pd.Timedelta, end: pd.Timestamp):
    """Every client active at each cutoff (ordered by cutoff, then client), with its
    attributes and the labels; and each row's client (its position in ``clients``) and cutoff index."""
    started = _moments(clients, "contract_start")
    ended = _moments(clients, "ended_at")
    status = clients["status"].astype("string").to_numpy(dtype=object, na_value=None) if "status" in clients else np.full(len(clients), None)
    by_id = np.argsort(clients["client_id"].astype("string").to_numpy(dtype=object, na_value=""), kind="stable")
    cuts = np.array([d.to_datetime64() for d in dates], dtype="datetime64[us]")
    codes, ks = [], []
    for k, cutoff in enumerate(cuts):
        active = ~(started >= cutoff) & ~(ended < cutoff)  # NaT compares false: no start or end means there
        codes.append(by_id[active[by_id]])
        ks.append(np.full(len(codes[-1]), k))
    code, k = np.concatenate(codes), np.concatenate(ks)
    cutoff = cuts[k]
    within = ended[code] < cutoff + horizon.to_timedelta64()
    days_in = np.floor((cutoff - started[code]) / np.timedelta64(1, "D"))
    attributes = clients.drop(columns=[c for c in OUTCOME_COLUMNS if c in clients.columns])
    # without pandas' metadata, Arrow types come back as numpy ones, as they would from an engine;
    # converted per client first, so that the rows share each client's values
    attributes = pa.Table.from_pandas(attributes, preserve_index=False).to_pandas(ignore_metadata=True)
    grid = {name: attributes[name].array.take(code) for name in attributes.columns}
    grid["cutoff"] = pd.DatetimeIndex(cutoff, tz="UTC")
    grid["churned"] = within & (status[code] == "churned")
    grid["ended_by_us"] = within & (status[code] == "ended_by_us")
    grid["censored"] = end.to_datetime64() < cutoff + horizon.to_timedelta64()
    if not np.isnan(days_in).any():
        days_in = days_in.astype(np.int64)
    grid["tenure_days"] = days_in
    # the start's anniversary, not the recorded contract end: that end is today's (a renewal
    # moves it, a churn sets it), so at an earlier cutoff it would tell the future
    days_to_renewal = np.floor((_next_anniversary(started[code], cutoff) - cutoff) / np.timedelta64(1, "D"))
    grid["days_to_renewal"] = days_to_renewal if np.isnan(days_to_renewal).any() else days_to_renewal.astype(np.int64)
    return grid, code, k


def _next_anniversary(dates: np.ndarray, cutoff: np.ndarray) -> np.ndarray:
    """The first yearly recurrence of each date after its cutoff, on the calendar: the same
    month and day (the month's last day where it is shorter, as for 29 February)."""
    month_of_year = dates.astype("datetime64[M]") - dates.astype("datetime64[Y]").astype("datetime64[M]")
    into_month = dates - dates.astype("datetime64[M]").astype(dates.dtype)

    def in_year(year: np.ndarray) -> np.ndarray:
        month = year.astype("datetime64[M]") + month_of_year
        return np.minimum(month.astype(dates.dtype) + into_month, (month + 1).astype(dates.dtype) - np.timedelta64(1, "D"))

    this_year = in_year(cutoff.astype("datetime64[Y]"))
    return np.where(this_year <= cutoff, in_year(cutoff.astype("datetime64[Y]") + 1), this_year)


def _moments(clients: pd.DataFrame, column: str) -> np.ndarray:
    """A client timestamp column as naive UTC datetime64 (NaT where missing or absent)."""
    if column not in clients:
        return np.full(len(clients), np.datetime64("NaT"), dtype="datetime64[us]")
    return naive_utc(clients[column]).to_numpy(dtype="datetime64[us]")
