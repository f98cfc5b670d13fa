"""``SegmentApi``: the Segment emulator, made of its areas."""

from __future__ import annotations

from taps_sandbox.segment.access import AccessArea
from taps_sandbox.segment.engage import EngageArea
from taps_sandbox.segment.privacy import PrivacyArea
from taps_sandbox.segment.protocols import ProtocolsArea
from taps_sandbox.segment.usage import UsageArea


class SegmentApi(ProtocolsArea, AccessArea, PrivacyArea, EngageArea, UsageArea):
    """The Segment Public API, as far as the tap reads it.

    The hand-written routes are each area's in turn (``SegmentCore._route_table``; no two
    areas serve overlapping paths), then every other GET of the spec, derived from its models.
    """
