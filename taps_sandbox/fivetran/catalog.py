"""What connectors there are: the connector-type catalog and Connector SDK packages."""

from __future__ import annotations

import hashlib
from typing import Any

from taps_sandbox.fivetran.connections import ConnectionsArea
from taps_sandbox.fivetran.core import RouteSpec


class CatalogArea(ConnectionsArea):
    """``/public/connector-types``, ``/v1/metadata/connector-types``, Connector SDK packages."""

    def sdk_package(self, i: int) -> dict[str, Any]:
        """ConnectorSdkPackageResponse pointing at a connector_sdk connection."""
        sdk = self.function_connections() or self._collection_ids("connections")
        digest = hashlib.sha256(f"pkg{i}".encode()).hexdigest()
        return self._simple(
            "connector_sdk_packages",
            "ConnectorSdkPackageResponse",
            i,
            connection_id=sdk[i % len(sdk)] if sdk else "",
            file_sha256_hash=digest,
        )

    def connector_type(self, i: int, detail: bool = False) -> dict[str, Any]:
        """MetadataResponseShort (or MetadataResponse) for a service."""
        service = self._collection_ids("connector_types")[i]
        model = "MetadataResponse" if detail else "MetadataResponseShort"

        def make() -> dict[str, Any]:
            value = self._model(model, "connector_types", i)
            value.update(
                id=service,
                name=service.replace("_", " ").title(),
                link_to_docs=f"https://fivetran.com/docs/connectors/{service}",
            )
            return value

        return self._cached(("connector_type", model, i), make)

    # --- routes --------------------------------------------------------------------------------

    def _route_table(self) -> list[RouteSpec]:
        """The catalog's routes."""
        seg = r"([^/]+)"
        return [
            *super()._route_table(),
            (r"/public/connector-types", self._r_connector_types, True),
            (
                r"/v1/connector-sdk/packages",
                self._r_list("connector_sdk_packages", self.sdk_package),
                True,
            ),
            (
                rf"/v1/connector-sdk/packages/{seg}",
                self._r_detail("connector_sdk_packages", self.sdk_package, "Package"),
                False,
            ),
            (r"/v1/metadata/connector-types", self._r_connector_types, True),
            (rf"/v1/metadata/connector-types/{seg}", self._r_connector_type, False),
        ]

    def _r_connector_types(self, query: dict[str, list[str]]) -> list[Any]:
        return [self.connector_type(i) for i in range(self.counts["connector_types"])]

    def _r_connector_type(self, service: str, query: dict[str, list[str]]) -> Any:
        return self.connector_type(
            self._idx("connector_types", service, entity="Service"), detail=True
        )
