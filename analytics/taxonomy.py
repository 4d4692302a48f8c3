"""The canonical taxonomies of DESIGN.md, as enums.

A profile maps an export's own values onto these; anything it cannot map becomes
``other`` (where the taxonomy has one) and the original value is kept beside it.
"""

from enum import StrEnum


class Trigger(StrEnum):
    UNMET_EXPECTATIONS = "unmet_expectations"
    POOR_COMMUNICATION = "poor_communication"
    TECHNICAL_FAILURE = "technical_failure"
    LACK_OF_ACCOUNTABILITY = "lack_of_accountability"
    BILLING = "billing"
    DELIVERY_DELAY = "delivery_delay"
    PRODUCT_QUALITY = "product_quality"
    OTHER = "other"


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    WEB = "web"
    IN_PERSON = "in_person"
    SOCIAL_PUBLIC = "social_public"
    OTHER = "other"


class Resolution(StrEnum):
    FIXED = "fixed"
    WORKAROUND = "workaround"
    CREDIT = "credit"
    EXPLANATION = "explanation"
    NO_ACTION = "no_action"
    UNRESOLVED = "unresolved"


class Tone(StrEnum):
    CALM = "calm"
    FRUSTRATED = "frustrated"
    ANGRY = "angry"
    ABUSIVE = "abusive"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ClientStatus(StrEnum):
    ACTIVE = "active"
    CHURNED = "churned"
    ENDED_BY_US = "ended_by_us"


class Practice(StrEnum):
    """Handling practices: one nullable boolean column each on a complaint."""

    LISTENED_VALIDATED = "listened_validated"
    APOLOGIZED = "apologized"
    TOOK_OWNERSHIP = "took_ownership"
    OFFERED_OPTIONS = "offered_options"
    SET_EXPECTATIONS = "set_expectations"
    ROOT_CAUSE_FIXED = "root_cause_fixed"
    FOLLOWED_UP = "followed_up"
    MOVED_PRIVATE = "moved_private"


#: the column each taxonomy governs
TAXONOMY_OF_COLUMN = {
    "trigger": Trigger,
    "channel": Channel,
    "resolution": Resolution,
    "tone": Tone,
    "direction": Direction,
    "status": ClientStatus,
}
