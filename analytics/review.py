"""The relationship review: what each client is worth, what it costs to serve, and whether
to invest, repair, renegotiate or consider ending the relationship.

The recommendation follows a policy file of thresholds a business can change
(``analytics/policies/review.toml``); every recommendation carries the reasons that
decided it. For ``consider_exit`` a memo draft lays out the facts, what was tried and the
contractual obligations, for a person to read, change and decide on: nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics._charts import as_text, scatter_type
from analytics._markup import markdown_html, markdown_text
from analytics._policy import disagreement, load_policy, memo, percent, recommend
from analytics._time import utc
from analytics._value import client_value
from analytics.features import data_end, engine_of, snapshots
from analytics.health import HealthScore
from analytics.io import History
from analytics.labels import PRACTICE_WORDS, feature_label
from analytics.models import ChurnHazards, ChurnModel, fit_by_client, training_data
from analytics.redaction import PERSONAL_DETAILS, redact
from analytics.results import Result
from analytics.rootcause import abuse_by_client
from analytics.tables import amount, count, styled

__all__ = ["RelationshipReview", "relationship_review", "load_policy"]

RECOMMENDATIONS = ("consider_exit", "renegotiate", "repair", "invest")


@dataclass(repr=False)
class RelationshipReview(Result):
    """``clients``: one row per client active at ``cutoff`` with its value, cost to serve,
    conduct, risk, contract dates, ``recommendation`` and ``reasons``. ``summary``: clients
    and value per recommendation; :meth:`headline` says it in sentences.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.review import relationship_review
    >>> review = relationship_review(load_sample(), cutoff="2025-07-01")
    >>> client = review.pick()
    >>> review.memo(client).startswith("# Draft")
    True
    >>> sorted(review.clients["recommendation"].unique())
    ['consider_exit', 'invest', 'renegotiate', 'repair']
    """

    title = "Relationship review"

    cutoff: pd.Timestamp
    clients: pd.DataFrame
    health: HealthScore
    history: History
    policy: dict
    currency: str = "$"
    notes: list[str] = field(default_factory=list)
    scores: pd.DataFrame | None = None  # the health score of every client at every cutoff

    @property
    def period(self) -> str:
        """The last day the review knew about, for its title and file name."""
        return f"{self.cutoff - pd.Timedelta(days=1):%Y-%m-%d}"

    def pick(self, client_id=None):
        """``client_id`` when given, else the client most in need of a decision: the
        largest annual value among those to consider ending, then to renegotiate, ..."""
        if client_id is not None:
            return self.client(client_id)["client_id"]
        order = self.clients["recommendation"].map({r: i for i, r in enumerate(RECOMMENDATIONS)})
        return self.clients.assign(_order=order).sort_values(["_order", "annual_value"], ascending=[True, False])["client_id"].iloc[0]

    def health_table(self, client_id):
        """Each health component of the client: value, points deducted, and why."""
        table = self.health.explain(self.scores, client_id, self.cutoff)
        return styled(table.drop(columns="weight"), decimals=["points"])

    def health_plot(self, client_id) -> go.Figure:
        """The client's health score at every cutoff, against the band thresholds."""
        scores = self.scores
        mine = scores.loc[scores["client_id"] == client_id].sort_values("cutoff")
        days = pd.to_datetime(mine["cutoff"], utc=True) - pd.Timedelta(days=1)  # a cutoff's score is of the day before
        figure = go.Figure(go.Scatter(x=days.dt.strftime("%Y-%m-%d"), y=mine["score"], mode="lines+markers", name="health score",
                                      hovertemplate="%{x}: %{y:.0f}<extra></extra>"))
        healthy, watch = self.health.thresholds_
        figure.add_hline(y=healthy, line_dash="dot", annotation_text="healthy above", annotation_position="top left")
        figure.add_hline(y=watch, line_dash="dot", annotation_text="at risk below", annotation_position="bottom left")
        figure.update_layout(title=f"Health of {as_text(str(client_id))} over time", xaxis_title="quarter end", yaxis_title="health score (100: nothing wrong)",
                             yaxis_range=[0, 105], showlegend=False)
        return figure

    def plan(self, client_id) -> str:
        """What to do next with a client that is not to be ended, in Markdown: the
        recommendation's reasons and, for a client to repair or renegotiate, the next step
        its complaints and this data's measured practice effects point to."""
        from analytics.actions import next_steps

        c = self.client(client_id)
        words = c["recommendation"].replace("_", " ")
        lines = [f"**Plan for {markdown_text(client_id)}: {words}**", "", f"- Because: {markdown_text(c['reasons'])}."]
        if c["recommendation"] in ("repair", "renegotiate"):
            step = next_steps(self.history, pd.DataFrame({"client_id": [client_id], "notice_date": [c["notice_by"]]}), self.cutoff).iloc[0]
            lines.append(f"- Next step: {markdown_text(step['next_step'])} ({markdown_text(step['evidence'])}).")
        if c["recommendation"] == "renegotiate":
            lines.append(f"- Renegotiate before {c['notice_by']:%Y-%m-%d} (notice date for the {c['renewal_date']:%Y-%m-%d} renewal): "
                         "price, scope or service level, so that serving the client stops taking most of its margin.")
        if c["recommendation"] == "invest":
            lines.append("- Keep the relationship as it is; look for room to grow it at the renewal.")
        lines.append(disagreement(c, self.policy))
        return redact("\n".join(line for line in lines if line), kinds=PERSONAL_DETAILS)

    def client(self, client_id) -> pd.Series:
        rows = self.clients.loc[self.clients["client_id"] == client_id]
        if rows.empty:
            raise KeyError(f"client {client_id!r} was not active at {self.cutoff:%Y-%m-%d}")
        return rows.iloc[0]

    @property
    def computed_on(self) -> str:
        return f"{len(self.clients):,} clients active on {self.period}, {self.history.complaint_count:,} complaints known then"

    def _table(self) -> pd.DataFrame:
        """Clients and annual value per recommendation."""
        grouped = self.clients.groupby("recommendation").agg(clients=("client_id", "size"), annual_value=("annual_value", "sum"),
                                                              net_value=("net_value_12m", "sum"))
        return grouped.reindex(RECOMMENDATIONS).fillna(0).reset_index()

    def plot(self) -> go.Figure:
        """Annual value and net value over the last 12 months per recommendation."""
        table = self._table()
        names = table["recommendation"].str.replace("_", " ")
        figure = go.Figure([go.Bar(x=names, y=table[column], name=label, customdata=table["clients"],
                                   hovertemplate="%{x}: %{y:,.0f} (%{customdata:,} clients)<extra>" + label + "</extra>")
                            for column, label in (("annual_value", "annual value"), ("net_value", "net value, last 12 months"))])
        figure.update_layout(title="Value per recommendation", yaxis_title=f"value ({self.currency})", barmode="group")
        return figure

    def headline(self) -> str:
        """The portfolio per recommendation in two Markdown sentences."""
        counts = self._table().set_index("recommendation")
        parts = [f"{int(counts.loc[r, 'clients']):,} {r.replace('_', ' ')}" for r in RECOMMENDATIONS]
        first = f"- {len(self.clients):,} clients active on {self.cutoff - pd.Timedelta(days=1):%Y-%m-%d}: " + ", ".join(parts) + ".\n"
        if self.clients["annual_value"].isna().all():
            return first + ("- No annual value is recorded, so what clients bring and whether they are profitable is unknown: "
                            "the recommendations rest on conduct, churn risk and health alone.")
        return (first + f"- Clients to consider ending bring {self._money(counts.loc['consider_exit', 'annual_value'])} of annual value and "
                f"{self._money(counts.loc['consider_exit', 'net_value'])} of net value over the last 12 months.")

    def portfolio(self, recommendation: str | None = None) -> pd.DataFrame:
        """Every client (or those of one ``recommendation``) with its figures and reasons, the
        ones needing a decision first (exit, then renegotiate, repair), largest value first;
        columns in words: what the report's table and its CSV and Excel files hold."""
        rows = self.clients if recommendation is None else self.clients.loc[self.clients["recommendation"] == recommendation]
        order = rows["recommendation"].map({r: i for i, r in enumerate(RECOMMENDATIONS)})
        rows = rows.assign(_order=order).sort_values(["_order", "annual_value", "client_id"], ascending=[True, False, True])
        table = rows[["client_id", "name", "recommendation", "annual_value", "cost_to_serve_12m", "net_value_12m", "abusive_contacts_365",
                      "churn_probability", "health_score", "reasons"]].rename(columns=_HEADERS)
        table[_HEADERS["recommendation"]] = table[_HEADERS["recommendation"]].str.replace("_", " ")
        table[_HEADERS["name"]] = table[_HEADERS["name"]].map(lambda v: redact(str(v), kinds=PERSONAL_DETAILS), na_action="ignore")
        return table.reset_index(drop=True)

    def portfolio_table(self, recommendation: str | None = None, top: int | None = 500):
        """The first ``top`` clients of :meth:`portfolio` (None: all), sortable and searchable,
        with a caption saying where the rest are."""
        table = self.portfolio(recommendation)
        everyone = len(table)
        table = table.head(top or everyone)
        caption = (f"the first {len(table):,} of {everyone:,} clients, by recommendation then annual value; all of them are in the CSV "
                   "and Excel files beside this report" if len(table) < everyone else None)
        return styled(table, money=[_HEADERS[c] for c in ("annual_value", "cost_to_serve_12m", "net_value_12m")], counts=[_HEADERS["abusive_contacts_365"], _HEADERS["health_score"]],
                      percent=[_HEADERS["churn_probability"]], currency=self.currency, caption=caption, interactive=True)

    def facts_table(self, client_id):
        """One client's figures, formatted."""
        c = self.client(client_id)
        m = self._money
        facts = [
            ("annual value", m(c["annual_value"])), ("margin", m(c["margin"])),
            ("cost to serve, last 12 months", f"{m(c['cost_to_serve_12m'])} ({count(c['handling_hours_365'])} h handling, {m(c['credits_365'])} credits, "
                                              f"{count(c['escalations_365'])} escalation{'' if c['escalations_365'] == 1 else 's'})"),
            ("net value, last 12 months", m(c["net_value_12m"])), ("net value on this quarter's pace", m(c["net_value_pace"])),
            ("complaints, last 12 months", count(c["complaints_365"])), ("dispute rate, last 12 months", percent(c["dispute_rate_365"])),
            ("angry / abusive contacts, last 12 months", f"{count(c['angry_contacts_365'])} / {count(c['abusive_contacts_365'])}"),
            ("angry and abusive contacts, trend", "–" if pd.isna(c["tone_trend"]) else f"{count(c['tone_trend'], signed=True)} a quarter against the year's average"),
            ("complaints with abuse, last 12 months", f"{count(c['complaints_with_abuse_365'])} ({count(c['escalated_after_abuse_365'])} escalated; "
                                                      f"{count(c['abuse_hours_365'])} h of our staff's handling)"),
            ("churn risk, next 90 days", "–" if pd.isna(c["churn_probability"]) else f"{c['churn_probability']:.1%}"),
            ("expected net value, next 12 months", m(c["expected_net_value_12m"])),
            ("health score", f"{c['health_score']:.0f} ({c['health_band'].replace('_', ' ')}; 100: nothing wrong)"),
            ("next renewal", "not known" if pd.isna(c["renewal_date"]) else f"{c['renewal_date']:%Y-%m-%d}"),
            ("notice period", "not recorded" if pd.isna(c["notice_days"]) or pd.isna(c["notice_by"]) else f"{c['notice_days']:.0f} days: notice by {c['notice_by']:%Y-%m-%d}"),
        ]
        if pd.notna(c.get("contract_end")):
            facts.append(("contract end on record", f"{pd.Timestamp(c['contract_end']):%Y-%m-%d}"))
        facts.append(("recommendation", c["recommendation"].replace("_", " ")))
        facts.append(("because", c["reasons"]))
        return styled(pd.DataFrame(facts, columns=["", client_id]))

    def memo(self, client_id, format: str = "markdown") -> str:
        """A draft memo on ending the relationship with ``client_id`` (Markdown or HTML):
        the facts, what was tried, and the contractual obligations. A draft for a person
        to check and decide on; contact details are redacted and nothing is sent."""
        c = self.client(client_id)
        if c["recommendation"] != "consider_exit":
            text = self.plan(client_id)
        else:
            text = memo(c, self._tried(client_id), self._money, self.cutoff)
        text = redact(text, kinds=PERSONAL_DETAILS)
        if format == "markdown":
            return text
        if format == "html":
            body = markdown_html(text)
            return f"<!doctype html><html><head><meta charset='utf-8'><title>Draft: relationship memo</title></head><body>{body}</body></html>"
        raise ValueError(f"format must be 'markdown' or 'html', not {format!r}")

    def _tried(self, client_id) -> dict:
        """What was done about the client's complaints over the last 12 months."""
        # a stored history gives this client's complaints from where they are
        complaints = self.history.complaints if isinstance(self.history, History) else self.history.of_clients([client_id]).complaints
        mine = complaints.loc[(complaints["client_id"] == client_id) & (pd.to_datetime(complaints["opened_at"], utc=True) >= self.cutoff - pd.Timedelta(days=365))]
        resolved = mine["resolved_at"].notna() if "resolved_at" in mine else pd.Series(False, index=mine.index)
        tried = {"complaints": len(mine), "resolved": int(resolved.sum()), "practices": {}}
        for practice, words in PRACTICE_WORDS.items():
            if practice in mine and mine[practice].notna().any():
                tried["practices"][words] = (int(mine[practice].fillna(False).astype(bool).sum()), int(mine[practice].notna().sum()))
        if "escalated" in mine:
            tried["escalated"] = int(mine["escalated"].fillna(False).astype(bool).sum())
        if "credit_amount" in mine:
            tried["credits"] = float(mine["credit_amount"].fillna(0).sum())
        return tried

    def recommendation_plot(self) -> go.Figure:
        """Net value over the last 12 months against churn risk, by recommendation; without
        annual values (so no net value), how many clients of each recommendation have each risk."""
        figure = go.Figure()
        colours = {"consider_exit": "#d62728", "renegotiate": "#ff7f0e", "repair": "#1f77b4", "invest": "#2ca02c"}
        valued = self.clients["net_value_12m"].notna().any()
        for recommendation in reversed(RECOMMENDATIONS):  # drawn last, the clients to consider ending sit on top
            rows = self.clients.loc[self.clients["recommendation"] == recommendation]
            name, colour = recommendation.replace("_", " "), colours[recommendation]
            if not valued:
                figure.add_trace(go.Histogram(x=rows["churn_probability"], name=name, marker={"color": colour}, nbinsx=50,
                                              hovertemplate="risk %{x}: %{y:,} clients<extra></extra>"))
                continue
            figure.add_trace(scatter_type(len(rows))(
                x=rows["churn_probability"], y=rows["net_value_12m"], mode="markers", name=name,
                marker={"color": colour, "opacity": 0.75}, customdata=as_text(rows["client_id"]),
                hovertemplate="%{customdata}<br>risk %{x:.1%}<br>net value " + self.currency + "%{y:,.0f}<extra></extra>",
            ))
        if valued:
            figure.update_layout(title="Net value and churn risk, by recommendation", yaxis_title="net value, last 12 months")
        else:
            figure.update_layout(title="Churn risk, by recommendation (no annual values recorded, so no net value)",
                                 yaxis_title="clients", barmode="stack")
        days = pd.Timedelta(self.health.horizon).days
        figure.update_layout(xaxis_title=f"churn risk, next {days} days", xaxis_tickformat="~%", legend_traceorder="reversed")
        return figure

    def _money(self, value) -> str:
        return amount(value, self.currency)


