"""Loading 10 million complaints from Parquet into a validated History.

Reports the ratio of ``load_history`` to a bare ``pandas.read_parquet`` of the same file,
both run in this process, alternating, best of three each. Target (issue 2): <= 2.0.
Run: .venv/bin/python benchmarks/load.py [--rows N]
"""

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analytics.io import load_history
from analytics.sample import simulate


def make_file(folder: Path, rows: int) -> Path:
    """A complaints export of at least ``rows`` rows, from the simulator, repeated if needed."""
    history, _ = simulate(n_clients=max(1_000, rows // 44), start="2021-01-01", end="2026-01-01", random_state=0)
    complaints = history.complaints
    path = folder / "complaints.parquet"
    table = pa.Table.from_pandas(complaints, preserve_index=False)
    pq.write_table(table.slice(0, rows), path)
    return path


def best_of(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = make_file(Path(folder), args.rows)
        rows = pq.ParquetFile(path).metadata.num_rows
        read, load = [], []
        for _ in range(3):  # alternate, so that both see the same machine noise
            read.append(best_of(lambda: pd.read_parquet(path), 1))
            load.append(best_of(lambda: load_history(path), 1))
        history = load_history(path)
        assert history.report.rows_read == rows == len(history.complaints) + history.report.rows_quarantined
        print(f"{rows:,} complaint rows: pandas.read_parquet {min(read):.2f} s, load_history {min(load):.2f} s, "
              f"ratio {min(load) / min(read):.2f} (target <= 2.0)")


if __name__ == "__main__":
    main()
