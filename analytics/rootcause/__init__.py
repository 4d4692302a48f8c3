"""Root causes: what keeps coming back, what it costs, and complaint text made safe to show."""

from analytics.rootcause._boundaries import abuse_by_client, abuse_load, abused_complaints
from analytics.rootcause._effects import PositivityWarning, PracticeEffects, practice_effects
from analytics.rootcause._next_action import (
    ADVICE,
    MEASURED_COMPLAINTS,
    NextBestAction,
    Recommendations,
    open_complaints,
)
from analytics.rootcause._outcomes import OUTCOMES, complaint_outcomes, hostility
from analytics.rootcause._pareto import Pareto, most, pareto, public_to_private, rates, trend
from analytics.rootcause._workshop import Workshop, root_cause_workshop
from analytics.rootcause.text import InferredTriggers, Topics, infer_triggers, redact, topics

__all__ = [
    "ADVICE", "MEASURED_COMPLAINTS", "OUTCOMES", "InferredTriggers", "NextBestAction", "Pareto", "PositivityWarning", "PracticeEffects", "Recommendations", "Topics", "Workshop",
    "abuse_by_client", "abuse_load", "abused_complaints", "complaint_outcomes", "hostility", "infer_triggers", "most", "open_complaints", "pareto", "practice_effects", "public_to_private", "rates", "redact", "root_cause_workshop",
    "topics", "trend",
]
