"""The synthetic sample that ships with the package: for examples, first steps and tests
that need a whole business's history without a path to it."""

from __future__ import annotations

from pathlib import Path

from analytics.io import History, load_history

__all__ = ["load_sample"]

_HERE = Path(__file__).resolve().parent
#: the sample: beside the package in the repository, inside it when installed from a wheel
SAMPLE_FOLDER = next((folder for folder in (_HERE.parent / "data" / "sample", _HERE / "data" / "sample") if (folder / "complaints.parquet").is_file()),
                     _HERE / "data" / "sample")


def load_sample() -> History:
    """The shipped synthetic sample (``data/sample``: 3,000 clients of a simulated service
    business with their complaints, how each was handled, and their contacts), loaded and
    validated like any export. Its making is described in ``data/README.md``;
    ``client-health sample`` rebuilds it.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> history = load_sample()
    >>> len(history.clients), history.report.rows_quarantined
    (3000, 0)
    """
    return load_history(SAMPLE_FOLDER)
