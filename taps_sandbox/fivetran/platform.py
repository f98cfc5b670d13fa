"""The account's plumbing: webhooks, system keys, private links, proxy and hybrid deployment
agents, external logging and external secrets managers."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from taps_sandbox.base import SENTINEL
from taps_sandbox.fivetran.connections import ConnectionsArea
from taps_sandbox.fivetran.core import ApiError, RouteSpec
from taps_sandbox.fivetran.values import ANCHOR, LOG_SERVICES, WEBHOOK_EVENTS, iso


class PlatformArea(ConnectionsArea):
    """Webhooks, system keys, private links, agents, log services, secrets managers."""

    def webhook(self, i: int) -> dict[str, Any]:
        """WebhookResponse; ``secret`` carries a sentinel (the real API masks it)."""

        def make() -> dict[str, Any]:
            value = self._model("WebhookResponse", "webhooks", i)
            groups = self._collection_ids("groups")
            value.update(
                id=self._collection_ids("webhooks")[i],
                type="account" if i % 3 == 2 else "group",
                url=f"https://hooks.example.com/fivetran/{i}",
                events=list(WEBHOOK_EVENTS[: 2 + i % 3]),
                secret=f"{SENTINEL}-webhook-{i}",
                group_id=groups[i % len(groups)] if groups else "",
            )
            return value

        return self._cached(("webhook", i), make)

    def system_key(self, i: int) -> dict[str, Any]:
        """SystemKeyResponse; ``secret`` carries a sentinel."""

        def make() -> dict[str, Any]:
            value = self._model("SystemKeyResponse", "system_keys", i)
            value.update(
                id=self._collection_ids("system_keys")[i],
                name=f"system-key-{i + 1}",
                key=f"ft_{hashlib.sha256(f'sk{i}'.encode()).hexdigest()[:20]}",
                secret=f"{SENTINEL}-system-key-{i}",
            )
            return value

        return self._cached(("system_key", i), make)

    def private_link(self, i: int) -> dict[str, Any]:
        """PrivateLinkResponse with its per-service config."""
        services = ("SNOWFLAKE_AWS", "DATABRICKS_AWS", "SOURCE_GCP", "SNOWFLAKE_AZURE")
        service = services[i % len(services)]
        return self._simple(
            "private_links",
            "PrivateLinkResponse",
            i,
            service,
            service=service,
            name=f"private-link-{i + 1}",
        )

    def proxy_agent(self, i: int, detail: bool = False) -> dict[str, Any]:
        """ProxyAgentWithCountsResponse (or the usage model) with real connection counts."""
        model = "ProxyAgentWithUsageResponse" if detail else "ProxyAgentWithCountsResponse"
        value = self._simple("proxy_agents", model, i, display_name=f"proxy-agent-{i + 1}")
        if "connector_count" in value:
            value["connector_count"] = len(self.proxy_connections(i))
        return value

    def proxy_connections(self, p: int) -> list[int]:
        """Connections routed through proxy agent ``p`` (index i % agents == p)."""
        n = self.counts["proxy_agents"]
        return [i for i in range(self.counts["connections"]) if n and i % n == p]

    def hybrid_agent(self, i: int) -> dict[str, Any]:
        """HybridDeploymentAgentWithUsageResponse."""
        return self._simple(
            "hybrid_deployment_agents",
            "HybridDeploymentAgentWithUsageResponse",
            i,
            display_name=f"hda-{i + 1}",
        )

    def log_service(self, i: int, detail: bool = False) -> dict[str, Any]:
        """LogResponse, or LogExtendedResponse with its per-service config."""
        service = LOG_SERVICES[i % len(LOG_SERVICES)]
        full = self._simple("log_services", "LogExtendedResponse", i, service, service=service)
        if detail:
            return full
        keys = self._filler.schemas["LogResponse"]["properties"]
        return {k: full[k] for k in keys if k in full}

    def secrets_manager(self, i: int) -> dict[str, Any]:
        """SecretsManagerResponse."""
        kind = ("AWS_SECRET_MANAGER", "AZURE_KEY_VAULT", "HASHICORP_VAULT")[i % 3]
        # The spec types config values as objects: one settings block per manager.
        config = {
            "settings": {"region": "us-east-1", "vault_url": f"https://vault-{i}.example.com"}
        }
        return self._simple(
            "external_secrets_managers",
            "SecretsManagerResponse",
            i,
            type=kind,
            name=f"esm-{i + 1}",
            config=config,
        )

    def esm_entities(self, e: int) -> list[dict[str, Any]]:
        """Entities (a few connections and destinations) whose secrets live in ESM ``e``."""
        esm_id = self._collection_ids("external_secrets_managers")[e]
        out = []
        for coll, kind, name_of in (
            ("connections", "SOURCE", lambda j: f"conn_{j}"),
            ("groups", "DESTINATION", lambda j: f"dest_{j}"),
        ):
            ids = self._collection_ids(coll)
            for j in range(len(ids)):
                if j % self.counts["external_secrets_managers"] == e and len(out) < 6:
                    rng = self._rng("esm", e, coll, j)
                    name = (
                        self.connection_item(j)["schema"] if coll == "connections" else name_of(j)
                    )
                    out.append(
                        {
                            "id": ids[j],
                            "name": name,
                            "enabled": rng.random() < 0.8,
                            "type": kind,
                            "secret_manager_id": esm_id,
                            "created_at": iso(ANCHOR - dt.timedelta(days=rng.randint(1, 100))),
                        }
                    )
        return out

    # --- routes --------------------------------------------------------------------------------

    def _route_table(self) -> list[RouteSpec]:
        """Webhooks, system keys, private links, agents, logging, secrets managers."""
        seg = r"([^/]+)"
        return [
            *super()._route_table(),
            (r"/v1/webhooks", self._r_list("webhooks", self.webhook), True),
            (rf"/v1/webhooks/{seg}", self._r_detail("webhooks", self.webhook, "Webhook"), False),
            (r"/v1/system-keys", self._r_list("system_keys", self.system_key), True),
            (
                rf"/v1/system-keys/{seg}",
                self._r_detail("system_keys", self.system_key, "SystemKey"),
                False,
            ),
            (r"/v1/private-links", self._r_list("private_links", self.private_link), True),
            (
                rf"/v1/private-links/{seg}",
                self._r_detail("private_links", self.private_link, "PrivateLink"),
                False,
            ),
            (r"/v1/proxy", self._r_list("proxy_agents", self.proxy_agent), True),
            (
                rf"/v1/proxy/{seg}",
                self._r_detail(
                    "proxy_agents", lambda i: self.proxy_agent(i, detail=True), "ProxyAgent"
                ),
                False,
            ),
            (rf"/v1/proxy/{seg}/connections", self._r_proxy_connections, True),
            (r"/v1/hybrid-deployment-agents", self._r_hdas, True),
            (
                rf"/v1/hybrid-deployment-agents/{seg}",
                self._r_detail("hybrid_deployment_agents", self.hybrid_agent, "Agent"),
                False,
            ),
            (r"/v1/external-logging", self._r_list("log_services", self.log_service), True),
            (r"/v1/external-logging/account", self._r_account_log, False),
            (
                rf"/v1/external-logging/{seg}",
                self._r_detail("log_services", lambda i: self.log_service(i, detail=True), "Log"),
                False,
            ),
            (
                r"/v1/external-secrets-managers",
                self._r_list("external_secrets_managers", self.secrets_manager),
                True,
            ),
            (
                rf"/v1/external-secrets-managers/{seg}",
                self._r_detail(
                    "external_secrets_managers", self.secrets_manager, "ExternalSecretsManager"
                ),
                False,
            ),
            (rf"/v1/external-secrets-managers/{seg}/entities", self._r_esm_entities, False),
            (r"/v1/external-secrets-managers-entities", self._r_all_esm_entities, False),
        ]

    def _r_proxy_connections(self, pid: str, query: dict[str, list[str]]) -> list[Any]:
        p = self._idx("proxy_agents", pid, entity="ProxyAgent")
        cids = self._collection_ids("connections")
        return [{"connection_id": cids[i]} for i in self.proxy_connections(p)]

    def _r_hdas(self, query: dict[str, list[str]]) -> list[Any]:
        items = [self.hybrid_agent(i) for i in range(self.counts["hybrid_deployment_agents"])]
        if query.get("groupId"):
            items = [a for a in items if a.get("group_id") == query["groupId"][-1]]
        return items

    def _r_account_log(self, query: dict[str, list[str]]) -> Any:
        if not self.counts["log_services"]:
            raise ApiError(404, "NotFound", "No account-level log service")
        return self.log_service(0, detail=True)

    def _r_esm_entities(self, eid: str, query: dict[str, list[str]]) -> Any:
        e = self._idx("external_secrets_managers", eid, entity="ExternalSecretsManager")
        items = self.esm_entities(e)
        if query.get("type"):
            items = [x for x in items if x["type"] == query["type"][-1]]
        return {"items": items}

    def _r_all_esm_entities(self, query: dict[str, list[str]]) -> Any:
        items = [
            x for e in range(self.counts["external_secrets_managers"]) for x in self.esm_entities(e)
        ]
        if query.get("esm_id"):
            items = [x for x in items if x["secret_manager_id"] == query["esm_id"][-1]]
        if query.get("type"):
            items = [x for x in items if x["type"] == query["type"][-1]]
        return {"items": items}
