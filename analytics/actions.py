"""The action list: which at-risk clients to call first, why this client, and what to do.

At-risk clients (the top tenth by churn probability) are ordered by value at risk. Each
row gives the owner, the renewal and notice dates, health and its change, the reason that
sets this client apart (not one every at-risk client shares) and a next step drawn from
the client's complaints and from what the business's own data shows works
(:func:`analytics.rootcause.practice_effects`). Alerts name the clients newly at risk,
whose risk jumped, or whose health fell a band since the previous cutoff, and what moved it.

Long because the table, the alerts and the open complaints' advice are built from one
snapshot and one fitted model, and the list renders itself for a report and a spreadsheet.
The next-step rules live in :mod:`analytics._next_steps`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analytics._next_steps import EVIDENCE_COMPLAINTS, NOTICE_SOON, RECENT, measured_evidence, next_steps
from analytics._time import utc
from analytics._value import renewal_dates
from analytics.features import data_end, engine_of, snapshots
from analytics.health import HealthScore
from analytics.io import History
from analytics.labels import describe, feature_label, value_label
from analytics.models import ChurnModel, fit_by_client, training_data
from analytics.redaction import PERSONAL_DETAILS, redact
from analytics.rootcause import NextBestAction, open_complaints
from analytics.tables import amount, styled, write_csv

__all__ = ["ActionList", "action_list", "actions_from", "fitted_health", "next_steps"]

AT_RISK_SHARE = 0.10  # the at-risk list is the top tenth by churn probability, as the backtest's lift measures
RISK_JUMP_PTS = 5.0  # a rise in churn risk worth an alert, in percentage points
BANDS = {"healthy": 2, "watch": 1, "at_risk": 0}

#: the action list's columns, in words, as the CSV and Excel files carry them
COLUMNS = {
    "rank": "rank", "client_id": "client", "name": "name", "owner": "owner", "segment": "segment",
    "annual_value": "annual value", "probability": "churn risk", "value_at_risk": "value at risk",
    "renewal_date": "renewal date", "notice_date": "notice date", "health": "health", "health_change": "health change",
    "main_reason": "main reason", "next_step": "next step", "evidence": "why this step (measured here)",
}
#: the open complaints' advice, as the CSV and Excel files carry it
OPEN_COLUMNS = {"complaint_id": "complaint", "client_id": "client", "opened_at": "opened", "days_open": "days open", "trigger": "trigger", "severity": "severity",
                "advice": "practice to add (measured here)"}


@dataclass
class ActionList:
    """``table``: the at-risk clients, largest value at risk first, with their next step.
    ``alerts``: clients newly at risk, whose risk jumped or whose health fell a band since
    ``previous``. ``evidence``: the practice effects the next steps rest on.
    ``open_complaints``: every complaint still open, with the practice to add that most
    cuts its repeat risk in this business's data (:class:`analytics.rootcause.NextBestAction`).

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.actions import action_list
    >>> from analytics.models import ChurnModel
    >>> actions = action_list(load_sample(), cutoff="2025-10-01", model=ChurnModel(kind="logistic"))
    >>> actions.readable().columns.tolist()[:3]
    ['rank', 'client', 'name']
    >>> actions.alert_counts().index.tolist()
    ['newly at risk', 'risk jumped', 'health fell a band']
    """

    cutoff: pd.Timestamp
    previous: pd.Timestamp | None
    horizon: str
    table: pd.DataFrame
    alerts: pd.DataFrame
    evidence: pd.DataFrame
    currency: str = "$"
    notes: list[str] = field(default_factory=list)
    open_complaints: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(OPEN_COLUMNS)))

    def readable(self) -> pd.DataFrame:
        """The table with its columns in words: what the CSV and Excel files hold."""
        shown = self.table[[c for c in COLUMNS if c in self.table]].copy()
        for column in ("name", "owner"):  # the files leave the building too: contact details redacted, as in a report
            if column in shown:
                shown[column] = shown[column].map(lambda v: redact(str(v), kinds=PERSONAL_DETAILS), na_action="ignore")
        shown["segment"] = shown["segment"].map(value_label, na_action="ignore") if "segment" in shown else None
        for column in ("renewal_date", "notice_date"):
            if column in shown:
                shown[column] = pd.to_datetime(shown[column], utc=True).dt.strftime("%Y-%m-%d")
        # as precise as anyone reads them: cents, a tenth of a percentage point, a tenth of a health point
        shown = shown.round({"annual_value": 2, "value_at_risk": 2, "probability": 4, "health": 1, "health_change": 1})
        return shown.rename(columns=COLUMNS)

    def to_csv(self, path) -> Path:
        path = Path(path)
        write_csv(self.readable(), path)
        return path

    def to_excel(self, path) -> Path:
        from analytics.tables import spreadsheet_safe

        path = Path(path)
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            spreadsheet_safe(self.readable()).to_excel(writer, sheet_name="actions", index=False)
            if len(self.alerts):
                spreadsheet_safe(self.alerts_readable()).to_excel(writer, sheet_name="alerts", index=False)
            if len(self.open_complaints):
                spreadsheet_safe(self.open_readable()).to_excel(writer, sheet_name="open complaints", index=False)
        return path

    def to_open_csv(self, path) -> Path:
        path = Path(path)
        write_csv(self.open_readable(), path)
        return path

    def open_readable(self) -> pd.DataFrame:
        shown = self.open_complaints[[c for c in OPEN_COLUMNS if c in self.open_complaints]].copy()
        if "opened_at" in shown:
            shown["opened_at"] = pd.to_datetime(shown["opened_at"], utc=True).dt.strftime("%Y-%m-%d")
        if "trigger" in shown:
            shown["trigger"] = shown["trigger"].map(value_label, na_action="ignore")
        return shown.rename(columns=OPEN_COLUMNS)

    def open_complaints_html(self, top: int | None = 30):
        """The open complaints with a reliable practice to add, largest expected cut first."""
        advised = self.open_complaints
        if advised.empty:
            return None
        reliable = advised.loc[advised["reliable"]].sort_values(["effect_pts", "days_open"], ascending=[True, False], kind="stable")
        shown, caption = self.open_readable().loc[reliable.index], None
        if top is not None and len(shown) > top:
            caption = f"Showing the {top:,} with the largest expected cut, of {len(reliable):,} with a reliable one; all {len(advised):,} open complaints are in the Excel file."
            shown = shown.head(top)
        return styled(shown.reset_index(drop=True), caption=caption, interactive=True, counts=["severity", "days open"])

    def alerts_readable(self) -> pd.DataFrame:
        rounded = self.alerts.round({"probability_before": 4, "probability": 4, "health_before": 1, "health": 1})
        return rounded.rename(columns=ALERT_COLUMNS)

    def table_html(self, top: int | None = 200):
        """The action list for the report: the first ``top`` rows (None: all), with a caption
        saying where the rest are. A meeting works through the top of the list; a page of
        thousands of rows is slow to write and to open."""
        shown = self.readable().drop(columns=[COLUMNS["segment"]])  # in the files; the page needs the room
        caption = None
        if top is not None and len(shown) > top:
            caption = f"Showing the first {top:,} of {len(shown):,} clients; all of them are in the CSV and Excel files."
            shown = shown.head(top)
        return styled(shown, percent=["churn risk"], money=["annual value", "value at risk"], counts=["rank", "health"],
                      decimals=[], points=[], currency=self.currency, caption=caption, interactive=True,
                      signed=["health change"])

    def alerts_html(self, top: int | None = 30):
        if self.alerts.empty:
            return None
        shown, caption = self.alerts_readable(), None
        if top is not None and len(shown) > top:
            caption = f"Showing the {top:,} alerts with the largest rise in value at risk, of {len(shown):,}; all of them are in the Excel file."
            shown = shown.head(top)
        return styled(shown, caption=caption, percent=["churn risk then", "churn risk now"], counts=["health then", "health now"],
                      currency=self.currency, interactive=True)

    def headline(self) -> str:
        """What the list says, in Markdown sentences."""
        t = self.table
        if t.empty:
            return "- No active client to rank at this cutoff."
        days = pd.Timedelta(self.horizon).days
        valued = t["value_at_risk"].notna().any()
        lines = [
            f"{len(t):,} clients to call, largest value at risk first; together {amount(t['value_at_risk'].sum(), self.currency)} "
            f"of annual value at risk over the next {days} days." if valued else
            f"{len(t):,} clients to call, highest churn risk over the next {days} days first (the data records no annual value to rank them by).",
        ]
        soon = t["notice_date"].notna() & (t["notice_date"] < self.cutoff + NOTICE_SOON)
        if soon.any():
            lines.append(f"{int(soon.sum()):,} of them reach their notice date within {NOTICE_SOON.days} days.")
        return "\n".join(f"- {line}" for line in lines)

    def alert_counts(self) -> pd.Series:
        """How many clients each kind of alert names (a client may have several)."""
        kinds = {"newly at risk": "newly at risk", "risk jumped": "risk up", "health fell a band": "health fell"}
        alerts = self.alerts["alert"].astype("string") if len(self.alerts) else pd.Series(dtype="string")
        return pd.Series({kind: int(alerts.str.contains(marker, regex=False).sum()) for kind, marker in kinds.items()})


ALERT_COLUMNS = {
    "client_id": "client", "name": "name", "owner": "owner", "alert": "alert", "probability_before": "churn risk then",
    "probability": "churn risk now", "health_before": "health then", "health": "health now", "moved_by": "what moved it",
}


def action_list(history: History, cutoff=None, horizon: str = "90D", model=None, currency: str = "$", random_state: int = 0,
                engine=None) -> ActionList:
    """The action list as of ``cutoff`` (a date: what was known before it; default: the day
    after the data's last), for a weekly run: snapshots at every quarter end before it and
    at the cutoff itself, a churn model trained on the rows whose outcome was known by
    then, and the health score. ``engine`` (default: the history's) runs its analyses (see
    :func:`analytics.features.snapshots`).

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.actions import action_list
    >>> from analytics.models import ChurnModel
    >>> actions = action_list(load_sample(), model=ChurnModel(kind="logistic"))
    >>> f"{actions.cutoff:%Y-%m-%d}", actions.table.columns.tolist()[:3]
    ('2026-01-01', ['rank', 'client_id', 'name'])
    """
    cutoff = data_end(history).normalize() + pd.Timedelta(days=1) if cutoff is None else utc(cutoff)
    known = history.as_of(cutoff)
    known.engine = engine_of(history, engine)  # every analysis of it runs there
    start = pd.Period(known.span[0], "Q")
    quarter_ends = [utc((q + 1).start_time) for q in pd.period_range(start, pd.Period(cutoff.tz_convert(None), "Q"), freq="Q")]
    grid = sorted({c for c in quarter_ends if c < cutoff} | {cutoff})
    rows = snapshots(known, grid, horizon)
    X, y = training_data(rows)
    model = ChurnModel(random_state=random_state) if model is None else model
    fitted = fit_by_client(model, X, y, rows.loc[X.index, "client_id"])
    return actions_from(known, rows, fitted, list(X.columns), cutoff, horizon, currency)


def actions_from(history: History, rows: pd.DataFrame, fitted, columns: list[str], cutoff: pd.Timestamp, horizon: str = "90D",
                 currency: str = "$", health: HealthScore | None = None) -> ActionList:
    """The action list from snapshot ``rows`` (with one cutoff at ``cutoff``) and a churn
    model already fitted on them, over what ``history`` knew before ``cutoff``; ``health``:
    a health score already fitted on ``rows`` (default: fitted here).

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.actions import actions_from
    >>> from analytics.features import snapshots
    >>> from analytics.models import ChurnModel, training_data
    >>> history = load_sample()
    >>> rows = snapshots(history, cutoffs=["2025-04-01", "2025-07-01", "2025-10-01"])
    >>> X, y = training_data(rows)
    >>> model = ChurnModel(kind="logistic").fit(X, y)
    >>> at_cutoff = rows.loc[rows["cutoff"] == rows["cutoff"].max()]
    >>> actions = actions_from(history, at_cutoff, model, list(model.feature_names_in_), at_cutoff["cutoff"].iloc[0])
    >>> len(actions.table) <= len(at_cutoff)
    True
    """
    cutoff = utc(cutoff)
    earlier = rows.loc[rows["cutoff"] < cutoff, "cutoff"]
    previous = earlier.max() if len(earlier) else None
    now = rows.loc[rows["cutoff"] == cutoff].reset_index(drop=True)
    before = rows.loc[rows["cutoff"] == previous].reset_index(drop=True) if previous is not None else rows.iloc[:0]
    notes = []
    if now.empty:
        return ActionList(cutoff, previous, horizon, pd.DataFrame(columns=list(COLUMNS)), pd.DataFrame(columns=list(ALERT_COLUMNS)),
                          pd.DataFrame(), currency, ["No client was active at this cutoff."])

    points_now = fitted.drivers(now[columns]).drop(columns="baseline")
    probability = fitted.predict_proba(now[columns])[:, 1]
    scored = _clients(history, now, probability, cutoff)
    health_now, health_before = _health(rows, cutoff, previous, fitted_health(rows) if health is None else health)
    scored["health"] = scored["client_id"].map(health_now["score"])
    scored["health_change"] = scored["health"] - scored["client_id"].map(health_before["score"])

    top = max(1, round(len(scored) * AT_RISK_SHARE))
    ranked = scored.sort_values(["probability", "client_id"], ascending=[False, True], kind="stable")
    at_risk = ranked.head(top).copy()
    at_risk["main_reason"] = _main_reasons(points_now.loc[at_risk.index], now.loc[at_risk.index])

    sample = history.whole_clients(EVIDENCE_COMPLAINTS)  # whole clients the practice effects are measured on, once
    effects, evidence_notes = measured_evidence(history, sample)
    notes += evidence_notes
    # the complaints the next steps read: the clients at risk and those with an open complaint
    local = history if isinstance(history, History) else history.of_clients(pd.Index(at_risk["client_id"]).union(history.clients_with_open_complaints()))
    measured, open_advice, handling_notes = _handling(sample, local, at_risk, cutoff)
    notes += handling_notes
    steps = next_steps(local, at_risk, cutoff, effects, measured)
    at_risk = at_risk.join(steps)
    table = at_risk.sort_values(["value_at_risk", "probability", "client_id"], ascending=[False, False, True], kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))

    alerts = _alerts(fitted, columns, now, before, scored, ranked, top, health_now, health_before) if len(before) else pd.DataFrame(columns=list(ALERT_COLUMNS))
    if previous is None:
        notes.append("No earlier cutoff to compare with: the data starts this quarter, so there are no alerts.")
    return ActionList(cutoff, previous, horizon, table, alerts, effects, currency, notes, open_advice)


def _handling(sample: History, local: History, at_risk: pd.DataFrame, cutoff: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """From :class:`analytics.rootcause.NextBestAction` fitted on ``sample`` (whole clients
    of the history): per at-risk client with no open complaint, the practice to add to its
    latest complaint of the last 90 days that most cuts churn (one row per client); and for
    every open complaint, the one that most cuts repeats. ``local``: the history of the
    clients at risk and of those with an open complaint, in this process."""
    empty = pd.DataFrame(columns=list(OPEN_COLUMNS))
    try:
        nba = NextBestAction(outcomes=("repeat", "churn"), subgroups=False).fit(sample)
    except ValueError as error:
        return empty, empty, [f"No practice to add is suggested: {error}"]
    fitted = {outcome for _, outcome in nba.effects_}
    c = local.complaints
    is_open = open_complaints(c)
    advised = nba.recommend(local, c.loc[is_open, "complaint_id"], outcome="repeat").table if "repeat" in fitted else empty
    if len(advised):
        advised["days_open"] = (cutoff - pd.to_datetime(advised["opened_at"], utc=True)).dt.days
    outcome = "churn" if "churn" in fitted else "repeat"
    mine = c.loc[c["client_id"].isin(at_risk["client_id"]) & ~is_open & (c["opened_at"] >= cutoff - RECENT)]
    mine = mine.loc[~mine["client_id"].isin(c.loc[is_open, "client_id"])]  # an open complaint comes first
    latest = mine.sort_values(["client_id", "opened_at"]).drop_duplicates("client_id", keep="last")
    if latest.empty or outcome not in fitted:
        return empty, advised, list(nba.notes_)
    per_client = nba.recommend(local, latest["complaint_id"], outcome=outcome).table
    return per_client.set_index("client_id"), advised, list(nba.notes_)


def _clients(history: History, now: pd.DataFrame, probability: np.ndarray, cutoff: pd.Timestamp) -> pd.DataFrame:
    clients = history.clients.set_index("client_id")

    def attribute(column):
        return now["client_id"].map(clients[column]).astype(object) if column in clients else pd.Series(pd.NA, index=now.index, dtype=object)

    scored = pd.DataFrame({"client_id": now["client_id"].astype(object), "name": attribute("name"), "owner": attribute("owner"),
                           "segment": attribute("segment")}, index=now.index)
    value = now["annual_value"].astype("float64") if "annual_value" in now else pd.Series(np.nan, index=now.index)
    scored["annual_value"] = value
    scored["probability"] = probability
    scored["value_at_risk"] = probability * value.to_numpy()
    days = now["days_to_renewal"].astype("float64") if "days_to_renewal" in now else pd.Series(np.nan, index=now.index)
    recorded_end = now["client_id"].map(clients["contract_end"]) if "contract_end" in clients else None
    scored["renewal_date"] = renewal_dates(pd.Series(cutoff.normalize(), index=now.index), days, recorded_end)
    notice = now["notice_days"].astype("float64") if "notice_days" in now else pd.Series(np.nan, index=now.index)
    scored["notice_date"] = scored["renewal_date"] - pd.to_timedelta(notice, unit="D")
    return scored


def fitted_health(rows: pd.DataFrame) -> HealthScore | None:
    """The health score fitted on every snapshot row, or None when no component is recorded or predictive.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.actions import fitted_health
    >>> from analytics.features import snapshots
    >>> health = fitted_health(snapshots(load_sample()))
    >>> type(health).__name__, len(health.summary)
    ('HealthScore', 11)
    """
    try:
        return HealthScore().fit(rows)
    except ValueError:
        return None


def _health(rows: pd.DataFrame, cutoff, previous, health: HealthScore | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Health scores at the cutoff and the previous one, by client, and what moved each since."""
    empty = pd.DataFrame(columns=["score", "band"])
    if health is None:
        return empty, empty
    scores = health.score(rows.loc[rows["cutoff"].isin([cutoff] if previous is None else [cutoff, previous])])
    movement = health.movement(scores)
    by_cutoff = {c: group.set_index("client_id")[["score", "band"]] for c, group in scores.groupby("cutoff")}
    now, before = by_cutoff.get(cutoff, empty), by_cutoff.get(previous, empty)
    moved = movement.loc[movement["cutoff"] == cutoff].set_index("client_id")["moved_by"]
    return now.assign(moved_by=moved), before


def _main_reasons(points: pd.DataFrame, features: pd.DataFrame) -> list[str]:
    """Per at-risk client, the driver that most sets it apart from the other at-risk
    clients: its contribution minus the median contribution of that feature among them."""
    values = points.to_numpy()
    apart = values - np.median(values, axis=0)
    apart[values <= 0.0005] = -np.inf  # only a driver that raises this client's risk
    best = np.argmax(apart, axis=1)
    reasons = []
    for i, j in enumerate(best):
        if not np.isfinite(apart[i, j]):
            reasons.append("no single feature stands out")
            continue
        name = points.columns[j]
        value = features[name].iloc[i]
        reasons.append(f"{describe(name, _plain_value(value))}: {values[i, j] * 100:+.1f} pts")
    return reasons


def _plain_value(value):
    if isinstance(value, np.generic):
        return value.item()
    return None if pd.isna(value) else value


def _alerts(fitted, columns, now, before, scored, ranked, top, health_now, health_before) -> pd.DataFrame:
    """Clients newly at risk, whose risk rose by RISK_JUMP_PTS or more, or whose health fell a
    band; risk then and now both from the current model, so the change is the client's data
    moving, and what moved it is the features whose contributions rose most."""
    kept = before.loc[before["client_id"].isin(now["client_id"])].reset_index(drop=True)
    if kept.empty:
        return pd.DataFrame(columns=list(ALERT_COLUMNS))
    points_before = fitted.drivers(kept[columns])
    then = pd.Series(fitted.predict_proba(kept[columns])[:, 1], index=kept["client_id"].to_numpy())
    all_before = fitted.predict_proba(before[columns])[:, 1]
    top_before = set(before["client_id"].to_numpy()[np.argsort(-all_before, kind="stable")[:max(1, round(len(before) * AT_RISK_SHARE))]])
    top_now = set(ranked["client_id"].head(top))
    s = scored.set_index("client_id")
    s["probability_before"] = then
    s["health_before"] = health_before["score"] if len(health_before) else np.nan
    band_now = health_now["band"].map(BANDS) if len(health_now) else pd.Series(dtype=float)
    band_then = health_before["band"].map(BANDS) if len(health_before) else pd.Series(dtype=float)
    fell = (band_now.reindex(s.index) < band_then.reindex(s.index)).fillna(False)
    newly = s.index.isin(list(top_now - top_before)) & s["probability_before"].notna()
    jumped = ((s["probability"] - s["probability_before"]) * 100 >= RISK_JUMP_PTS).fillna(False)
    flagged = s.loc[newly | jumped.to_numpy() | fell.to_numpy()]
    if flagged.empty:
        return pd.DataFrame(columns=list(ALERT_COLUMNS))
    points_now = fitted.drivers(now.set_index("client_id").loc[flagged.index, columns]).drop(columns="baseline")
    points_then = points_before.drop(columns="baseline").set_axis(kept["client_id"].to_numpy()).reindex(flagged.index)
    rise = (points_now - points_then).to_numpy()
    rows = []
    for i, client in enumerate(flagged.index):
        kinds = []
        if client in top_now and client not in top_before:
            kinds.append("newly at risk")
        change = (flagged.at[client, "probability"] - flagged.at[client, "probability_before"]) * 100
        if change >= RISK_JUMP_PTS:
            kinds.append(f"risk up {change:.0f} pts")
        if fell.get(client, False):
            kinds.append(f"health fell to {value_label(health_now.at[client, 'band'])}")
        order = np.argsort(-np.nan_to_num(rise[i], nan=-np.inf))[:2]
        risk_moves = [f"{feature_label(points_now.columns[j])} {rise[i, j] * 100:+.1f} pts" for j in order if rise[i, j] * 100 >= 0.5]
        health_moves = health_now["moved_by"].get(client, "") if "moved_by" in health_now else ""
        moved = "; ".join(part for part in ("risk: " + ", ".join(risk_moves) if risk_moves else "",
                                            f"health: {health_moves}" if health_moves and fell.get(client, False) else "") if part)
        rows.append({"client_id": client, "name": flagged.at[client, "name"], "owner": flagged.at[client, "owner"], "alert": "; ".join(kinds),
                     "probability_before": flagged.at[client, "probability_before"], "probability": flagged.at[client, "probability"],
                     "health_before": flagged.at[client, "health_before"], "health": flagged.at[client, "health"], "moved_by": moved or "–"})
    alerts = pd.DataFrame(rows)
    # the largest rise in value at risk first: where a call is worth most
    alerts["order"] = ((alerts["probability"] - alerts["probability_before"]) * alerts["client_id"].map(s["annual_value"])).fillna(0)
    return alerts.sort_values(["order", "client_id"], ascending=[False, True]).drop(columns="order").reset_index(drop=True)
