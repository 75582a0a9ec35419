"""Sharing a story: the form (/stories/share), the API (POST /api/stories), and what a submission stores.

A story arrives as plain text, goes through the automatic checks (flags only) and waits for a moderator. The
author gets an acknowledgement with a withdraw link. An under-18's story is stored anonymous and without a photo,
whatever the form said, so nothing later can publish a name or a picture of them.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema
from nmd_contracts import fields as f
from nmd_contracts.vocab import MENTOR_ROLES, STORY_ROLES, STORY_USAGES
from nmd_runtime import media, outbox, web
from sqlalchemy import Connection, insert

from nmd_stories import author_emails, checks, photos, story_text
from nmd_stories.tables import set_themes, stories

CREDITS = ("full_name", "first_name", "anonymous")
# Every wording of the consent ever shown, by version: a story records the version its author agreed to.
CONSENT_WORDINGS = {
    "2026-1": (
        "I agree that National Mentoring Day may publish my story, edited for length or to remove personal "
        "details, on the channels I ticked above, credited as I chose. I can withdraw it at any time with the "
        "link in the email we send me, and it will then be removed everywhere we published it."
    ),
}
CURRENT_CONSENT = "2026-1"
MIN_STORY, MAX_STORY = 50, 10_000

THEME_LABELS = {
    "trust_and_rapport": "Trust and rapport",
    "emotional_support": "Emotional support",
    "mentee_needs": "The mentee's needs",
    "sharing_knowledge": "Sharing knowledge and experience",
    "developing_skills": "Developing skills",
    "networking": "Networking",
    "independence": "Independence",
    "role_model": "Role model",
    "monitoring_progress": "Monitoring progress",
    "accountability": "Accountability",
}
ROLE_LABELS = {"mentor": "A mentor", "mentee": "A mentee", "organisation": "An organisation", "other": "Other"}
USAGE_LABELS = {"story_wall": "The story wall", "newsletter": "The newsletter", "social_media": "Social media"}
CREDIT_LABELS = {"full_name": "My full name", "first_name": "My first name only", "anonymous": "Anonymous"}


# --- input ---


class StorySubmission(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=120))
    story = fields.String(
        required=True,
        validate=validate.Length(
            min=MIN_STORY, max=MAX_STORY, error=f"Your story must be {MIN_STORY} to {MAX_STORY:,} characters long."
        ),
        metadata={"description": "Plain text; separate paragraphs with a blank line."},
    )
    credit = f.one_of(CREDITS, required=True, metadata={"description": "How the author is credited in public."})
    display_name = f.optional(fields.String(validate=validate.Length(max=100)))
    role = f.one_of(STORY_ROLES, required=True)
    themes = f.choice_set(MENTOR_ROLES, min_items=1, required=True)
    partner_name = f.optional(fields.String(validate=validate.Length(max=200)))
    country = f.optional(f.country())
    contact_email = fields.Email(
        required=True,
        validate=validate.Length(max=254),
        metadata={"description": "Private: used only to write to the author."},
    )
    usage = f.choice_set(STORY_USAGES, min_items=1, required=True)
    consent = fields.Boolean(
        required=True, validate=validate.Equal(True, error="Please agree so we can publish it.")
    )
    consent_version = f.one_of(tuple(CONSENT_WORDINGS), required=True)
    under_18 = fields.Boolean(load_default=False)
    photo_key = f.optional(
        fields.String(
            validate=validate.Length(max=300),
            metadata={"description": "Key of an upload from /api/stories/photo-uploads."},
        )
    )
    website_url_confirm = fields.String(
        load_only=True,
        load_default=None,
        allow_none=True,
        data_key=web.HONEYPOT_FIELD,
        metadata={"description": "Leave empty."},
    )

    @pre_load
    def tidy(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, value in data.items():
            if isinstance(value, str):
                data[name] = value.strip() if name != "story" else story_text.normalise(value)
        for name in ("display_name", "partner_name", "country", "photo_key"):
            if data.get(name) == "":
                data[name] = None
        if isinstance(data.get("country"), str):
            data["country"] = data["country"].upper()
        return data

    @validates_schema
    def named_when_credited(self, data: dict[str, Any], **_: Any) -> None:
        if (
            data.get("credit") in ("full_name", "first_name")
            and not data.get("under_18")
            and not data.get("display_name")
        ):
            raise ValidationError("Please tell us the name to show, or choose to be anonymous.", "display_name")


def form_data(form: Any) -> dict[str, Any]:
    """An HTML form as the schema's input: lists for checkbox groups, booleans for single checkboxes."""
    data: dict[str, Any] = {
        name: form.get(name, "")
        for name in (
            "title",
            "story",
            "credit",
            "display_name",
            "role",
            "partner_name",
            "country",
            "contact_email",
            "consent_version",
        )
    }
    data |= {name: form.getlist(name) for name in ("themes", "usage")}
    data |= {name: name in form for name in ("consent", "under_18")}
    data[web.HONEYPOT_FIELD] = form.get(web.HONEYPOT_FIELD, "")
    return data


