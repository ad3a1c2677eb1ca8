"""segmix's models: configuration (sources, destinations, mappings) and the delivery pipeline."""

from .config import Destination, Mapping, MappingVersion, Source, new_write_key
from .pipeline import (
    Delivery,
    Event,
    IngestRequest,
    MixpanelRequest,
    PendingProfileUpdate,
    RejectedMessage,
)

__all__ = [
    "Delivery",
    "Destination",
    "Event",
    "IngestRequest",
    "Mapping",
    "MappingVersion",
    "MixpanelRequest",
    "PendingProfileUpdate",
    "RejectedMessage",
    "Source",
    "new_write_key",
]
