"""Writing a simulated history out as the files a business would export."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from analytics.io import History

SAMPLE_CLIENTS = 600
SAMPLE_SEED = 7
SAMPLE_START, SAMPLE_END = "2023-01-01", "2026-01-01"


def write_sample(history: History, folder) -> list[Path]:
    """Write clients, complaints and interactions as Parquet files, byte for byte reproducibly."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in ("clients", "complaints", "interactions"):
        path = folder / f"{table}.parquet"
        arrow = pa.Table.from_pandas(getattr(history, table), preserve_index=False).replace_schema_metadata(None)
        pq.write_table(arrow, path, compression="zstd", compression_level=9)
        paths.append(path)
    return paths
