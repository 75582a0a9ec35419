"""partners.events: an organisation's way from registration to the public partner directory.

Kept forever and replayed to rebuild read models, so these events carry no personal data: the contact person's
name and email stay in the partners service (the verification email goes out as an email.requested command).
"""

from __future__ import annotations

from marshmallow import Schema

from nmd_contracts import fields as f
from nmd_contracts.registry import event
from nmd_contracts.vocab import PARTNER_TYPES, SIZE_BANDS


@event("partner.registered")
class PartnerRegistered(Schema):
    """An organisation applied to become an official partner; its contact must still verify their email."""

    partner_id = f.entity_id(required=True)
    name = f.text(200, required=True)
    type = f.one_of(PARTNER_TYPES, required=True)
    country = f.country(required=True)
    region = f.optional(f.text(100))
    size_band = f.optional(f.one_of(SIZE_BANDS))
    registered_at = f.UtcDateTime(required=True)


@event("partner.email_verified")
class PartnerEmailVerified(Schema):
    """The applicant's contact proved they own the email address; the application now waits for staff review."""

    partner_id = f.entity_id(required=True)
    verified_at = f.UtcDateTime(required=True)


class PublicPartnerProfile(Schema):
    """What the partner directory shows. Every field here is public."""

    partner_id = f.entity_id(required=True)
    name = f.text(200, required=True)
    slug = f.slug(required=True)
    type = f.one_of(PARTNER_TYPES, required=True)
    website = f.optional(f.url())
    country = f.country(required=True)
    region = f.optional(f.text(100))
    size_band = f.optional(f.one_of(SIZE_BANDS))
    pledge = f.optional(f.text(500))
    logo_url = f.optional(f.url())
    profile_url = f.url(required=True)


@event("partner.approved")
class PartnerApproved(PublicPartnerProfile):
    """Staff approved the partner: it joins the public directory with this profile and may use the badge."""

    approved_at = f.UtcDateTime(required=True)


@event("partner.rejected")
class PartnerRejected(Schema):
    """Staff turned the application down. The reason is told to the applicant and never published."""

    partner_id = f.entity_id(required=True)
    reason = f.text(1000, required=True)
    rejected_at = f.UtcDateTime(required=True)


@event("partner.updated")
class PartnerUpdated(PublicPartnerProfile):
    """An approved partner's public profile changed; the event carries the whole new profile, not a diff,
    so a consumer can upsert without having seen earlier events."""

    updated_at = f.UtcDateTime(required=True)


@event("partner.withdrawn")
class PartnerWithdrawn(Schema):
    """The partner left the programme (or staff removed it): every read model drops it."""

    partner_id = f.entity_id(required=True)
    withdrawn_at = f.UtcDateTime(required=True)
