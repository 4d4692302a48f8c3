"""Small statistical helpers shared by the analyses."""

import numpy as np
from scipy.special import ndtri


def wilson(k, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score intervals at ``1 - alpha`` for ``k`` successes out of ``n`` (NaN where n
    is 0): scipy's ``binomtest(k, n).proportion_ci(method="wilson")`` (Newcombe 1998), for
    every group at once (one at a time, 200,000 groups took half a minute).

    Examples
    --------
    >>> from scipy.stats import binomtest
    >>> low, high = wilson([0, 3, 10, 0], [10, 10, 10, 0], alpha=0.1)
    >>> one = binomtest(3, 10).proportion_ci(confidence_level=0.9, method="wilson")
    >>> bool(low[1] == one.low and high[1] == one.high), low[0], high[2], low[3]
    (True, np.float64(0.0), np.float64(1.0), np.float64(nan))
    """
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    if k.shape != n.shape:  # successes without their trials are a caller's mistake, not a shorter answer
        raise ValueError(f"wilson needs a count of trials for each count of successes: {k.shape} successes, {n.shape} trials")
    z = ndtri(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denominator = 2 * (n + z**2)
        center = (2 * n * p + z**2) / denominator
        delta = z / denominator * np.sqrt(4 * n * p * (1 - p) + z**2)
    low = np.where(k == 0, 0.0, center - delta)
    high = np.where(k == n, 1.0, center + delta)
    empty = n <= 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


MIN_RESAMPLES = 10


def check_resamples(bootstrap) -> int:
    """``bootstrap`` as a count of resamples, refused below :data:`MIN_RESAMPLES`: fewer
    give no interval worth printing."""
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < MIN_RESAMPLES:
        raise ValueError(f"bootstrap must be a whole number of at least {MIN_RESAMPLES} resamples (200 is the default), not {bootstrap!r}")
    return int(bootstrap)
