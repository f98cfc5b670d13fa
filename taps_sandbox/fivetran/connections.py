"""Connections: details and list items, schema configs, certificates, state and sync history."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import math
from functools import cached_property
from typing import Any

from taps_sandbox.fivetran.core import ApiError, FivetranCore, RouteSpec
from taps_sandbox.fivetran.spec import password_field_names, sentinel_password_fields
from taps_sandbox.fivetran.values import (
    ADJECTIVES,
    ANCHOR,
    CONNECTION_SERVICES,
    FUNCTION_SERVICES,
    MAX_WINDOW,
    NOUNS,
    SYNC_EVERY,
    SYNC_HISTORY_DAYS,
    iso,
    parse_iso,
)


class ConnectionsArea(FivetranCore):
    """``/v1/connections`` and what hangs below a connection."""

    # --- helpers for tests ---------------------------------------------------------------------

    def connections_without_schema(self) -> list[str]:
        """Connections answering 404 NotFound_SchemaConfig: every index i with i % 10 == 3."""
        return [c for i, c in enumerate(self._collection_ids("connections")) if i % 10 == 3]

    def deleted_connections(self) -> list[str]:
        """The last ``options.deleted_children`` connections: listed, but 404 on detail/children."""
        ids = self._collection_ids("connections")
        n = max(0, min(self.options.deleted_children, len(ids)))
        return ids[len(ids) - n :]

    @cached_property
    def _no_schema(self) -> frozenset[str]:
        return frozenset(self.connections_without_schema())

    @cached_property
    def _deleted(self) -> frozenset[str]:
        return frozenset(self.deleted_connections())

    def function_connections(self) -> list[str]:
        """Connections whose ``/state`` answers (Function / Connector SDK services)."""
        return [
            c
            for c in self._collection_ids("connections")
            if self._connection_service(self._idx("connections", c)) in FUNCTION_SERVICES
        ]

    # --- objects -------------------------------------------------------------------------------

    def _connection_service(self, i: int) -> str:
        services = self.options.fivetran_connection_services or CONNECTION_SERVICES
        return services[i % len(services)]

    def connection(self, i: int) -> dict[str, Any]:
        """ConnectorResponseV1 (detail) for connection ``i``, with its per-service config."""

        def make() -> dict[str, Any]:
            ids = self._collection_ids("connections")
            groups = self._collection_ids("groups")
            users = self._collection_ids("users")
            service = self._connection_service(i)
            value = self._model("ConnectorResponseV1", "connections", i, service)
            rng = self._rng("connections", i, "fields")
            created = self._created("connections", i, SYNC_HISTORY_DAYS + 40)
            value.update(
                id=ids[i],
                service=service,
                schema=f"{service}_{i}",
                group_id=groups[i % len(groups)] if groups else "",
                connected_by=users[i % len(users)] if users else "",
                created_at=iso(created),
                paused=i % 6 == 5,
                schedule_type="auto",
                sync_frequency=360,
                daily_sync_time=f"{i % 24:02d}:00",
                succeeded_at=iso(ANCHOR - dt.timedelta(hours=rng.randint(1, 48))),
                failed_at=iso(ANCHOR - dt.timedelta(days=rng.randint(3, 40))),
            )
            status = value.get("status") or {}
            status.update(
                setup_state=("connected", "connected", "connected", "broken", "incomplete")[i % 5],
                sync_state="paused" if i % 6 == 5 else rng.choice(("scheduled", "syncing")),
                update_state=rng.choice(("on_schedule", "delayed")),
                schema_status="ready",
                is_historical_sync=False,
            )
            value["status"] = status
            value["setup_tests"] = self._setup_tests("connection", i)
            if "config" in value:
                value["config"] = sentinel_password_fields(
                    value["config"], f"connection-{i}", password_field_names()
                )
            proxies = self._collection_ids("proxy_agents")
            if proxies:
                value["proxy_agent_id"] = proxies[i % len(proxies)]
            return value

        return self._cached(("connection", i), make)

    def connection_item(self, i: int) -> dict[str, Any]:
        """ConnectorResponse (list item): same values as the detail, list model's fields."""

        def make() -> dict[str, Any]:
            detail = self.connection(i)
            keys = self._filler.schemas["ConnectorResponse"]["properties"]
            item = {k: detail[k] for k in keys if k in detail}
            missing = [k for k in keys if k not in item]
            if missing:
                extra = self._model("ConnectorResponse", "connections", i)
                item.update({k: extra[k] for k in missing if k in extra})
            return item

        return self._cached(("connection_item", i), make)

    def _live_connection(self, cid: str) -> int:
        """Index of a connection that still exists; 404 NotFound_Connector otherwise."""
        i = self._idx("connections", cid, "NotFound_Connector", "Connector")
        if cid in self._deleted:
            raise ApiError(
                404, "NotFound_Connector", f"Cannot find entity 'Connector' with id '{cid}'."
            )
        return i

    def schema_config(self, i: int) -> dict[str, Any]:
        """StandardConfigResponse: 1-3 schemas, 1-4 tables each, some tables with columns."""

        def make() -> dict[str, Any]:
            rng = self._rng("schemas", i)
            schemas: dict[str, Any] = {}
            for s in range(rng.randint(1, 3)):
                sname = ("public", "sales", "analytics", "raw")[s]
                tables: dict[str, Any] = {}
                for t in range(rng.randint(1, 4)):
                    tname = f"{rng.choice(NOUNS)}_{t}"
                    columns = {}
                    if rng.random() < 0.6:
                        for c in range(rng.randint(1, 3)):
                            cname = f"{rng.choice(ADJECTIVES)}_col_{c}"
                            columns[cname] = {
                                "name_in_destination": cname,
                                "enabled": rng.random() < 0.8,
                                "hashed": rng.random() < 0.2,
                                "is_primary_key": c == 0,
                                "enabled_patch_settings": {
                                    "allowed": c != 0,
                                    **(
                                        {}
                                        if c != 0
                                        else {
                                            "reason_code": "SYSTEM_COLUMN",
                                            "reason": "Primary key column",
                                        }
                                    ),
                                },
                            }
                    tables[tname] = {
                        "sync_mode": rng.choice(("SOFT_DELETE", "HISTORY", "LIVE")),
                        "name_in_destination": tname,
                        "enabled": rng.random() < 0.85,
                        "columns": columns,
                        "enabled_patch_settings": {"allowed": True},
                        "supports_columns_config": True,
                        "supports_history_mode": rng.random() < 0.5,
                    }
                schemas[sname] = {"name_in_destination": sname, "enabled": True, "tables": tables}
            return {
                "enable_new_by_default": rng.random() < 0.5,
                "schema_change_handling": rng.choice(("ALLOW_ALL", "ALLOW_COLUMNS", "BLOCK_ALL")),
                "schemas": schemas,
            }

        return self._cached(("schema_config", i), make)

    def _certificates(self, owner: str, i: int, kind: str) -> list[dict[str, Any]]:
        """Certificates (connections i%3==0, groups i%2==0) or fingerprints (i%4==1, i%3==0)."""

        def make() -> list[dict[str, Any]]:
            if kind == "certificates":
                count = (1 + i % 2) if (i % 3 == 0 if owner == "connections" else i % 2 == 0) else 0
            else:
                count = (1 + i % 2) if (i % 4 == 1 if owner == "connections" else i % 3 == 0) else 0
            users = self._collection_ids("users")
            out = []
            for n in range(count):
                rng = self._rng(owner, i, kind, n)
                digest = hashlib.sha256(f"{owner}:{i}:{kind}:{n}".encode()).digest()
                item: dict[str, Any] = {
                    "id": base64.urlsafe_b64encode(digest[:24]).decode().rstrip("="),
                    "hash": base64.b64encode(digest[:18]).decode(),
                    "public_key": (
                        "Sun RSA public key, 2048 bits params: null modulus: "
                        f"{int.from_bytes(digest[:16], 'big')} public exponent: 65537"
                        if kind == "certificates"
                        else "ssh-rsa AAAAB3NzaC1yc2E" + digest.hex()[:40]
                    ),
                    "validated_date": iso(ANCHOR - dt.timedelta(days=rng.randint(1, 200))),
                    "validated_by": users[rng.randrange(len(users))] if users else "",
                }
                if kind == "certificates":
                    item.update(
                        name=f"{rng.choice(NOUNS)}-ca-{n}",
                        type="TLS",
                        sha1=hashlib.sha1(digest, usedforsecurity=False).hexdigest(),
                        sha256=digest.hex(),
                    )
                out.append(item)
            return out

        return self._cached((owner, kind, i), make)

    def sync_history(self, i: int, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """Syncs every 6 hours over the past 30 days up to now (``clock_anchor`` when set), oldest
        first, in [start, end)."""
        cid = self._collection_ids("connections")[i]
        offset = dt.timedelta(minutes=self._rng("sync_offset", i).randint(0, 359))
        anchor = self.options.clock_anchor  # a fixed "now": two runs see the same history
        now = dt.datetime.fromtimestamp(anchor, dt.UTC) if anchor else dt.datetime.now(dt.UTC)
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        first = max(start, now - dt.timedelta(days=SYNC_HISTORY_DAYS))
        slot = math.floor((first - epoch - offset) / SYNC_EVERY)
        out = []
        while True:
            begin = epoch + offset + slot * SYNC_EVERY
            slot += 1
            if begin >= end or begin > now:
                break
            if begin < first:
                continue
            rng = self._rng("sync", i, int(begin.timestamp()))
            finish = begin + dt.timedelta(
                minutes=rng.randint(2, 50),
                seconds=rng.randint(0, 59),
                microseconds=rng.randint(0, 999_999),
            )
            if finish > now:
                break
            roll = rng.random()
            status = "FAILED" if roll < 0.08 else "CANCELED" if roll < 0.1 else "COMPLETED"
            out.append(
                {
                    "id": f"{cid}_{int(begin.timestamp())}",
                    "connection_id": cid,
                    "start_time": iso(begin),
                    "end_time": iso(finish),
                    "status": status,
                    "sync_type": "HISTORICAL" if rng.random() < 0.05 else "INCREMENTAL",
                    "rows_updated_or_inserted": 0
                    if status != "COMPLETED"
                    else rng.randint(0, 50_000),
                }
            )
        return out

    # --- routes --------------------------------------------------------------------------------

    def _route_table(self) -> list[RouteSpec]:
        """The connections' routes."""
        seg = r"([^/]+)"
        return [
            *super()._route_table(),
            (r"/v1/connections", self._r_connections, True),
            (rf"/v1/connections/{seg}", self._r_connection, False),
            (rf"/v1/connections/{seg}/(certificates|fingerprints)", self._r_conn_certs, True),
            (rf"/v1/connections/{seg}/(certificates|fingerprints)/{seg}", self._r_conn_cert, False),
            (rf"/v1/connections/{seg}/schemas", self._r_schemas, False),
            (rf"/v1/connections/{seg}/schemas/{seg}/tables/{seg}/columns", self._r_columns, False),
            (rf"/v1/connections/{seg}/state", self._r_state, False),
            (rf"/v1/connections/{seg}/sync-history", self._r_sync_history, True),
        ]

    def _r_connections(self, query: dict[str, list[str]]) -> list[Any]:
        items = [self.connection_item(i) for i in range(self.counts["connections"])]
        if query.get("group_id"):
            items = [c for c in items if c["group_id"] == query["group_id"][-1]]
        if query.get("schema"):
            items = [c for c in items if c["schema"] == query["schema"][-1]]
        return items

    def _r_connection(self, cid: str, query: dict[str, list[str]]) -> Any:
        return self.connection(self._live_connection(cid))

    def _r_conn_certs(self, cid: str, kind: str, query: dict[str, list[str]]) -> list[Any]:
        return self._certificates("connections", self._live_connection(cid), kind)

    def _r_conn_cert(self, cid: str, kind: str, ident: str, query: dict[str, list[str]]) -> Any:
        return _find_cert(self._r_conn_certs(cid, kind, query), ident, kind)

    def _r_schemas(self, cid: str, query: dict[str, list[str]]) -> Any:
        i = self._live_connection(cid)
        if cid in self._no_schema:
            raise ApiError(
                404,
                "NotFound_SchemaConfig",
                f"Connection with id '{cid}' doesn't have schema config",
            )
        return self.schema_config(i)

    def _r_columns(self, cid: str, schema: str, table: str, query: dict[str, list[str]]) -> Any:
        config = self._r_schemas(cid, query)
        try:
            columns = config["schemas"][schema]["tables"][table]["columns"]
        except KeyError as exc:
            raise ApiError(
                404, "NotFound_Table", f"Table '{schema}.{table}' not found in connection '{cid}'"
            ) from exc
        return {"columns": columns}

    def _r_state(self, cid: str, query: dict[str, list[str]]) -> Any:
        i = self._live_connection(cid)
        if self._connection_service(i) not in FUNCTION_SERVICES:
            raise ApiError(
                400,
                "InvalidInput",
                "Only Function and Connector SDK connectors support this operation",
            )
        return {"state": {"cursor": iso(ANCHOR), "page": i}}

    def _r_sync_history(self, cid: str, query: dict[str, list[str]]) -> list[Any]:
        i = self._live_connection(cid)
        now = dt.datetime.now(dt.UTC)
        try:
            end = parse_iso(query["end_time"][-1]) if query.get("end_time") else now
            start = (
                parse_iso(query["start_time"][-1])
                if query.get("start_time")
                else end - dt.timedelta(hours=1)
            )
        except ValueError as exc:
            raise ApiError(
                400, "InvalidInput", "start_time and end_time must be ISO 8601 timestamps"
            ) from exc
        if end <= start:
            raise ApiError(400, "InvalidInput", "end_time must be after start_time")
        if end - start > MAX_WINDOW:
            raise ApiError(400, "InvalidInput", "The time window must not exceed 7 days")
        return self.sync_history(i, start, end)


def _find_cert(items: list[dict[str, Any]], ident: str, kind: str) -> Any:
    """A certificate or fingerprint by ``id`` (or ``hash``)."""
    for item in items:
        if ident in (item["id"], item["hash"]):
            return item
    entity = "Certificate" if kind == "certificates" else "Fingerprint"
    raise ApiError(404, f"NotFound_{entity}", f"Cannot find entity '{entity}' with id '{ident}'.")
