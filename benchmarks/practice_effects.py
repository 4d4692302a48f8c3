"""Practice effects judged against the planted truth over many simulated worlds (issue 6).

For each seed: simulate a world, estimate every practice's effect on every outcome with
``analytics.rootcause.practice_effects`` and check whether the planted effect lies in the
95% interval. Targets: each planted effect covered in at least 90% of seeds; for
``apologized`` (planted with no effect, used mostly on mild complaints so it looks
helpful), the naive difference is wrong (its interval misses zero) while the adjusted
interval covers zero.

The planted truths are average effects on each outcome's probability, over the complaints
whose outcome the data records (the estimate can only be about those). For disputes, CSAT
and churn they are the simulator's own (``Truth.effects["ate_recorded"]``: complaints
closed unresolved, or still open at the end, have no dispute or CSAT, and their effects
are larger, being more often severe; the churn truth counts every path the simulator
plants from a practice to churn, through the client's actual hazard, including fewer or
more repeats and unresolved or slow complaints, and counts a churn as the data does: from
the complaint's opening to 180 days later, unless we ended the client first). For repeats, the simulator
plants a *scheduled* repeat, but the data can only show "the same trigger again within 90
days", which also happens by coincidence (another complaint of that trigger) and misses
scheduled repeats that land outside the window, never come (the client left first) or are
recorded under another trigger; and a client who leaves makes no more complaints, so a
practice that keeps clients shows more repeats of every kind (in the realistic world this
path is as large as a point). The truth on the observed scale is therefore, averaged over
the complaints, the difference between the practice used and not of
staying_i x (coincidence + (1 - coincidence) x detection x P(scheduled repeat)_i):
staying_i is the probability that the client is still a client through the 90 days after
the resolution, from its actual weekly hazard with the complaint's own burden scaled by the
practice's churn effect; coincidence is the share of complaints of clients who stayed that
had a complaint of the same recorded trigger this one did not cause (fresh, or the
scheduled repeat of an earlier complaint) in the window, and detection the share of
scheduled repeats of clients who stayed seen as repeats where nothing else came.

An exactly calibrated 95% interval misses more than 10% of 20 seeds with probability 0.08,
so with 32 effects a few fall short by chance at 20 seeds; at 200 seeds the chance is
0.001, and an effect that falls short there is really under-covered.

Run: .venv/bin/python benchmarks/practice_effects.py [--world realistic|subtle] [--seeds 20] [--clients 2000] [--practices apologized ...] [--jobs 2]
     [--first-seed 0] [--save seeds.csv] | --summarise seeds.csv ...
"""

import argparse
import multiprocessing
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat

import numpy as np
import pandas as pd
from scipy.stats import binom