# --- the rule ---


def slug_for(title: str, story_id: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title).strip("-")[:100].strip("-") or "story"
    return f"{words}-{story_id[:8]}"


def submit(conn: Connection, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Store a checked submission, tell the other services, acknowledge it to the author."""
    story_id = str(uuid.uuid4())
    under_18 = bool(data.get("under_18"))
    body = story_text.normalise(data["story"])
    themes = [theme for theme in MENTOR_ROLES if theme in data["themes"]]
    story = {
        "id": story_id,
        "slug": slug_for(data["title"], story_id),
        "status": "submitted",
        "title": data["title"],
        "body": body,
        # Safeguarding: an under-18 is never credited and never pictured, whatever the form said.
        "credit": "anonymous" if under_18 else data["credit"],
        "display_name": data.get("display_name"),
        "role": data["role"],
        "partner_name": data.get("partner_name"),
        "country": data.get("country"),
        "contact_email": data["contact_email"],
        "usage": [usage for usage in STORY_USAGES if usage in data["usage"]],
        "consent_version": data["consent_version"],
        "consent_at": now,
        "under_18": under_18,
        "photo_key": None if under_18 else data.get("photo_key"),
        "flags": checks.run_checks(conn, data["title"], body),
        "featured": False,
        "open_reports": 0,
        "submitted_at": now,
        "updated_at": now,
    }
    conn.execute(insert(stories).values(story))
    set_themes(conn, story_id, themes)
    story["themes"] = themes
    outbox.publish(
        conn,
        "story.submitted",
        story_id,
        {
            "story_id": story_id,
            "submitted_at": now,
            "role": story["role"],
            "country": story["country"],
            "themes": themes,
        },
        source=author_emails.SOURCE,
    )
    author_emails.acknowledge(conn, story)
    return story


def submit_with_photo(data: dict[str, Any], photo: tuple[bytes, str | None] | None = None) -> dict[str, Any]:
    """Accept the photo (an API upload key, or a file from the form), then store the story in one transaction.

    An under-18's photo is discarded unseen. Raises MediaRefused for a photo that fails its checks.
    """
    data = dict(data)
    upload_key = data.pop("photo_key", None)
    if data.get("under_18"):
        photos.discard(upload_key)
        photo = upload_key = None
    if upload_key:
        data["photo_key"] = photos.accept_upload(upload_key)
    elif photo is not None:
        data["photo_key"] = photos.accept_file(*photo)
    try:
        with engine().begin() as conn:
            return submit(conn, data, datetime.now(UTC))
    except Exception:
        photos.discard(data.get("photo_key"))
        raise


def engine() -> Any:
    return current_app.extensions["nmd_stories"]["engine"]


def beside_fields(error: ValidationError) -> dict[str, str]:
    """Form errors by field; an error about one ticked box ("themes.0") belongs beside its group."""
    errors: dict[str, str] = {}
    for name, message in web.form_errors(error).items():
        errors.setdefault(name.split(".")[0], message)
    return errors


# --- the form ---

share = Blueprint("stories_share", __name__, template_folder="templates")


def _share_page(values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Response:
    page = render_template(
        "stories/share.html",
        values=values,
        errors=errors,
        consent_wording=CONSENT_WORDINGS[CURRENT_CONSENT],
        consent_version=CURRENT_CONSENT,
        themes=THEME_LABELS,
        roles=ROLE_LABELS,
        usages=USAGE_LABELS,
        credits=CREDIT_LABELS,
        max_photo_mb=photos.MAX_BYTES // 1_000_000,
    )
    return Response(page, status=status, mimetype="text/html")


@share.get("/stories/share")
def share_form() -> Response:
    return _share_page({"credit": "first_name", "usage": ["story_wall"]}, {})


@share.post("/stories/share")
@web.rate_limit(10, 3600)
def share_story() -> Response:
    # A photo may be up to 5 MB; the rest of the service keeps the shared 1 MB body limit.
    request.max_content_length = photos.MAX_BYTES + 256 * 1024
    values = form_data(request.form)
    if web.honeypot_tripped(values):
        return Response(render_template("stories/thanks.html"), mimetype="text/html")
    try:
        data = StorySubmission().load(values)
    except ValidationError as error:
        return _share_page(values, beside_fields(error), 422)
    upload = request.files.get("photo")
    photo = (upload.read(photos.MAX_BYTES + 1), upload.mimetype) if upload and upload.filename else None
    try:
        submit_with_photo(data, photo)
    except media.MediaRefused as refused:
        return _share_page(values, {"photo": refused.message}, 422)
    return Response(render_template("stories/thanks.html"), mimetype="text/html")


# --- the API ---

api = SmorestBlueprint(
    "stories_submission_api",
    __name__,
    url_prefix="/api/stories",
    description="Share a mentoring story (it waits for a moderator).",
)


class SubmittedStory(Schema):
    story_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "Always 'submitted': a moderator decides."})


class PhotoUploadRequest(Schema):
    content_type = f.optional(f.one_of(tuple(sorted(photos.ALLOWED_TYPES))))


class PhotoUpload(Schema):
    url = fields.String(required=True, metadata={"description": "POST the fields, then the file as 'file', here."})
    key = fields.String(required=True, metadata={"description": "Send this as photo_key with the story."})
    # "fields" is what S3 calls them; the attribute has another name so as not to hide marshmallow's module.
    form_fields = fields.Dict(keys=fields.String(), values=fields.String(), required=True, data_key="fields")
    max_bytes = fields.Integer(required=True)


@api.post("")
@api.arguments(StorySubmission)
@api.response(201, SubmittedStory)
@api.alt_response(422, description="Some fields are not valid: a map of field names to messages.")
@web.rate_limit(10, 3600)
def submit_story(data: dict[str, Any]) -> dict[str, Any]:
    if data.pop("website_url_confirm", None):
        # A bot: answered as if it worked, nothing stored.
        return {"story_id": str(uuid.uuid4()), "status": "submitted"}
    try:
        story = submit_with_photo(data)
    except media.MediaRefused as refused:
        web.json_error(422, "photo_key", refused.message)
    return {"story_id": story["id"], "status": "submitted"}


@api.post("/photo-uploads")
@api.arguments(PhotoUploadRequest)
@api.response(201, PhotoUpload)
@web.rate_limit(20, 3600)
def new_photo_upload(data: dict[str, Any]) -> dict[str, Any]:
    """A presigned form for one photo (JPEG, PNG or WebP, at most 5 MB). Not for authors under 18."""
    try:
        upload = photos.presign(data.get("content_type"))
    except media.MediaRefused as refused:
        web.json_error(422, "content_type", refused.message)
    return {"url": upload.url, "form_fields": upload.fields, "key": upload.key, "max_bytes": upload.max_bytes}
