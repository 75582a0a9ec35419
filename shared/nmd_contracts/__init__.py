"""Event contracts of the National Mentoring Day platform: envelope, schemas, registry, topic catalogue.

The envelope and registry names are re-exported here; the topic catalogue is nmd_contracts.topics (not imported
here, so that `python -m nmd_contracts.topics` runs it cleanly).
"""

from nmd_contracts.envelope import Event, InvalidEvent, from_json, from_kafka, new_event, to_json, to_kafka
from nmd_contracts.errors import UnknownEventType
from nmd_contracts.registry import REGISTRY, EventSpec

__all__ = [
    "REGISTRY",
    "Event",
    "EventSpec",
    "InvalidEvent",
    "UnknownEventType",
    "from_json",
    "from_kafka",
    "new_event",
    "to_json",
    "to_kafka",
]
