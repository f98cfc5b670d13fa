"""``python -m tap_segment``."""

from tap_segment.tap import TapSegment

TapSegment.cli()
