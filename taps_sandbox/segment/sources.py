"""The workspace, its sources, destinations and warehouses, and what hangs below them."""

from __future__ import annotations

import datetime as dt

from taps_sandbox.base import SENTINEL
from taps_sandbox.segment.core import RouteSpec, SegmentCore
from taps_sandbox.segment.data import iso
from taps_sandbox.segment.workspace import Workspace


class SourcesArea(SegmentCore):
    """The workspace, sources, destinations (with filters, subscriptions), warehouses."""

    def _route_table(self) -> list[RouteSpec]:
        """The workspace, sources, destinations (with filters, subscriptions), warehouses."""
        c = self._collection
        return [
            *super()._route_table(),
            ("/", lambda ws, q: {"workspace": self._workspace(ws)}),
            (
                "/sources",
                lambda ws, q: self._list(
                    "sources", q, ws.counts["sources"], lambda i: self._source(ws, i)
                ),
            ),
            ("/sources/([^/]+)/settings", self._source_settings),
            ("/sources/([^/]+)/connected-warehouses", self._source_warehouses),
            (
                "/destinations",
                # Each destination belongs to a real source of the workspace (data flows).
                lambda ws, q: self._list(
                    "destinations",
                    q,
                    ws.counts["destinations"],
                    lambda i: self._destination(ws, i),
                ),
            ),
            ("/destination/([^/]+)/filters", self._destination_filters),
            ("/destinations/([^/]+)/subscriptions", self._destination_subscriptions),
            ("/warehouses", lambda ws, q: c(ws, q, "warehouses", "warehouses", "WarehouseV1")),
            ("/warehouses/([^/]+)/connection-state", self._connection_state),
            ("/warehouses/([^/]+)/syncs", self._warehouse_syncs),
        ]

    def _workspace(self, ws: Workspace) -> dict:
        obj = self.filler.model("WorkspaceV1", ws.number)
        obj.update(id=ws.id, slug=f"sandbox-{ws.number}", name=f"Sandbox workspace {ws.number}")
        return obj

    def _source(self, ws: Workspace, i: int) -> dict:
        obj = ws.make("sources", "SourceV1", i)
        obj["writeKeys"] = [f"{SENTINEL}-wk-{ws.number}-{i}"]
        return obj

    def _source_settings(self, ws: Workspace, q: dict, source_id: str) -> dict:
        i = self._child_of(ws, "sources", source_id)
        return {"sourceId": source_id, "settings": self.filler.model("SourceSettingsOutputV1", i)}

    def _source_warehouses(self, ws: Workspace, q: dict, source_id: str) -> dict:
        i = self._child_of(ws, "sources", source_id)
        n = ws.counts["warehouses"]
        picks = [(i + k) % n for k in range(min(n, i % 3))]
        return self._list(
            "warehouses", q, len(picks), lambda k: ws.make("warehouses", "WarehouseV1", picks[k])
        )

    def _destination(self, ws: Workspace, i: int) -> dict:
        source = ws.oid("sources", i % ws.counts["sources"])
        return ws.make("destinations", "DestinationV1", i, sourceId=source)

    def _destination_filters(self, ws: Workspace, q: dict, destination_id: str) -> dict:
        i = self._child_of(ws, "destinations", destination_id)
        return self._list(
            "filters",
            q,
            i % 3,
            lambda k: ws.make(
                "filters", "DestinationFilterV1", i * 3 + k, destinationId=destination_id
            ),
        )

    def _destination_subscriptions(self, ws: Workspace, q: dict, destination_id: str) -> dict:
        i = self._child_of(ws, "destinations", destination_id)
        return self._list(
            "subscriptions",
            q,
            (i + 1) % 3,
            lambda k: ws.make(
                "subscriptions", "DestinationSubscription", i * 3 + k, destinationId=destination_id
            ),
        )

    def _connection_state(self, ws: Workspace, q: dict, warehouse_id: str) -> dict:
        i = self._child_of(ws, "warehouses", warehouse_id)
        return {"connectionState": ("CONNECTED", "FAILED", "UNKNOWN")[i % 3]}

    def _warehouse_syncs(self, ws: Workspace, q: dict, warehouse_id: str) -> dict:
        i = self._child_of(ws, "warehouses", warehouse_id)

        def report(k: int) -> dict:
            obj = self.filler.model("SyncV1", i * 10 + k)
            obj.update(sourceId=ws.oid("sources", k % ws.counts["sources"]))
            obj["start"] = iso(
                dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i * 10 + k)
            )
            return obj

        return self._list("reports", q, 2, report)
