"""tap-fivetran streams: declarations only, named and keyed as ../STREAMS.md's contract says."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from tap_fivetran.client import ACCEPT_V2, FivetranStream
from taps_common.declared import declared_streams
from taps_common.errors import ApiResponseError, ChildNotFoundError

SYNC_HISTORY_WINDOW = dt.timedelta(days=7)  # the API refuses longer windows


class _List(FivetranStream):
    records_key = "items"


# ----- account, groups, destinations --------------------------------------------------------
class AccountsStream(FivetranStream):
    """Who the key belongs to (served from the credential check, no second request)."""

    name = "accounts"
    path = "/v1/account/info"
    primary_keys = ("account_id",)
    fetch_ahead = False

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict]:
        """The account info fetched when the credentials were checked."""
        yield dict(self.fivetran.account_info())


class GroupsStream(_List):
    name = "groups"
    path = "/v1/groups"
    primary_keys = ("id",)


class DestinationsStream(_List):
    name = "destinations"
    path = "/v1/destinations"
    detail_path = "/v1/destinations/{id}"
    primary_keys = ("id",)
    accept = ACCEPT_V2
    secret_trees = ("config",)
    child_context_fields: ClassVar[dict[str, str]] = {"destination_id": "id"}


class DestinationCertificatesStream(_List):
    name = "destination_certificates"
    path = "/v1/destinations/{destination_id}/certificates"
    primary_keys = ("destination_id", "id")
    parent_stream_type = DestinationsStream


class DestinationFingerprintsStream(_List):
    name = "destination_fingerprints"
    path = "/v1/destinations/{destination_id}/fingerprints"
    primary_keys = ("destination_id", "id")
    parent_stream_type = DestinationsStream


# ----- connections and their schema config ---------------------------------------------------
class ConnectionsStream(_List):
    name = "connections"
    path = "/v1/connections"
    detail_path = "/v1/connections/{id}"
    primary_keys = ("id",)
    accept = ACCEPT_V2
    secret_trees = ("config",)
    child_context_fields: ClassVar[dict[str, str]] = {"connection_id": "id"}


class ConnectionSchemasStream(FivetranStream):
    """One ``/schemas`` request per connection feeds this stream, tables and columns."""

    name = "connection_schemas"
    path = "/v1/connections/{connection_id}/schemas"
    primary_keys = ("connection_id",)
    parent_stream_type = ConnectionsStream

    def walk(
        self, context: Mapping[str, Any] | None, plans: list[dict[str, Any]] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """A connection with no schema config yet (404 NotFound_SchemaConfig) has no records."""
        try:
            yield from super().walk(context, plans)
        except ChildNotFoundError as exc:
            if exc.code != "NotFound_SchemaConfig":
                raise
            self.logger.debug("No schema config yet for %s", exc.path)

    def extract_object(self, body: Any, path: str, status: int) -> dict:
        """The schema config, refused (one line, this stream and its children only) when its
        ``schemas``/``tables``/``columns`` maps hold something other than objects."""
        config = super().extract_object(body, path, status)
        for where, value in _config_maps(config):
            if not isinstance(value, dict):
                raise ApiResponseError(
                    f"Fivetran answered a schema config whose {where} is "
                    f"{type(value).__name__}, not an object",
                    path=path,
                    status=status,
                )
        return config

    def get_child_context(self, record: dict, context: Mapping[str, Any] | None) -> dict:
        """Tables and columns are derived from this record: leave it with the scheduler for
        them, keyed by their context (the SDK syncs them right after)."""
        child_context = {"connection_id": record["connection_id"]}
        for child in self.child_streams:
            if child.selected or child.has_selected_descendents:
                self.scheduler.hold_parent_record(child.name, child_context, record)
        return child_context


def _config_maps(config: dict) -> Iterator[tuple[str, Any]]:
    """Every value of the schema config's nested maps, with where it sits."""
    yield "'schemas'", config.get("schemas") or {}
    for schema_name, schema in (config.get("schemas") or {}).items():
        yield f"'schemas.{schema_name}'", schema
        if not isinstance(schema, dict):
            continue
        yield f"'schemas.{schema_name}.tables'", schema.get("tables") or {}
        for table_name, table in (schema.get("tables") or {}).items():
            where = f"'schemas.{schema_name}.tables.{table_name}'"
            yield where, table
            if isinstance(table, dict):
                yield f"{where[:-1]}.columns'", table.get("columns") or {}
                for column_name, column in (table.get("columns") or {}).items():
                    yield f"{where[:-1]}.columns.{column_name}'", column


