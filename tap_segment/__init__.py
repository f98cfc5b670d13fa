"""tap-segment: a read-only Singer tap for the Segment Public API (api.segmentapis.com)."""
