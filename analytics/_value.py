"""What a client brings and what it costs to serve, for the relationship review."""

from __future__ import annotations

import numpy as np
import pandas as pd


def renewal_dates(cutoff: pd.Series, days_to_renewal: pd.Series, contract_end: pd.Series | None = None) -> pd.Series:
    """Each client's next renewal: the contract's recorded end where it lies ahead of the
    cutoff, else ``days_to_renewal`` (to the start's next anniversary) after it."""
    cutoff = pd.to_datetime(cutoff, utc=True)
    anniversary = cutoff + pd.to_timedelta(days_to_renewal.astype("float64"), unit="D")
    if contract_end is None:
        return anniversary
    end = pd.to_datetime(contract_end, utc=True)
    return end.where(end >= cutoff, anniversary)


def client_value(now: pd.DataFrame, value: dict, contract_end: pd.Series | None = None) -> pd.DataFrame:
    """Value, cost to serve and conduct of each client at the cutoff, from its snapshot row
    (``now``), priced by the policy's ``value`` section: ``margin`` (share of annual value
    kept), ``hourly_cost`` of handling time and ``escalation_cost`` per escalation.

    Cost to serve over the last year is handling hours times the hourly cost, plus credits
    given, plus whole escalations times their cost; the pace is the last 90 days' cost times
    four. A column the snapshot lacks counts as nothing spent, and a figure it lacks is
    missing. The renewal date is the recorded ``contract_end`` (aligned with ``now``) where
    it lies ahead, and notice is due ``notice_days`` before it."""
    def cost(days: int) -> pd.Series:
        # whole escalations, as the facts and the memo state them (the rate times the count is not always whole)
        escalations = (now[f"escalation_rate_{days}"].fillna(0) * now[f"complaints_{days}"]).round() if f"escalation_rate_{days}" in now else 0
        credits = now[f"credits_{days}"].fillna(0) if f"credits_{days}" in now else 0
        minutes = now[f"handling_minutes_{days}"].fillna(0) if f"handling_minutes_{days}" in now else 0
        return minutes / 60 * value["hourly_cost"] + credits + escalations * value["escalation_cost"]

    annual = now["annual_value"].astype("float64") if "annual_value" in now else pd.Series(np.nan, index=now.index)
    table = pd.DataFrame({"client_id": now["client_id"], "segment": now.get("segment", pd.NA), "annual_value": annual})
    table["margin"] = annual * value["margin"]
    table["cost_to_serve_12m"] = cost(365)
    table["net_value_12m"] = table["margin"] - table["cost_to_serve_12m"]
    table["net_value_pace"] = table["margin"] - cost(90) * 4
    for column in ("complaints_365", "dispute_rate_365", "angry_contacts_365", "abusive_contacts_365", "credits_365", "notice_days"):
        table[column] = now[column].astype("float64") if column in now else np.nan
    table["handling_hours_365"] = now["handling_minutes_365"].fillna(0) / 60 if "handling_minutes_365" in now else np.nan
    table["escalations_365"] = (now["escalation_rate_365"].fillna(0) * now["complaints_365"]).round() if "escalation_rate_365" in now else np.nan
    tone = ("angry_contacts_90", "abusive_contacts_90", "angry_contacts_365", "abusive_contacts_365")
    table["tone_trend"] = (now[tone[0]] + now[tone[1]] - (now[tone[2]] + now[tone[3]]) / 4) if all(c in now for c in tone) else np.nan
    table["renewal_date"] = renewal_dates(now["cutoff"], now["days_to_renewal"], contract_end)
    table["notice_by"] = table["renewal_date"] - pd.to_timedelta(table["notice_days"].fillna(0), unit="D")
    return table
