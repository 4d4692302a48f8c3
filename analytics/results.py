"""One shape for what an analysis gives back.

Every result has ``summary`` (a DataFrame whose interval columns name their level, such as
``low_95`` and ``high_95``, taken from the result's ``alpha``), ``plot()`` (a plotly
Figure), and one rendering, headed by what it was fitted or computed on, which ``repr``,
a notebook (``_repr_html_``) and a report (``to_markdown()``) all show.

Examples
--------
>>> from analytics.datasets import load_sample
>>> from analytics.rootcause import pareto
>>> result = pareto(load_sample())
>>> isinstance(result, Result)
True
>>> result.computed_on
'13,119 complaints in 9 groups of trigger, ranked by complaints'
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd

__all__ = ["Result", "interval_level", "with_interval_level"]

#: rows a rendering shows; the whole table is in ``summary``
SHOWN_ROWS = 20


def interval_level(alpha: float) -> str:
    """The confidence level of intervals at ``alpha``, as written in column names: 0.05 -> "95".

    Examples
    --------
    >>> interval_level(0.05), interval_level(0.1), interval_level(0.025)
    ('95', '90', '97.5')
    """
    return f"{100 * (1 - alpha):.10g}"


def with_interval_level(frame: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """``frame`` with each interval column naming its level: ``low`` -> ``low_95``,
    ``retained_90_high`` -> ``retained_90_high_95``, ``low_pts`` -> ``low_95_pts``.

    Examples
    --------
    >>> import pandas as pd
    >>> with_interval_level(pd.DataFrame(columns=["rate", "rate_low", "rate_high", "low_pts"]), 0.1).columns.tolist()
    ['rate', 'rate_low_90', 'rate_high_90', 'low_90_pts']
    """
    level = interval_level(alpha)
    return frame.rename(columns=lambda column: re.sub(r"(?<![^_])(low|high)(?![^_])", rf"\1_{level}", str(column)))


class Result:
    """The shape every result shares. A subclass gives ``title``, ``computed_on``, the table
    behind ``summary`` (``_table``) and ``plot``; ``alpha`` is its intervals' error rate.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import pareto
    >>> result = pareto(load_sample(), by="severity")
    >>> from analytics.results import Result
    >>> isinstance(result, Result), result.title
    (True, 'Pareto of complaints')
    >>> print(result.to_markdown().splitlines()[0])
    **Pareto of complaints: 13,119 complaints in 4 groups of severity, ranked by complaints**
    >>> type(result.plot()).__name__
    'Figure'
    """

    title = "Result"
    alpha = 0.05

    @property
    def summary(self) -> pd.DataFrame:
        """The result as one table; interval columns name their level."""
        return with_interval_level(self._table(), self.alpha)

    def _table(self) -> pd.DataFrame:
        raise NotImplementedError

    @property
    def computed_on(self) -> str:
        """What the result was fitted or computed on, in words."""
        raise NotImplementedError

    def plot(self):
        raise NotImplementedError

    def _rendering(self) -> tuple[str, pd.DataFrame]:
        """The heading and the summary as text: the one rendering every view shows."""
        table = self.summary
        shown = table.head(SHOWN_ROWS).copy()
        for column in shown.columns:
            shown[column] = [_written(value) for value in shown[column]]
        if len(table) > SHOWN_ROWS:
            shown.loc[len(shown)] = ["…"] * len(shown.columns)
        return f"{self.title}: {self.computed_on}", shown

    def __repr__(self) -> str:
        heading, shown = self._rendering()
        return f"{heading}\n{shown.to_string(index=False)}"

    def to_markdown(self) -> str:
        heading, shown = self._rendering()
        return f"**{heading}**\n\n{shown.to_markdown(index=False, disable_numparse=True)}"

    def _repr_html_(self) -> str:
        heading, shown = self._rendering()
        return f"<p><strong>{html.escape(heading)}</strong></p>\n{shown.to_html(index=False, escape=True)}"


def _written(value) -> str:
    """A value as a table shows it: counts with separators, fractions to three places."""
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    if isinstance(value, float | np.floating):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}" if abs(value) < 0.001 and value != 0 else f"{value:,.3f}"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}" if value == value.normalize() else f"{value:%Y-%m-%d %H:%M}"
    return str(value)