class _FromSchemaConfig(FivetranStream):
    """Records derived from the parent's schema config: no request of their own."""

    parent_stream_type = ConnectionSchemasStream
    requests_per_context = False

    def schema_config(self, context: Mapping[str, Any] | None) -> dict:
        """The parent's record for this context, through the scheduler."""
        return self.scheduler.parent_record(self.name, context)

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict]:
        config = self.schema_config(context)
        connection_id = str(config.get("connection_id") or "")
        for schema_name, schema in sorted((config.get("schemas") or {}).items()):
            for table_name, table in sorted(((schema or {}).get("tables") or {}).items()):
                yield from self.rows(connection_id, schema_name, table_name, table or {})

    def rows(self, connection_id: str, schema_name: str, table_name: str, table: dict) -> list:
        raise NotImplementedError


class ConnectionTablesStream(_FromSchemaConfig):
    name = "connection_tables"
    primary_keys = ("connection_id", "schema_name", "table_name")

    def rows(self, connection_id: str, schema_name: str, table_name: str, table: dict) -> list:
        """The table's settings; its columns are the next stream's records."""
        record = {k: v for k, v in table.items() if k != "columns"}
        record.update(connection_id=connection_id, schema_name=schema_name, table_name=table_name)
        return [record]


class ConnectionColumnsStream(_FromSchemaConfig):
    name = "connection_columns"
    primary_keys = ("connection_id", "schema_name", "table_name", "column_name")

    def rows(self, connection_id: str, schema_name: str, table_name: str, table: dict) -> list:
        """Only the columns the response lists (user-overridden ones, per Fivetran)."""
        return [
            {
                **(column or {}),
                "connection_id": connection_id,
                "schema_name": schema_name,
                "table_name": table_name,
                "column_name": column_name,
            }
            for column_name, column in sorted((table.get("columns") or {}).items())
        ]


class ConnectionCertificatesStream(_List):
    name = "connection_certificates"
    path = "/v1/connections/{connection_id}/certificates"
    primary_keys = ("connection_id", "id")
    parent_stream_type = ConnectionsStream


class ConnectionFingerprintsStream(_List):
    name = "connection_fingerprints"
    path = "/v1/connections/{connection_id}/fingerprints"
    primary_keys = ("connection_id", "id")
    parent_stream_type = ConnectionsStream


