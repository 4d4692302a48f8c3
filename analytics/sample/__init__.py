"""A simulated service business with planted truth, plain churn tables, and the shipped sample data."""

from analytics.sample._export import DEFECTS, write_export, write_sample
from analytics.sample._simulate import EFFECTS, WORLDS, Truth, World, simulate
from analytics.sample._tables import TABLE_SHAPES, churn_table

__all__ = ["DEFECTS", "EFFECTS", "TABLE_SHAPES", "WORLDS", "Truth", "World", "churn_table", "simulate", "write_export", "write_sample"]
