"""Models fitted on snapshot tables: churn risk, its backtest, and time to churn."""

from analytics.models._backtest import METRICS, Backtest, backtest, rolling_origin
from analytics.models._churn import ChurnModel, fit_by_client, training_data
from analytics.models._persist import SAVED_TYPES, UntrustedModelFile, model_card
from analytics.models._repeats import (
    RepeatCurves,
    RepeatRisk,
    repeat_features,
    repeat_rates,
    repeat_risk,
    time_to_repeat,
    time_to_repeat_by,
)
from analytics.models._survival import ChurnHazards, RetentionCurves, retention_curves, survival_table

__all__ = [
    "METRICS", "SAVED_TYPES", "Backtest", "ChurnHazards", "ChurnModel", "RetentionCurves",
    "RepeatCurves", "RepeatRisk", "backtest", "fit_by_client", "model_card", "rolling_origin", "repeat_features", "repeat_rates", "repeat_risk", "retention_curves",
    "survival_table", "time_to_repeat", "time_to_repeat_by", "training_data", "UntrustedModelFile",
]
