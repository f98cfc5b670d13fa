"""Usage and volume: API calls and MTUs per day, event volume, and the integrations catalog."""

from __future__ import annotations

import calendar
import datetime as dt

from taps_sandbox.segment.core import RouteSpec, SegmentCore
from taps_sandbox.segment.data import ApiError, iso, parse_time
from taps_sandbox.segment.workspace import Workspace


class UsageArea(SegmentCore):
    """Daily API-call and MTU usage, event volume, the catalog."""

    def _route_table(self) -> list[RouteSpec]:
        """Daily API-call and MTU usage, event volume, the catalog."""
        return [
            *super()._route_table(),
            (
                "/usage/api-calls/daily",
                lambda ws, q: self._usage(
                    ws, q, "dailyWorkspaceAPICallsUsage", "APICallSnapshotV1", False
                ),
            ),
            (
                "/usage/api-calls/sources/daily",
                lambda ws, q: self._usage(
                    ws, q, "dailyPerSourceAPICallsUsage", "SourceAPICallSnapshotV1", True
                ),
            ),
            (
                "/usage/mtu/daily",
                lambda ws, q: self._usage(ws, q, "dailyWorkspaceMTUUsage", "MtuSnapshotV1", False),
            ),
            (
                "/usage/mtu/sources/daily",
                lambda ws, q: self._usage(
                    ws, q, "dailyPerSourceMTUUsage", "UsersPerSourceSnapshotV1", True
                ),
            ),
            (
                "/catalog/sources",
                lambda ws, q: self._catalog(ws, q, "sourcesCatalog", "SourceMetadataV1"),
            ),
            (
                "/catalog/destinations",
                lambda ws, q: self._catalog(ws, q, "destinationsCatalog", "DestinationMetadataV1"),
            ),
            (
                "/catalog/warehouses",
                lambda ws, q: self._catalog(ws, q, "warehousesCatalog", "WarehouseMetadataV1"),
            ),
            ("/events/volume", self._events_volume),
        ]

    def _usage(self, ws: Workspace, q: dict, key: str, model: str, per_source: bool) -> dict:
        period = (q.get("period") or [None])[0]
        if not period:
            raise ApiError(422, "ValidationFailure", '"period" is required', "period")
        month = parse_time(period, "period").date().replace(day=1)
        today = dt.datetime.now(dt.UTC).date()
        last = calendar.monthrange(month.year, month.month)[1]
        days = [month.replace(day=d) for d in range(1, last + 1) if month.replace(day=d) <= today]
        sources = (
            [ws.oid("sources", s) for s in range(min(3, ws.counts["sources"]))]
            if per_source
            else [None]
        )
        rows = [(day, source) for day in days for source in sources]

        def row(k: int) -> dict:
            day, source = rows[k]
            obj = self.filler.model(model, k)
            obj["timestamp"] = iso(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC))
            if source:
                obj["sourceId"] = source
            return obj

        return self._list(key, q, len(rows), row)

    def _events_volume(self, ws: Workspace, q: dict) -> dict:
        for name in ("granularity", "startTime", "endTime"):
            if not q.get(name):
                raise ApiError(422, "ValidationFailure", f'"{name}" is required', name)
        start = parse_time(q["startTime"][0], "startTime")
        end = parse_time(q["endTime"][0], "endTime")
        days = []
        moment = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while moment < end and len(days) < 400:
            days.append(moment)
            moment += dt.timedelta(days=1)
        groups = set(q.get("groupBy") or [])

        def item(i: int) -> dict:
            obj = self.filler.model("SourceEventVolumeV1", i)
            obj["source"] = {
                "id": ws.oid("sources", i),
                "name": f"Source {i}",
                "slug": f"source-{i}",
            }
            obj["eventName"] = f"Event {i}" if "eventName" in groups else None
            obj["eventType"] = "TRACK" if "eventType" in groups else None
            obj["series"] = [{"time": iso(d), "count": 10 + i + k} for k, d in enumerate(days)]
            obj["total"] = sum(p["count"] for p in obj["series"])
            return obj

        return self._list("result", q, 2, item)

    def _catalog(self, ws: Workspace, q: dict, key: str, model: str) -> dict:
        return self._list(key, q, ws.counts["catalog"], lambda i: ws.make(key, model, i))
