"""A simulated service business with planted truth, plain churn tables, and the shipped sample data.

Names are imported when first used: the command line reads the sample's settings without
paying for the simulator's imports.
"""

import importlib

_HOMES = {
    "DEFECTS": "_export", "write_export": "_export", "write_sample": "_export",
    "EFFECTS": "_world", "WORLDS": "_world", "Truth": "_truth", "World": "_world", "simulate": "_simulate",
    "TABLE_SHAPES": "_tables", "churn_table": "_tables",
    "SAMPLE_CLIENTS": "_settings", "SAMPLE_END": "_settings", "SAMPLE_SEED": "_settings", "SAMPLE_START": "_settings",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(f"analytics.sample.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'analytics.sample' has no attribute {name!r}")
