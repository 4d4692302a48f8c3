"""Time to churn with lifelines: retention curves, hazard ratios, and each client's outlook."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.exceptions import NotFittedError

from analytics._charts import as_text
from analytics._time import utc
from analytics.features import data_end
from analytics.io import History
from analytics.results import Result, interval_level

#: complaint covariates of the hazard model when none are given (those the snapshots have)
COVARIATES = (
    "complaints_90", "repeats_90", "open_complaints", "complaints_90_severity_4",
    "angry_contacts_90", "abusive_contacts_90", "in_notice_window",
)
OUTLOOK_DAYS = (90, 180, 365)


def survival_table(history: History, snapshots: pd.DataFrame) -> pd.DataFrame:
    """The snapshots as intervals of each client's tenure, for survival models.

    Each snapshot row covers the client's tenure from its cutoff to the next cutoff (or
    the client's end, or the end of the data): ``start`` and ``stop`` in days of tenure,
    ``days`` followed, ``event`` true if the client churned at ``stop``. A relationship we
    ended is censored there: that client did not choose to leave.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import snapshots
    >>> from analytics.models import survival_table
    >>> history = load_sample()
    >>> intervals = survival_table(history, snapshots(history, cutoffs="YE"))
    >>> intervals[["start", "stop", "days", "event"]].dtypes.astype(str).tolist()
    ['float64', 'float64', 'float64', 'bool']
    >>> bool((intervals["stop"] > intervals["start"]).all())
    True
    """
    rows = snapshots.sort_values(["client_id", "cutoff"]).reset_index(drop=True)
    if "tenure_days" not in rows:
        raise ValueError("survival needs each client's tenure: the clients table has no contract_start")
    clients = history.clients.set_index("client_id")
    ended = pd.to_datetime(rows["client_id"].map(clients["ended_at"]), utc=True)
    churned = (rows["client_id"].map(clients["status"]) == "churned").to_numpy(dtype=bool)
    end = data_end(history)
    stop_at = rows.groupby("client_id")["cutoff"].shift(-1).fillna(end).clip(upper=end)
    ends_here = (ended.notna() & (ended <= stop_at)).to_numpy(dtype=bool)
    stop_at = stop_at.where(~ends_here, ended)
    table = rows.assign(
        start=rows["tenure_days"].astype(float),
        days=(stop_at - rows["cutoff"]).dt.total_seconds() / 86400,
        event=ends_here & churned,
    )
    table["stop"] = table["start"] + table["days"]
    return table.loc[table["days"] > 0].reset_index(drop=True)


@dataclass(repr=False)
class RetentionCurves(Result):
    """Kaplan-Meier retention after ``cutoff``, per group: ``curves`` (every step) and
    ``table`` (retention after 90, 180 and 365 days with intervals at ``1 - alpha``),
    which ``summary`` shows.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import snapshots
    >>> from analytics.models import retention_curves
    >>> history = load_sample()
    >>> curves = retention_curves(history, snapshots(history), by="segment", alpha=0.1)
    >>> curves.summary.columns.tolist()[:4]
    ['group', 'clients', 'churned', 'retained_90']
    >>> curves.curves.columns.tolist()
    ['group', 'days', 'retained']
    """

    title = "Retention after the cutoff"

    curves: pd.DataFrame
    table: pd.DataFrame
    cutoff: pd.Timestamp | None = None
    alpha: float = 0.05

    def _table(self) -> pd.DataFrame:
        return self.table

    @property
    def computed_on(self) -> str:
        since = f" at {pd.Timestamp(self.cutoff):%Y-%m-%d}" if self.cutoff is not None else ""
        return (f"{int(self.table['clients'].sum()):,} clients active{since}, {int(self.table['churned'].sum()):,} of whom left, "
                f"in {len(self.table):,} group{'s' if len(self.table) != 1 else ''}")

    def plot(self) -> go.Figure:
        figure = go.Figure()
        for group, curve in self.curves.groupby("group", sort=False):
            curve = daily_steps(curve, "retained")
            figure.add_trace(go.Scatter(x=curve["days"], y=curve["retained"], mode="lines", line_shape="hv", name=as_text(str(group)),
                                        hovertemplate="%{x:.0f} days: %{y:.1%} retained<extra>%{fullData.name}</extra>"))
        figure.update_layout(title="Clients retained after the cutoff", xaxis_title="days after the cutoff", yaxis_title="retained", yaxis_tickformat=".0%")
        return figure


def daily_steps(curve: pd.DataFrame, value: str) -> pd.DataFrame:
    """A step curve drawn at most once a day: the value each day ends on (a curve of a
    million complaints has a step for nearly each of them; a page needs a few hundred)."""
    days = np.floor(curve["days"].to_numpy(dtype=float))
    last = np.r_[days[1:] != days[:-1], True]
    first = np.r_[True, days[1:] != days[:-1]]
    return curve.loc[last | first, ["days", value]] if len(curve) > 2 else curve[["days", value]]


def retention_curves(history: History, snapshots: pd.DataFrame, cutoff=None, by=None, alpha: float = 0.05) -> RetentionCurves:
    """Kaplan-Meier curves of the clients active at ``cutoff`` (default: the latest
    cutoff with a year of data after it, else the first), followed to the end of the data.

    ``by``: a column of the snapshots (``"segment"``) or a boolean Series aligned with the
    snapshot rows, e.g. ``snapshots.eval("repeats_90 > 0 and open_complaints > 0")``.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import snapshots
    >>> history = load_sample()
    >>> curves = retention_curves(history, snapshots(history))
    >>> curves.computed_on
    '1,849 clients active at 2024-10-01, 440 of whom left, in 1 group'
    >>> curves.summary[["retained_90", "retained_90_low_95", "retained_90_high_95"]].round(3).to_dict("records")
    [{'retained_90': 0.95, 'retained_90_low_95': 0.939, 'retained_90_high_95': 0.959}]
    """
    from lifelines import KaplanMeierFitter

    cutoff = _landmark(history, snapshots, cutoff)
    at = snapshots["cutoff"] == cutoff
    groups = _groups(snapshots, by).loc[at]
    follow = _followed_from(history, snapshots.loc[at], cutoff)
    curves, summary = [], []
    for group in sorted(groups.unique(), key=str):
        members = follow.loc[(groups == group).to_numpy()]
        fitter = KaplanMeierFitter(alpha=alpha).fit(members["days"], members["event"], label=str(group))
        curve = fitter.survival_function_.reset_index()
        curves.append(pd.DataFrame({"group": group, "days": curve.iloc[:, 0], "retained": curve.iloc[:, 1]}))
        row = {"group": group, "clients": len(members), "churned": int(members["event"].sum())}
        band = fitter.confidence_interval_survival_function_
        for days in OUTLOOK_DAYS:
            if days <= members["days"].max():
                row[f"retained_{days}"] = float(fitter.survival_function_at_times(days).iloc[0])
                low, high = band.loc[:days].iloc[-1]
                row[f"retained_{days}_low"], row[f"retained_{days}_high"] = float(low), float(high)
        summary.append(row)
    return RetentionCurves(pd.concat(curves, ignore_index=True), pd.DataFrame(summary), pd.Timestamp(cutoff), alpha)


class ChurnHazards(Result):
    """A Cox model of churn over tenure, with complaint covariates that change at each
    cutoff (lifelines' ``CoxTimeVaryingFitter`` on :func:`survival_table` intervals).

    ``summary``: hazard ratio of each covariate with its interval at ``1 - alpha`` and p-value;
    ``missing_``: per covariate, how many intervals had no value and were counted as 0
    (a covariate that is not a number is refused).
    :meth:`outlook`: each client's chance of still being a client 90, 180 and 365 days on,
    and the expected days as a client over the next ``years``, given the tenure reached.

    lifelines' fit takes time that grows faster than the number of intervals (about 40 s for
    20,000 clients followed over 16 quarters here); beyond ``max_clients`` clients it is
    fitted on that many drawn at random (with ``random_state``), every interval of each.
    A random sample of clients estimates the same hazard ratios and baseline hazard, with
    wider intervals; ``computed_on`` says how many were drawn.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import snapshots
    >>> history = load_sample()
    >>> hazards = ChurnHazards(covariates=["complaints_90"]).fit(history, snapshots(history))
    >>> hazards.computed_on
    'fitted on 2,894 clients, 1,121 of whom left, over 20,893 tenure intervals'
    >>> hazards.summary.columns.tolist()
    ['covariate', 'hazard_ratio', 'low_95', 'high_95', 'p']
    """

    title = "Churn hazards"

    def __init__(self, covariates=None, penalizer: float = 0.01, alpha: float = 0.05, max_clients: int | None = 10_000, random_state: int = 0):
        self.covariates = covariates
        self.penalizer = penalizer
        self.alpha = alpha
        self.max_clients = max_clients
        self.random_state = random_state

    def __repr__(self) -> str:
        if hasattr(self, "fitter_"):
            return super().__repr__()
        return (f"ChurnHazards(covariates={self.covariates!r}, penalizer={self.penalizer!r}, alpha={self.alpha!r}, "
                f"max_clients={self.max_clients!r}, random_state={self.random_state!r})")

    @property
    def computed_on(self) -> str:
        drawn = f" (drawn at random from {self.all_clients_:,})" if self.drawn_ else ""
        return f"fitted on {self.clients_:,} clients{drawn}, {self.churned_:,} of whom left, over {self.intervals_:,} tenure intervals"

    def _table(self) -> pd.DataFrame:
        if not hasattr(self, "fitter_"):
            raise NotFittedError("ChurnHazards is not fitted yet; call fit(history, snapshots) first")
        s = self.fitter_.summary
        level = interval_level(self.alpha)
        return pd.DataFrame({
            "covariate": s.index, "hazard_ratio": s["exp(coef)"].to_numpy(),
            "low": s[f"exp(coef) lower {level}%"].to_numpy(), "high": s[f"exp(coef) upper {level}%"].to_numpy(), "p": s["p"].to_numpy(),
        })

    def fit(self, history: History, snapshots: pd.DataFrame) -> ChurnHazards:
        from lifelines import CoxTimeVaryingFitter

        self.covariates_ = [c for c in (self.covariates or COVARIATES) if c in snapshots]
        rows = snapshots[[c for c in ("client_id", "cutoff", "tenure_days", *self.covariates_) if c in snapshots]]  # only what the fit reads
        clients = rows["client_id"].unique()
        self.all_clients_ = len(clients)
        self.drawn_ = self.max_clients is not None and len(clients) > self.max_clients
        if self.drawn_:
            drawn = np.random.default_rng(self.random_state).choice(clients, self.max_clients, replace=False)
            rows = rows.loc[rows["client_id"].isin(drawn)]
        table = survival_table(history, rows)
        covariates, self.missing_ = _numeric(table, self.covariates_)
        data = covariates.assign(id=table["client_id"], start=table["start"], stop=table["stop"], event=table["event"])
        self.fitter_ = CoxTimeVaryingFitter(penalizer=self.penalizer, alpha=self.alpha).fit(data, id_col="id", event_col="event", start_col="start",
                                                                                            stop_col="stop")
        hazard = self.fitter_.baseline_cumulative_hazard_
        self.baseline_ = pd.Series(hazard.iloc[:, 0].to_numpy(), index=hazard.index.to_numpy(dtype=float))
        self.clients_, self.churned_, self.intervals_ = int(table["client_id"].nunique()), int(table["event"].sum()), len(table)
        return self

    def _cumulative_hazard(self, tenure: np.ndarray) -> np.ndarray:
        return np.interp(tenure, self.baseline_.index, self.baseline_.to_numpy(), left=0.0)

    def outlook(self, snapshots: pd.DataFrame, years: int = 3) -> pd.DataFrame:
        """For each row (a client at a cutoff): retention 90, 180 and 365 days on and the
        expected days as a client within ``years``, conditional on the tenure reached and
        holding today's covariates. Beyond the longest tenure observed, the hazard is
        assumed to stay at its average over the last year observed."""
        tenure = snapshots["tenure_days"].to_numpy(float)
        risk = self.fitter_.predict_partial_hazard(_numeric(snapshots, self.covariates_)[0]).to_numpy()
        now = self._cumulative_hazard(tenure)
        result = pd.DataFrame({"client_id": snapshots["client_id"].to_numpy(), "cutoff": snapshots["cutoff"].to_numpy()})
        for days in OUTLOOK_DAYS:
            result[f"retained_{days}"] = np.exp(-(self._extended(tenure + days) - now) * risk)
        grid = np.arange(0, 365 * years + 1, 7.0)
        later = np.exp(-(self._extended(tenure[:, None] + grid[None, :]) - now[:, None]) * risk[:, None])
        result[f"expected_days_within_{years}_years"] = np.trapezoid(later, grid, axis=1)
        return result

    def _extended(self, tenure: np.ndarray) -> np.ndarray:
        """The baseline cumulative hazard, continued past the data at the last year's rate."""
        last = float(self.baseline_.index.max())
        slope = float(np.diff(self._cumulative_hazard(np.array([last - 365, last])))[0]) / 365
        return self._cumulative_hazard(tenure) + slope * np.maximum(tenure - last, 0)  # interp holds the last value

    def plot(self) -> go.Figure:
        s = self._table()
        figure = go.Figure(go.Scatter(
            x=s["hazard_ratio"], y=as_text(s["covariate"]), mode="markers",
            error_x={"type": "data", "symmetric": False, "array": s["high"] - s["hazard_ratio"], "arrayminus": s["hazard_ratio"] - s["low"]},
        ))
        figure.add_vline(x=1, line_dash="dot")
        figure.update_layout(title=f"Hazard ratios of churn ({interval_level(self.alpha)}% intervals)", xaxis_title="hazard ratio (log scale)",
                             xaxis_type="log")
        return figure


