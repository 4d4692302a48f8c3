"""Writing a simulated history out as the files a business would export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analytics.io import History
from analytics.sample._settings import SAMPLE_CLIENTS, SAMPLE_END, SAMPLE_SEED, SAMPLE_START  # noqa: F401 - named here too
from analytics.tables import write_csv

#: the cells each defect kind writes into its row (resolved_before_opened and the duplicates are built in code)
NOT_YET_HAPPENED = {"first_response_at": "", "resolved_at": "", "closed_at": ""}
REWRITES = {
    "unparseable_date": {"opened_at": "31/02/2024"},
    "future_date": {"opened_at": "2099-06-01 10:00:00+00:00", **NOT_YET_HAPPENED},
    "placeholder_date": {"opened_at": "1900-01-01", **NOT_YET_HAPPENED},
    "severity_out_of_range": {"severity": "7"},
    "csat_as_words": {"csat": "very happy"},
    "negative_credit": {"credit_amount": "-25.0"},
    "missing_client_id": {"client_id": ""},
    "unknown_client_id": {"client_id": "CL-NOT-A-CLIENT"},
    "unknown_channel_spelling": {"channel": "E-mail (web form)"},
}
#: data-quality problems real complaint exports have: kind -> (column, the loader's check)
DEFECTS = {
    "unparseable_date": ("opened_at", "unparseable"),
    "resolved_before_opened": ("resolved_at", "order"),
    "future_date": ("opened_at", "future_date"),
    "placeholder_date": ("opened_at", "implausible_date"),
    "severity_out_of_range": ("severity", "out_of_range"),
    "csat_as_words": ("csat", "unparseable"),
    "negative_credit": ("credit_amount", "out_of_range"),
    "missing_client_id": ("client_id", "missing_required"),
    "unknown_client_id": ("client_id", "unknown_reference"),
    "duplicate_id": ("complaint_id", "duplicate_id"),
    "exact_duplicate": ("(all columns)", "exact_duplicate"),
    "unknown_channel_spelling": ("channel", None),  # loaded as `other` and counted, not quarantined
}


def write_sample(history: History, folder) -> list[Path]:
    """Write clients, complaints and interactions as Parquet files, byte for byte reproducibly.

    Examples
    --------
    >>> import tempfile
    >>> from analytics import load_history
    >>> from analytics.sample import simulate, write_sample
    >>> history, _ = simulate(n_clients=100, random_state=3)
    >>> folder = tempfile.mkdtemp()
    >>> [path.name for path in write_sample(history, folder)]
    ['clients.parquet', 'complaints.parquet', 'interactions.parquet']
    >>> len(load_history(folder).complaints) == len(history.complaints)
    True
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in ("clients", "complaints", "interactions"):
        path = folder / f"{table}.parquet"
        arrow = pa.Table.from_pandas(getattr(history, table), preserve_index=False).replace_schema_metadata(None)
        pq.write_table(arrow, path, compression="zstd", compression_level=9)
        paths.append(path)
    return paths


def write_export(history: History, folder, defects: float = 0.0, random_state=0) -> pd.DataFrame:
    """Write the history as CSV files, with a share ``defects`` of complaint rows made faulty.

    Each faulty row gets one problem from :data:`DEFECTS`. Returns what was injected:
    one row per faulty complaint row (``row`` counts data rows of complaints.csv from 1),
    with its ``kind``, ``column`` and the ``check`` the loader should quarantine it under.

    Examples
    --------
    >>> import tempfile
    >>> from analytics import load_history
    >>> from analytics.sample import simulate, write_export
    >>> history, _ = simulate(n_clients=100, random_state=3)
    >>> folder = tempfile.mkdtemp()
    >>> planted = write_export(history, folder, defects=0.05)
    >>> planted.columns.tolist()
    ['row', 'kind', 'column', 'check']
    >>> sorted(set(planted["check"].dropna()))[:3]
    ['duplicate_id', 'exact_duplicate', 'implausible_date']
    >>> quarantine = load_history(folder).quarantine
    >>> expected = planted.dropna(subset=["check"])  # an unknown spelling is mapped to "other" and counted, not quarantined
    >>> set(expected["row"]) <= set(quarantine.loc[quarantine["table"] == "complaints", "row"])
    True
    """
    rng = np.random.default_rng(random_state)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(history.clients, folder / "clients.csv")
    write_csv(history.interactions, folder / "interactions.csv")
    complaints = history.complaints.astype(object).astype(str).replace({"<NA>": "", "NaT": ""})
    n = len(complaints)
    chosen = rng.choice(n, size=int(round(defects * n)), replace=False) if defects else np.array([], int)
    kinds = np.array(list(DEFECTS))[rng.integers(0, len(DEFECTS), len(chosen))]
    log, extra = [], []
    for row, kind in zip(chosen, kinds, strict=True):
        record = complaints.iloc[row]
        if kind == "resolved_before_opened":
            record["resolved_at"] = str(pd.Timestamp(record["opened_at"]) - pd.Timedelta("3D"))
        for column, value in REWRITES.get(kind, {}).items():
            record[column] = value
        complaints.iloc[row] = record
        if kind in ("duplicate_id", "exact_duplicate"):
            copy = record.copy()
            if kind == "duplicate_id":
                copy["severity"] = "4" if record["severity"] != "4" else "1"
            extra.append(copy)
            log.append({"row": n + len(extra), "kind": kind})
        else:
            log.append({"row": row + 1, "kind": kind})
    if extra:
        complaints = pd.concat([complaints, pd.DataFrame(extra)], ignore_index=True)
    write_csv(complaints, folder / "complaints.csv")
    injected = pd.DataFrame(log, columns=["row", "kind"])
    injected["column"] = injected["kind"].map(lambda k: DEFECTS[k][0])
    injected["check"] = injected["kind"].map(lambda k: DEFECTS[k][1])
    return injected.sort_values("row", ignore_index=True)
