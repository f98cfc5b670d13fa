"""Groups and their destinations (a destination's id is its group's)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from taps_sandbox.fivetran.account import AccountArea, _filter_active
from taps_sandbox.fivetran.connections import ConnectionsArea, _find_cert
from taps_sandbox.fivetran.core import RouteSpec
from taps_sandbox.fivetran.spec import password_field_names, sentinel_password_fields
from taps_sandbox.fivetran.values import DESTINATION_SERVICES, NOUNS, iso


class GroupsArea(AccountArea, ConnectionsArea):
    """``/v1/groups`` (with their connections and users) and ``/v1/destinations``."""

    def group(self, i: int) -> dict[str, Any]:
        """GroupResponse for group ``i``."""

        def make() -> dict[str, Any]:
            ids = self._collection_ids("groups")
            rng = self._rng("groups", i)
            return {
                "id": ids[i],
                "name": f"{rng.choice(NOUNS).capitalize()} Warehouse {i + 1}",
                "created_at": iso(self._created("groups", i)),
            }

        return self._cached(("group", i), make)

    def destination(self, i: int) -> dict[str, Any]:
        """DestinationExtendedResponse for group ``i`` (destination id == group id)."""

        def make() -> dict[str, Any]:
            gid = self._collection_ids("groups")[i]
            services = self.options.fivetran_destination_services or DESTINATION_SERVICES
            service = services[i % len(services)]
            value = self._model("DestinationExtendedResponse", "groups", i, service)
            value.update(id=gid, group_id=gid, service=service)
            if "config" in value:
                value["config"] = sentinel_password_fields(
                    value["config"], f"destination-{i}", password_field_names()
                )
            value["setup_status"] = ("CONNECTED", "CONNECTED", "INCOMPLETE", "BROKEN")[i % 4]
            value["setup_tests"] = self._setup_tests("destination", i)
            return value

        return self._cached(("destination", i), make)

    def destination_item(self, i: int) -> dict[str, Any]:
        """DestinationResponse (list item): the detail minus config and setup_tests."""
        keys = self._filler.schemas["DestinationResponse"]["properties"]
        detail = self.destination(i)
        return {k: detail[k] for k in keys if k in detail}

    # --- routes --------------------------------------------------------------------------------

    def _route_table(self) -> list[RouteSpec]:
        """The groups' and destinations' routes."""
        seg = r"([^/]+)"
        return [
            *super()._route_table(),
            (r"/v1/groups", self._r_list("groups", self.group), True),
            (rf"/v1/groups/{seg}", self._r_detail("groups", self.group, "Group"), False),
            (rf"/v1/groups/{seg}/connections", self._r_group_connections, True),
            (rf"/v1/groups/{seg}/users", self._r_group_users, True),
            (rf"/v1/groups/{seg}/public-key", self._r_group_key, False),
            (rf"/v1/groups/{seg}/service-account", self._r_group_sa, False),
            (r"/v1/destinations", self._r_list("groups", self.destination_item), True),
            (
                rf"/v1/destinations/{seg}",
                self._r_detail("groups", self.destination, "Destination"),
                False,
            ),
            (rf"/v1/destinations/{seg}/(certificates|fingerprints)", self._r_dest_certs, True),
            (
                rf"/v1/destinations/{seg}/(certificates|fingerprints)/{seg}",
                self._r_dest_cert,
                False,
            ),
        ]

    def _r_group_connections(self, gid: str, query: dict[str, list[str]]) -> list[Any]:
        self._idx("groups", gid, entity="Group")
        return self._r_connections({**query, "group_id": [gid]})

    def _r_group_users(self, gid: str, query: dict[str, list[str]]) -> list[Any]:
        g = self._idx("groups", gid, entity="Group")
        users = [self.user(u) for u in range(self.counts["users"]) if g in self.user_groups(u)]
        return _filter_active(users, query)

    def _r_group_key(self, gid: str, query: dict[str, list[str]]) -> Any:
        g = self._idx("groups", gid, entity="Group")
        digest = hashlib.sha256(f"ssh{g}".encode()).digest()
        return {
            "public_key": "ssh-rsa AAAAB3NzaC1yc2E"
            + base64.b64encode(digest).decode()
            + f" fivetran user key {gid}"
        }

    def _r_group_sa(self, gid: str, query: dict[str, list[str]]) -> Any:
        self._idx("groups", gid, entity="Group")
        return {
            "service_account": f"g-{gid.replace('_', '-')}@fivetran-production"
            ".iam.gserviceaccount.com"
        }

    def _r_dest_certs(self, did: str, kind: str, query: dict[str, list[str]]) -> list[Any]:
        return self._certificates("groups", self._idx("groups", did, entity="Destination"), kind)

    def _r_dest_cert(self, did: str, kind: str, ident: str, query: dict[str, list[str]]) -> Any:
        return _find_cert(self._r_dest_certs(did, kind, query), ident, kind)
