"""Reading what was written: handling practices from agents' replies, tone from clients'
messages, and the masks of exported text taken out first.

Readers make mistakes; :func:`reading_accuracy` measures them on labelled text, and
practice effects estimated on read practices carry a band for how far those mistakes
could move them.
"""

from analytics.text._accuracy import accuracy_against_truth, attenuation, reading_accuracy, simulated_accuracy
from analytics.text._handling import PRACTICES_READ, TONE_READ, read_handling, read_into
from analytics.text._masks import plain_text, strip_masks
from analytics.text._practices import CUES, practice_confidence, read_practices
from analytics.text._tone import read_tone

__all__ = ["CUES", "accuracy_against_truth", "PRACTICES_READ", "TONE_READ", "read_handling", "read_into", "practice_confidence", "read_practices", "read_tone", "reading_accuracy", "simulated_accuracy", "strip_masks", "plain_text", "attenuation"]
