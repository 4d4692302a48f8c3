"""Simulating a large business: 200,000 clients and about 10 million complaints.

Target (issue 3): at most 60 s on a 2-core machine. Prints the time and the sizes.
Run: .venv/bin/python benchmarks/simulate.py [--clients N]
"""

import argparse
import time

from analytics.sample import simulate

LARGE = {"n_clients": 200_000, "start": "2021-01-01", "end": "2026-01-01", "random_state": 0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=LARGE["n_clients"])
    args = parser.parse_args()
    began = time.perf_counter()
    history, _ = simulate(**{**LARGE, "n_clients": args.clients})
    seconds = time.perf_counter() - began
    print(f"simulate: {len(history.clients):,} clients, {len(history.complaints):,} complaints, "
          f"{len(history.interactions):,} interactions in {seconds:.1f} s (target <= 60 s)")


if __name__ == "__main__":
    main()
