"""Client Health Analytics: complaint and resolution history -> churn risk, root causes, reviews."""

from analytics.io import History, load_history

__version__ = "0.1.0"
__all__ = ["History", "load_history", "__version__"]
