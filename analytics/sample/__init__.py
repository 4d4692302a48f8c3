"""A simulated service business with planted truth, and the shipped sample data."""

from analytics.sample._simulate import EFFECTS, Truth, simulate

__all__ = ["EFFECTS", "Truth", "simulate"]