def observed_repeat_truth(history, truth) -> pd.Series:
    """The planted effect of each practice on the observed repeat rate, in points."""
    from analytics.features import repeats

    c = history.complaints[["complaint_id", "client_id", "trigger", "opened_at", "resolved_at"]].copy()
    c[["opened_at", "resolved_at"]] = c[["opened_at", "resolved_at"]].apply(lambda t: pd.to_datetime(t, utc=True))
    c["repeat_of"] = c["complaint_id"].map(truth.complaints["repeat_of"]).astype(object)
    flags = repeats(history, "90D").set_index("complaint_id").reindex(c["complaint_id"])
    c["repeated"] = flags["repeated"].where(flags["complete"].fillna(False).astype(bool)).to_numpy()
    later = c[["client_id", "trigger", "opened_at", "complaint_id", "repeat_of"]].rename(columns={"opened_at": "later_opened", "complaint_id": "later_id", "repeat_of": "later_parent"})
    pairs = c.loc[c["repeated"].notna(), ["complaint_id", "client_id", "trigger", "resolved_at"]].merge(later, on=["client_id", "trigger"])
    window = (pairs["later_opened"] > pairs["resolved_at"]) & (pairs["later_opened"] <= pairs["resolved_at"] + pd.Timedelta(days=90))
    pairs = pairs.loc[window]
    # a coincidence is a complaint that is not this one's scheduled repeat nor a repeat of that
    # repeat: fresh, or the scheduled repeat of a complaint opened before this was resolved
    parent_opened = pairs["later_parent"].map(c.set_index("complaint_id")["opened_at"])
    fresh = pairs["later_parent"].isna().to_numpy()
    older = (parent_opened < pairs["resolved_at"]).fillna(False).to_numpy() & (pairs["later_parent"].fillna("") != pairs["complaint_id"]).to_numpy()
    coincidence = set(pairs.loc[fresh | older, "complaint_id"])
    rows = c.loc[c["repeated"].notna()].copy()
    rows["coincidence"] = rows["complaint_id"].isin(coincidence)
    # every scheduled repeat, including those that never came because the client left first
    rows["scheduled"] = rows["complaint_id"].map(truth.complaints["repeat_scheduled"]).astype(bool)
    # a client who leaves makes no more complaints: the rates are those of clients who stayed
    # through the window, and a practice that keeps clients shows more repeats of every kind
    ended = pd.to_datetime(rows["client_id"].map(history.clients.set_index("client_id")["ended_at"]), utc=True)
    stayed = (ended.isna() | (ended > rows["resolved_at"] + pd.Timedelta(days=90))).to_numpy()
    coincidence_rate = float(rows.loc[stayed, "coincidence"].mean())
    clean = rows.loc[stayed & rows["scheduled"].to_numpy() & ~rows["coincidence"].to_numpy(), "repeated"]
    detection = float(clean.astype(float).mean())
    logit = np.log(truth.complaints["p_repeat"] / (1 - truth.complaints["p_repeat"]))
    result = {}
    for practice in truth.world.effects:
        recorded = history.complaints.set_index("complaint_id")[practice].reindex(rows["complaint_id"])
        keep = recorded.notna().to_numpy()
        used = recorded.fillna(False).astype(bool).to_numpy()[keep]
        effect = truth.coefficient(practice, "repeat").reindex(rows["complaint_id"]).to_numpy()[keep]  # it may differ by complaint
        base = logit.reindex(rows["complaint_id"]).to_numpy()[keep] - effect * used
        staying = _staying(truth, rows.loc[keep], practice, used)
        seen = {arm: staying[arm] * (coincidence_rate + (1 - coincidence_rate) * detection / (1 + np.exp(-(base + effect * arm)))) for arm in (0, 1)}
        result[practice] = 100 * float(np.mean(seen[1] - seen[0]))
    return pd.Series(result)


def _staying(truth, rows: pd.DataFrame, practice: str, used: np.ndarray) -> dict:
    """The probability that each complaint's client is still a client through the 90 days
    after its resolution, with the practice used (1) and not (0): the client's actual
    weekly hazard, with the complaint's own burden scaled by the practice's churn effect."""
    world = truth.world
    client = pd.Index(truth.client_ids).get_indexer(rows["client_id"])
    start = truth.start
    opened = ((rows["opened_at"] - start) / pd.Timedelta(days=7)).astype(float).to_numpy().astype(int)
    resolved = ((rows["resolved_at"] - start) / pd.Timedelta(days=7)).astype(float).to_numpy().astype(int)
    own = truth.complaints["burden"].reindex(rows["complaint_id"]).to_numpy(dtype=float)
    coefficient = truth.coefficient(practice, "churn").reindex(rows["complaint_id"]).to_numpy(dtype=float)
    weeks = resolved[:, None] + np.arange(13)[None, :]
    hazard = truth.hazard[client[:, None], np.minimum(weeks, truth.hazard.shape[1] - 1)].astype(float)
    fading = world.decay ** np.maximum(weeks - opened[:, None], 0)
    return {arm: np.exp(-(hazard * np.exp(world.burden_coef * own[:, None] * fading * (np.exp(coefficient * (arm - used))[:, None] - 1))).sum(axis=1))
            for arm in (0, 1)}


