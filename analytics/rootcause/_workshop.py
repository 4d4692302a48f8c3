"""Everything the root-cause workshop looks at, computed once from a history; each part the
history cannot give is left out with a sentence saying why.

Long because the workshop is one result with a table or chart for every section a
report shows; the analyses themselves live in their own modules.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from analytics._markup import markdown_text
from analytics.features import StoredHistory
from analytics.io import History
from analytics.labels import PRACTICE_WORDS, value_label
from analytics.rootcause._boundaries import abuse_load
from analytics.rootcause._effects import OUTCOMES, PracticeEffects, practice_effects
from analytics.rootcause._next_action import (
    ADVICE,
    MEASURED_COMPLAINTS,
    NextBestAction,
    Recommendations,
    subgroup_label,
)
from analytics.rootcause._pareto import Pareto, most, pareto, public_to_private, rates, trend, trend_plot
from analytics.rootcause.text import InferredTriggers, Topics, infer_triggers, topics
from analytics.tables import amount, styled

FALSE_DISCOVERIES = 0.10  # the share of false findings allowed among the subgroups shown
#: the strategy table's three claims: what each practice is said to bring about
CLAIMS = (
    ("Empathic listening reduces hostility", "listened_validated", "hostility"),
    ("Fixing the root cause prevents recurrence", "root_cause_fixed", "repeat"),
    ("Following up builds loyalty", "followed_up", "churn"),
)

#: columns a dispute rate can be broken down by, in the order a workshop reads them
DISPUTE_BREAKDOWNS = {"category_raw": "product / raw category", "sub_product": "sub-product", "resolution": "company response / resolution",
                      "channel": "channel", "sla_met": "timely response", "trigger": "trigger", "team": "team"}


@dataclass
class Workshop:
    """Every part of the root-cause workshop the history allows, built by
    :func:`root_cause_workshop`: Pareto tables by count and by cost, the trend, repeat rates and
    curves, practice effects, topics and abuse; a part the data cannot support is ``None``
    and ``notes`` say why.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import root_cause_workshop
    >>> workshop = root_cause_workshop(load_sample(), by="channel", bootstrap=20)
    >>> workshop.by, workshop.complaints, workshop.by_cost.table["channel"].iloc[0]
    ('channel', 13119, 'email')
    >>> type(workshop.effects).__name__, len(workshop.topics.terms)
    ('PracticeEffects', 8)
    """

    by: str
    complaints: int
    span: tuple
    by_count: Pareto | None = None
    by_cost: Pareto | None = None
    trend: pd.DataFrame | None = None
    repeat_rates: pd.DataFrame | None = None
    repeat_curves: dict = field(default_factory=dict)
    repeat_risk: object | None = None
    effects: PracticeEffects | None = None
    next_action: NextBestAction | None = None
    open_advice: Recommendations | None = None
    public: tuple | None = None
    topics: Topics | None = None
    inferred: InferredTriggers | None = None
    disputes: dict = field(default_factory=dict)
    disputed_most: pd.DataFrame | None = None
    abuse: pd.DataFrame | None = None
    reading: pd.DataFrame | None = None  # the readers' accuracy, when practices or tone were read from text
    currency: str = "$"
    notes: dict = field(default_factory=dict)  # section -> sentences
    sample: str | None = None  # the whole clients the parts fitted in memory used, when fewer than all

    # ------------------------------------------------------------------ text
    def headline(self) -> str:
        """The workshop's findings in a few Markdown sentences."""
        lines = [f"{self.complaints:,} complaints opened from {self.span[0]:%Y-%m-%d} to {self.span[1]:%Y-%m-%d}."]
        if self.by_count is not None:
            few = self.by_count.vital_few
            lines.append(f"{len(few)} of {len(self.by_count.table)} {DISPUTE_BREAKDOWNS.get(self.by, self.by.replace('_', ' '))} groups make up "
                         f"{few['share'].sum():.0%} of complaints: {', '.join(markdown_text(value_label(v)) for v in few[self.by])}.")
        if self.by_cost is not None:
            top = self.by_cost.table.iloc[0]
            lines.append(f"Handling cost {self._money(self.by_cost.table['cost'].sum())} in all; the costliest group is "
                         f"{markdown_text(value_label(top[self.by]))} ({self._money(top['cost'])}, {top['share']:.0%}).")
        if self.repeat_rates is not None and len(self.repeat_rates):
            r = self.repeat_rates.iloc[0]
            lines.append(f"Highest 90-day repeat rate: {markdown_text(value_label(r['trigger']))}, {r['repeat_rate']:.0%} (95% CI {r['low_95']:.0%} to {r['high_95']:.0%}).")
        if self.effects is not None and len(self.effects.table):
            t = self.effects.table
            helpful = t.loc[(t["outcome"] == "repeat") & (t["high_pts"] < 0)].sort_values("effect_pts")
            if len(helpful):
                lines.append("Practices that measurably cut repeats here: "
                             + ", ".join(f"{PRACTICE_WORDS[p]} ({e:+.1f} pts)" for p, e in zip(helpful["practice"], helpful["effect_pts"], strict=True)) + ".")
        if self.effects is not None and len(self.effects.table):
            claims = self.claims()
            tested = claims.loc[claims["verdict"].str.endswith("here")]
            if len(tested):
                lines.append("The strategy table's claims in this business's data: " + "; ".join(
                    f"{r['claim'].lower()}: {r['verdict']} ({r['effect (pts)']:+.1f} pts)" for _, r in tested.iterrows()) + ".")
        if self.open_advice is not None and len(self.open_advice.table):
            t = self.open_advice.table
            reliable = t.loc[t["reliable"], "practice"].map(ADVICE)
            most_often = f" (most often: {reliable.value_counts().index[0].lower()})" if len(reliable) else ""
            lines.append(f"{len(t):,} complaints are open; for {len(reliable):,} of them a practice not yet used reliably cuts "
                         f"the repeat risk here{most_often}.")
        if self.disputes:
            column, table = next(iter(self.disputes.items()))
            top = table.iloc[0]
            lines.append(f"Highest dispute rate by {DISPUTE_BREAKDOWNS.get(column, column)}: {markdown_text(value_label(top[column]))}, {top['rate']:.0%} "
                         f"(95% CI {top['rate_low_95']:.0%} to {top['rate_high_95']:.0%}) of {int(top['complaints']):,} complaints.")
        return "\n".join(f"- {line}" for line in lines)

    def notes_for(self, section: str) -> str:
        return "\n".join(f"- {note}" for note in self.notes.get(section, [])) or ""

    def effects_summary(self, outcome: str = "repeat") -> str:
        if self.effects is None or self.effects.table.empty:
            return self.notes_for("effects") or "- No practice could be assessed."
        return "\n".join(f"- {line}" for line in self.effects.sentences(outcome)) or f"- No practice could be assessed on {OUTCOMES[outcome]}."

    # ------------------------------------------------------------------ tables and figures
    def pareto_table(self, measure: str = "complaints"):
        p = self.by_count if measure == "complaints" else self.by_cost
        if p is None:
            return None
        columns = [c for c in (self.by, "complaints", "cost", "repeat_rate", "churned_value", "share", "cumulative_share") if c in p.table]
        caption = ("The annual value of clients who left counts a client under every kind of complaint it made before leaving: "
                   "that column does not add up to a total." if "churned_value" in columns else None)
        return styled(p.table[columns], counts=["complaints"], money=[c for c in ("cost", "churned_value") if c in columns],
                      percent=[c for c in ("repeat_rate", "share", "cumulative_share") if c in columns], currency=self.currency, caption=caption)

    def trend_plot(self) -> go.Figure | None:
        return None if self.trend is None else trend_plot(self.trend)

    def repeat_table(self):
        if self.repeat_rates is None:
            return None
        return styled(self.repeat_rates, counts=["repeats", "complaints"], percent=["repeat_rate", "low_95", "high_95"])

    def effects_table(self, outcome: str = "repeat"):
        if self.effects is None or self.effects.table.empty:
            return None
        t = self.effects.table.loc[self.effects.table["outcome"] == outcome].copy()
        t["practice"] = t["practice"].map(PRACTICE_WORDS)
        t["95% CI"] = [f"{lo:+.1f} to {hi:+.1f}" for lo, hi in zip(t["low_pts"], t["high_pts"], strict=True)]
        t["propensity range"] = [f"{lo:.2f} to {hi:.2f}" for lo, hi in zip(t["propensity_min"], t["propensity_max"], strict=True)]
        columns = ["practice", "complaints", "rate_without", "rate_with", "effect_pts", "95% CI", "naive_pts", "propensity range"]
        if "read_from_text" in t:
            t["with the readers' errors"] = [f"{lo:+.1f} to {hi:+.1f}" for lo, hi in zip(t["band_low_pts"], t["band_high_pts"], strict=True)]
            columns.insert(6, "with the readers' errors")
        shown = t[columns]
        shown = shown.rename(columns={"effect_pts": "effect", "naive_pts": "naive difference", "95% CI": "95% CI (pts)"})
        return styled(shown, counts=["complaints"], percent=["rate_without", "rate_with"], points=["effect", "naive difference"],
                      caption=f"Effect on: {OUTCOMES[outcome]} (percentage points), estimate and interval to one decimal")

    def claims(self) -> pd.DataFrame:
        """The strategy table's three claims tested in this business's data: each with its
        effect, interval and verdict (holds here: the whole interval shows the benefit;
        not shown: the interval includes no effect; contradicted: the whole interval shows
        harm), and where practices or tone were read from text, the band for the readers'
        errors."""
        rows = []
        table = self.effects.table if self.effects is not None else pd.DataFrame(columns=["practice", "outcome"])
        for claim, practice, outcome in CLAIMS:
            found = table.loc[(table["practice"] == practice) & (table["outcome"] == outcome)]
            if found.empty:
                rows.append({"claim": claim, "verdict": "cannot be tested: " + ("the practice is not recorded" if practice not in set(table["practice"])
                                                                                  else f"no {OUTCOMES[outcome]} to compare")})
                continue
            r = found.iloc[0]
            verdict = "holds here" if r["high_pts"] < 0 else "contradicted here" if r["low_pts"] > 0 else "not shown here"
            row = {"claim": claim, "measured as": OUTCOMES[outcome], "verdict": verdict, "complaints": int(r["complaints"]),
                   "rate without": r["rate_without"], "rate with": r["rate_with"],
                   "effect (pts)": r["effect_pts"], "95% CI (pts)": f"{r['low_pts']:+.1f} to {r['high_pts']:+.1f}"}
            if isinstance(r.get("read_from_text"), str) and r["read_from_text"]:
                row["with the readers' errors (pts)"] = f"{r['band_low_pts']:+.1f} to {r['band_high_pts']:+.1f} ({r['read_from_text']} read from text)"
            rows.append(row)
        return pd.DataFrame(rows)

    def claims_table(self):
        claims = self.claims()
        caption = ("Each claim's practice compared on what it should lower, without and with the practice, "
                   "adjusted for the complaint's circumstances as in the tables below.")
        return styled(claims, counts=[c for c in ("complaints",) if c in claims], percent=[c for c in ("rate without", "rate with") if c in claims],
                      points=[c for c in ("effect (pts)",) if c in claims], caption=caption)

    def reading_table(self):
        """How well the readers did on labelled text, when practices or tone were read."""
        if self.reading is None:
            return None
        shown = self.reading.reset_index()[["label", "support", "precision", "recall", "f1"]]
        shown["label"] = shown["label"].map(lambda v: PRACTICE_WORDS.get(v, "client angry or abusive" if v == "hostile" else v))
        return styled(shown.rename(columns={"label": "read from text", "support": "labelled examples", "f1": "F1"}),
                      counts=["labelled examples"], percent=["precision", "recall", "F1"],
                      caption="The readers against labelled text they never saw (by default simulated replies and messages; pass your own "
                              "labelled complaints to practice_effects(reading=...)). Their errors set the bands in the effect tables.")

    def abuse_table(self):
        if self.abuse is None:
            return None
        return styled(self.abuse, counts=["client_contacts", "abusive_contacts", "complaints_with_abuse", "minutes_on_abuse"],
                      percent=["abusive_share", "escalated_after_abuse", "share_of_minutes"],
                      caption="Clients' contacts per team; escalated after abuse: the complaints with an abusive contact that were handed up. "
                              "Abuse is aimed at the situation, not the agent: teams that take the most need firm boundaries and back-up.")

    def subgroups_table(self):
        """The subgroups (severity x trigger) where a practice's effect differs from its
        average at the 95% level, with how many would by chance alone."""
        if self.next_action is None:
            return None
        s = self.next_action.summary()
        if s.empty:
            return None
        found = s.loc[s["q_value"] < FALSE_DISCOVERIES].sort_values(["outcome", "practice", "effect_pts"])
        kept = (f"Shown: the {len(found):,} that {'holds' if len(found) == 1 else 'hold'} with at most {FALSE_DISCOVERIES:.0%} of them false (Benjamini-Hochberg)." if len(found) else
                f"None holds with at most {FALSE_DISCOVERIES:.0%} of such findings false (Benjamini-Hochberg).")
        caption = (f"Of {len(s):,} subgroup effects examined (each practice and outcome by trigger, severity, segment, renewal nearness, "
                   "and severity and trigger together; each subgroup with at least 50 complaints), "
                   f"{int(s['differs'].sum()):,} differ from their practice's average at the 95% level, where about {0.05 * len(s):.0f} "
                   f"would by chance alone. {kept}")
        if found.empty:
            return styled(pd.DataFrame({"finding": ["No practice works measurably differently in any group of complaints, "
                                                    "once the number of groups examined is allowed for."]}), caption=caption)
        shown = pd.DataFrame({
            "practice": found["practice"].map(PRACTICE_WORDS), "outcome": found["outcome"].map(OUTCOMES),
            "complaints like": [subgroup_label(by, g) for by, g in zip(found["by"], found["subgroup"], strict=True)],
            "complaints": found["complaints"],
            "effect": found["effect_pts"], "95% CI (pts)": [f"{lo:+.1f} to {hi:+.1f}" for lo, hi in zip(found["low_pts"], found["high_pts"], strict=True)],
            "against the practice's average": found["difference_pts"],
        })
        return styled(shown, counts=["complaints"], points=["effect", "against the practice's average"], caption=caption, interactive=True)

    def open_advice_table(self):
        """The open complaints by the practice that would most cut their repeat risk."""
        if self.open_advice is None or self.open_advice.table.empty:
            return None
        t = self.open_advice.table
        practice = t["practice"].map(ADVICE).where(t["reliable"], "none reliably helps")
        counts = practice.value_counts().rename_axis("practice to add").reset_index(name="open complaints")
        effect = t.loc[t["reliable"]].groupby(practice[t["reliable"]])["effect_pts"].median()
        counts["median expected change in repeat risk"] = counts["practice to add"].map(effect)
        return styled(counts, counts=["open complaints"], points=["median expected change in repeat risk"],
                      caption="Every open complaint, with its advice, is in the weekly run's file (client-health actions).")

    def public_table(self):
        if not self.public or self.public[0].empty:
            return None
        table = self.public[0]
        return styled(table, counts=["complaints"], percent=[c for c in table.columns if c not in ("moved", "complaints")])

    def topics_table(self, examples: bool = False):
        """Each topic's top terms and complaint count; with ``examples``, the most typical
        complaint texts too (redacted, but still a client's words: off by default)."""
        if self.topics is None:
            return None
        table = self.topics.terms
        if examples:
            shown = self.topics.examples.groupby("topic")["example"].apply(lambda s: " | ".join(s))
            table = table.assign(examples=table["topic"].map(shown))
        unmatched = int((self.topics.topic < 0).sum())
        caption = [f"Topics found in {self.sample}."] * bool(self.sample)
        caption += [f"{unmatched:,} complaint texts share no word with any topic and are left out."] * bool(unmatched)
        return styled(table, counts=["complaints"], caption=" ".join(caption) or None)

    def inferred_table(self):
        if self.inferred is None:
            return None
        counts = self.inferred.table.groupby("inferred_trigger").agg(complaints=("complaint_id", "size"), mean_probability=("probability", "mean"))
        caption = f"Triggers inferred in {self.sample}." if self.sample else None
        return styled(counts.reset_index(), counts=["complaints"], percent=["mean_probability"], caption=caption)

    def dispute_table(self, column: str):
        table = self.disputes.get(column)
        if table is None:
            return None
        return styled(table.rename(columns={column: DISPUTE_BREAKDOWNS.get(column, column)}), counts=["complaints", "disputed"],
                      percent=["rate", "rate_low_95", "rate_high_95"])

    def disputed_most_table(self):
        if self.disputed_most is None:
            return None
        return styled(self.disputed_most.rename(columns={"client_id": "client / company"}), counts=["complaints", "disputed"], percent=["rate", "rate_low_95", "rate_high_95"])

    def _money(self, value) -> str:
        return amount(value, self.currency)

    @property
    def period(self) -> str | None:
        """The day of the last complaint the workshop read, for its title and file name."""
        return f"{self.span[1]:%Y-%m-%d}" if self.span else None


