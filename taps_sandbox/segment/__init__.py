"""The Segment Public API emulator: every endpoint of the tap-segment contract by hand, every
other GET of the spec derived from its models (so a new stream has an endpoint at once).

Objects are generated on demand from the v73.2.0 models in ``specs/`` (every field filled),
deterministically from the object's index, so a large workspace costs nothing until it is read.
Envelopes, pagination (``pagination.count`` / ``pagination.cursor``, dot or bracket keys),
errors and the 429 body (``msBeforeNext``) follow the real API.

One module an API area, each a subclass of ``core.SegmentCore`` adding its routes:

- ``data``: sizes, the spec's models and their filler, timestamps, fixed choices;
- ``workspace``: one workspace's objects, audit trail and regulations;
- ``core``: token, envelopes, errors, pagination, dispatch, routes derived from the spec;
- ``sources``: the workspace, sources, destinations, warehouses;
- ``protocols``: tracking plans, transformations, functions (needs ``sources``);
- ``access``: users, groups, roles, invites, labels, tokens, audit events;
- ``privacy``: regulations and suppressions;
- ``engage``: spaces, audiences, computed traits, Reverse ETL models;
- ``usage``: API-call and MTU usage, event volume, the catalog;
- ``api``: ``SegmentApi``, all of them together.
"""

from taps_sandbox.segment.api import SegmentApi
from taps_sandbox.segment.data import (
    AUDIT_ACTORS,
    LARGE,
    SCOPED_SOURCE,
    SMALL,
    SOURCE_SCOPED_USER,
    ApiError,
    parse_time,
)

__all__ = [
    "AUDIT_ACTORS",
    "LARGE",
    "SCOPED_SOURCE",
    "SMALL",
    "SOURCE_SCOPED_USER",
    "ApiError",
    "SegmentApi",
    "parse_time",
]
