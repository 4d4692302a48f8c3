"""A simulated service business with planted truth, and the shipped sample data."""

from analytics.sample._export import DEFECTS, write_export, write_sample
from analytics.sample._simulate import EFFECTS, Truth, simulate

__all__ = ["DEFECTS", "EFFECTS", "Truth", "simulate", "write_export", "write_sample"]
