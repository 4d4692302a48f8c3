"""The canonical tables as pandera models.

Column names, types, ranges and allowed values live here and nowhere else: the loader
reads its row checks from these models (see :func:`column_rules`), and
``Complaints.validate(df)`` checks a finished table against the same contract.
"""

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_types
from pandera.typing import Series

from analytics.taxonomy import (
    Channel,
    ClientStatus,
    Direction,
    Practice,
    Resolution,
    Tone,
    Trigger,
)

__all__ = ["Clients", "Complaints", "Interactions", "ColumnRule", "column_rules", "empty_table", "client_contacts"]

STRING = pd.ArrowDtype(pa_types.string())
INT = pd.ArrowDtype(pa_types.int64())
FLOAT = pd.ArrowDtype(pa_types.float64())
BOOL = pd.ArrowDtype(pa_types.bool_())
TIMESTAMP = pd.ArrowDtype(pa_types.timestamp("us", tz="UTC"))


def _values(enum) -> list[str]:
    return [member.value for member in enum]


def _optional(**kwargs):
    return pa.Field(nullable=True, **kwargs)


class _Canonical(pa.DataFrameModel):
    class Config:
        strict = False  # extra export columns are kept, never dropped
        coerce = False


class Clients(_Canonical):
    """One row per client relationship.

    Examples
    --------
    >>> from analytics.schemas import Clients
    >>> list(Clients.to_schema().columns)[:4]
    ['client_id', 'name', 'segment', 'owner']
    """

    client_id: Series[STRING] = pa.Field(unique=True)
    name: Series[STRING] = _optional()
    segment: Series[STRING] = _optional()
    owner: Series[STRING] = _optional()
    contract_start: Series[TIMESTAMP] = _optional()
    contract_end: Series[TIMESTAMP] = _optional()
    notice_days: Series[INT] = _optional(ge=0)
    annual_value: Series[FLOAT] = _optional(ge=0)
    status: Series[STRING] = _optional(isin=_values(ClientStatus))
    ended_at: Series[TIMESTAMP] = _optional()
    end_reason: Series[STRING] = _optional()


class Complaints(_Canonical):
    """One row per complaint or case.

    Examples
    --------
    >>> from analytics.schemas import Complaints
    >>> columns = Complaints.to_schema().columns
    >>> columns["complaint_id"].unique, columns["csat"].nullable
    (True, True)
    """

    complaint_id: Series[STRING] = pa.Field(unique=True)
    client_id: Series[STRING]
    opened_at: Series[TIMESTAMP]
    first_response_at: Series[TIMESTAMP] = _optional()
    resolved_at: Series[TIMESTAMP] = _optional()
    closed_at: Series[TIMESTAMP] = _optional()
    channel: Series[STRING] = _optional(isin=_values(Channel))
    trigger: Series[STRING] = _optional(isin=_values(Trigger))
    category_raw: Series[STRING] = _optional()
    severity: Series[INT] = _optional(ge=1, le=4)
    text: Series[STRING] = _optional()
    replies: Series[STRING] = _optional()  # what the agents wrote back
    resolution: Series[STRING] = _optional(isin=_values(Resolution))
    reopen_count: Series[INT] = _optional(ge=0)
    escalated: Series[BOOL] = _optional()
    sla_met: Series[BOOL] = _optional()
    csat: Series[INT] = _optional(ge=1, le=5)
    disputed: Series[BOOL] = _optional()
    team: Series[STRING] = _optional()
    agent: Series[STRING] = _optional()
    handling_minutes: Series[FLOAT] = _optional(ge=0)
    credit_amount: Series[FLOAT] = _optional(ge=0)
    listened_validated: Series[BOOL] = _optional()
    apologized: Series[BOOL] = _optional()
    took_ownership: Series[BOOL] = _optional()
    offered_options: Series[BOOL] = _optional()
    set_expectations: Series[BOOL] = _optional()
    root_cause_fixed: Series[BOOL] = _optional()
    followed_up: Series[BOOL] = _optional()
    moved_private: Series[BOOL] = _optional()

    @pa.dataframe_check
    def events_not_before_opening(cls, df: pd.DataFrame) -> Series[bool]:
        """First response, resolution and closing cannot precede the opening."""
        ok = pd.Series(True, index=df.index)
        for column in ORDERED_AFTER_OPENING:
            if column in df:
                ok &= ~(df[column] < df["opened_at"]).fillna(False).astype(bool)
        return ok


