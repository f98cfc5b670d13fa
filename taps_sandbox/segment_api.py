"""Where the server finds the Segment emulator; the code lives in ``taps_sandbox.segment``."""

from taps_sandbox.segment import SegmentApi

API = SegmentApi  # what the server loads (server._load_api)

__all__ = ["API", "SegmentApi"]
