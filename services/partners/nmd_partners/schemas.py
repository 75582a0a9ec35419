"""Input and output schemas: every request is loaded through one of these (a 422 field map, never a 500).

Text is trimmed, and characters a database or a mail client would choke on (control characters, unpaired
surrogates) are refused with a message rather than passed on.
"""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from nmd_contracts.fields import SLUG_PATTERN
from nmd_contracts.vocab import PARTNER_TYPES, SIZE_BANDS
from nmd_runtime.web import HONEYPOT_FIELD

from nmd_partners import countries
from nmd_partners.tables import STATUSES

# The partner terms shown beside the tick box; a new wording gets a new version, stored with each acceptance.
TERMS_VERSION = "2026-11-01"
LISTING_CONSENT_VERSION = TERMS_VERSION
PLEDGE_MAX = 1000
MAX_PAGE_SIZE = 100

TYPE_LABELS = {
    "school": "School",
    "college": "College",
    "university": "University",
    "charity": "Charity",
    "business": "Business",
    "public_body": "Public body",
    "community_group": "Community group",
    "other": "Other",
}
SIZE_LABELS = {
    "1-9": "1 to 9 people",
    "10-49": "10 to 49 people",
    "50-249": "50 to 249 people",
    "250-999": "250 to 999 people",
    "1000+": "1,000 people or more",
}

_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_CONTROL_MULTI_LINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{5,28}[0-9]$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SLUG = re.compile(SLUG_PATTERN)


class Text(fields.String):
    """A trimmed string without control characters; `multiline` allows line breaks and tabs. Blank → None when
    the field is optional."""

    def __init__(self, *args: Any, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.multiline = multiline

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        pattern = _CONTROL_MULTI_LINE if self.multiline else _CONTROL_ONE_LINE
        if pattern.search(text):
            raise ma.ValidationError("Contains characters that are not allowed.")
        text = text.replace("\r\n", "\n").strip()
        if not text and not self.required:
            return None
        if not text:
            raise self.make_error("required")
        return text

    def _validate(self, value: Any) -> None:
        if value is not None:  # a blank optional field: nothing to check
            super()._validate(value)


# Documents the usual shape (a bare domain, or an http(s) URL) for clients and schemathesis; the URL validator
# below is what decides.
WEBSITE_PATTERN = (
    r"^(https?://)?[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,20}"
    r"[A-Za-z0-9])?){0,3}\.[A-Za-z]{2,12}(/[A-Za-z0-9._~-]{0,40}){0,4}$"
)


class Website(fields.Url):
    """An organisation's website; "example.org" is read as https://example.org."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "metadata",
            {"description": "The organisation's website: example.org or https://...", "pattern": WEBSITE_PATTERN},
        )
        super().__init__(schemes={"http", "https"}, require_tld=True, validate=validate.Length(max=2048), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if _CONTROL_ONE_LINE.search(value):
                raise ma.ValidationError("Contains characters that are not allowed.")
            if value and "://" not in value:
                value = "https://" + value
        return super()._deserialize(value, attr, data, **kwargs)


class Country(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        if not countries.is_country(text):
            raise ma.ValidationError("Choose a country (an ISO 3166-1 alpha-2 code such as GB).")
        return text


class Email(fields.Email):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
        return super()._deserialize(value, attr, data, **kwargs).lower()


def _required(message: str) -> dict[str, str]:
    return {"required": message, "null": message}


def _choice(choices: tuple[str, ...], message: str, **kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.OneOf(choices, error=message), error_messages=_required(message), **kwargs
    )


class ListingSchema(ma.Schema):
    """The public listing: what the directory shows (with the logo and the slug)."""

    name = Text(
        required=True,
        validate=validate.Length(min=2, max=200),
        error_messages=_required("Enter your organisation's name."),
        metadata={"description": "Organisation name."},
    )
    type = _choice(PARTNER_TYPES, "Choose the kind of organisation.", required=True)
    website = Website(
        required=True,
        error_messages={
            **_required("Enter your organisation's website."),
            "invalid": "Enter a website address, like example.org.",
        },
    )
    country = Country(
        required=True,
        validate=validate.OneOf(list(countries.COUNTRIES)),
        error_messages=_required("Choose a country."),
        metadata={"description": "ISO 3166-1 alpha-2 code, e.g. GB."},
    )
    region = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=100),
        metadata={"description": "Region, county or city (optional)."},
    )
    size_band = _choice(SIZE_BANDS, "Choose the size of your organisation.", required=True)
    pledge = Text(
        required=True,
        multiline=True,
        validate=validate.Length(min=10, max=PLEDGE_MAX),
        error_messages=_required("Tell us what you will do on the day."),
        metadata={"description": "What the organisation will do on the day (10 to 1,000 characters)."},
    )
    logo_key = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=300),
        metadata={"description": "Key of a logo uploaded with a form from POST /api/partners/logo-uploads."},
    )


class RegistrationSchema(ListingSchema):
    contact_name = Text(
        required=True,
        validate=validate.Length(min=1, max=200),
        error_messages=_required("Enter the name of the person we should contact."),
    )
    contact_email = Email(
        required=True,
        validate=validate.Length(max=254),
        error_messages={
            **_required("Enter an email address."),
            "invalid": "Enter an email address like name@example.org.",
        },
    )
    contact_phone = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(PHONE, error="Enter a phone number, like +44 20 7946 0000."),
    )
    listing_consent = fields.Boolean(
        required=True,
        validate=validate.Equal(True, error="Tick the box to agree to be listed in the directory."),
        error_messages=_required("Tick the box to agree to be listed in the directory."),
        metadata={"description": "Consent to be listed publicly in the partner directory."},
    )
    accept_terms = fields.Boolean(
        required=True,
        validate=validate.Equal(True, error="Tick the box to accept the partner terms."),
        error_messages=_required("Tick the box to accept the partner terms."),
    )
    terms_version = fields.String(
        load_default=TERMS_VERSION,
        validate=validate.Equal(
            TERMS_VERSION,
            error="The partner terms have changed since you opened the form; please read them again.",
        ),
        metadata={"description": "Version of the partner terms the applicant read (default: the current one)."},
    )

    honeypot = fields.String(
        data_key=HONEYPOT_FIELD,
        load_default=None,
        allow_none=True,
        load_only=True,
        metadata={"description": "Leave this out, or empty."},
    )


class ListingUpdateSchema(ListingSchema):
    """A change to the listing (partial in the JSON API); `remove_logo` takes the logo off."""

    remove_logo = fields.Boolean(load_default=False)


class ContactUpdateSchema(ListingUpdateSchema):
    """What a partner may change with their manage link: the listing, and their contact's name and phone."""

    contact_name = Text(
        validate=validate.Length(min=1, max=200),
        error_messages=_required("Enter the name of the person we should contact."),
    )
    contact_phone = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(PHONE, error="Enter a phone number, like +44 20 7946 0000."),
    )