def one_world(seed: int, clients: int, practices, world: str = "realistic") -> pd.DataFrame:
    """Every effect's estimate, interval and planted truth in the world of one seed."""
    from analytics.rootcause import practice_effects
    from analytics.sample import simulate

    started = time.perf_counter()
    history, truth = simulate(clients, "2023-01-01", "2026-01-01", random_state=1000 + seed, world=world)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = practice_effects(history, practices=practices, random_state=seed).table
    planted = truth.effects.assign(truth_pts=truth.effects["ate_recorded"] * 100)[["practice", "outcome", "truth_pts"]]
    repeat_truth = observed_repeat_truth(history, truth)
    planted.loc[planted["outcome"] == "repeat", "truth_pts"] = planted.loc[planted["outcome"] == "repeat", "practice"].map(repeat_truth).to_numpy()
    table = table.merge(planted, on=["practice", "outcome"]).assign(seed=seed, world=world)
    table["covered"] = (table["low_pts"] <= table["truth_pts"]) & (table["truth_pts"] <= table["high_pts"])
    table["naive_covered"] = (table["naive_low_pts"] <= table["truth_pts"]) & (table["truth_pts"] <= table["naive_high_pts"])
    print(f"seed {seed}: {len(history.complaints):,} complaints, covered {table['covered'].mean():.0%} of {len(table)} effects "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0, help="number the seeds from here, to extend an earlier run")
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--practices", nargs="*", help="only these practices (e.g. apologized, with more clients, to see the naive bias)")
    parser.add_argument("--world", default="realistic", help="the simulated world's setting: realistic or subtle")
    parser.add_argument("--jobs", type=int, default=1, help="worlds simulated and estimated at once")
    parser.add_argument("--save", help="write every seed's estimates, intervals and truths to this CSV file")
    parser.add_argument("--summarise", metavar="CSV", nargs="+", help="summarise runs saved with --save instead of running")
    args = parser.parse_args()

    if args.summarise:
        every = pd.concat([pd.read_csv(path) for path in args.summarise], ignore_index=True)
    else:
        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            every = pd.concat(pool.map(one_world, range(args.first_seed, args.first_seed + args.seeds), repeat(args.clients), repeat(args.practices),
                                         repeat(args.world)), ignore_index=True)
        if args.save:
            every.to_csv(args.save, index=False)
    summarise(every)


def summarise(every: pd.DataFrame) -> None:
    """Coverage of each planted effect over the seeds, and whether the intervals are as wide
    as the estimates actually scatter (``spread_pts``: their standard deviation over the
    seeds; ``interval_sd_pts``: the mean interval width / 3.92)."""
    seeds = every["seed"].nunique()
    summary = every.assign(error=every["effect_pts"] - every["truth_pts"], width=(every["high_pts"] - every["low_pts"]) / 3.92)
    summary = summary.groupby(["practice", "outcome"]).agg(
        truth_pts=("truth_pts", "mean"), estimate_pts=("effect_pts", "mean"), naive_pts=("naive_pts", "mean"),
        spread_pts=("error", "std"), interval_sd_pts=("width", "mean"),
        coverage=("covered", "mean"), naive_coverage=("naive_covered", "mean"), seeds=("seed", "size")).reset_index()
    print(summary.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    met = summary["coverage"] >= 0.9
    print(f"\nplanted effects covered in at least 90% of {seeds} seeds: {int(met.sum())} of {len(summary)}"
          + ("" if met.all() else f"; not met: {', '.join(summary.loc[~met, 'practice'] + '/' + summary.loc[~met, 'outcome'])}"))
    # an exactly calibrated 95% interval still misses more than 10% of a few seeds by chance
    chance = binom.cdf(int(0.1 * seeds), seeds, 0.05)
    print(f"all effects covered {every['covered'].mean():.1%} of the time; an exact 95% interval reaches 90% in {seeds} seeds "
          f"with probability {chance:.3f}, so by chance alone {len(summary) * (1 - chance):.1f} of {len(summary)} effects would fall short")
    apologised = every.loc[every["practice"] == "apologized"]
    for outcome, rows in apologised.groupby("outcome"):
        print(f"apologized on {outcome}: naive interval misses the truth (0) in {1 - rows['naive_covered'].mean():.0%} of seeds, "
              f"mean naive {rows['naive_pts'].mean():+.2f} pts; adjusted covers it in {rows['covered'].mean():.0%}")


if __name__ == "__main__":
    main()