_HEADERS = {
    "client_id": "client", "annual_value": "annual value", "cost_to_serve_12m": "cost to serve (12 m)", "net_value_12m": "net value (12 m)",
    "abusive_contacts_365": "abusive contacts (12 m)", "churn_probability": "churn risk", "health_score": "health", "reasons": "reasons",
    "recommendation": "recommendation", "name": "name",
}


def relationship_review(history: History, cutoff=None, policy: str | Path | dict | None = None, horizon: str = "90D",
                        currency: str = "$", random_state: int = 0, engine=None) -> RelationshipReview:
    """Review every client active at ``cutoff`` (default: the end of the data), from what
    was known then: value, cost to serve, conduct, churn risk and health, and the
    recommendation the ``policy`` gives. ``engine`` (default: the history's) runs its analyses (see
    :func:`analytics.features.snapshots`).

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.review import relationship_review
    >>> review = relationship_review(load_sample())
    >>> review.computed_on
    '1,698 clients active on 2025-12-31, 13,119 complaints known then'
    >>> review.summary.columns.tolist()
    ['recommendation', 'clients', 'annual_value', 'net_value']
    """
    policy = load_policy(policy)
    cutoff = utc(cutoff) if cutoff is not None else utc(data_end(history).ceil("D"))
    known = history.as_of(cutoff)
    known.engine = engine_of(history, engine)  # every analysis of it runs there
    quarters = pd.period_range(known.span[0], cutoff.tz_convert(None) - pd.Timedelta(days=1), freq="Q")
    cutoffs = sorted({utc((q + 1).start_time) for q in quarters if utc((q + 1).start_time) < cutoff} | {cutoff})
    rows = snapshots(known, cutoffs, horizon)
    now = rows.loc[rows["cutoff"] == cutoff].reset_index(drop=True)
    notes = []

    X, y = training_data(rows)
    model = fit_by_client(ChurnModel(random_state=random_state), X, y, rows.loc[X.index, "client_id"])
    health = HealthScore(horizon=horizon).fit(rows)
    scores = health.score(rows)
    current = scores.loc[pd.to_datetime(scores["cutoff"], utc=True) == cutoff].set_index("client_id")
    try:
        hazards = ChurnHazards().fit(known, rows)
        outlook = hazards.outlook(now, years=1).set_index("client_id")["expected_days_within_1_years"]
        notes += [f"The survival model counted {n:,} missing values of {feature_label(c)} as 0." for c, n in hazards.missing_.items()]
    except Exception as error:  # noqa: BLE001 - a survival fit that fails must not stop the review
        notes.append(f"The survival model could not be fitted ({type(error).__name__}); the next 12 months assume the 90-day churn risk holds each quarter.")
        outlook = None

    clients = history.clients.set_index("client_id")
    recorded_end = now["client_id"].map(clients["contract_end"]) if "contract_end" in clients else None
    table = client_value(now, policy["value"], recorded_end)
    abuse = abuse_by_client(known, cutoff - pd.Timedelta(days=365), cutoff).reindex(now["client_id"].astype("string"))
    table["complaints_with_abuse_365"] = abuse["complaints_with_abuse"].fillna(0).to_numpy()
    table["escalated_after_abuse_365"] = abuse["escalated_after_abuse"].fillna(0).to_numpy()
    table["abuse_hours_365"] = abuse["abuse_hours"].fillna(0.0).to_numpy()
    table["name"] = now["client_id"].map(history.clients.set_index("client_id")["name"]) if "name" in history.clients else pd.NA
    table["churn_probability"] = model.predict_proba(now[X.columns])[:, 1]
    # without a survival model: the 90-day risk each quarter, a quarter counted if the client is there at its start
    retained_days = (outlook.reindex(now["client_id"]).to_numpy() if outlook is not None
                     else 365 * ((1 - table["churn_probability"].to_numpy()) ** np.arange(4)[:, None]).mean(axis=0))
    table["expected_net_value_12m"] = table["net_value_pace"] * retained_days / 365
    table["health_score"] = now["client_id"].map(current["score"]).to_numpy()
    table["health_band"] = now["client_id"].map(current["band"]).to_numpy()
    if "contract_end" in clients:
        table["contract_end"] = now["client_id"].map(clients["contract_end"]).to_numpy()
    decided = [recommend(row, policy, currency) for row in table.itertuples(index=False)]
    table["recommendation"] = [d[0] for d in decided]
    table["reasons"] = ["; ".join(d[1]) for d in decided]
    return RelationshipReview(cutoff, table, health, known, policy, currency, notes, scores)