class ResendSchema(ma.Schema):
    email = Email(
        load_default=None,
        validate=validate.Length(max=254),
        metadata={"description": "The contact email given at registration."},
    )
    token = fields.String(
        load_default=None,
        validate=validate.Length(max=1000),
        metadata={"description": "An expired verification link's token."},
    )

    @ma.validates_schema
    def one_of_them(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data.get("email") and not data.get("token"):
            raise ma.ValidationError("Enter the email address you registered with.", "email")


class VerifySchema(ma.Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class RejectSchema(ma.Schema):
    reason = Text(
        required=True,
        multiline=True,
        validate=validate.Length(min=5, max=1000),
        error_messages=_required("Give the reason; the applicant will read it."),
    )


class LogoUploadRequestSchema(ma.Schema):
    content_type = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(["image/png", "image/jpeg", "image/webp"]),
        metadata={"description": "The file's type, when known: pinned in the policy."},
    )


class DirectoryQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    country = Country(validate=validate.OneOf(list(countries.COUNTRIES)))
    type = fields.String(validate=validate.OneOf(PARTNER_TYPES))
    q = Text(validate=validate.Length(max=100), metadata={"description": "Part of the organisation's name."})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


class StaffQuerySchema(DirectoryQuerySchema):
    status = fields.String(validate=validate.OneOf(STATUSES))


# --- outputs --------------------------------------------------------------------------------------------------


class RegistrationAcceptedSchema(ma.Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    message = fields.String(required=True)


class MessageSchema(ma.Schema):
    message = fields.String(required=True)


class PartnerStatusSchema(ma.Schema):
    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    message = fields.String(required=True)


class PublicProfileSchema(ma.Schema):
    partner_id = fields.String(required=True)
    name = fields.String(required=True)
    slug = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(PARTNER_TYPES))
    website = fields.String(allow_none=True)
    country = fields.String(required=True)
    region = fields.String(allow_none=True)
    size_band = fields.String(allow_none=True)
    pledge = fields.String(allow_none=True)
    logo_url = fields.String(allow_none=True)
    profile_url = fields.String(required=True)
    badge_url = fields.String(required=True)
    approved_at = fields.AwareDateTime(required=True)


class DirectoryPageSchema(ma.Schema):
    items = fields.List(fields.Nested(PublicProfileSchema), required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    total = fields.Integer(required=True)


class BadgeSchema(ma.Schema):
    image_url = fields.String(required=True, metadata={"description": "The badge as SVG."})
    png_url = fields.String(required=True)
    profile_url = fields.String(required=True)
    html = fields.String(required=True, metadata={"description": "Snippet to paste into a website."})


class LogoUploadSchema(ma.Schema):
    url = fields.String(required=True, metadata={"description": "POST the fields, then the file as `file`."})
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), required=True, data_key="fields")
    key = fields.String(required=True, metadata={"description": "Send this as logo_key when registering."})
    max_bytes = fields.Integer(required=True)
    allowed_types = fields.List(fields.String(), required=True)
    expires_in = fields.Integer(required=True)


class ManagedPartnerSchema(ma.Schema):
    """What a partner sees with their manage link."""

    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    slug = fields.String(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    website = fields.String(required=True)
    country = fields.String(required=True)
    region = fields.String(allow_none=True)
    size_band = fields.String(allow_none=True)
    pledge = fields.String(required=True)
    logo_url = fields.String(allow_none=True)
    contact_name = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    profile_url = fields.String(allow_none=True)


class StaffPartnerSchema(ManagedPartnerSchema):
    contact_email = fields.String(allow_none=True)
    listing_consent = fields.Boolean(required=True)
    listing_consent_at = fields.AwareDateTime(required=True)
    terms_version = fields.String(required=True)
    terms_accepted_at = fields.AwareDateTime(required=True)
    registered_at = fields.AwareDateTime(required=True)
    email_verified_at = fields.AwareDateTime(allow_none=True)
    reviewed_by = fields.String(allow_none=True)
    approved_at = fields.AwareDateTime(allow_none=True)
    rejected_at = fields.AwareDateTime(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    withdrawn_at = fields.AwareDateTime(allow_none=True)
    withdrawn_by = fields.String(allow_none=True)
    updated_at = fields.AwareDateTime(required=True)


class StaffPageSchema(ma.Schema):
    items = fields.List(fields.Nested(StaffPartnerSchema), required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    total = fields.Integer(required=True)
