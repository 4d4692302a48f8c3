import numpy as np
import pandas as pd


def utc(moment) -> pd.Timestamp:
    """A moment as a UTC timestamp; a moment without a zone is taken to be UTC."""
    moment = pd.Timestamp(moment)
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def naive_utc(moments: pd.Series) -> pd.Series:
    """Moments as zone-less UTC datetime64 values: from Arrow timestamps without the slow
    object round trip that ``astype`` takes."""
    if isinstance(moments.dtype, pd.ArrowDtype):
        values = moments.to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT"))
        return pd.Series(values, index=moments.index, name=moments.name)
    return pd.to_datetime(moments, utc=True).dt.tz_localize(None)
