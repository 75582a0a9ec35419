"""newsletter.events and newsletter.deliveries: an issue is scheduled, cut into batches, sent, completed.

The batch command carries its recipients so that a sender worker needs nothing but the command and the issue's
content; the sender's delivery ledger makes each recipient get each issue exactly once.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from nmd_contracts import fields as f
from nmd_contracts.registry import event
from nmd_contracts.vocab import MAX_BATCH_RECIPIENTS, SUBSCRIBER_INTERESTS


@event("newsletter.issue_scheduled")
class IssueScheduled(Schema):
    """Staff scheduled an issue. audience_interests=[] means every confirmed subscriber; otherwise those who
    chose at least one of them."""

    issue_id = f.entity_id(required=True)
    subject = f.text(200, required=True)
    send_at = f.UtcDateTime(required=True)
    audience_interests = f.choice_set(SUBSCRIBER_INTERESTS, load_default=list)
    scheduled_at = f.UtcDateTime(required=True)


class Recipient(Schema):
    subscriber_id = f.entity_id(required=True)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = f.optional(f.text(200))


@event("newsletter.batch_requested", command=True)
class BatchRequested(Schema):
    """Command to a sender worker: send this issue to these recipients (at most 1000, SendGrid's limit per call).

    Keyed by batch_id, so batches spread over the topic's partitions and the sender workers.
    """

    issue_id = f.entity_id(required=True)
    batch_id = f.entity_id(required=True)
    batch_number = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    batch_count = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    subject = f.text(200, required=True)
    recipients = fields.List(
        fields.Nested(Recipient), required=True, validate=validate.Length(min=1, max=MAX_BATCH_RECIPIENTS)
    )
    requested_at = f.UtcDateTime(required=True)


@event("newsletter.batch_sent")
class BatchSent(Schema):
    """A sender finished a batch: SendGrid accepted sent_count messages; skipped_count recipients had already
    been sent this issue or were suppressed meanwhile."""

    issue_id = f.entity_id(required=True)
    batch_id = f.entity_id(required=True)
    batch_number = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    sent_count = f.count(required=True)
    skipped_count = f.count(required=True)
    sent_at = f.UtcDateTime(required=True)


@event("newsletter.issue_completed")
class IssueCompleted(Schema):
    """Every batch of the issue is sent."""

    issue_id = f.entity_id(required=True)
    batch_count = f.count(required=True)
    recipient_count = f.count(required=True)
    sent_count = f.count(required=True)
    skipped_count = f.count(required=True)
    completed_at = f.UtcDateTime(required=True)
