"""Privacy: deletion and suppression requests (regulations) and suppressed subjects."""

from __future__ import annotations

from taps_sandbox.segment.core import RouteSpec, SegmentCore
from taps_sandbox.segment.workspace import Workspace


class PrivacyArea(SegmentCore):
    """Regulations and suppressions."""

    def _route_table(self) -> list[RouteSpec]:
        """Regulations and suppressions."""
        return [
            *super()._route_table(),
            (
                "/regulations",
                lambda ws, q: self._list("regulations", q, ws.counts["regulations"], ws.regulation),
            ),
            ("/suppressions", self._suppressions),
        ]

    def _suppressions(self, ws: Workspace, q: dict) -> dict:
        def item(i: int) -> dict:
            obj = self.filler.model("SuppressedInner", i)
            obj.update(subjectType=("USER_ID", "ANONYMOUS_ID")[i % 2])
            obj["subjectIds"] = [f"subject-{ws.number}-{i}-{k}" for k in range(2 + i % 2)]
            return obj

        return self._list("suppressed", q, ws.counts["suppressions"], item)
