"""Closed vocabularies shared by the event schemas and the services' own input schemas.

Widening one of these is a compatible change (consumers must be deployed first: an older consumer would reject the
new value); narrowing one breaks old messages and needs a new schema version. The schema lock records them.
"""

from __future__ import annotations

PARTNER_TYPES = (
    "school",
    "college",
    "university",
    "charity",
    "business",
    "public_body",
    "community_group",
    "other",
)

# Headcount bands, the ones UK statistics use for organisation size; schools use pupils + staff.
SIZE_BANDS = ("1-9", "10-49", "50-249", "250-999", "1000+")

# The ten roles of a mentor from the campaign's "Role of a Mentor" page; stories are tagged with them.
MENTOR_ROLES = (
    "trust_and_rapport",
    "emotional_support",
    "mentee_needs",
    "sharing_knowledge",
    "developing_skills",
    "networking",
    "independence",
    "role_model",
    "monitoring_progress",
    "accountability",
)

STORY_ROLES = ("mentor", "mentee", "organisation", "other")

# Where the submitter allowed the story to be used (consent per channel).
STORY_USAGES = ("story_wall", "newsletter", "social_media")

# Why a published story was taken off the wall for now: a moderator's decision, or enough visitor reports.
UNPUBLISH_REASONS = ("moderator", "reports")

SUBSCRIBER_INTERESTS = ("campaign_news", "mentoring_stories", "partner_news", "events", "resources")

UNSUBSCRIBE_METHODS = ("link", "one_click", "preferences", "staff", "email_client")

# Why the newsletter stops mailing an address without the subscriber asking.
SUPPRESSION_REASONS = ("bounce", "blocked", "dropped", "spamreport", "group_unsubscribe", "staff")

EMAIL_TEMPLATES = (
    "partner_verification",
    "partner_approved",
    "partner_rejected",
    "story_acknowledgement",
    "story_published",
    "story_rejected",
    "story_withdrawn",
    "subscriber_confirmation",
    "subscriber_welcome",
)

EMAIL_STREAMS = ("transactional",)

# Event names SendGrid's Event Webhook posts.
SENDGRID_EVENTS = (
    "processed",
    "delivered",
    "bounce",
    "dropped",
    "deferred",
    "open",
    "click",
    "spamreport",
    "unsubscribe",
    "group_unsubscribe",
    "group_resubscribe",
)

# SendGrid's "type" on a bounce event: a hard bounce, or a block that may clear later.
BOUNCE_TYPES = ("bounce", "blocked")

# Largest newsletter batch: SendGrid's v3 mail/send accepts at most 1000 personalizations per request.
MAX_BATCH_RECIPIENTS = 1000