class ConnectionSyncHistoryStream(_List):
    """Syncs per connection, walked in windows of at most 7 days, oldest window first."""

    name = "connection_sync_history"
    path = "/v1/connections/{connection_id}/sync-history"
    primary_keys = ("connection_id", "start_time")
    replication_key = "start_time"
    is_sorted = True
    check_sorted = False  # the bookmark's own sync is re-read (window start is inclusive)
    extra_fields_column = "extra"  # the endpoint is newer than the spec: keep what it adds
    buffer_per_plan = True
    selected_by_default = False
    accept = ACCEPT_V2
    parent_stream_type = ConnectionsStream
    child_state_keys = None  # one bookmark per connection

    def prefetch_parents(self) -> int:
        """A connection's history can run to thousands of syncs on a first run: hold the
        histories of only as many connections as are fetched at once."""
        return self.scheduler.max_concurrency

    def request_plans(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """Consecutive windows from the bookmark (or start_date) to now."""
        start = self.starting_timestamp(context) or self.fivetran.settings.history_start()
        now = dt.datetime.now(dt.UTC)
        while start < now:
            end = min(start + SYNC_HISTORY_WINDOW, now)
            yield {"start_time": iso(start), "end_time": iso(end)}
            start = end

    edge_key_fields = ("connection_id", "start_time")  # a sync on two windows' edge: once

    def on_plan_finished(self, records: list[dict], plan: Mapping[str, Any]) -> list[dict]:
        """Oldest first, so the bookmark can advance safely."""
        records.sort(key=lambda r: str(r.get("start_time") or ""))
        return records


def iso(moment: dt.datetime) -> str:
    """UTC ISO-8601 with a Z, as Fivetran writes it."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ----- users, teams, memberships, roles -------------------------------------------------------
class UsersStream(_List):
    name = "users"
    path = "/v1/users"
    primary_keys = ("id",)
    child_context_fields: ClassVar[dict[str, str]] = {"user_id": "id"}


class UserGroupMembershipsStream(_List):
    name = "user_group_memberships"
    path = "/v1/users/{user_id}/groups"
    primary_keys = ("user_id", "group_id")
    parent_stream_type = UsersStream
    rename_fields: ClassVar[dict[str, str]] = {"id": "group_id"}


class UserConnectionMembershipsStream(_List):
    name = "user_connection_memberships"
    path = "/v1/users/{user_id}/connections"
    primary_keys = ("user_id", "connection_id")
    parent_stream_type = UsersStream
    rename_fields: ClassVar[dict[str, str]] = {"id": "connection_id"}


class TeamsStream(_List):
    name = "teams"
    path = "/v1/teams"
    primary_keys = ("id",)
    child_context_fields: ClassVar[dict[str, str]] = {"team_id": "id"}


class TeamUserMembershipsStream(_List):
    name = "team_user_memberships"
    path = "/v1/teams/{team_id}/users"
    primary_keys = ("team_id", "user_id")
    parent_stream_type = TeamsStream


class TeamGroupMembershipsStream(_List):
    name = "team_group_memberships"
    path = "/v1/teams/{team_id}/groups"
    primary_keys = ("team_id", "group_id")
    parent_stream_type = TeamsStream
    rename_fields: ClassVar[dict[str, str]] = {"id": "group_id"}


class TeamConnectionMembershipsStream(_List):
    name = "team_connection_memberships"
    path = "/v1/teams/{team_id}/connections"
    primary_keys = ("team_id", "connection_id")
    parent_stream_type = TeamsStream
    rename_fields: ClassVar[dict[str, str]] = {"id": "connection_id"}


class RolesStream(_List):
    name = "roles"
    path = "/v1/roles"
    primary_keys = ("name",)


# ----- account-level objects ------------------------------------------------------------------
class WebhooksStream(_List):
    name = "webhooks"
    path = "/v1/webhooks"
    primary_keys = ("id",)
    secret_values = ("secret",)


class SystemKeysStream(_List):
    name = "system_keys"
    path = "/v1/system-keys"
    primary_keys = ("id",)
    secret_values = ("secret",)


class TransformationsStream(_List):
    name = "transformations"
    path = "/v1/transformations"
    primary_keys = ("id",)


class TransformationProjectsStream(_List):
    name = "transformation_projects"
    path = "/v1/transformation-projects"
    primary_keys = ("id",)


class PrivateLinksStream(_List):
    name = "private_links"
    path = "/v1/private-links"
    primary_keys = ("id",)
    secret_trees = ("config",)


class ProxyAgentsStream(_List):
    name = "proxy_agents"
    path = "/v1/proxy"
    primary_keys = ("id",)
    child_context_fields: ClassVar[dict[str, str]] = {"agent_id": "id"}


class ProxyAgentConnectionsStream(_List):
    name = "proxy_agent_connections"
    path = "/v1/proxy/{agent_id}/connections"
    primary_keys = ("agent_id", "connection_id")
    parent_stream_type = ProxyAgentsStream
    rename_fields: ClassVar[dict[str, str]] = {"id": "connection_id"}


class HybridDeploymentAgentsStream(_List):
    name = "hybrid_deployment_agents"
    path = "/v1/hybrid-deployment-agents"
    primary_keys = ("id",)


class LogServicesStream(_List):
    name = "log_services"
    path = "/v1/external-logging"
    primary_keys = ("id",)
    secret_trees = ("config",)


class ExternalSecretsManagersStream(_List):
    name = "external_secrets_managers"
    path = "/v1/external-secrets-managers"
    primary_keys = ("id",)
    secret_trees = ("config",)


class ConnectorSdkPackagesStream(_List):
    name = "connector_sdk_packages"
    path = "/v1/connector-sdk/packages"
    primary_keys = ("id",)


class ConnectorTypesStream(_List):
    name = "connector_types"
    path = "/v1/metadata/connector-types"
    primary_keys = ("id",)
    selected_by_default = False


def stream_types() -> tuple[type[FivetranStream], ...]:
    """Every stream class of this module, in the order written (the SDK syncs them in this
    order): a new stream is its class, wherever in the file it is written."""
    return declared_streams(globals(), FivetranStream)
