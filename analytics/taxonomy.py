"""The canonical taxonomies of DESIGN.md, as enums.

A profile maps an export's own values onto these; anything it cannot map becomes
``other`` (where the taxonomy has one) and the original value is kept beside it.
"""

from enum import StrEnum

__all__ = ["Trigger", "Channel", "Resolution", "Tone", "Direction", "ClientStatus", "Practice"]


class Trigger(StrEnum):
    """What set a complaint off: the ``trigger`` column of complaints.

    Examples
    --------
    >>> from analytics.taxonomy import Trigger
    >>> Trigger("technical_failure") is Trigger.TECHNICAL_FAILURE, len(Trigger)
    (True, 8)
    """

    UNMET_EXPECTATIONS = "unmet_expectations"
    POOR_COMMUNICATION = "poor_communication"
    TECHNICAL_FAILURE = "technical_failure"
    LACK_OF_ACCOUNTABILITY = "lack_of_accountability"
    BILLING = "billing"
    DELIVERY_DELAY = "delivery_delay"
    PRODUCT_QUALITY = "product_quality"
    OTHER = "other"


class Channel(StrEnum):
    """Where a complaint or contact came in: the ``channel`` column; ``social_public`` is a public post.

    Examples
    --------
    >>> from analytics.taxonomy import Channel
    >>> [str(channel) for channel in Channel][:3]
    ['phone', 'email', 'chat']
    """

    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    WEB = "web"
    IN_PERSON = "in_person"
    SOCIAL_PUBLIC = "social_public"
    OTHER = "other"


class Resolution(StrEnum):
    """How a complaint ended: the ``resolution`` column of complaints.

    Examples
    --------
    >>> from analytics.taxonomy import Resolution
    >>> Resolution.NO_ACTION == "no_action"
    True
    """

    FIXED = "fixed"
    WORKAROUND = "workaround"
    CREDIT = "credit"
    EXPLANATION = "explanation"
    NO_ACTION = "no_action"
    UNRESOLVED = "unresolved"


class Tone(StrEnum):
    """How the client wrote or spoke: the ``tone`` column of interactions (and complaints' worst).

    Examples
    --------
    >>> from analytics.taxonomy import Tone
    >>> [str(tone) for tone in Tone]
    ['calm', 'frustrated', 'angry', 'abusive']
    """

    CALM = "calm"
    FRUSTRATED = "frustrated"
    ANGRY = "angry"
    ABUSIVE = "abusive"


class Direction(StrEnum):
    """Who made a contact: ``inbound`` from the client, ``outbound`` from the business.

    Examples
    --------
    >>> from analytics.taxonomy import Direction
    >>> [str(direction) for direction in Direction]
    ['inbound', 'outbound']
    """

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ClientStatus(StrEnum):
    """Where a relationship stands: ``ended_by_us`` is a parting the business chose.

    Examples
    --------
    >>> from analytics.taxonomy import ClientStatus
    >>> ClientStatus("ended_by_us").name
    'ENDED_BY_US'
    """

    ACTIVE = "active"
    CHURNED = "churned"
    ENDED_BY_US = "ended_by_us"


class Practice(StrEnum):
    """Handling practices: one nullable boolean column each on a complaint.

    Examples
    --------
    >>> from analytics.taxonomy import Practice
    >>> len(Practice), Practice.ROOT_CAUSE_FIXED.value
    (8, 'root_cause_fixed')
    """

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
