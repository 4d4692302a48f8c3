"""Models fitted on snapshot tables: churn risk, its backtest, and time to churn."""

from analytics.models._backtest import METRICS, Backtest, backtest
from analytics.models._churn import ChurnModel, model_card, training_data
from analytics.models._survival import ChurnHazards, RetentionCurves, retention_curves, survival_table

__all__ = [
    "METRICS", "Backtest", "ChurnHazards", "ChurnModel", "RetentionCurves",
    "backtest", "model_card", "retention_curves", "survival_table", "training_data",
]
