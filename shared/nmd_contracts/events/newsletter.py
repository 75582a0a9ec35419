"""newsletter.events and newsletter.deliveries: an issue is scheduled, cut into batches, sent, completed.

The batch command names one batch of the issue's audience, fixed in the newsletter's database when sending
started; the sender reads that batch's recipients who are still subscribed from there. No email address travels
through Kafka (an erased subscriber leaves nothing in the log), and an issue to a million people is a thousand
small commands rather than a hundred megabytes. The sender's delivery ledger makes each recipient get each issue
exactly once.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from nmd_contracts import fields as f
from nmd_contracts.registry import event, upcaster
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


@event("newsletter.batch_requested", version=1, command=True)
class BatchRequestedV1(Schema):
    """Command to a sender worker (v1: the command carried its recipients' addresses)."""

    issue_id = f.entity_id(required=True)
    batch_id = f.entity_id(required=True)
    batch_number = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    batch_count = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    subject = f.text(200, required=True)
    recipients = fields.List(
        fields.Nested(Recipient), required=True, validate=validate.Length(min=1, max=MAX_BATCH_RECIPIENTS)
    )
    requested_at = f.UtcDateTime(required=True)


@event("newsletter.batch_requested", version=2, command=True)
class BatchRequested(Schema):
    """Command to a sender worker: send this issue to batch `batch_number` of its audience (at most 1000
    recipients, SendGrid's limit per call; recipient_count were in it when sending started).

    Keyed by batch_id, so batches spread over the topic's partitions and the sender workers.
    """

    issue_id = f.entity_id(required=True)
    batch_id = f.entity_id(required=True)
    batch_number = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    batch_count = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    subject = f.text(200, required=True)
    recipient_count = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=1, max=MAX_BATCH_RECIPIENTS)
    )
    requested_at = f.UtcDateTime(required=True)


@upcaster("newsletter.batch_requested", from_version=1)
def _batch_requested_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    # v2 leaves the addresses in the newsletter's database; a v1 command still names its batch.
    upcast = {key: value for key, value in data.items() if key != "recipients"}
    upcast["recipient_count"] = len(data["recipients"])
    return upcast


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
