"""Engage and Reverse ETL: spaces with their audiences and computed traits, models."""

from __future__ import annotations

from taps_sandbox.segment.core import RouteSpec, SegmentCore
from taps_sandbox.segment.workspace import Workspace


class EngageArea(SegmentCore):
    """Spaces (audiences, computed traits) and Reverse ETL models."""

    def _route_table(self) -> list[RouteSpec]:
        """Spaces (audiences, computed traits) and Reverse ETL models."""
        c = self._collection
        return [
            *super()._route_table(),
            ("/spaces", lambda ws, q: c(ws, q, "spaces", "spaces", "Space")),
            ("/spaces/([^/]+)/audiences", self._audiences),
            ("/spaces/([^/]+)/computed-traits", self._computed_traits),
            (
                "/reverse-etl-models",
                lambda ws, q: c(ws, q, "models", "reverse_etl_models", "ReverseEtlModel"),
            ),
        ]

    def _space_child(
        self, ws: Workspace, q: dict, space_id: str, *, key: str, kind: str, model: str
    ) -> dict:
        i = self._child_of(ws, "spaces", space_id)
        # counts["audiences_per_space"] (default 2) makes spaces that need several pages.
        n = ws.counts.get(f"{kind}_per_space", 2)
        return self._list(
            key, q, n, lambda k: ws.make(kind, model, i * 100_000 + k, spaceId=space_id)
        )

    def _audiences(self, ws: Workspace, q: dict, space_id: str) -> dict:
        return self._space_child(
            ws,
            q,
            space_id,
            key="audiences",
            kind="audiences",
            model="AudienceSummaryWithAudienceTypeAndLookback",
        )

    def _computed_traits(self, ws: Workspace, q: dict, space_id: str) -> dict:
        return self._space_child(
            ws,
            q,
            space_id,
            key="computedTraits",
            kind="computed_traits",
            model="ComputedTraitSummary",
        )
