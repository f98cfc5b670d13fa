"""World changes: the sandbox's accounts move on between runs, deterministically, on request.

Evidence over time needs a world that changes: a user joins, another leaves, a role changes, a
key is revoked, a connection is deleted, a table starts flowing. ``World(step)`` is an overlay
on the generated data of both APIs: step 0 is the generated world as it always was; step N
applies the changes of steps 1..N. The overlay hides objects (lists skip them, details and
children answer 404), patches fields of existing ones and adds new ones, without touching
how the rest is generated, so everything not named in ``CHANGES`` stays exactly as it was.

Set it with ``SandboxOptions(world_step=N)``, ``python -m taps_sandbox --world-step N``,
``Sandbox.set_world_step(N)`` or ``POST /_sandbox/world/N`` (``GET /_sandbox/world`` tells the
step and its changes). Only workspace 1 of Segment changes; workspace 2 is the control.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from taps_sandbox.base import SEGMENT_TOKEN

MAX_STEP = 1
# Objects the changes of step 1 touch, by generated index (or new id).
SEGMENT_REMOVED_USER = 4
SEGMENT_ROLE_CHANGED_USER = 2
SEGMENT_NEW_USER_ID = "user-1-new-1"
SEGMENT_NEW_USER_EMAIL = "new.owner@example.com"
SEGMENT_NEW_INVITE = "new.invitee@example.com"
SEGMENT_REVOKED_CREDENTIAL = 1
SEGMENT_UNLISTED_REGULATION = 0  # the oldest request: as if it aged out of the API's 90 days
FIVETRAN_REMOVED_USER = 5
FIVETRAN_ROLE_CHANGED_USER = 3
FIVETRAN_NEW_ROLE = "Account Administrator"
FIVETRAN_NEW_USER_ID = "new_user_joined"
FIVETRAN_NEW_INVITED_ID = "new_user_invited"
FIVETRAN_REVOKED_SYSTEM_KEY = 1
FIVETRAN_DELETED_CONNECTION = 2
FIVETRAN_TABLE_CONNECTION = 0  # the first of its disabled tables gets enabled
FIVETRAN_MEMBERSHIP_USER = 1  # a member of every group: its role on one of them changes
FIVETRAN_MEMBERSHIP_GROUP = 0

# What step 1 does, in words (GET /_sandbox/world, the demo's header).
CHANGES: dict[int, tuple[str, ...]] = {
    1: (
        f"segment: user {SEGMENT_NEW_USER_EMAIL} added as Workspace Owner",
        f"segment: user users-1-{SEGMENT_REMOVED_USER} removed",
        f"segment: user users-1-{SEGMENT_ROLE_CHANGED_USER}'s first permission gets role 0",
        f"segment: {SEGMENT_NEW_INVITE} invited",
        f"segment: credential credentials-1-{SEGMENT_REVOKED_CREDENTIAL} revoked",
        f"segment: deletion request regulations-1-{SEGMENT_UNLISTED_REGULATION} no longer "
        "listed (the API lists 90 days)",
        "fivetran: user new_user_joined added (Account Reviewer), new_user_invited invited",
        f"fivetran: user #{FIVETRAN_REMOVED_USER} removed",
        f"fivetran: user #{FIVETRAN_ROLE_CHANGED_USER}'s role becomes {FIVETRAN_NEW_ROLE}",
        f"fivetran: system key #{FIVETRAN_REVOKED_SYSTEM_KEY} revoked",
        f"fivetran: connection #{FIVETRAN_DELETED_CONNECTION} deleted",
        f"fivetran: first disabled table of connection #{FIVETRAN_TABLE_CONNECTION} enabled",
        f"fivetran: user #{FIVETRAN_MEMBERSHIP_USER}'s role on group "
        f"#{FIVETRAN_MEMBERSHIP_GROUP} becomes the next destination role",
    ),
}

SegmentRoute = Callable[..., Any]
FivetranRoute = Callable[..., Any]


@dataclass(frozen=True)
class World:
    """The overlay for one step (0 = no change)."""

    step: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.step <= MAX_STEP:
            raise ValueError(f"world step must be 0..{MAX_STEP}, not {self.step}")

    def changes(self) -> list[str]:
        """The changes in force at this step, in words."""
        return [c for s in range(1, self.step + 1) for c in CHANGES.get(s, ())]

    # ----- Segment ------------------------------------------------------------------------

    def wrap_segment(self, api: Any, ws: Any, path: str, fn: SegmentRoute) -> SegmentRoute:
        """The route ``fn`` for ``path`` as this world serves it (``fn`` itself if untouched)."""
        if self.step < 1 or api.workspaces.get(SEGMENT_TOKEN) is not ws:
            return fn
        if path == "/users":
            return self._segment_list(api, "users", fn, lambda items: self._seg_users(ws, items))
        if re.fullmatch(r"/groups/[^/]+/users", path):
            removed = ws.oid("users", SEGMENT_REMOVED_USER)
            return self._segment_list(
                api, "users", fn, lambda items: [u for u in items if u.get("id") != removed]
            )
        if path == "/invites":
            return self._segment_list(
                api, "invites", fn, lambda items: [*items, SEGMENT_NEW_INVITE]
            )
        if path == "/regulations":
            unlisted = ws.oid("regulations", SEGMENT_UNLISTED_REGULATION)
            return self._segment_list(
                api, "regulations", fn, lambda items: [r for r in items if r.get("id") != unlisted]
            )
        if path == "/credentials":
            revoked = ws.oid("credentials", SEGMENT_REVOKED_CREDENTIAL)
            return self._segment_list(
                api, "credentials", fn, lambda items: [c for c in items if c.get("id") != revoked]
            )
        return fn

    @staticmethod
    def _segment_list(
        api: Any, key: str, fn: SegmentRoute, change: Callable[[list[Any]], list[Any]]
    ) -> SegmentRoute:
        """Read the whole original list (page by page), change it, page the result again."""

        def route(ws: Any, query: dict[str, list[str]], *groups: str) -> Any:
            items: list[Any] = []
            cursor: str | None = None
            # The client's own page size (valid for this endpoint, or the error it should get).
            base = {k: v for k, v in query.items() if "cursor" not in k.lower()}
            for _ in range(10_000):  # bounded: a list never has more pages than this
                page_query = dict(base, **({"pagination.cursor": [cursor]} if cursor else {}))
                page = fn(ws, page_query, *groups)
                items.extend(page[key])
                cursor = (page.get("pagination") or {}).get("next")
                if not cursor:
                    break
            changed = change(items)
            return api._list(key, query, len(changed), lambda k: changed[k])

        return route

    def _seg_users(self, ws: Any, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
        removed = ws.oid("users", SEGMENT_REMOVED_USER)
        changed_id = ws.oid("users", SEGMENT_ROLE_CHANGED_USER)
        role = ws.make("roles", "RoleV1", 0)
        out = []
        for user in users:
            if user.get("id") == removed:
                continue
            if user.get("id") == changed_id and user.get("permissions"):
                patched = copy.deepcopy(user)
                patched["permissions"][0].update(roleId=role["id"], roleName=role["name"])
                out.append(patched)
            else:
                out.append(user)
        out.append(
            {
                "id": SEGMENT_NEW_USER_ID,
                "name": "New Owner",
                "email": SEGMENT_NEW_USER_EMAIL,
                "permissions": [
                    {
                        "roleId": "workspace-owner",
                        "roleName": "Workspace Owner",
                        "resources": [{"id": ws.id, "type": "WORKSPACE", "labels": []}],
                        "labels": [],
                    }
                ],
                "workspaceId": ws.id,
            }
        )
        return out

    # ----- Fivetran -----------------------------------------------------------------------

    def wrap_fivetran(self, api: Any, path: str, fn: FivetranRoute) -> FivetranRoute:
        """The route ``fn`` for ``path`` as this world serves it (``fn`` itself if untouched)."""
        if self.step < 1:
            return fn
        # Imported here: the server loads each API module lazily (one may be missing).
        from taps_sandbox.fivetran import ApiError  # noqa: PLC0415

        users = api.expected_ids("users")
        removed_user = users[FIVETRAN_REMOVED_USER]
        conns = api.expected_ids("connections")
        deleted_conn = conns[FIVETRAN_DELETED_CONNECTION]
        revoked_key = api.expected_ids("system_keys")[FIVETRAN_REVOKED_SYSTEM_KEY]
        parts = path.strip("/").split("/")

        def gone(entity: str, ident: str) -> FivetranRoute:
            def route(*args: Any, query: dict[str, list[str]]) -> Any:
                raise ApiError(
                    404, f"NotFound_{entity}", f"Cannot find entity '{entity}' with id '{ident}'."
                )

            return route

        def filtered(keep: Callable[[dict[str, Any]], bool]) -> FivetranRoute:
            def route(*args: Any, query: dict[str, list[str]]) -> Any:
                return [item for item in fn(*args, query=query) if keep(item)]

            return route

        if parts[:2] == ["v1", "users"]:
            if len(parts) == 2:
                return self._ft_users(api, fn, removed_user)
            uid = parts[2]
            if uid == removed_user:
                return gone("User", uid)
            if uid in (FIVETRAN_NEW_USER_ID, FIVETRAN_NEW_INVITED_ID):
                if len(parts) == 3:
                    return lambda *a, query: self._ft_new_user(api, uid)
                if len(parts) == 4:
                    return lambda *a, query: []
                return gone("Membership", parts[-1])
            if len(parts) == 3 and uid == users[FIVETRAN_ROLE_CHANGED_USER]:
                return lambda *a, query: dict(fn(*a, query=query), role=FIVETRAN_NEW_ROLE)
            if uid == users[FIVETRAN_MEMBERSHIP_USER] and parts[3:4] == ["groups"]:
                return self._ft_group_role(api, fn, listing=len(parts) == 4)
            if len(parts) == 4 and parts[3] == "connections":
                return filtered(lambda m: m.get("id") != deleted_conn)
            if len(parts) == 5 and parts[3] == "connections" and parts[4] == deleted_conn:
                return gone("Membership", deleted_conn)
            return fn
        if parts[:2] == ["v1", "connections"]:
            if len(parts) == 2:
                return filtered(lambda c: c.get("id") != deleted_conn)
            if parts[2] == deleted_conn:
                return gone("Connector", deleted_conn)
            if parts[2:] == [conns[FIVETRAN_TABLE_CONNECTION], "schemas"]:
                return lambda *a, query: enable_first_table(fn(*a, query=query))
            return fn
        if parts[:2] == ["v1", "groups"] and len(parts) == 4:
            if parts[3] == "connections":
                return filtered(lambda c: c.get("id") != deleted_conn)
            if parts[3] == "users":
                return filtered(lambda u: u.get("id") != removed_user)
        if parts[:2] == ["v1", "teams"] and len(parts) >= 4:
            if parts[3] == "users":
                if len(parts) == 5 and parts[4] == removed_user:
                    return gone("TeamMembership", removed_user)
                return filtered(lambda m: m.get("user_id") != removed_user)
            if parts[3] == "connections":
                if len(parts) == 5 and parts[4] == deleted_conn:
                    return gone("Membership", deleted_conn)
                return filtered(lambda m: m.get("id") != deleted_conn)
        if parts[:2] == ["v1", "proxy"] and len(parts) == 4 and parts[3] == "connections":
            return filtered(lambda m: m.get("connection_id") != deleted_conn)
        if parts[:2] == ["v1", "system-keys"]:
            if len(parts) == 2:
                return filtered(lambda k: k.get("id") != revoked_key)
            if parts[2] == revoked_key:
                return gone("SystemKey", revoked_key)
        return fn

    def _ft_users(self, api: Any, fn: FivetranRoute, removed_user: str) -> FivetranRoute:
        changed = api.expected_ids("users")[FIVETRAN_ROLE_CHANGED_USER]

        def route(*args: Any, query: dict[str, list[str]]) -> Any:
            out = []
            for user in fn(*args, query={}):
                if user["id"] == removed_user:
                    continue
                out.append(dict(user, role=FIVETRAN_NEW_ROLE) if user["id"] == changed else user)
            out += [
                self._ft_new_user(api, u) for u in (FIVETRAN_NEW_USER_ID, FIVETRAN_NEW_INVITED_ID)
            ]
            if query.get("active"):
                want = query["active"][-1].lower() == "true"
                out = [u for u in out if u.get("active") == want]
            return out

        return route

    @staticmethod
    def _ft_group_role(api: Any, fn: FivetranRoute, *, listing: bool) -> FivetranRoute:
        """The user's membership of the group with its role moved to the next destination
        role, in the membership list and its detail alike: access changed on a resource that
        stays, with nobody added or removed."""
        from taps_sandbox.fivetran import GROUP_ROLES  # noqa: PLC0415 (loaded lazily)

        gid = api.expected_ids("groups")[FIVETRAN_MEMBERSHIP_GROUP]

        def patch(member: dict[str, Any]) -> dict[str, Any]:
            if member.get("id") != gid:
                return member
            role = member.get("role")
            now = GROUP_ROLES.index(role) if role in GROUP_ROLES else -1
            return dict(member, role=GROUP_ROLES[(now + 1) % len(GROUP_ROLES)])

        if listing:
            return lambda *a, query: [patch(m) for m in fn(*a, query=query)]
        return lambda *a, query: patch(fn(*a, query=query))

    @staticmethod
    def _ft_new_user(api: Any, uid: str) -> dict[str, Any]:
        """A user the world adds: the shape of a generated user, its own identity."""
        invited = uid == FIVETRAN_NEW_INVITED_ID
        base = copy.deepcopy(api.user(0))
        base.update(
            id=uid,
            email=f"{uid.replace('_', '.')}@example.com",
            given_name="New",
            family_name="Invitee" if invited else "Joiner",
            role="Account Reviewer",
            active=not invited,
            verified=not invited,
            invited=invited,
            created_at="2026-01-02T03:04:05.000000Z",
            logged_in_at=None,
        )
        return base


def enable_first_table(config: dict[str, Any]) -> dict[str, Any]:
    """Schema config with its first disabled table (schema order, then table order) enabled."""
    config = copy.deepcopy(config)
    for schema in config.get("schemas", {}).values():
        for table in schema.get("tables", {}).values():
            if table.get("enabled") is False:
                table["enabled"] = True
                return config
    return config


def first_disabled_table(config: dict[str, Any]) -> tuple[str, str] | None:
    """(schema, table) that ``enable_first_table`` would enable, for tests and the demo."""
    for sname, schema in config.get("schemas", {}).items():
        for tname, table in schema.get("tables", {}).items():
            if table.get("enabled") is False:
                return sname, tname
    return None
