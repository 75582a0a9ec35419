"""One registry of every event type and version: its marshmallow schema, its description, its upcasters.

The schemas register themselves when nmd_contracts.events is imported, which happens at the bottom of this module,
so importing the registry always gives the full set.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields

from nmd_contracts.errors import InvalidEvent, UnknownEventType, flatten_messages

TYPE_PATTERN = re.compile(r"^[a-z]+(?:\.[a-z_]+)+$")
DATASCHEMA_PREFIX = "urn:nmd:event:"

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
S = TypeVar("S", bound=type[Schema])


def dataschema_for(event_type: str, version: int) -> str:
    return f"{DATASCHEMA_PREFIX}{event_type}:v{version}"


def parse_dataschema(value: str) -> tuple[str, int]:
    """The inverse of dataschema_for; raises InvalidEvent for anything else."""
    match = re.fullmatch(rf"{re.escape(DATASCHEMA_PREFIX)}([a-z_.]+):v([1-9][0-9]*)", value)
    if not match:
        raise InvalidEvent(f"not an NMD data schema URN: {value!r}", field="dataschema")
    return match.group(1), int(match.group(2))


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    schema: type[Schema]
    description: str
    is_command: bool

    @property
    def dataschema(self) -> str:
        return dataschema_for(self.type, self.version)

    def load(self, data: Any, *, strict: bool) -> dict[str, Any]:
        """Validate data and return its JSON-safe (dumped) form.

        strict=True is the producer's rule (an unknown field is a bug: raise); strict=False is the consumer's
        (an unknown field is a newer producer's addition: drop it). The rule reaches nested objects too.
        """
        if not isinstance(data, dict):
            raise InvalidEvent("data must be a JSON object", field="data", event_type=self.type)
        schema = _instance(self.schema, strict)
        try:
            loaded = schema.load(data)
        except ValidationError as exc:
            flat = flatten_messages(exc.messages)
            # An unknown field is the likeliest bug (a typo, a field from another version), so name it first.
            first = min(flat, key=lambda path: ("Unknown field." not in flat[path], path))
            raise InvalidEvent(flat[first][0], field=first, event_type=self.type, errors=flat) from exc
        dumped = schema.dump(loaded)
        if strict:
            # Free-form fields (email.requested's context) dump as given; refuse what JSON cannot carry here,
            # rather than in the outbox relay long after the request that caused it has returned.
            try:
                json.dumps(dumped, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise InvalidEvent(f"not JSON-serialisable: {exc}", field="data", event_type=self.type) from exc
        return dumped


@functools.cache
def _instance(schema_class: type[Schema], strict: bool) -> Schema:
    # Building a schema deep-copies its fields; page views arrive by the thousand, so build each one once.
    return _with_unknown(schema_class(), RAISE if strict else EXCLUDE)


def _with_unknown(schema: Schema, unknown: str) -> Schema:
    # marshmallow applies load(unknown=...) to the top level only; nested schemas keep their own Meta setting,
    # so the rule is pushed down by hand. The fields are this instance's copies, so nothing global changes.
    schema.unknown = unknown
    for field in schema.fields.values():
        while isinstance(field, fields.List):
            field = field.inner
        if isinstance(field, fields.Nested):
            field.unknown = unknown
            _with_unknown(field.schema, unknown)
    return schema


class Registry:
    def __init__(self) -> None:
        self._specs: dict[str, dict[int, EventSpec]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    # -- registration -------------------------------------------------------------------------------------------
    def add(self, spec: EventSpec) -> None:
        if not TYPE_PATTERN.match(spec.type):
            raise ValueError(f"bad event type name {spec.type!r}: use area.past_tense_verb")
        versions = self._specs.setdefault(spec.type, {})
        if spec.version in versions:
            raise ValueError(f"{spec.type} v{spec.version} is registered twice")
        versions[spec.version] = spec

    def add_upcaster(self, event_type: str, from_version: int, fn: Upcaster) -> None:
        if (event_type, from_version) in self._upcasters:
            raise ValueError(f"two upcasters for {event_type} v{from_version}")
        self._upcasters[(event_type, from_version)] = fn

    # -- lookup -------------------------------------------------------------------------------------------------
    def spec(self, event_type: str, version: int | None = None) -> EventSpec:
        versions = self._specs.get(event_type)
        if not versions:
            raise UnknownEventType(f"unknown event type {event_type!r}", field="type", event_type=event_type)
        if version is None:
            version = max(versions)
        if version not in versions:
            raise UnknownEventType(
                f"unknown version {version} (known: {sorted(versions)})", field="dataschema", event_type=event_type
            )
        return versions[version]

    def latest_version(self, event_type: str) -> int:
        return self.spec(event_type).version

    def types(self) -> list[str]:
        return sorted(self._specs)

    def specs(self) -> list[EventSpec]:
        return [self._specs[t][v] for t in self.types() for v in sorted(self._specs[t])]

    def upcast(self, event_type: str, version: int, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Apply the registered upcasters v -> v+1 -> ... -> latest. The caller's dict is never modified."""
        latest = self.latest_version(event_type)
        self.spec(event_type, version)  # an unknown version is an error, not a no-op
        data = copy.deepcopy(data)
        while version < latest:
            step = self._upcasters.get((event_type, version))
            if step is None:
                raise InvalidEvent(f"no upcaster from v{version}", field="dataschema", event_type=event_type)
            data = step(data)
            version += 1
        return version, data

    def check(self) -> None:
        """Versions run 1..N with an upcaster for each step, and no upcaster points at nothing."""
        for event_type, versions in self._specs.items():
            if sorted(versions) != list(range(1, max(versions) + 1)):
                raise ValueError(f"{event_type}: versions must be 1..N, got {sorted(versions)}")
            kinds = {spec.is_command for spec in versions.values()}
            if len(kinds) != 1:
                raise ValueError(f"{event_type}: a type is either a command or an event in every version")
            for v in range(1, max(versions)):
                if (event_type, v) not in self._upcasters:
                    raise ValueError(f"{event_type}: missing upcaster v{v} -> v{v + 1}")
        for event_type, v in self._upcasters:
            if v + 1 not in self._specs.get(event_type, {}):
                raise ValueError(f"upcaster {event_type} v{v} -> v{v + 1} has no target schema")


REGISTRY = Registry()


def event(
    event_type: str, version: int = 1, *, command: bool = False, description: str | None = None
) -> Callable[[S], S]:
    """Class decorator: register a schema as the data of event_type at version; its docstring describes it."""

    def register(schema: S) -> S:
        text = description or inspect.cleandoc(schema.__doc__ or "")
        REGISTRY.add(EventSpec(event_type, version, schema, text, command))
        return schema

    return register


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Function decorator: register fn(data of v from_version) -> data of v from_version + 1."""

    def register(fn: Upcaster) -> Upcaster:
        REGISTRY.add_upcaster(event_type, from_version, fn)
        return fn

    return register


from nmd_contracts import events as _events  # noqa: E402,F401  (registers every schema; see the module docstring)