def root_cause_workshop(history: History | StoredHistory, by: str | None = None, hourly_cost: float = 60.0, currency: str = "$",
                        bootstrap: int = 200, random_state: int = 0, measured_complaints: int = MEASURED_COMPLAINTS) -> Workshop:
    """Compute every part of the workshop the history allows. ``by``: the complaint column
    the Pareto ranks (default: ``trigger`` when recorded, else the raw category).

    The counts, rates, curves and practice effects' inputs are found in the history's
    engine, so a :class:`~analytics.features.StoredHistory` stays where it is. The parts
    fitted on complaints in memory (the repeat-risk model, subgroup effects, topics and
    inferred triggers) use whole clients holding about ``measured_complaints`` complaints,
    chosen at random once, when the history holds more; the open complaints' advice reads
    the histories of the clients with one.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import root_cause_workshop
    >>> workshop = root_cause_workshop(load_sample(), bootstrap=20)
    >>> print(workshop.headline().splitlines()[0])
    - 13,119 complaints opened from 2023-01-01 to 2025-12-27.
    >>> workshop.by_count.computed_on
    '13,119 complaints in 9 groups of trigger, ranked by complaints'
    """
    from analytics.models import repeat_rates, repeat_risk, time_to_repeat_by

    by = by or ("trigger" if history.has("trigger") else "category_raw")
    w = Workshop(by=by, complaints=history.complaint_count, span=history.span, currency=currency)
    measured = history.whole_clients(measured_complaints, random_state)  # in this process, chosen once
    if len(measured.complaints) < history.complaint_count:
        w.sample = (f"the complaints of a random {len(measured.clients):,} of {len(history.clients):,} clients "
                    f"({len(measured.complaints):,} complaints)")

    def attempt(section: str, work):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = work()
            w.notes.setdefault(section, []).extend(str(m.message) for m in caught if issubclass(m.category, UserWarning))
            return result
        except ValueError as error:
            w.notes.setdefault(section, []).append(str(error))
            return None

    w.by_count = attempt("pareto", lambda: pareto(history, by, "complaints", hourly_cost))
    if w.by_count is not None:
        w.notes.setdefault("pareto", []).extend(w.by_count.notes)
    if history.has("handling_minutes") or history.has("credit_amount"):
        w.by_cost = attempt("pareto", lambda: pareto(history, by, "cost", hourly_cost))
    w.trend = attempt("pareto", lambda: trend(history, by))
    if history.has("resolved_at", "trigger"):
        w.repeat_rates = attempt("repeats", lambda: repeat_rates(history))
        curves = attempt("repeats", lambda: time_to_repeat_by(history, [c for c in ("trigger", "resolution", "root_cause_fixed") if history.has(c)]))
        w.repeat_curves = curves or {}
        w.repeat_risk = attempt("repeats", lambda: repeat_risk(measured, random_state=random_state))
        if w.sample and w.repeat_risk is not None:
            w.notes.setdefault("repeats", []).append(f"The repeat-risk model was trained and judged on {w.sample}.")
    else:
        w.notes["repeats"] = ["Repeat triggers need resolution times and triggers, which this history does not record."]
    recorded = [p for p in PRACTICE_WORDS if history.has(p)]
    if recorded:
        w.effects = attempt("effects", lambda: practice_effects(history, bootstrap=bootstrap, random_state=random_state))
        if w.effects is not None:
            w.notes.setdefault("effects", []).extend(w.effects.notes)
            if "read_from_text" in w.effects.table:
                from analytics.text import simulated_accuracy

                practices, hostile = simulated_accuracy()
                read = " ".join(w.effects.table["read_from_text"])
                w.reading = pd.concat([practices] * ("practice" in read) + [hostile] * ("tone" in read))
        if w.sample:
            w.notes.setdefault("next_action", []).append(f"Subgroup effects were measured on {w.sample}.")
        w.next_action = attempt("next_action", lambda: NextBestAction(random_state=random_state).fit(measured))
        if w.next_action is not None:
            w.notes.setdefault("next_action", []).extend(w.next_action.notes_)
            if any(o == "repeat" for _, o in w.next_action.effects_):
                waiting = history if isinstance(history, History) else history.of_clients(history.clients_with_open_complaints())
                w.open_advice = attempt("next_action", lambda: w.next_action.recommend(waiting, outcome="repeat"))
    else:
        w.notes["effects"] = ["This history records no handling practices, so their effects cannot be estimated."]
    w.public = attempt("public", lambda: public_to_private(history))
    if w.public is not None:
        w.notes.setdefault("public", []).append(w.public[1])
    if history.has("text"):
        w.topics = attempt("text", lambda: topics(measured.complaints["text"], random_state=random_state))
        w.inferred = attempt("text", lambda: infer_triggers(measured, random_state=random_state))
        if w.sample:
            w.notes.setdefault("text", []).append(f"Topics and inferred triggers were found in {w.sample}.")
    else:
        w.notes["text"] = ["This history records no complaint text, so topics and inferred triggers are left out."]
    if history.has("tone", table="interactions") and history.has("team"):
        w.abuse = attempt("abuse", lambda: abuse_load(history))
    else:
        w.notes["abuse"] = ["Abuse per team needs the tone of clients' contacts (or their words) and the complaints' teams, which this history does not record."]
    if history.has("disputed"):
        for column in DISPUTE_BREAKDOWNS:
            if history.has(column):
                table = attempt("disputes", lambda column=column: rates(history, column))
                if table is not None and len(table):
                    w.disputes[column] = table
        w.disputed_most = attempt("disputes", lambda: most(history, "client_id"))
        if w.disputed_most is not None and history.has("name", table="clients") and not history.clients_derived:
            names = history.clients.set_index("client_id")["name"]
            w.disputed_most.insert(1, "name", w.disputed_most["client_id"].map(names))
    else:
        w.notes["disputes"] = ["This history records no disputes."]
    return w