def _numeric(table: pd.DataFrame, columns) -> tuple[pd.DataFrame, dict[str, int]]:
    """The covariates as numbers, and how many values of each were missing. A value that
    is not a number is refused; a missing one counts as 0 (no complaint of that kind
    recorded, not in a notice window) and is counted, never filled silently."""
    values, missing = {}, {}
    for column in columns:
        numbers = pd.to_numeric(table[column].astype("object").where(table[column].notna(), None), errors="coerce").astype("Float64")
        wrong = numbers.isna().to_numpy() & table[column].notna().to_numpy()
        if wrong.any():
            raise ValueError(f"covariate {column!r} must be numbers; it holds {table[column][wrong].iloc[0]!r} and "
                             f"{int(wrong.sum()) - 1:,} other values that are not")
        missing[column] = int(numbers.isna().sum())
        values[column] = numbers.fillna(0.0).to_numpy(dtype=float)
    return pd.DataFrame(values), {column: n for column, n in missing.items() if n}


def _groups(snapshots: pd.DataFrame, by) -> pd.Series:
    if by is None:
        return pd.Series("all clients", index=snapshots.index)
    if isinstance(by, str):
        return snapshots[by].astype("string").fillna("not recorded")
    groups = pd.Series(by, index=snapshots.index)
    if pd.api.types.is_bool_dtype(groups):
        groups = groups.map({True: "yes", False: "no"})
    return groups.astype("string").fillna("not recorded")


def _landmark(history: History, snapshots: pd.DataFrame, cutoff) -> pd.Timestamp:
    cutoffs = sorted(pd.to_datetime(snapshots["cutoff"].unique(), utc=True))
    if cutoff is not None:
        cutoff = utc(cutoff)
        if cutoff not in cutoffs:
            raise ValueError(f"{cutoff:%Y-%m-%d} is not a cutoff of these snapshots")
        return cutoff
    end = data_end(history)
    with_a_year = [c for c in cutoffs if c + pd.Timedelta(days=365) <= end]
    return with_a_year[-1] if with_a_year else cutoffs[0]


def _followed_from(history: History, rows: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Days each client was followed after ``cutoff`` and whether it ended in churn."""
    clients = history.clients.set_index("client_id")
    ended = pd.to_datetime(rows["client_id"].map(clients["ended_at"]), utc=True)
    end = data_end(history)
    return pd.DataFrame({
        "days": ((ended.fillna(end).clip(upper=end) - cutoff).dt.total_seconds() / 86400).to_numpy(),
        "event": ((rows["client_id"].map(clients["status"]) == "churned") & ended.notna()).to_numpy(dtype=bool),
    })