class Interactions(_Canonical):
    """Every documented contact within a complaint (optional table).

    Examples
    --------
    >>> from analytics.schemas import Interactions
    >>> sorted(Interactions.to_schema().columns)[:4]
    ['at', 'channel', 'client_id', 'complaint_id']
    """

    interaction_id: Series[STRING] = pa.Field(unique=True)
    complaint_id: Series[STRING]
    client_id: Series[STRING] = _optional()
    at: Series[TIMESTAMP]
    channel: Series[STRING] = _optional(isin=_values(Channel))
    direction: Series[STRING] = _optional(isin=_values(Direction))
    minutes: Series[FLOAT] = _optional(ge=0)
    tone: Series[STRING] = _optional(isin=_values(Tone))
    text: Series[STRING] = _optional()  # what was written: the client's words on an inbound contact


ORDERED_AFTER_OPENING = ("first_response_at", "resolved_at", "closed_at")
#: complaint columns only known once the complaint is resolved
KNOWN_AT_RESOLUTION = ("resolution", "csat", "disputed", "reopen_count", "sla_met", "handling_minutes", "credit_amount", "root_cause_fixed",
                       "followed_up")
#: tones that count as hostility
HOSTILE_TONES = ("angry", "abusive")


def client_contacts(interactions: pd.DataFrame) -> pd.Series:
    """Which contacts are the client's: inbound ones, or every contact where the table
    records no direction.

    Examples
    --------
    >>> import pandas as pd
    >>> from analytics.schemas import client_contacts
    >>> client_contacts(pd.DataFrame({"direction": ["inbound", "outbound", None]})).tolist()
    [True, False, False]
    """
    if "direction" not in interactions:
        return pd.Series(True, index=interactions.index)
    return interactions["direction"].astype("string").eq("inbound").fillna(False).astype(bool)
PRACTICES = tuple(_values(Practice))
MODELS = {"clients": Clients, "complaints": Complaints, "interactions": Interactions}
#: the column holding each table's own id
ID_COLUMN = {"clients": "client_id", "complaints": "complaint_id", "interactions": "interaction_id"}


@dataclass(frozen=True)
class ColumnRule:
    """What the model says about one column, in a form the loader can evaluate.

    Examples
    --------
    >>> from analytics.schemas import column_rules
    >>> rule = column_rules("complaints")["csat"]
    >>> rule.kind, rule.required, rule.expected()
    ('int', False, 'a whole number from 1 to 5')
    """

    name: str
    dtype: pd.ArrowDtype
    required: bool
    unique: bool
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] | None = None

    @property
    def kind(self) -> str:
        arrow = self.dtype.pyarrow_dtype
        if pa_types.types.is_timestamp(arrow):
            return "timestamp"
        if pa_types.types.is_boolean(arrow):
            return "bool"
        if pa_types.types.is_integer(arrow):
            return "int"
        if pa_types.types.is_floating(arrow):
            return "float"
        return "string"

    def expected(self) -> str:
        """Plain words for what a value of this column must be."""
        if self.allowed:
            return "one of " + ", ".join(self.allowed)
        words = {
            "timestamp": "a date or date-time",
            "bool": "a yes/no value",
            "int": "a whole number",
            "float": "a number",
            "string": "text",
        }[self.kind]
        if self.minimum is not None and self.maximum is not None:
            words += f" from {self.minimum:g} to {self.maximum:g}"
        elif self.minimum is not None:
            words += f" of at least {self.minimum:g}"
        return words


def column_rules(table: str) -> dict[str, ColumnRule]:
    """The rules of every canonical column of ``table``, read off its pandera model.

    Examples
    --------
    >>> from analytics.schemas import column_rules
    >>> rules = column_rules("clients")
    >>> rules["client_id"].required, rules["client_id"].unique, rules["segment"].expected()
    (True, True, 'text')
    """
    schema = MODELS[table].to_schema()
    rules = {}
    for name, column in schema.columns.items():
        stats: dict = {}
        for check in column.checks:
            stats.update(check.statistics)
        allowed = stats.get("allowed_values")
        rules[name] = ColumnRule(
            name=name,
            dtype=column.dtype.type,
            required=not column.nullable,
            unique=column.unique,
            minimum=stats.get("min_value"),
            maximum=stats.get("max_value"),
            allowed=tuple(allowed) if allowed is not None else None,
        )
    return rules


def empty_table(table: str) -> pd.DataFrame:
    """A zero-row canonical table with every column typed.

    Examples
    --------
    >>> from analytics.schemas import empty_table
    >>> table = empty_table("clients")
    >>> len(table), str(table["contract_start"].dtype)
    (0, 'timestamp[us, tz=UTC][pyarrow]')
    """
    return pd.DataFrame(
        {name: pd.Series([], dtype=rule.dtype) for name, rule in column_rules(table).items()}
    )
