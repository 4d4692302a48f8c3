"""Root causes: what keeps coming back, what it costs, and complaint text made safe to show."""

from analytics.rootcause.text import redact

__all__ = ["redact"]
