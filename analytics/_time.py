import pandas as pd


def utc(moment) -> pd.Timestamp:
    """A moment as a UTC timestamp; a moment without a zone is taken to be UTC."""
    moment = pd.Timestamp(moment)
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
