"""tap-segment's settings as a typed value: the shared ones plus the region and the audit
window (defaults from the tap's schema, ``TapSegment.config_jsonschema``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taps_common.settings import CommonSettings, Given


@dataclass(frozen=True)
class SegmentSettings(CommonSettings):
    """What a tap-segment run reads; the tokens stay in the config (see ``CommonSettings``)."""

    region: str  # workspaces that name neither a region nor an api_url live here
    audit_lookback_minutes: int
    audit_window_hours: float

    @classmethod
    def fields(cls, given: Given) -> dict[str, Any]:
        """The shared fields and tap-segment's own."""
        return {
            **super().fields(given),
            "region": given.text("region"),
            "audit_lookback_minutes": given.integer("audit_lookback_minutes"),
            "audit_window_hours": given.number("audit_window_hours"),
        }
