"""Next best action against the planted truth, over several simulated worlds.

Each seed simulates a business, fits :class:`analytics.rootcause.NextBestAction` on what
was known two years in (``history.as_of``), and judges it on the complaints opened after
that, which it never saw:

- **Policy value** (repeats, disputes and churn within 180 days; the simulator plants each
  complaint's own effect, for churn on the complaints it follows for 180 days): per later
  complaint, the planted change in its probability had the recommended
  practice been added (0 when none is recommended or it was done already). Against it,
  the *oracle* (each complaint's truly best practice not yet done) and the *best single
  practice* (the one practice that helps most on average, added to every complaint). The
  share of the oracle's gain over the best single practice that the recommendations get
  is the figure the last line prints (repeats and disputes; churn is printed beside it).
- **Subgroup intervals** (severity x trigger, on the complaints the model was fitted on):
  how often they cover the planted subgroup effect. The planted effect is on the chance of
  a *scheduled* repeat; the data records a repeat only when both complaints' triggers were
  recorded alike and the client was still there, so it is put on the recorded scale by
  the subgroup's recording factor, P(recorded | scheduled) - P(recorded | not scheduled),
  read from the truth.
- **False claims**: in the ``flat`` world (the realistic one with no planted modifiers),
  how often a subgroup of a practice with no planted effect at all is called different
  from the average at the 95% level (it should be about 5%), and how often any subgroup is.
- **Uplift on later complaints**: with no truth at all, the prevention per 100 complaints
  when the model's top fifth gets the practice, against a random fifth (DR scores fitted
  on the later complaints).
- **Speed**: recommendations for 50,000 complaints, after the fit.

Run: .venv/bin/python benchmarks/next_best_action.py [--seeds 0 1 2 3 4] [--clients 3000]
"""

import argparse
import dataclasses
import time

import numpy as np
import pandas as pd

