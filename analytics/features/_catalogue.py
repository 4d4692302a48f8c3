"""The snapshot features: their names, the windows, the columns they are computed from
and the complaint and contact columns the engine reads. A new feature is named here and
computed in :mod:`analytics.features._snapshots`."""

from __future__ import annotations

from analytics.schemas import PRACTICES
from analytics.taxonomy import Trigger

WINDOWS = (30, 90, 365)


REPEAT_DAYS = 90  # a complaint repeats its trigger if the client raised it within this many days before


TRIGGERS = [t.value for t in Trigger]


SEVERITIES = (1, 2, 3, 4)


#: minutes and credits are summed in ten-thousandths: whole numbers add up exactly in any order,
#: so the result does not depend on the order an engine returns rows in
PARTS = 10_000


#: rates and shares of what is recorded at resolution: feature prefix -> flag column
RATES = {
    "reopen_rate": "reopened",
    "escalation_rate": "escalated",
    "sla_breach_rate": "sla_met",
    "dispute_rate": "disputed",
    **{f"{p}_share": p for p in PRACTICES},
}


DURATIONS = {"first_response_hours": "first_response_at", "resolution_hours": "resolved_at"}


#: features of what is known only once a complaint is resolved (by prefix)
RECORDED_AT_RESOLUTION = ("open_complaints", "csat_", *RATES, "handling_minutes_", "credits_", "unresolved_", "resolution_hours_")


CONTACTS = ("angry_contacts_", "abusive_contacts_")


#: features that look back without limit, so every complaint before the last cutoff is read
UNBOUNDED = ("csat_latest", "complaints_to_date", "complaint_rate_per_year", "severity_load", "days_since_last_complaint")


def _feature_names() -> tuple[str, ...]:
    names = ["open_complaints", "trend_90", *UNBOUNDED, "complaint_rate_vs_segment"]
    for days in WINDOWS:
        names += [f"complaints_{days}", f"repeats_{days}"]
        names += [f"complaints_{days}_{t}" for t in TRIGGERS] + [f"complaints_{days}_severity_{s}" for s in SEVERITIES]
        names += [f"{rate}_{days}" for rate in RATES]
        names += [f"{name}_{days}" for name in ("csat_mean", "handling_minutes", "credits", "unresolved")]
        names += [f"{d}_{stat}_{days}" for d in DURATIONS for stat in ("median", "p90")]
        names += [f"angry_contacts_{days}", f"abusive_contacts_{days}"]
    return tuple(names)


#: every complaint and contact feature ``snapshots`` can compute, in the order it returns them
FEATURES = _feature_names()


#: complaint columns the snapshots read, with the type they are read as
COMPLAINT_COLUMNS = {
    "client_id": "string",
    "opened_at": "timestamp('UTC')",
    "first_response_at": "timestamp('UTC')",
    "resolved_at": "timestamp('UTC')",
    "trigger": "string",
    "severity": "int64",
    "reopen_count": "int64",
    "escalated": "boolean",
    "sla_met": "boolean",
    "disputed": "boolean",
    "csat": "int64",
    "handling_minutes": "float64",
    "credit_amount": "float64",
    "resolution": "string",
    **{p: "boolean" for p in PRACTICES},
}


CONTACT_COLUMNS = {"client_id": "string", "at": "timestamp('UTC')", "tone": "string"}


#: client columns that are outcomes, not attributes: never passed to the features
OUTCOME_COLUMNS = ("status", "ended_at", "end_reason", "contract_end", "name")


#: feature name prefix -> the column it is computed from (features of unrecorded columns are dropped)
SOURCES = {
    "first_response_hours": ("complaints", "first_response_at"),
    "resolution_hours": ("complaints", "resolved_at"),
    "open_complaints": ("complaints", "resolved_at"),
    "reopen_rate": ("complaints", "reopen_count"),
    "escalation_rate": ("complaints", "escalated"),
    "sla_breach_rate": ("complaints", "sla_met"),
    "dispute_rate": ("complaints", "disputed"),
    "csat": ("complaints", "csat"),
    "handling_minutes": ("complaints", "handling_minutes"),
    "credits": ("complaints", "credit_amount"),
    "repeats": ("complaints", "trigger"),
    "unresolved": ("complaints", "resolution"),
    "severity_load": ("complaints", "severity"),
    "angry_contacts": ("interactions", "tone"),
    "abusive_contacts": ("interactions", "tone"),
    **{f"{p}_share": ("complaints", p) for p in PRACTICES},
    **{f"complaints_{d}_{t}": ("complaints", "trigger") for d in WINDOWS for t in TRIGGERS},
    **{f"complaints_{d}_severity": ("complaints", "severity") for d in WINDOWS},
}


def is_recorded(name: str, history) -> bool:
    """Whether ``history`` (a History or a Source) records every column feature ``name`` is computed from."""
    return all(history.has(column, table=table) for prefix, (table, column) in SOURCES.items() if name.startswith(prefix))


LABELS = ["churned", "ended_by_us", "censored"]


COUNTS = ("complaints_", "repeats_", "unresolved_", "open_complaints", "angry_contacts_", "abusive_contacts_", "trend_")


class Wanted:
    """Which features to compute."""

    def __init__(self, features):
        self.names = set(FEATURES if features is None else features)
        unknown = sorted(self.names - set(FEATURES))
        if unknown:
            raise ValueError(f"unknown snapshot features {unknown}: the names are listed in analytics.features.FEATURES")

    def recorded_in(self, history) -> Wanted:
        """Only the features of columns ``history`` records: the others are not computed."""
        self.names = {name for name in self.names if is_recorded(name, history)}
        return self

    def __call__(self, name: str) -> bool:
        return name in self.names

    def any(self, *names: str, prefix: bool = False) -> bool:
        return any(n.startswith(names) if prefix else n in names for n in self.names)

    def windows(self, pattern: str) -> list[int]:
        """The windows for which a feature named ``pattern.format(days)`` is wanted."""
        return [days for days in WINDOWS if pattern.format(days) in self.names]
