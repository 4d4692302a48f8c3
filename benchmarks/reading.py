"""Practices and tone read from text, against what the simulator planted.

- **Per-label accuracy**: on a simulated world the readers never saw (their cues were
  written before it), precision, recall and F1 of each practice read from the agents'
  replies and of each tone read from the clients' words (and of hostility: angry or
  abusive against the rest). The simulated replies say each practice in several ways,
  some without a stock phrase, and sometimes say something close to a practice not used.
- **Effects from read handling**: per seed, practice effects on hostility, disputes and
  CSAT with the practices and the tone read from text (``read_handling(replace=True)``),
  and how often the 95% interval and the band for the readers' errors cover the planted
  effect; next to it, the same from the recorded practices and tone.
- **Speed**: 100,000 replies and 100,000 client messages read, against a TF-IDF pass
  (scikit-learn's ``TfidfVectorizer.fit_transform``) over the same texts, side by side.

Run: .venv/bin/python benchmarks/reading.py [--seeds 0 1 2 3 4] [--clients 3000]
"""

import argparse
import time

import numpy as np
import pandas as pd

OUTCOMES = ["hostility", "dispute", "csat"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()

    from analytics.rootcause import practice_effects
    from analytics.sample import simulate
    from analytics.text import accuracy_against_truth, read_handling, read_practices, read_tone

    # accuracy on a world of its own
    table = pd.concat(accuracy_against_truth(*simulate(args.clients, random_state=101)).values())
    print("per-label accuracy on held-out simulated text (practices: replies; tone: clients' messages):")
    print(table[["support", "precision", "recall", "f1"]].round(3).to_string())

    rows = []
    for seed in args.seeds:
        started = time.perf_counter()
        history, truth = simulate(args.clients, random_state=seed)
        planted = truth.effects.set_index(["practice", "outcome"])["ate_recorded"] * 100
        for source, h in (("recorded", history), ("read from text", read_handling(history, replace=True))):
            effects = practice_effects(h, OUTCOMES, bootstrap=200, random_state=seed).table
            for r in effects.itertuples():
                truth_pts = planted[(r.practice, r.outcome)]
                low, high = (r.band_low_pts, r.band_high_pts) if source != "recorded" else (r.low_pts, r.high_pts)
                rows.append({"seed": seed, "source": source, "practice": r.practice, "outcome": r.outcome, "planted": truth_pts,
                             "effect": r.effect_pts, "ci_covers": r.low_pts <= truth_pts <= r.high_pts, "band_covers": low <= truth_pts <= high,
                             "band_width": high - low, "ci_width": r.high_pts - r.low_pts})
        print(f"seed {seed}: {len(history.complaints):,} complaints, {time.perf_counter() - started:.0f} s", flush=True)
    results = pd.DataFrame(rows)
    print("\ncoverage of the planted effect (hostility, disputes, CSAT; all practices and seeds):")
    summary = results.groupby("source").agg(effects=("ci_covers", "size"), ci_covers=("ci_covers", "mean"), band_covers=("band_covers", "mean"),
                                            ci_width=("ci_width", "median"), band_width=("band_width", "median"))
    print(summary.round(3).to_string())
    listening = results.loc[(results["practice"] == "listened_validated") & (results["outcome"] == "hostility")]
    print("\nlistening on hostility per seed (pts):")
    print(listening[["seed", "source", "planted", "effect", "ci_covers", "band_covers"]].round(2).to_string(index=False))

    # speed, side by side with a TF-IDF pass over the same texts
    from sklearn.feature_extraction.text import TfidfVectorizer

    big, _ = simulate(max(args.clients, 8000), random_state=7)
    replies = big.complaints["replies"].sample(args.messages, replace=True, random_state=0).reset_index(drop=True)
    words = big.interactions.loc[big.interactions["direction"] == "inbound", "text"].sample(args.messages, replace=True, random_state=0).reset_index(drop=True)
    timings = {}
    for name, work in (("tf-idf (baseline), replies", lambda: TfidfVectorizer().fit_transform(replies)),
                       ("practices read", lambda: read_practices(replies)),
                       ("tf-idf (baseline), messages", lambda: TfidfVectorizer().fit_transform(words)),
                       ("tone read", lambda: read_tone(words))):
        started = time.perf_counter()
        work()
        timings[name] = time.perf_counter() - started
    print(f"\n{args.messages:,} replies and {args.messages:,} client messages:")
    for name, seconds in timings.items():
        print(f"  {name}: {seconds:.1f} s")
    print(f"practices read / tf-idf: {timings['practices read'] / timings['tf-idf (baseline), replies']:.2f}x; "
          f"tone read / tf-idf: {timings['tone read'] / timings['tf-idf (baseline), messages']:.2f}x; "
          f"both readers: {timings['practices read'] + timings['tone read']:.1f} s for {2 * args.messages:,} texts")
    print(f"band covers the planted effect: {results.loc[results['source'] != 'recorded', 'band_covers'].mean():.0%}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
