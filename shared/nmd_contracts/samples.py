"""Golden samples: one full CloudEvents message per event type and version, frozen once written.

They are the proof of BACKWARD compatibility: every sample must still validate and upcast to the latest version.
Never edit or regenerate an existing sample; a new version gets a new file.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

NAME = re.compile(r"^(?P<type>[a-z_.]+)\.v(?P<version>[1-9][0-9]*)\.json$")


def sample_names() -> list[str]:
    folder = resources.files("nmd_contracts").joinpath("samples")
    return sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".json"))


def sample_bytes(event_type: str, version: int) -> bytes:
    return resources.files("nmd_contracts").joinpath("samples", f"{event_type}.v{version}.json").read_bytes()


def sample(event_type: str, version: int) -> dict[str, Any]:
    return json.loads(sample_bytes(event_type, version))


def parse_name(name: str) -> tuple[str, int]:
    match = NAME.match(name)
    if not match:
        raise ValueError(f"not a sample file name: {name}")
    return match.group("type"), int(match.group("version"))
