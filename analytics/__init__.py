"""Client Health Analytics: complaint and resolution history -> churn risk, root causes, reviews."""

__version__ = "0.1.0"
__all__ = ["History", "load_history", "open_history", "__version__"]


def __getattr__(name: str):
    # imported when first used: the command line starts without loading the data stack
    if name in ("History", "load_history"):
        from analytics import io

        return getattr(io, name)
    if name == "open_history":
        from analytics.features import open_history

        return open_history
    raise AttributeError(f"module 'analytics' has no attribute {name!r}")
