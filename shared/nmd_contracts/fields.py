"""Field types the event schemas share, so that every timestamp, country and id is spelled the same way."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from marshmallow import ValidationError, fields, validate

COUNTRY_PATTERN = r"^[A-Z]{2}$"
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class UtcDateTime(fields.AwareDateTime):
    """An RFC 3339 instant, normalised to UTC and written with a trailing "Z".

    Naive datetimes are refused rather than guessed at: a service on a British clock would otherwise be an hour out
    for half the year.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        if isinstance(value, str) and value.endswith(("z", "Z")):
            value = value[:-1] + "+00:00"
        return super()._deserialize(value, attr, data, **kwargs).astimezone(dt.UTC)

    def _serialize(self, value: dt.datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def entity_id(**kwargs: Any) -> fields.String:
    """An opaque id (the owning service uses uuid4 strings); bounded so a bad producer cannot send a novel."""
    return fields.String(validate=validate.Length(min=1, max=64), **kwargs)


def country(*, allow_unknown: bool = False, **kwargs: Any) -> fields.String:
    """ISO 3166-1 alpha-2, upper case (checked by shape: GeoIP databases also use user-assigned codes like XK)."""
    pattern = r"^(?:[A-Z]{2}|unknown)$" if allow_unknown else COUNTRY_PATTERN
    return fields.String(
        validate=validate.Regexp(re.compile(pattern), error="Not an ISO 3166-1 alpha-2 code."), **kwargs
    )


def slug(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=[validate.Length(min=1, max=120), validate.Regexp(re.compile(SLUG_PATTERN), error="Not a slug.")],
        **kwargs,
    )


def url(**kwargs: Any) -> fields.Url:
    """Absolute http(s) URL; no TLD required so that dev URLs such as http://localhost:8000/... validate."""
    return fields.Url(schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=2048), **kwargs)


def text(max_length: int, *, min_length: int = 1, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=min_length, max=max_length), **kwargs)


def one_of(choices: tuple[str, ...], **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.OneOf(choices), **kwargs)


def count(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=0), **kwargs)


def optional(field: fields.Field) -> fields.Field:
    """Make a field optional: absent or null both load as None, and the dumped data always has the key."""
    field.required = False
    field.allow_none = True
    field.load_default = None
    return field


class UniqueItems(validate.Validator):
    """A list without repeats (a set of choices, sent as a JSON array)."""

    error = "Contains duplicates."

    def __call__(self, value: list[Any]) -> list[Any]:
        if len(set(value)) != len(value):
            raise ValidationError(self.error)
        return value


def choice_set(choices: tuple[str, ...], *, min_items: int = 0, **kwargs: Any) -> fields.List:
    """A subset of choices: no repeats, so at most all of them."""
    return fields.List(
        one_of(choices), validate=[validate.Length(min=min_items, max=len(choices)), UniqueItems()], **kwargs
    )
