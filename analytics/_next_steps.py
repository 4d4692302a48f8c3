"""Next steps for clients at risk: the first rule that applies to a client's complaints and
dates, resting on the practice effects measured in the business's own data. Used by the
action list and the relationship review's plans."""

from __future__ import annotations

import pandas as pd

from analytics._time import utc
from analytics.io import History
from analytics.labels import PRACTICE_WORDS, value_label
from analytics.rootcause import ADVICE, MEASURED_COMPLAINTS, open_complaints

EVIDENCE_COMPLAINTS = MEASURED_COMPLAINTS  # a larger history measures the next steps' practice effects on a sample of whole clients
SEVERE = 3  # severity (1-4) from which a complaint wants a follow-up
RECENT = pd.Timedelta(days=90)  # complaints this recent decide the next step
NOTICE_SOON = pd.Timedelta(days=90)  # a notice date this close makes renewal the next step
#: the practices a next step may ask for, and the outcomes that must show they work here
PRACTICES_FOR_STEPS = ("root_cause_fixed", "followed_up", "took_ownership")
EVIDENCE_OUTCOMES = {"repeat": "repeats", "churn": "churn"}


def measured_evidence(history: History, measured: History | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The practice effects the next steps rest on: each practice's adjusted effect on
    repeats and churn in this business's data, with its 95% interval; measured on
    ``measured``, the history's whole clients holding about :data:`EVIDENCE_COMPLAINTS`
    complaints (chosen here unless given)."""
    from analytics.rootcause import practice_effects

    measured = history.whole_clients(EVIDENCE_COMPLAINTS) if measured is None else measured  # in this process, from a stored history too
    practices = [p for p in PRACTICES_FOR_STEPS if p in measured.complaints]
    if not practices:
        return pd.DataFrame(), ["The history records no handling practices, so next steps rest on the complaints alone, not on measured effects."]
    notes = []
    if history.complaint_count > EVIDENCE_COMPLAINTS:
        notes.append(f"The practice effects behind the next steps were measured on the complaints of a random {len(measured.clients):,} of "
                     f"{len(history.clients):,} clients ({len(measured.complaints):,} of {history.complaint_count:,} complaints): "
                     "enough for their intervals, in seconds; the workshop measures them on every complaint.")
    history = measured
    effects = practice_effects(history, outcome=list(EVIDENCE_OUTCOMES), practices=practices, bootstrap=200)
    return effects.table, notes + list(effects.notes)


def _works(effects: pd.DataFrame, practice: str) -> str | None:
    """The evidence that ``practice`` helps here, in words, or None when no outcome's whole
    95% interval shows a benefit."""
    if effects.empty:
        return None
    rows = effects.loc[(effects["practice"] == practice) & (effects["high_pts"] < 0)].sort_values("effect_pts")
    if rows.empty:
        return None
    best = rows.iloc[0]  # the largest measured benefit
    return (f"{PRACTICE_WORDS[practice]}: {EVIDENCE_OUTCOMES[best.outcome]} {best.effect_pts:+.1f} pts "
            f"(95% CI {best.low_pts:+.1f} to {best.high_pts:+.1f})")


#: the complaint columns the rules read
RULE_COLUMNS = ("client_id", "opened_at", "resolved_at", "closed_at", "trigger", "severity", "root_cause_fixed", "followed_up")


def next_steps(history: History, clients: pd.DataFrame, cutoff, effects: pd.DataFrame | None = None,
               measured: pd.DataFrame | None = None) -> pd.DataFrame:
    """For each of ``clients`` (``client_id`` and ``notice_date`` columns), from what
    ``history`` knew before ``cutoff``, the first rule that applies and the evidence behind it
    (``effects``: practice effects; default: measured on ``history``; ``measured``: per
    client, the practice to add to its latest complaint, from
    :meth:`analytics.rootcause.NextBestAction.recommend`, indexed by client):

    1. an open complaint: resolve it (taking ownership, when that shows to help);
    2. a practice not yet used on the latest complaint of the last 90 days that reliably
       cuts churn for complaints like it, in this data: add it;
    3. (without ``measured``) a trigger repeated within 90 days and its root cause not
       fixed: fix the root cause; a severe complaint of the last 90 days not followed up:
       follow up; each only when the practice measurably helps in this data;
    4. the notice date within 90 days: the renewal conversation;
    5. otherwise: a check-in call before the notice date.

    Examples
    --------
    >>> import pandas as pd
    >>> from analytics.datasets import load_sample
    >>> from analytics.actions import next_steps
    >>> history = load_sample()
    >>> clients = pd.DataFrame({"client_id": history.clients["client_id"].head(3), "notice_date": pd.Timestamp("2026-02-01", tz="UTC")})
    >>> steps = next_steps(history, clients, cutoff="2026-01-01")
    >>> steps.columns.tolist()
    ['next_step', 'evidence']
    """
    cutoff, at_risk = utc(cutoff), clients
    effects = measured_evidence(history)[0] if effects is None else effects
    if measured is not None and len(measured):
        measured = measured.loc[measured["reliable"]]
    c = history.complaints
    c = c.loc[c["client_id"].isin(at_risk["client_id"])]
    c = c.loc[open_complaints(c) | (c["opened_at"] >= cutoff - RECENT), [n for n in RULE_COLUMNS if n in c]]  # all that the rules read
    c = c.assign(**{"trigger": c["trigger"].astype("string")} if "trigger" in c else {}).sort_values("opened_at")
    # the first rule, an open complaint, for every client at once: the oldest open one
    waiting = c.loc[open_complaints(c)] if "resolved_at" in c else c.iloc[:0]
    oldest = waiting.groupby("client_id", sort=False).head(1)
    oldest = dict(zip(oldest["client_id"], zip(oldest["opened_at"], oldest["trigger"] if "trigger" in oldest else [None] * len(oldest), strict=True),
                      strict=True))
    rest = c.loc[~c["client_id"].isin(oldest)]
    by_client = dict(tuple(rest.groupby("client_id", sort=False))) if len(rest) else {}
    fix, follow, own = (_works(effects, p) for p in ("root_cause_fixed", "followed_up", "took_ownership"))
    if measured is not None:
        fix = follow = None  # the measured advice replaces the fixed rules
    steps, evidence = [], []
    for row in at_risk.itertuples():
        if row.client_id in oldest:
            step, why = _open_step(*oldest[row.client_id], cutoff, own)
        else:
            advice = measured.loc[row.client_id] if measured is not None and row.client_id in measured.index else None
            step, why = _step(by_client.get(row.client_id, c.iloc[:0]), cutoff, row.notice_date, fix, follow, own, advice)
        steps.append(step)
        evidence.append(why)
    return pd.DataFrame({"next_step": steps, "evidence": evidence}, index=at_risk.index)


def _step(complaints: pd.DataFrame, cutoff, notice_date, fix, follow, own, advice=None) -> tuple[str, str]:
    if complaints.empty and advice is None:
        return _calendar_step(cutoff, notice_date)
    recent = complaints.loc[complaints["opened_at"] >= cutoff - RECENT]
    trigger = complaints["trigger"] if "trigger" in complaints else pd.Series(pd.NA, index=complaints.index, dtype="string")
    open_ = complaints.iloc[:0]
    if "resolved_at" in complaints:  # neither resolved nor closed (a complaint closed unresolved is not waiting on anyone)
        open_ = complaints.loc[open_complaints(complaints)]
    if len(open_):
        oldest = open_.iloc[0]
        return _open_step(oldest["opened_at"], trigger.get(oldest.name), cutoff, own)
    if advice is not None:
        opened = pd.Timestamp(advice["opened_at"])
        when = ""
        if pd.notna(notice_date) and notice_date < cutoff:
            when = f", in the notice period since {notice_date:%Y-%m-%d}"
        elif pd.notna(notice_date) and notice_date < cutoff + NOTICE_SOON:
            when = f", before the notice date, {notice_date:%Y-%m-%d}"
        # the effect alone: the complaint-level churn risk is another model's figure than the list's
        return (f"{ADVICE[advice['practice']]} on the {_what(advice.get('trigger'))}complaint of {opened:%Y-%m-%d}{when}",
                f"{PRACTICE_WORDS[advice['practice']]}, for complaints like it here: churn within 180 days "
                f"{advice['effect_pts']:+.1f} pts (95% CI {advice['low_pts']:+.1f} to {advice['high_pts']:+.1f})")
    if fix and "root_cause_fixed" in recent and len(recent):
        counts = trigger.loc[recent.index].value_counts()
        repeated = counts[counts >= 2]
        for name, n in repeated.items():
            latest = recent.loc[trigger.loc[recent.index] == name].iloc[-1]
            if not _done(latest["root_cause_fixed"]):
                return f"Fix the root cause of the repeated {_what(name)}complaints ({n} in the last {RECENT.days} days)", fix
    if follow and "followed_up" in recent and "severity" in recent:
        severe = recent.loc[(recent["severity"].astype("float64") >= SEVERE) & (recent["followed_up"].astype("boolean") == False)]  # noqa: E712
        if len(severe):
            last = severe.iloc[-1]
            return (f"Follow up on the {_what(trigger.get(last.name))}complaint of {last['opened_at']:%Y-%m-%d} "
                    f"(severity {int(last['severity'])}, not followed up)", follow)
    return _calendar_step(cutoff, notice_date)


def _open_step(opened_at, trigger, cutoff, own) -> tuple[str, str]:
    """The step for a client with an open complaint: the oldest one."""
    days = (cutoff - opened_at).days
    return (f"Take ownership of the open {_what(trigger)}complaint of {opened_at:%Y-%m-%d} ({days:,} day{'' if days == 1 else 's'} open) and resolve it",
            own or "an open complaint is what a client at risk waits on first")


def _calendar_step(cutoff, notice_date) -> tuple[str, str]:
    """The step when no complaint asks for one: by the notice date."""
    if pd.notna(notice_date) and notice_date < cutoff:
        return (f"Renewal conversation now: the notice period opened on {notice_date:%Y-%m-%d}",
                "inside the notice period the client can leave at the renewal date")
    if pd.notna(notice_date) and notice_date < cutoff + NOTICE_SOON:
        return (f"Renewal conversation before the notice date, {notice_date:%Y-%m-%d}",
                "the notice period is when a client can leave; the conversation must come before it")
    when = f" before the notice date, {notice_date:%Y-%m-%d}" if pd.notna(notice_date) else ""
    return f"Check-in call from the owner{when}", "no open complaint, repeat or unfollowed severe complaint to act on"


def _done(flag) -> bool:
    return bool(flag) if pd.notna(flag) else False


def _what(trigger) -> str:
    return "" if trigger is None or pd.isna(trigger) or trigger == "other" else f"{value_label(trigger)} "
