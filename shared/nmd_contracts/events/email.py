"""notifications.email (the email.requested command) and email.events (what SendGrid reported back).

Both carry email addresses, so both topics have short retention (see topics.yaml); nothing here is replayed.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from nmd_contracts import fields as f
from nmd_contracts.registry import event
from nmd_contracts.vocab import BOUNCE_TYPES, EMAIL_STREAMS, EMAIL_TEMPLATES, SENDGRID_EVENTS


@event("email.requested", command=True)
class EmailRequested(Schema):
    """Command to the newsletter mailer: send one transactional email.

    The mailer renders `template` with `context` and sends it at most once per `idempotency_key` (for example
    "partner_verification:<partner_id>:<token id>"), so a redelivered command never mails twice.
    """

    template = f.one_of(EMAIL_TEMPLATES, required=True)
    to = fields.Email(required=True, validate=validate.Length(max=254))
    to_name = f.optional(f.text(200))
    context = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=64)), load_default=dict)
    idempotency_key = f.text(200, required=True)
    stream = f.one_of(EMAIL_STREAMS, load_default="transactional")


@event("email.delivery_event")
class EmailDeliveryEvent(Schema):
    """One event from SendGrid's signed Event Webhook, as SendGrid reported it.

    issue_id, batch_id and subscriber_id come back from the custom_args of a newsletter send; idempotency_key
    from those of a transactional one. The `processed` event with a batch_id settles whether an ambiguous batch
    was sent.
    """

    sg_event_id = f.text(100, required=True)
    event = f.one_of(SENDGRID_EVENTS, required=True)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    timestamp = f.UtcDateTime(required=True)
    message_id = f.optional(f.text(200))
    issue_id = f.optional(f.entity_id())
    batch_id = f.optional(f.entity_id())
    subscriber_id = f.optional(f.entity_id())
    idempotency_key = f.optional(f.text(200))
    reason = f.optional(f.text(2000))
    bounce_type = f.optional(f.one_of(BOUNCE_TYPES))
