"""The churn model judged against the planted truth, and its speed (issue 5).

Truth (a simulated world of --clients clients, quarterly cutoffs, default model):
  * backtest ROC AUC within 0.02 of the oracle AUC: the planted true churn probabilities
    scored on the same held-out snapshot rows;
  * expected calibration error <= 0.02;
  * the three strongest planted drivers (the renewal notice window, the recent complaint
    burden, the latent health that drives long-run complaint volume) each among the
    model's five most important features.
Speed (about 2.2 million snapshot rows over 11 quarterly cutoffs; --speed):
  * backtest <= 120 s; scoring 200,000 clients with their drivers <= 5 s.
  The simulator's clients come and go, so 2.2 million rows take 335,000 simulated clients
  (about 263,000 active at some cutoff); simulating them needs about 22 GB of memory, so
  save the history once (``History.save``) and pass it with --history.

Run: .venv/bin/python benchmarks/churn.py [--world realistic|subtle] [--clients N] [--seed S] [--speed [--history SAVED_FOLDER]]
"""

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

#: which planted driver each feature stands for (features not listed stand for none)
PLANTED = {
    "renewal notice window": lambda f: f in ("in_notice_window", "days_to_notice_window", "days_to_renewal", "notice_days"),
    "recent complaint burden": lambda f: f in ("severity_load", "open_complaints", "trend_90", "days_since_last_complaint")
    or any(f.startswith(p) and ("_30" in f or "_90" in f) for p in ("complaints_", "repeats_", "unresolved_", "resolution_hours", "first_response_hours")),
    "latent health (long-run complaint volume)": lambda f: f in ("complaint_rate_per_year", "complaint_rate_vs_segment", "complaints_to_date")
    or f.startswith(("complaints_365", "repeats_365", "unresolved_365")),
}


def truth(clients: int, seed: int, world: str) -> None:
    from analytics.features import snapshots
    from analytics.models import ChurnModel, backtest, fit_by_client, training_data
    from analytics.sample import simulate

    history, planted = simulate(clients, "2021-01-01", "2026-01-01", random_state=seed, world=world)
    rows = snapshots(history, "QE")
    print(f"{world} world: {clients:,} clients, {len(rows):,} snapshot rows, {rows['cutoff'].nunique()} cutoffs")
    result = backtest(rows, bootstrap=100)
    pooled = result.predictions
    oracle = pd.concat([planted.churn_probability(c).rename("oracle").reset_index().assign(cutoff=c) for c in pooled["cutoff"].unique()])
    both = pooled.merge(oracle, on=["client_id", "cutoff"])
    model_auc, oracle_auc = roc_auc_score(both["churned"], both["probability"]), roc_auc_score(both["churned"], both["oracle"])
    ece = result.overall.set_index("metric").loc["ece"]
    print(f"held-out rows {len(both):,} of {len(pooled):,} (the rest ended the week of the cutoff, where the truth has no probability)")
    print(f"backtest ROC AUC {model_auc:.4f}, oracle {oracle_auc:.4f}: gap {oracle_auc - model_auc:.4f} (target <= 0.02)")
    print(f"expected calibration error {ece['value']:.4f} (95% {ece['low']:.4f} to {ece['high']:.4f}; target <= 0.02)")
    print(result.per_cutoff[["cutoff", "train_rows", "test_rows", "churners", "roc_auc", "ece"]].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    known = rows.loc[~rows["censored"]]
    X, y = training_data(known.loc[known["cutoff"] < known["cutoff"].max()])
    model = fit_by_client(ChurnModel(), X, y, known.loc[X.index, "client_id"])
    print(f"settings chosen: {model.best_params_}")
    latest, _ = training_data(known.loc[known["cutoff"] == known["cutoff"].max()])
    top = model.importance(latest).head(5)
    print("five most important features (mean absolute probability points):")
    for feature, points in top.items():
        stands_for = [name for name, member in PLANTED.items() if member(feature)]
        print(f"  {feature}: {points * 100:.2f} pts  ({', '.join(stands_for) or 'no planted driver'})")
    found = [name for name, member in PLANTED.items() if any(member(f) for f in top.index)]
    print(f"planted drivers among the top five: {len(found)} of 3 ({', '.join(found)})")


def speed(folder: str | None) -> None:
    import tempfile

    from analytics.features import snapshots
    from analytics.models import ChurnModel, backtest, training_data

    cutoffs = list(pd.date_range("2023-01-01", periods=11, freq="QS", tz="UTC"))
    with tempfile.TemporaryDirectory() as scratch:
        if folder is None:
            from analytics.sample import simulate

            simulate(335_000, "2021-01-01", "2026-01-01", random_state=0)[0].save(scratch)
            folder = scratch
        rows = snapshots(folder, cutoffs)
    print(f"{rows['client_id'].nunique():,} clients, {len(rows):,} snapshot rows, {len(cutoffs)} cutoffs")
    began = time.perf_counter()
    result = backtest(rows)  # defaults: ChurnModel(), 200 bootstrap resamples
    print(f"backtest: {time.perf_counter() - began:.1f} s for {len(result.per_cutoff)} test cutoffs (target <= 120 s)")
    X, y = training_data(rows)
    model = ChurnModel().fit(X, y)
    latest = rows.loc[rows["cutoff"] == rows["cutoff"].max()]
    clients = pd.concat([latest] * int(np.ceil(200_000 / len(latest))), ignore_index=True).head(200_000)
    features, _ = training_data(clients, include_censored=True)
    began = time.perf_counter()
    probability = model.predict_proba(features)[:, 1]
    drivers = model.drivers(features)
    seconds = time.perf_counter() - began
    assert np.allclose(drivers.sum(axis=1), probability, atol=1e-6)
    print(f"scoring {len(features):,} clients with their drivers: {seconds:.1f} s (target <= 5 s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=11, help="the simulated world's seed")
    parser.add_argument("--world", default="realistic", help="the simulated world's setting: realistic or subtle")
    parser.add_argument("--speed", action="store_true", help="time the backtest on about 2.2 million snapshot rows and scoring 200,000 clients instead")
    parser.add_argument("--history", help="with --speed: a saved history to use instead of simulating 335,000 clients")
    args = parser.parse_args()
    if args.speed:
        speed(args.history)
    else:
        truth(args.clients, args.seed, args.world)


if __name__ == "__main__":
    main()
