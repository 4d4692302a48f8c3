"""The relationship review judged against the planted truth (issue 7).

In a simulated world, 3% of clients are planted abusive and 5% unprofitable. Among the
clients active at the end of the data, this prints the precision and recall of the
``consider_exit`` recommendation (default policy) against those planted clients, per
kind, and checks that no client that is profitable (net value >= 0 over the last 12
months) and had no abusive contact is recommended for exit. Also the health score's bands
with the churn rate each had on cutoffs the weights never saw.

Run: .venv/bin/python benchmarks/review.py [--clients 5000] [--seeds 3]
"""

import argparse
import time

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()

    from analytics.features import snapshots
    from analytics.health import HealthScore
    from analytics.review import relationship_review
    from analytics.sample import simulate

    totals = []
    for seed in range(args.seeds):
        started = time.perf_counter()
        history, truth = simulate(args.clients, "2023-01-01", "2026-01-01", random_state=100 + seed)
        review = relationship_review(history)
        clients = review.clients
        planted = clients["client_id"].isin(truth.abusive | truth.unprofitable)
        exit_ = clients["recommendation"] == "consider_exit"
        hits = int((exit_ & planted).sum())
        row = {"seed": 100 + seed, "active": len(clients), "planted": int(planted.sum()), "recommended": int(exit_.sum()), "correct": hits,
               "precision": hits / max(int(exit_.sum()), 1), "recall": hits / max(int(planted.sum()), 1)}
        for kind, members in (("abusive", truth.abusive), ("unprofitable", truth.unprofitable)):
            mine = clients["client_id"].isin(members)
            row[f"recall_{kind}"] = int((exit_ & mine).sum()) / max(int(mine.sum()), 1)
        wrongly = exit_ & (clients["net_value_12m"] >= 0) & (clients["abusive_contacts_365"] == 0)
        row["profitable_and_never_abusive_but_exit"] = int(wrongly.sum())
        row["seconds"] = time.perf_counter() - started
        totals.append(row)
        print(pd.DataFrame([row]).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    frame = pd.DataFrame(totals)
    print(f"\nover {len(frame)} worlds of {args.clients:,} clients: precision {frame['correct'].sum() / frame['recommended'].sum():.3f}, "
          f"recall {frame['correct'].sum() / frame['planted'].sum():.3f}; profitable clients without abusive contacts recommended for exit: "
          f"{int(frame['profitable_and_never_abusive_but_exit'].sum())}")

    history, _ = simulate(args.clients, "2023-01-01", "2026-01-01", random_state=100)
    rows = snapshots(history)
    print("\nhealth bands on cutoffs the weights never saw:")
    print(HealthScore().bands(rows).to_string(index=False, float_format=lambda x: f"{x:.4f}"))


if __name__ == "__main__":
    main()
