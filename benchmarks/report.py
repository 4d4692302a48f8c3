"""The reports at size: each report on 1 million complaints and 20,000 clients.

Target (issue 8): the quarterly report in at most 90 s end to end on this machine (2
cores), from the saved history on disk to the HTML file, through the command a user runs.
Side by side, the same history's load alone (the floor any report pays) and the review
computed in this process, so the report's own cost (kernel, notebook, export) shows as the
difference. Then every other report (``--reports``) through the same command.

Run: .venv/bin/python benchmarks/report.py [--clients 20000] [--years 5] [--folder DIR] [--reports quarterly workshop ...]
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--years", type=int, default=6, help="years of history (6 give about 1.1 million complaints at 20,000 clients)")
    parser.add_argument("--folder", type=Path, help="reuse (or keep) the simulated export here")
    parser.add_argument("--reports", nargs="+", default=["quarterly", "workshop", "review", "quality"])
    args = parser.parse_args()

    from analytics.io import load_history
    from analytics.quarterly import quarterly_review
    from analytics.sample import simulate, write_sample

    folder = args.folder or Path(tempfile.mkdtemp(prefix="report-bench-"))
    if not (folder / "complaints.parquet").exists():
        started = time.perf_counter()
        history, _ = simulate(args.clients, f"{2026 - args.years}-01-01", "2026-01-01", random_state=5)
        write_sample(history, folder)
        print(f"simulated and wrote {len(history.clients):,} clients, {len(history.complaints):,} complaints in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    history = load_history(folder)
    load = time.perf_counter() - started
    started = time.perf_counter()
    review = quarterly_review(history)
    compute = time.perf_counter() - started
    print(f"history: {len(history.clients):,} clients, {len(history.complaints):,} complaints, {len(history.interactions):,} interactions")
    print(f"in process: load {load:.1f} s, review {compute:.1f} s ({len(review.clients):,} active clients, "
          f"{review.backtest.per_cutoff['cutoff'].nunique()} backtest quarters)")

    for kind in args.reports:
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "analytics", "report", kind, "--source", str(folder), "--out", out],
                                  capture_output=True, text=True)
            total = time.perf_counter() - started
            if done.returncode:
                sys.exit(done.stderr[-3000:])
            size = next(Path(out).glob(f"{kind}*.html")).stat().st_size
        line = f"{kind}: end to end {total:.1f} s for a {size / 1e6:.1f} MB report"
        if kind == "quarterly":
            line += f" (target <= 90 s: {'met' if total <= 90 else 'NOT met'}); report overhead over load + review: {total - load - compute:.1f} s"
        print(line, flush=True)


if __name__ == "__main__":
    main()
