"""Describe marshmallow schemas as plain data: the schema lock stores it, the AsyncAPI generator turns it into
JSON Schema. One walker for both, so the document and the compatibility check can never disagree.

A field descriptor: {"type": "string"|"integer"|"number"|"boolean"|"object"|"array"|"any", "format"?: ...,
"required": bool, "nullable": bool, "choices"?: [...], "pattern"?: ..., "min_length"/"max_length"?,
"minimum"/"maximum"?, "min_items"/"max_items"?, "unique_items"?: true, "items"?: descriptor, "fields"?: {...}}.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from nmd_contracts.fields import UniqueItems, UtcDateTime

# Most specific first: Email and Url are Strings, UtcDateTime is a DateTime.
_TYPES: list[tuple[type[fields.Field], str, str | None]] = [
    (fields.Email, "string", "email"),
    (fields.Url, "string", "uri"),
    (UtcDateTime, "string", "date-time"),
    (fields.DateTime, "string", "date-time"),
    (fields.Date, "string", "date"),
    (fields.UUID, "string", "uuid"),
    (fields.String, "string", None),
    (fields.Integer, "integer", None),
    (fields.Number, "number", None),
    (fields.Boolean, "boolean", None),
    (fields.Dict, "object", None),
    (fields.Nested, "object", None),
    (fields.List, "array", None),
    (fields.Raw, "any", None),
]


def describe_schema(schema: Schema | type[Schema]) -> dict[str, dict[str, Any]]:
    instance = schema() if isinstance(schema, type) else schema
    return {
        field.data_key or name: describe_field(field)
        for name, field in instance.fields.items()
        if not field.dump_only
    }


def describe_field(field: fields.Field) -> dict[str, Any]:
    kind, fmt = next(((k, f) for cls, k, f in _TYPES if isinstance(field, cls)), ("any", None))
    desc: dict[str, Any] = {"type": kind, "required": bool(field.required), "nullable": bool(field.allow_none)}
    if fmt:
        desc["format"] = fmt
    for validator in field.validators:
        desc.update(_describe_validator(validator, kind))
    if isinstance(field, fields.List):
        desc["items"] = describe_field(field.inner)
    elif isinstance(field, fields.Nested):
        desc["fields"] = describe_schema(field.schema)
    return desc


def _describe_validator(validator: Any, kind: str) -> dict[str, Any]:
    if isinstance(validator, validate.OneOf):
        return {"choices": list(validator.choices)}
    if isinstance(validator, validate.Length):
        prefix = "items" if kind == "array" else "length"
        bounds = {f"min_{prefix}": validator.min, f"max_{prefix}": validator.max}
        if validator.equal is not None:
            bounds = {f"min_{prefix}": validator.equal, f"max_{prefix}": validator.equal}
        return {k: v for k, v in bounds.items() if v is not None}
    if isinstance(validator, validate.Range):
        return {k: v for k, v in {"minimum": validator.min, "maximum": validator.max}.items() if v is not None}
    if isinstance(validator, validate.Regexp):
        return {"pattern": validator.regex.pattern}
    if isinstance(validator, UniqueItems):
        return {"unique_items": True}
    # The URL and Email validators are expressed by "format"; anything else cannot be described, which is fine
    # for documentation but means the lock cannot see it change.
    return {}


def to_json_schema(desc: dict[str, Any]) -> dict[str, Any]:
    """One field descriptor -> JSON Schema (draft 7, which AsyncAPI 3.0's default schema format builds on)."""
    out: dict[str, Any] = {}
    if desc["type"] != "any":
        out["type"] = [desc["type"], "null"] if desc["nullable"] else desc["type"]
    for key, target in (
        ("format", "format"),
        ("pattern", "pattern"),
        ("min_length", "minLength"),
        ("max_length", "maxLength"),
        ("minimum", "minimum"),
        ("maximum", "maximum"),
        ("min_items", "minItems"),
        ("max_items", "maxItems"),
        ("unique_items", "uniqueItems"),
    ):
        if key in desc:
            out[target] = desc[key]
    if "choices" in desc:
        out["enum"] = [*desc["choices"], None] if desc["nullable"] else list(desc["choices"])
    if "items" in desc:
        out["items"] = to_json_schema(desc["items"])
    if "fields" in desc:
        out.update(object_schema(desc["fields"]))
    elif desc["type"] == "object":
        out["additionalProperties"] = True
    return out


def object_schema(field_descs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An object of these fields. additionalProperties is false because producers send no others (strict mode)."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: to_json_schema(desc) for name, desc in field_descs.items()},
        "additionalProperties": False,
    }
    required = [name for name, desc in field_descs.items() if desc["required"]]
    if required:
        schema["required"] = required
    return schema
