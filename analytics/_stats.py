"""Small statistical helpers shared by the analyses."""

import numpy as np
from scipy.stats import binomtest


def wilson(k, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score intervals at ``1 - alpha`` for ``k`` successes out of ``n`` (NaN where n is 0)."""
    k, n = np.asarray(k, dtype=int), np.asarray(n, dtype=int)
    low, high = np.full(len(k), np.nan), np.full(len(k), np.nan)
    for i, (successes, trials) in enumerate(zip(k, n, strict=True)):
        if trials > 0:
            interval = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=1 - alpha, method="wilson")
            low[i], high[i] = interval.low, interval.high
    return low, high


MIN_RESAMPLES = 10


def check_resamples(bootstrap) -> int:
    """``bootstrap`` as a count of resamples, refused below :data:`MIN_RESAMPLES`: fewer
    give no interval worth printing."""
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < MIN_RESAMPLES:
        raise ValueError(f"bootstrap must be a whole number of at least {MIN_RESAMPLES} resamples (200 is the default), not {bootstrap!r}")
    return int(bootstrap)
