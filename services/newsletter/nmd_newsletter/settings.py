"""The newsletter service's own environment variables, declared so they are documented with the platform's."""

from __future__ import annotations

from nmd_runtime.settings import declare, env

declare("NEWSLETTER_MAIL_BACKEND", "file", "Outbound email: file (.eml files under NMD_VAR_DIR/mail) or sendgrid.")
declare("SENDGRID_API_KEY", "", "SendGrid API key (a secret) for the sendgrid backend.")
declare("SENDGRID_HOST", "https://api.sendgrid.com", "SendGrid API base URL (tests point it at a fake).")
declare("SENDGRID_TIMEOUT", "15", "Seconds before a SendGrid call is given up (its outcome is then unknown).")
declare("SENDGRID_WEBHOOK_PUBLIC_KEY", "", "Base64 public key of SendGrid's Signed Event Webhook.")
declare("SENDGRID_WEBHOOK_MAX_AGE", "600", "Seconds a signed webhook timestamp stays acceptable.")
declare(
    "TRANSACTIONAL_FROM",
    "National Mentoring Day <hello@nationalmentoringday.org.uk>",
    "Sender of one-to-one emails (verification, confirmations).",
)
declare(
    "NEWSLETTER_FROM",
    "National Mentoring Day News <news@nationalmentoringday.org.uk>",
    "Sender of newsletter issues.",
)
declare("NEWSLETTER_LIST_ID", "news.nationalmentoringday.org.uk", "List-Id of the newsletter (RFC 2919).")
declare(
    "NEWSLETTER_SETTLE_SECONDS",
    "900",
    "How long a send of unknown outcome waits for SendGrid's processed event before it is sent again.",
)
declare(
    "NEWSLETTER_GROUP_PREFIX", "newsletter", "Prefix of the worker's consumer group ids (tests make it unique)."
)


def mail_backend_name() -> str:
    return env("NEWSLETTER_MAIL_BACKEND")


def settle_seconds() -> float:
    return float(env("NEWSLETTER_SETTLE_SECONDS"))


def group(name: str) -> str:
    return f"{env('NEWSLETTER_GROUP_PREFIX')}-{name}"
