"""subscribers.events: what happened to subscriber X, never who X is.

No email address or name travels on this topic: it is kept forever and pages only needs counts. The newsletter
service keeps the address in its own database, where erasure can really delete it.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from nmd_contracts import fields as f
from nmd_contracts.registry import event
from nmd_contracts.vocab import SUBSCRIBER_INTERESTS, SUPPRESSION_REASONS, UNSUBSCRIBE_METHODS


def _interests(**kwargs: object) -> fields.List:
    # Issues sent to everyone reach every subscriber; interests only opt in to the targeted ones, so [] is fine.
    return f.choice_set(SUBSCRIBER_INTERESTS, **kwargs)


def _consent_version(**kwargs: object) -> fields.String:
    """The version of the consent wording the person saw, e.g. "2026-09-01"; recorded as proof of consent."""
    return f.text(40, **kwargs)


@event("subscriber.requested")
class SubscriberRequested(Schema):
    """Someone signed up; the confirmation email (double opt-in) is on its way. Not yet a subscriber."""

    subscriber_id = f.entity_id(required=True)
    interests = _interests(required=True)
    consent_version = _consent_version(required=True)
    requested_at = f.UtcDateTime(required=True)


@event("subscriber.confirmed")
class SubscriberConfirmed(Schema):
    """The address was confirmed through the emailed link: consent is given, with this wording version."""

    subscriber_id = f.entity_id(required=True)
    interests = _interests(required=True)
    consent_version = _consent_version(required=True)
    confirmed_at = f.UtcDateTime(required=True)


@event("subscriber.preferences_changed")
class SubscriberPreferencesChanged(Schema):
    """The subscriber chose different interests (the full new list)."""

    subscriber_id = f.entity_id(required=True)
    interests = _interests(required=True)
    changed_at = f.UtcDateTime(required=True)


@event("subscriber.unsubscribed")
class SubscriberUnsubscribed(Schema):
    """The subscriber asked to stop; issue_id is the newsletter whose link they used, when there was one."""

    subscriber_id = f.entity_id(required=True)
    method = f.one_of(UNSUBSCRIBE_METHODS, required=True)
    issue_id = f.optional(f.entity_id())
    unsubscribed_at = f.UtcDateTime(required=True)


@event("subscriber.suppressed")
class SubscriberSuppressed(Schema):
    """Mail to this subscriber stops without their asking: hard bounce, spam report, staff decision."""

    subscriber_id = f.entity_id(required=True)
    reason = f.one_of(SUPPRESSION_REASONS, required=True)
    suppressed_at = f.UtcDateTime(required=True)


@event("subscriber.erased")
class SubscriberErased(Schema):
    """The subscriber's personal data was erased (right to erasure); every read model forgets the id."""

    subscriber_id = f.entity_id(required=True)
    erased_at = f.UtcDateTime(required=True)
