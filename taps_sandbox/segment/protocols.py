"""Tracking plans (their rules and sources), transformations and functions."""

from __future__ import annotations

from taps_sandbox.segment.core import RouteSpec
from taps_sandbox.segment.data import FUNCTION_TYPES, ApiError
from taps_sandbox.segment.sources import SourcesArea
from taps_sandbox.segment.workspace import Workspace


class ProtocolsArea(SourcesArea):
    """Tracking plans with rules and sources, transformations, functions."""

    def _route_table(self) -> list[RouteSpec]:
        """Tracking plans with rules and sources, transformations, functions."""
        c = self._collection
        return [
            *super()._route_table(),
            (
                "/tracking-plans",
                lambda ws, q: c(ws, q, "trackingPlans", "tracking_plans", "TrackingPlanV1"),
            ),
            ("/tracking-plans/([^/]+)/rules", self._rules),
            ("/tracking-plans/([^/]+)/sources", self._plan_sources),
            (
                "/transformations",
                lambda ws, q: c(ws, q, "transformations", "transformations", "TransformationV1"),
            ),
            ("/functions", self._functions),
        ]

    def _rules(self, ws: Workspace, q: dict, plan_id: str) -> dict:
        i = self._child_of(ws, "tracking_plans", plan_id)

        def rule(k: int) -> dict:
            obj = self.filler.model("RuleV1", i * 10 + k)
            obj.update(
                key=f"Event {k}", type=("TRACK", "IDENTIFY", "GROUP")[k % 3], version=1 + k % 2
            )
            return obj

        return self._list("rules", q, 3 + i % 5, rule)

    def _plan_sources(self, ws: Workspace, q: dict, plan_id: str) -> dict:
        i = self._child_of(ws, "tracking_plans", plan_id)
        n = ws.counts["sources"]
        return self._list("sources", q, min(n, 2), lambda k: self._source(ws, (i + k) % n))

    def _functions(self, ws: Workspace, q: dict) -> dict:
        kind = (q.get("resourceType") or [None])[0]
        if kind not in FUNCTION_TYPES:
            raise ApiError(422, "ValidationFailure", '"resourceType" is required', "resourceType")
        base = FUNCTION_TYPES.index(kind) * 1000
        return self._list(
            "functions",
            q,
            ws.counts["functions"],
            lambda i: ws.make("functions", "ListFunctionItemV1", base + i, resourceType=kind),
        )
