"""The partners database: one row per application, from registration to withdrawal.

Private columns (the contact's name, email and phone) never leave this service except in the contact's own emails;
they are erased when the partner withdraws. The public listing is chosen in profiles.public_profile.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, MetaData, String, Table, Text, text

metadata = MetaData()

PENDING_VERIFICATION = "pending_verification"
PENDING_REVIEW = "pending_review"
APPROVED = "approved"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
# pending_verification → pending_review → approved | rejected; any but withdrawn → withdrawn.
STATUSES = (PENDING_VERIFICATION, PENDING_REVIEW, APPROVED, REJECTED, WITHDRAWN)
# "Still active" for the duplicate rule: an application nobody has turned down or left.
ACTIVE = (PENDING_VERIFICATION, PENDING_REVIEW, APPROVED)
_ACTIVE_SQL = "status IN ('pending_verification', 'pending_review', 'approved')"

partners = Table(
    "partners",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("slug", String(120), nullable=False, unique=True),
    Column("status", String(24), nullable=False),
    # The public listing.
    Column("name", String(200), nullable=False),
    Column("type", String(32), nullable=False),
    Column("website", String(2048), nullable=False),
    # The website's identity for the duplicate rule: host without "www.", plus the first path segment on shared
    # platforms (facebook.com/<page>); see registration.website_identity.
    Column("website_domain", String(400), nullable=False),
    Column("country", String(2), nullable=False),
    Column("region", String(100)),
    Column("size_band", String(16)),
    Column("pledge", Text, nullable=False),
    Column("logo_key", String(300)),
    # Private: erased on withdrawal.
    Column("contact_name", String(200)),
    Column("contact_email", String(254)),
    Column("contact_phone", String(40)),
    # Consent and terms, with the wording's version and the time.
    Column("listing_consent", Boolean, nullable=False),
    Column("listing_consent_at", DateTime(timezone=True), nullable=False),
    Column("terms_version", String(40), nullable=False),
    Column("terms_accepted_at", DateTime(timezone=True), nullable=False),
    # Rotated to revoke every manage link sent so far (withdrawal does it).
    Column("manage_nonce", String(32), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("email_verified_at", DateTime(timezone=True)),
    Column("verification_sent_at", DateTime(timezone=True)),
    Column("reviewed_by", String(64)),
    Column("approved_at", DateTime(timezone=True)),
    Column("rejected_at", DateTime(timezone=True)),
    Column("reject_reason", Text),
    Column("withdrawn_at", DateTime(timezone=True)),
    Column("withdrawn_by", String(16)),  # partner | staff
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("partners_status_country_type", "status", "country", "type"),
    # The duplicate rule, held by the database too, so two simultaneous registrations cannot both get in.
    Index(
        "partners_active_contact_email",
        "contact_email",
        unique=True,
        postgresql_where=text(_ACTIVE_SQL),
        sqlite_where=text(_ACTIVE_SQL),
    ),
    Index(
        "partners_active_website",
        "website_domain",
        unique=True,
        postgresql_where=text(_ACTIVE_SQL),
        sqlite_where=text(_ACTIVE_SQL),
    ),
)
