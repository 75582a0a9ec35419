"""stories.events: a mentoring story from submission through moderation to the story wall, and its withdrawal.

Kept forever and replayed, so nothing private travels here: the submitter's name, email, age and the raw text stay
in the stories service. story.published carries exactly what may be shown in public, already sanitised.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from nmd_contracts import fields as f
from nmd_contracts.registry import event
from nmd_contracts.vocab import MENTOR_ROLES, STORY_ROLES, STORY_USAGES, UNPUBLISH_REASONS


def _themes(**kwargs: object) -> fields.List:
    # At least one theme, so that every story shows up under some filter on the story wall.
    return f.choice_set(MENTOR_ROLES, min_items=1, **kwargs)


@event("story.submitted")
class StorySubmitted(Schema):
    """A story arrived for moderation. Only what counters and the moderation queue's statistics need."""

    story_id = f.entity_id(required=True)
    submitted_at = f.UtcDateTime(required=True)
    role = f.one_of(STORY_ROLES, required=True)
    country = f.optional(f.country())
    themes = _themes(required=True)


@event("story.published")
class StoryPublished(Schema):
    """A moderator published the story. These are exactly its public fields; body_html is sanitised HTML.

    credit is the display name the submitter chose, or null for an anonymous story (always null for under-18s);
    photo_url is null when there is no photo (always for under-18s). usage lists where the submitter allowed it to
    appear: consumers show it only on the channels listed.
    """

    story_id = f.entity_id(required=True)
    slug = f.slug(required=True)
    title = f.text(150, required=True)
    body_html = f.text(20_000, required=True)
    credit = f.optional(f.text(100))
    role = f.one_of(STORY_ROLES, required=True)
    themes = _themes(required=True)
    partner_name = f.optional(f.text(200))
    country = f.optional(f.country())
    photo_url = f.optional(f.url())
    usage = f.choice_set(STORY_USAGES, min_items=1, required=True)
    published_at = f.UtcDateTime(required=True)


@event("story.rejected")
class StoryRejected(Schema):
    """A moderator declined the story. The reason goes to the submitter by email and is not published."""

    story_id = f.entity_id(required=True)
    reason = f.text(1000, required=True)
    rejected_at = f.UtcDateTime(required=True)


@event("story.featured")
class StoryFeatured(Schema):
    """Staff put a published story in (featured=true) or took it out of (featured=false) the featured slots."""

    story_id = f.entity_id(required=True)
    featured = fields.Boolean(required=True)
    changed_at = f.UtcDateTime(required=True)


@event("story.unpublished")
class StoryUnpublished(Schema):
    """A published story is off the wall for now, but kept: a moderator unpublished it (reason "moderator"), or
    visitor reports hid it pending review ("reports"). Read models drop it; unlike story.withdrawn nothing is
    erased, and a later story.published puts it back.
    """

    story_id = f.entity_id(required=True)
    reason = f.one_of(UNPUBLISH_REASONS, required=True)
    unpublished_at = f.UtcDateTime(required=True)


@event("story.withdrawn")
class StoryWithdrawn(Schema):
    """The submitter (or staff) withdrew the story: every read model deletes it, including cached pages."""

    story_id = f.entity_id(required=True)
    withdrawn_at = f.UtcDateTime(required=True)
