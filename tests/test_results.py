"""Every result has one shape: ``summary`` (a DataFrame whose interval columns name their
level), ``plot()`` (a plotly Figure), and one rendering, headed by what it was computed on,
for ``repr``, notebooks and reports."""

import html
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from analytics.features import snapshots
from analytics.health import HealthScore
from analytics.models import ChurnHazards, backtest, repeat_risk, retention_curves, time_to_repeat
from analytics.quarterly import quarterly_review
from analytics.results import Result, interval_level, with_interval_level
from analytics.review import relationship_review
from analytics.rootcause import pareto, practice_effects

#: an interval column that does not say its level
UNLEVELLED = re.compile(r"(?<![^_])(low|high)(?![^_])(?!_\d)")


@pytest.fixture(scope="module")
def rows(sample_history):
    return snapshots(sample_history)


BUILDERS = {
    "load report": lambda history, rows: history.report,
    "backtest": lambda history, rows: backtest(rows, bootstrap=20, last=2),
    "pareto": lambda history, rows: pareto(history),
    "practice effects": lambda history, rows: practice_effects(history, outcome="repeat", bootstrap=20),
    "retention curves": lambda history, rows: retention_curves(history, rows, by="segment"),
    "churn hazards": lambda history, rows: ChurnHazards().fit(history, rows),
    "health score": lambda history, rows: HealthScore().fit(rows),
    "time to repeat": lambda history, rows: time_to_repeat(history),
    "repeat risk": lambda history, rows: repeat_risk(history),
    "relationship review": lambda history, rows: relationship_review(history),
    "quarterly review": lambda history, rows: quarterly_review(history, bootstrap=20),
}


@pytest.mark.parametrize("kind", BUILDERS)
def test_every_result_has_a_summary_a_plot_and_one_rendering(kind, sample_history, rows):
    result = BUILDERS[kind](sample_history, rows)
    assert isinstance(result, Result)
    summary = result.summary
    assert isinstance(summary, pd.DataFrame) and len(summary)
    assert not [c for c in summary.columns if UNLEVELLED.search(str(c))], "every interval column names its level"
    figure = result.plot()
    assert isinstance(figure, go.Figure) and len(figure.data)
    # what it was computed on leads every view, and every view shows the same cells
    heading, shown = result._rendering()
    assert heading.startswith(f"{result.title}: ") and re.search(r"\d", result.computed_on)
    text, markdown, page = repr(result), result.to_markdown(), result._repr_html_()
    assert text.startswith(heading) and result.computed_on in markdown and html.escape(result.computed_on) in page
    for cell in shown.head(5).to_numpy().ravel():
        assert cell in text and cell in markdown and html.escape(cell, quote=False) in page


def test_what_a_result_was_computed_on_is_counted_from_the_data(sample_history, rows):
    complaints = len(sample_history.complaints)
    groups = sample_history.complaints["trigger"].astype("string").fillna("not recorded").nunique()
    assert pareto(sample_history).computed_on == f"{complaints:,} complaints in {groups:,} groups of trigger, ranked by complaints"
    hazards = ChurnHazards(covariates=["complaints_90"]).fit(sample_history, rows)
    assert repr(ChurnHazards()) == "ChurnHazards(covariates=None, penalizer=0.01, alpha=0.05, max_clients=10000, random_state=0)"
    assert repr(HealthScore()) == "HealthScore(policy=None, horizon='90D', label='churned')"
    health = HealthScore().fit(rows)
    known = rows.loc[~rows["censored"].astype(bool)]
    assert health.computed_on.startswith(f"fitted on {len(known):,} client rows at {known['cutoff'].nunique():,} cutoffs, {int(known['churned'].sum()):,} churned")
    assert hazards.clients_ == rows["client_id"].nunique()
    assert f"fitted on {hazards.clients_:,} clients" in repr(hazards)


def test_interval_columns_take_their_level_from_alpha(sample_history):
    """Wilson intervals at 90% and 95%, against the formula written out: a level that reached
    only the column names and not the computation would fail here."""
    wide, narrow = pareto(sample_history, alpha=0.05).summary, pareto(sample_history, alpha=0.10).summary
    assert {"repeat_rate_low_95", "repeat_rate_high_95"} <= set(wide.columns)
    assert {"repeat_rate_low_90", "repeat_rate_high_90"} <= set(narrow.columns)
    for table, z, level in ((wide, 1.959964, "95"), (narrow, 1.644854, "90")):
        k, n = table["repeats"].to_numpy(float), table["repeat_known"].to_numpy(float)
        p = k / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
        assert np.allclose(table[f"repeat_rate_low_{level}"], centre - half, equal_nan=True)
        assert np.allclose(table[f"repeat_rate_high_{level}"], centre + half, equal_nan=True)


def test_interval_names_and_levels():
    frame = pd.DataFrame(columns=["low", "high", "retained_90_low", "low_pts", "naive_high_pts", "lowest", "follow", "p"])
    assert list(with_interval_level(frame, 0.05).columns) == [
        "low_95", "high_95", "retained_90_low_95", "low_95_pts", "naive_high_95_pts", "lowest", "follow", "p"]
    assert interval_level(0.1) == "90" and interval_level(0.025) == "97.5" and interval_level(0.01) == "99"
