"""The relationship review's policy (thresholds a business can change, in
``analytics/policies/review.toml``), the rule it picks for a client with its reasons, and
the memo drafted for a client the policy says to consider parting with."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd

from analytics._markup import markdown_text
from analytics.tables import amount

POLICY = Path(__file__).resolve().parent / "policies" / "review.toml"


def load_policy(policy: str | Path | dict | None = None) -> dict:
    """The relationship policy: a dict as given, a TOML file by path, or the shipped default
    (``analytics/policies/review.toml``) when ``None``.

    Examples
    --------
    >>> from analytics.review import load_policy
    >>> policy = load_policy()
    >>> sorted(policy)[:3]
    ['consider_exit', 'renegotiate', 'repair']
    >>> load_policy({"exit": {}}) == {"exit": {}}
    True
    """
    if isinstance(policy, dict):
        return policy
    with open(policy or POLICY, "rb") as file:
        return tomllib.load(file)


def recommend(c, policy: dict, currency: str) -> tuple[str, list[str]]:
    """The first rule of the policy that matches, and the reasons."""
    def money(v):
        return amount(v, currency)

    exit_rule, renegotiate, repair = policy["consider_exit"], policy["renegotiate"], policy["repair"]
    reasons = []
    if c.abusive_contacts_365 >= exit_rule["abusive_contacts"]:
        reasons.append(f"{c.abusive_contacts_365:.0f} abusive contacts in the last 12 months (policy: {exit_rule['abusive_contacts']} or more)")
    if c.net_value_12m < exit_rule["net_value_below"] and c.net_value_pace < exit_rule["net_value_below"]:
        reasons.append(f"costs more to serve than it brings: net value {money(c.net_value_12m)} over the last 12 months "
                       f"and {money(c.net_value_pace)} a year on this quarter's pace")
    if reasons:
        return "consider_exit", reasons
    if c.margin > 0 and c.cost_to_serve_12m >= renegotiate["cost_share_of_margin"] * c.margin:
        return "renegotiate", [f"cost to serve {money(c.cost_to_serve_12m)} takes {c.cost_to_serve_12m / c.margin:.0%} of the margin "
                               f"{money(c.margin)} (policy: {renegotiate['cost_share_of_margin']:.0%} or more)"]
    if c.churn_probability >= repair["churn_risk"]:
        reasons.append(f"churn risk {c.churn_probability:.1%} over the next 90 days (policy: {repair['churn_risk']:.0%} or more)")
    if pd.notna(c.health_score) and c.health_score < repair["health_below"]:
        reasons.append(f"health score {c.health_score:.0f} (policy: below {repair['health_below']})")
    if reasons:
        return "repair", reasons
    if pd.isna(c.net_value_12m):  # no annual value recorded: whether the client is profitable is unknown
        return "invest", [f"churn risk {c.churn_probability:.1%}, health {c.health_score:.0f}; no annual value recorded, so its profit is unknown"]
    return "invest", [f"profitable (net value {money(c.net_value_12m)} over 12 months), churn risk {c.churn_probability:.1%}, health {c.health_score:.0f}"]


def disagreement(c, policy: dict) -> str:
    """A sentence when health and churn risk point different ways, saying why they can."""
    low_health = pd.notna(c["health_score"]) and c["health_score"] < policy["repair"]["health_below"]
    high_risk = c["churn_probability"] >= policy["repair"]["churn_risk"]
    if low_health == high_risk:
        return ""
    renewal = (c["renewal_date"] - c["notice_by"]).days if pd.notna(c["notice_by"]) else None
    timing = f"; its renewal is on {c['renewal_date']:%Y-%m-%d}" + (f" with {renewal} days' notice" if renewal else "")
    if low_health:
        return (f"- Health {c['health_score']:.0f} but churn risk only {c['churn_probability']:.1%}: health scores the complaint experience of "
                f"recent months, while churn risk also weighs when the client can leave and how often clients like it did{timing}.")
    return (f"- Churn risk {c['churn_probability']:.1%} despite health {c['health_score']:.0f}: churn risk also weighs when the client can "
            f"leave and how often clients like it did{timing}, which the health score leaves out.")


def percent(value) -> str:
    return "–" if pd.isna(value) else f"{value:.0%}"


def memo(c: pd.Series, tried: dict, money, cutoff: pd.Timestamp) -> str:
    client = markdown_text(c["client_id"])
    name = markdown_text(c["name"]) if pd.notna(c.get("name")) else client
    practices = [f"{words} on {done} of {of}" for words, (done, of) in tried["practices"].items() if of]
    lines = [
        f"# Draft: ending the relationship with {name} ({client})",
        "",
        f"*Draft for review, prepared {cutoff - pd.Timedelta(days=1):%Y-%m-%d} from the complaint and account history. "
        "It is not a decision and has not been sent.*",
        "",
        "## Why this is being considered",
        "",
        *[f"- {markdown_text(reason[0].upper() + reason[1:])}." for reason in c["reasons"].split("; ")],
        "",
        "## The facts",
        "",
        f"- Annual value {money(c['annual_value'])}; margin {money(c['margin'])} a year.",
        f"- Cost to serve over the last 12 months: {money(c['cost_to_serve_12m'])} ({c['handling_hours_365']:,.0f} hours of complaint handling, "
        f"{money(c['credits_365'])} in credits, {c['escalations_365']:,.0f} escalations); net value {money(c['net_value_12m'])}.",
        f"- {c['complaints_365']:,.0f} complaints in the last 12 months; {percent(c['dispute_rate_365'])} of those resolved were disputed.",
        f"- {c['angry_contacts_365']:,.0f} angry and {c['abusive_contacts_365']:,.0f} abusive contacts with our staff in the last 12 months"
        + (f"; the {c['complaints_with_abuse_365']:,.0f} complaints with abuse took {c['abuse_hours_365']:,.0f} hours of our staff's time "
           f"and {c['escalated_after_abuse_365']:,.0f} were escalated." if c["complaints_with_abuse_365"] else "."),
        "",
        "## What we have tried",
        "",
        f"- {tried['resolved']} of {tried['complaints']} complaints of the last 12 months were resolved"
        + (f"; {tried['escalated']} were escalated" if "escalated" in tried else "") + ".",
    ]
    if practices:
        lines.append(f"- Handling: {'; '.join(practices)}.")
    if tried.get("credits"):
        lines.append(f"- Credits issued: {money(tried['credits'])}.")
    lines += [
        "",
        "## Contractual obligations",
        "",
        f"- The contract renews on {c['renewal_date']:%Y-%m-%d}. With a {c['notice_days']:.0f}-day notice period, written notice must reach "
        f"the client by {c['notice_by']:%Y-%m-%d} to end it at that renewal.",
    ]
    if pd.notna(c.get("contract_end")):
        lines.append(f"- The contract end date on record is {pd.Timestamp(c['contract_end']):%Y-%m-%d}; check it against the signed contract.")
    lines += [
        "- Until the end date we deliver every service the contract covers, at the agreed standard, and resolve or hand over every open complaint.",
        "- Settle the final invoice and any credits owed; agree how the client's data and materials are returned.",
        "",
        "## Suggested next steps",
        "",
        "- Check these facts with the account owner and the contract itself; ask legal to confirm the notice terms.",
        "- If the decision is to part, tell the client in a call first, then in writing: thank them, state the end date and what continues until then, "
        "and offer help with the handover. Keep the tone factual and courteous; do not list grievances.",
    ]
    return "\n".join(lines) + "\n"
