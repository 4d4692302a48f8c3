"""Loading complaint and resolution exports into the canonical tables."""

from analytics._engine import parquet_parts
from analytics.io._draft import draft_profile
from analytics.io._errors import LoadError, ValidationFailed
from analytics.io._history import History, LoadReport
from analytics.io._load import load_history
from analytics.io._load_into import load_into
from analytics.io._profile import Profile, ProfileError, available_profiles, load_profile
from analytics.io._read import is_database_url, read_sources

__all__ = [
    "History",
    "LoadError",
    "LoadReport",
    "Profile",
    "ProfileError",
    "ValidationFailed",
    "available_profiles",
    "draft_profile",
    "is_database_url",
    "load_history",
    "load_into",
    "load_profile",
    "parquet_parts",
    "read_sources",
]
