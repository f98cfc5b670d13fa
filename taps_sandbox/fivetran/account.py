"""The account, its users and teams, their roles and memberships of groups and connections."""

from __future__ import annotations

import datetime as dt
from typing import Any

from taps_sandbox.fivetran.core import ApiError, FivetranCore, RouteSpec
from taps_sandbox.fivetran.values import (
    ACCOUNT_ID,
    ACCOUNT_ROLES,
    ANCHOR,
    CONNECTION_ROLES,
    FAMILY,
    GIVEN,
    GROUP_ROLES,
    NOUNS,
    iso,
)


class AccountArea(FivetranCore):
    """``/v1/account/info``, ``/v1/users``, ``/v1/teams`` (with memberships), ``/v1/roles``."""

    def account_info(self) -> dict[str, Any]:
        """AccountInfoResponse (both user_id and system_key_id filled, for schema coverage)."""
        users = self._collection_ids("users")
        keys = self._collection_ids("system_keys")
        return {
            "account_id": ACCOUNT_ID,
            "account_name": "Sandbox Account",
            "user_id": users[0] if users else "",
            "system_key_id": keys[0] if keys else "",
        }

    def user(self, i: int) -> dict[str, Any]:
        """UserResponse for user ``i``."""

        def make() -> dict[str, Any]:
            value = self._model("UserResponse", "users", i)
            given, family = GIVEN[i % len(GIVEN)], FAMILY[(i // len(GIVEN) + i) % len(FAMILY)]
            created = self._created("users", i)
            rng = self._rng("users", i, "fields")
            value.update(
                id=self._collection_ids("users")[i],
                email=f"{given.lower()}.{family.lower()}{i}@example.com",
                given_name=given,
                family_name=family,
                role=ACCOUNT_ROLES[i % len(ACCOUNT_ROLES)] if i else "Account Administrator",
                active=i % 8 != 7,
                verified=i % 5 != 4,
                invited=i % 5 == 4,
                picture=f"https://avatars.example.com/{i}.png",
                phone=f"+1 555 01{i % 100:02d}",
                created_at=iso(created),
                logged_in_at=iso(ANCHOR - dt.timedelta(hours=rng.randint(1, 24 * 30))),
            )
            return value

        return self._cached(("user", i), make)

    def _subset(self, coll: str, key: tuple[Any, ...], low: int, high: int) -> list[int]:
        n = self.counts[coll]
        rng = self._rng(*key)
        return sorted(rng.sample(range(n), min(n, rng.randint(low, high))))

    def user_groups(self, u: int) -> list[int]:
        """Groups user ``u`` belongs to; users 0 and 1 belong to every group (long lists)."""
        if u < 2:
            return list(range(self.counts["groups"]))
        return self._subset("groups", ("user_groups", u), 0, 2)

    def user_connections(self, u: int) -> list[int]:
        """Connections user ``u`` is a member of; users 0 and 1 have up to 25."""
        if u < 2:
            return list(range(min(25, self.counts["connections"])))
        return self._subset("connections", ("user_connections", u), 0, 3)

    def team_users(self, t: int) -> list[int]:
        """Users in team ``t`` (team 0 has at least five)."""
        return self._subset("users", ("team_users", t), 5 if t == 0 else 1, 6)

    def team_groups(self, t: int) -> list[int]:
        """Groups team ``t`` has a role in."""
        return self._subset("groups", ("team_groups", t), 4 if t == 0 else 1, 4)

    def team_connections(self, t: int) -> list[int]:
        """Connections team ``t`` has a role in."""
        return self._subset("connections", ("team_connections", t), 4 if t == 0 else 1, 5)

    def _membership(
        self, key: tuple[Any, ...], ident: str, roles: tuple[str, ...], id_key: str = "id"
    ) -> dict[str, Any]:
        rng = self._rng(*key)
        return {
            id_key: ident,
            "role": rng.choice(roles),
            "created_at": iso(
                ANCHOR
                - dt.timedelta(days=rng.randint(1, 300), microseconds=rng.randint(0, 999_999))
            ),
        }

    def team(self, i: int) -> dict[str, Any]:
        """TeamResponse for team ``i``."""

        def make() -> dict[str, Any]:
            rng = self._rng("teams", i)
            noun = rng.choice(NOUNS)
            return {
                "id": self._collection_ids("teams")[i],
                "name": f"Team {noun.capitalize()} {i + 1}",
                "description": f"Owns the {noun} pipelines",
                "role": rng.choice(ACCOUNT_ROLES[:4]),
            }

        return self._cached(("team", i), make)

    def role(self, i: int) -> dict[str, Any]:
        """RoleResponse: standard roles first, then custom ones."""
        name = self._collection_ids("roles")[i]
        custom = i >= len(ACCOUNT_ROLES)
        return {
            "name": name,
            "description": f"{name}: {'custom' if custom else 'standard'} permissions",
            "scope": ["ACCOUNT"] if not custom else ["DESTINATION", "CONNECTOR"],
            "is_custom": custom,
            "is_deprecated": name == "Account Billing",
            "replacement_role_name": "Account Reviewer" if name == "Account Billing" else "",
        }

    # --- routes --------------------------------------------------------------------------------

    def _route_table(self) -> list[RouteSpec]:
        """The account's, users', teams' and roles' routes."""
        seg = r"([^/]+)"
        return [
            *super()._route_table(),
            (r"/v1/account/info", lambda query: self.account_info(), False),
            (r"/v1/users", self._r_users, True),
            (rf"/v1/users/{seg}", self._r_detail("users", self.user, "User"), False),
            (rf"/v1/users/{seg}/groups", self._r_user_groups, True),
            (rf"/v1/users/{seg}/groups/{seg}", self._r_user_group, False),
            (rf"/v1/users/{seg}/connections", self._r_user_connections, True),
            (rf"/v1/users/{seg}/connections/{seg}", self._r_user_connection, False),
            (r"/v1/teams", self._r_list("teams", self.team), True),
            (rf"/v1/teams/{seg}", self._r_detail("teams", self.team, "Team"), False),
            (rf"/v1/teams/{seg}/users", self._r_team_users, True),
            (rf"/v1/teams/{seg}/users/{seg}", self._r_team_user, False),
            (rf"/v1/teams/{seg}/groups", self._r_team_groups, True),
            (rf"/v1/teams/{seg}/groups/{seg}", self._r_team_group, False),
            (rf"/v1/teams/{seg}/connections", self._r_team_connections, True),
            (rf"/v1/teams/{seg}/connections/{seg}", self._r_team_connection, False),
            (r"/v1/roles", self._r_list("roles", self.role), True),
        ]

    def _r_users(self, query: dict[str, list[str]]) -> list[Any]:
        return _filter_active([self.user(u) for u in range(self.counts["users"])], query)

    def _r_user_groups(self, uid: str, query: dict[str, list[str]]) -> list[Any]:
        u = self._idx("users", uid, entity="User")
        gids = self._collection_ids("groups")
        return [self._membership(("ug", u, g), gids[g], GROUP_ROLES) for g in self.user_groups(u)]

    def _r_user_group(self, uid: str, gid: str, query: dict[str, list[str]]) -> Any:
        return _find_member(self._r_user_groups(uid, query), "id", gid, "Membership")

    def _r_user_connections(self, uid: str, query: dict[str, list[str]]) -> list[Any]:
        u = self._idx("users", uid, entity="User")
        cids = self._collection_ids("connections")
        return [
            self._membership(("uc", u, c), cids[c], CONNECTION_ROLES)
            for c in self.user_connections(u)
        ]

    def _r_user_connection(self, uid: str, cid: str, query: dict[str, list[str]]) -> Any:
        return _find_member(self._r_user_connections(uid, query), "id", cid, "Membership")

    def _r_team_users(self, tid: str, query: dict[str, list[str]]) -> list[Any]:
        t = self._idx("teams", tid, entity="Team")
        uids = self._collection_ids("users")
        items = [
            self._membership(("tu", t, u), uids[u], ("Team Member", "Team Manager"), "user_id")
            for u in self.team_users(t)
        ]
        if query.get("active"):
            want = query["active"][-1].lower() == "true"
            items = [
                m
                for m, u in zip(items, self.team_users(t), strict=True)
                if self.user(u)["active"] == want
            ]
        return items

    def _r_team_user(self, tid: str, uid: str, query: dict[str, list[str]]) -> Any:
        return _find_member(self._r_team_users(tid, {}), "user_id", uid, "TeamMembership")

    def _r_team_groups(self, tid: str, query: dict[str, list[str]]) -> list[Any]:
        t = self._idx("teams", tid, entity="Team")
        gids = self._collection_ids("groups")
        return [self._membership(("tg", t, g), gids[g], GROUP_ROLES) for g in self.team_groups(t)]

    def _r_team_group(self, tid: str, gid: str, query: dict[str, list[str]]) -> Any:
        return _find_member(self._r_team_groups(tid, query), "id", gid, "Membership")

    def _r_team_connections(self, tid: str, query: dict[str, list[str]]) -> list[Any]:
        t = self._idx("teams", tid, entity="Team")
        cids = self._collection_ids("connections")
        return [
            self._membership(("tc", t, c), cids[c], CONNECTION_ROLES)
            for c in self.team_connections(t)
        ]

    def _r_team_connection(self, tid: str, cid: str, query: dict[str, list[str]]) -> Any:
        return _find_member(self._r_team_connections(tid, query), "id", cid, "Membership")


def _filter_active(users: list[dict[str, Any]], query: dict[str, list[str]]) -> list[Any]:
    """The ``active`` query filter of user lists."""
    if not query.get("active"):
        return users
    want = query["active"][-1].lower() == "true"
    return [u for u in users if u.get("active") == want]


def _find_member(items: list[dict[str, Any]], key: str, ident: str, entity: str) -> Any:
    """One membership of a list, 404 when the pair has none."""
    for item in items:
        if item[key] == ident:
            return item
    raise ApiError(404, f"NotFound_{entity}", f"Cannot find entity '{entity}' with id '{ident}'.")