ZERO_EFFECT = {"repeat": ("offered_options",), "dispute": ("offered_options",)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--speed-clients", type=int, default=12_000, help="clients of the world the 50,000 recommendations come from")
    args = parser.parse_args()

    from analytics.sample import WORLDS, simulate

    worlds = {"realistic": WORLDS["realistic"],
              "flat": dataclasses.replace(WORLDS["realistic"], followed_up_severe=0.0, followed_up_near_renewal=0.0, root_cause_technical=0.0)}
    captured, coverage, claims = [], [], []  # noqa: F841
    for world_name, world in worlds.items():
        for seed in args.seeds:
            started = time.perf_counter()
            history, truth = simulate(args.clients, random_state=seed, world=world)
            result = judge(history, truth, seed)
            result["world"] = world_name
            print(f"{world_name} seed {seed}: {len(history.complaints):,} complaints, {time.perf_counter() - started:.0f} s; "
                  + "; ".join(f"{o}: captured {r['captured']:.0%} (ours {r['ours']:+.2f}, reliable only {r['reliable_only']:+.2f} "
                              f"on {r['reliable_share']:.0%}, single {r['single']:+.2f} [{r['single_practice']}], "
                              f"oracle {r['oracle']:+.2f} pts)" for o, r in result["policy"].items())
                  + f"; uplift top fifth {result['uplift_model']:.1f} vs random {result['uplift_random']:.1f} per 100", flush=True)
            if world_name == "realistic":
                captured += [{"seed": seed, "outcome": o, **r} for o, r in result["policy"].items()]
            coverage.append(result["subgroups"].assign(world=world_name, seed=seed))
            claims.append(result["claims"].assign(world=world_name, seed=seed))
    subgroups = pd.concat(coverage, ignore_index=True)
    claims = pd.concat(claims, ignore_index=True)

    print("\nsubgroup intervals covering the planted effect (recorded scale), realistic world:")
    real = subgroups.loc[subgroups["world"] == "realistic"]
    print(real.groupby(["practice", "outcome"])["covered"].agg(["mean", "size"]).round(3).to_string())
    print(f"all: {real['covered'].mean():.1%} of {len(real):,} subgroups x seeds")
    technical = claims.loc[(claims["world"] == "realistic") & (claims["practice"] == "root_cause_fixed") & (claims["outcome"] == "repeat")
                           & (claims["by"] == "trigger") & (claims["subgroup"] == "technical_failure")]
    print(f"root cause on technical failures (planted stronger), by trigger: called different in {technical['differs'].mean():.0%} of "
          f"{len(technical)} seeds, kept at a 10% false discovery rate in {(technical['q_value'] < 0.1).mean():.0%}")

    flat = claims.loc[claims["world"] == "flat"]
    null = flat.loc[[p in ZERO_EFFECT.get(o, ()) for p, o in zip(flat["practice"], flat["outcome"], strict=True)]]
    print(f"\nflat world, subgroups called different at the 95% level: practices with no planted effect {null['differs'].mean():.1%} "
          f"of {len(null):,} (kept at 10% FDR: {(null['q_value'] < 0.1).mean():.1%}); all practices {flat['differs'].mean():.1%} of "
          f"{len(flat):,} (kept: {(flat['q_value'] < 0.1).mean():.1%}; their planted effects differ on the probability scale)")

    speed(args.speed_clients)

    captured = pd.DataFrame(captured)
    print("\nrealistic world, oracle gain captured per seed:")
    print(captured.pivot(index="seed", columns="outcome", values="captured").round(3).to_string())
    churn = captured.loc[captured["outcome"] == "churn"]
    print(f"churn within 180 days, pooled: {(churn['ours'] - churn['single']).sum() / (churn['oracle'] - churn['single']).sum():.0%} "
          f"(ours {churn['ours'].mean():+.2f}, single {churn['single'].mean():+.2f}, oracle {churn['oracle'].mean():+.2f} pts)")
    main = captured.loc[captured["outcome"] != "churn"]
    total = (main["ours"] - main["single"]).sum() / (main["oracle"] - main["single"]).sum()
    print(f"oracle gain captured: {total:.0%}")


def judge(history, truth, seed) -> dict:
    from analytics.rootcause import NextBestAction
    from analytics.rootcause._next_action import complaint_frame

    split = pd.Timestamp("2025-01-01", tz="UTC")
    known = history.as_of(split)
    nba = NextBestAction(outcomes=("repeat", "dispute", "churn"), random_state=seed).fit(known)
    opened = pd.to_datetime(history.complaints["opened_at"], utc=True)
    later = history.complaints.loc[opened >= split, "complaint_id"]
    practices = sorted({p for p, _ in nba.effects_})
    policy = {}
    for outcome in ("repeat", "dispute", "churn"):
        planted = pd.DataFrame({p: truth.added_effect(p, outcome).reindex(later).to_numpy() for p in practices}, index=later) * 100
        planted = planted.dropna()  # churn: the complaints the truth follows for 180 days
        advice = nba.recommend(history, planted.index, outcome=outcome).table.set_index("complaint_id").reindex(planted.index)
        ours = np.array([planted.at[c, p] if isinstance(p, str) else 0.0 for c, p in advice["practice"].items()])
        reliable_only = np.where(advice["reliable"].to_numpy(bool), ours, 0.0)
        oracle = np.minimum(planted.min(axis=1).to_numpy(), 0.0)
        single_practice = planted.mean().idxmin()
        single = planted[single_practice].to_numpy()
        policy[outcome] = {"ours": ours.mean(), "oracle": oracle.mean(), "single": single.mean(), "single_practice": single_practice,
                           "reliable_only": reliable_only.mean(), "reliable_share": advice["reliable"].mean(),
                           "captured": (ours.mean() - single.mean()) / (oracle.mean() - single.mean())}

    # subgroups against the planted effect, put on the recorded scale
    frame, _ = complaint_frame(known, ["repeat", "dispute"])
    frame = frame.set_index("complaint_id")
    t = truth.complaints.reindex(frame.index)
    rows = []
    for r in nba.summary().itertuples():
        if r.outcome not in ("repeat", "dispute") or r.by != "severity x trigger":
            continue
        in_fit = frame[r.practice].notna() & frame[r.outcome].notna()
        label = frame["severity"].astype("string").fillna("not recorded") + " / " + frame["trigger"].astype("string").fillna("not recorded")
        members = in_fit & (label == r.subgroup)
        used = t.loc[members, f"used_{r.practice}"].to_numpy(bool)
        change = truth.added_effect(r.practice, r.outcome).reindex(frame.index[members]).to_numpy()
        probability = t.loc[members, "p_repeat" if r.outcome == "repeat" else "p_dispute"].to_numpy()
        if used.any():  # the effect of switching it on, also where it was on: remove it, then add it
            coef = truth.coefficient(r.practice, r.outcome).reindex(frame.index[members]).to_numpy()
            logit = np.log(probability / (1 - probability)) - coef * used
            change = np.where(used, 1 / (1 + np.exp(-(logit + coef))) - 1 / (1 + np.exp(-logit)), change)
        recorded = frame.loc[members, r.outcome].astype(float).to_numpy()
        if r.outcome == "repeat":
            scheduled = t.loc[members, "repeat_scheduled"].to_numpy(bool)
            factor = recorded[scheduled].mean() - recorded[~scheduled].mean() if scheduled.any() and (~scheduled).any() else 1.0
        else:
            factor = 1.0  # a dispute is recorded as it happened
        effect = 100 * change.mean() * factor
        rows.append({"practice": r.practice, "outcome": r.outcome, "trigger": r.trigger, "subgroup": r.subgroup, "planted_pts": effect,
                     "covered": r.low_pts <= effect <= r.high_pts, "differs": r.differs})
    uplift = nba.uplift(history, "root_cause_fixed", "repeat", complaints=later, points=5)
    fifth = uplift.iloc[1]
    summary = nba.summary()
    claims = summary.loc[summary["outcome"].isin(["repeat", "dispute"]), ["practice", "outcome", "by", "subgroup", "differs", "q_value"]]
    return {"policy": policy, "subgroups": pd.DataFrame(rows), "claims": claims, "uplift_model": fifth["prevented_per_100_model"],
            "uplift_random": fifth["prevented_per_100_random"]}


def speed(clients: int) -> None:
    from analytics.rootcause import NextBestAction
    from analytics.sample import simulate

    history, _ = simulate(clients, random_state=99)
    started = time.perf_counter()
    nba = NextBestAction(outcomes=("repeat", "dispute", "churn")).fit(history)
    fitted = time.perf_counter() - started
    chosen = history.complaints["complaint_id"].head(50_000)
    started = time.perf_counter()
    advice = nba.recommend(history, chosen, outcome="repeat")
    took = time.perf_counter() - started
    print(f"\nspeed: fit on {len(history.complaints):,} complaints in {fitted:.1f} s; recommendations for {len(advice.table):,} complaints "
          f"in {took:.1f} s (target 30 s)")


if __name__ == "__main__":
    main()
