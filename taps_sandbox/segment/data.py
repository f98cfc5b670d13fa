"""What a Segment workspace is generated from: sizes, the spec's models and the filler that
fills them, timestamps, and the fixed choices (audit actors, scoped user, regulations)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from taps_sandbox.base import SENTINEL

SPEC_NAME = "segment-public-api.v73.2.0.derived.json"
FUNCTION_TYPES = (
    "DESTINATION",
    "INSERT_DESTINATION",
    "INSERT_SOURCE",
    "INSERT_TRANSFORMATION",
    "SOURCE",
)
SMALL = {
    "sources": 7,
    "destinations": 9,
    "warehouses": 2,  # warehouse_syncs allows 2 requests a minute: keep test runs fast
    "tracking_plans": 4,
    "transformations": 2,
    "functions": 2,  # per resource type
    "users": 9,
    "user_groups": 4,
    "roles": 5,
    "invites": 4,
    "labels": 3,
    "audit_events": 40,
    "regulations": 3,
    "suppressions": 2,
    "credentials": 2,
    "spaces": 2,
    "reverse_etl_models": 2,
    "catalog": 5,
}
LARGE = {
    **{k: v * 5 for k, v in SMALL.items()},
    "sources": 500,
    "destinations": 2000,
    "users": 300,
    "user_groups": 50,
    "tracking_plans": 100,
    "audit_events": 100_000,
}
AUDIT_SPAN = dt.timedelta(days=60)
AUDIT_NEWEST_AGE = dt.timedelta(minutes=10)  # room for add_audit_events before "now"
# Every fifth audit event is by one of the first AUDIT_ACTORS users (actor: the user id,
# actorEmail: the user's email), so the access marts can tell their latest activity; the
# other users act in no event (their activity is unknown).
AUDIT_ACTORS = 3
# One user of workspace 1 holds roles as real workspaces scope them: Source Admin on one of
# the workspace's sources, Source Read-only on the sources labelled environment:prod, and
# minimal access to the workspace (the other users' permissions are generated from the spec).
SOURCE_SCOPED_USER = 3
SCOPED_SOURCE = 1
# Deletion and suppression requests by index, cycling: (status, regulationType, subjectType,
# days before today it was made, days it took or None while it runs). The API lists requests
# of the last 90 days only; request 0 is the oldest, request 1 runs past GDPR's month.
REGULATIONS: tuple[tuple[str, str, str, int, int | None], ...] = (
    ("FINISHED", "SUPPRESS_WITH_DELETE", "USER_ID", 88, 6),
    ("RUNNING", "DELETE_ONLY", "USER_ID", 41, None),
    ("INITIALIZED", "DELETE_INTERNAL", "OBJECT_ID", 2, None),
    ("FAILED", "DELETE_ONLY", "USER_ID", 20, 1),
    ("PARTIAL_SUCCESS", "SUPPRESS_WITH_DELETE_INTERNAL", "USER_ID", 55, 9),
    ("FINISHED", "SUPPRESS_ONLY", "USER_ID", 12, 0),
    ("RUNNING", "DELETE_ONLY", "USER_ID", 8, None),
    ("INVALID", "UNSUPPRESS", "USER_ID", 70, 0),
    ("NOT_SUPPORTED", "DELETE_ONLY", "OBJECT_ID", 33, 0),
)


class ApiError(Exception):
    """An error answer in Segment's envelope."""

    def __init__(self, status: int, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.field = status, kind, message, field


@cache
def load_spec() -> dict[str, Any]:
    """The derived Segment spec (models and GET operations), parsed once per process."""
    here = Path(__file__).resolve()
    for folder in (here.parents[1] / "specs", here.parents[2] / "specs"):
        if (folder / SPEC_NAME).is_file():
            return json.loads((folder / SPEC_NAME).read_text())
    raise FileNotFoundError(f"{SPEC_NAME} not found next to the sandbox or in the repo's specs/")


def iso(moment: dt.datetime) -> str:
    """Segment's timestamp style."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str, name: str) -> dt.datetime:
    """ISO-8601 (date or date-time); 422 otherwise."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, "ValidationFailure", f'"{name}" must be ISO-8601', name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class Filler:
    """Fills a model with plausible values: every field, deterministic per (model, seed).

    Each model's fields are compiled once into value makers: the audit trail alone asks for
    100,000 events, and the emulator's cost should not weigh on what the benchmark measures.
    """

    def __init__(self, models: dict[str, Any]) -> None:
        self.models = models
        self._makers: dict[str, list[tuple[str, Callable[[int, int], Any]]]] = {}

    def model(self, name: str, seed: int, depth: int = 0) -> Any:
        """A filled instance of model ``name``."""
        spec = self.models[name]
        kind = spec.get("kind")
        if kind == "enum":
            return spec["values"][seed % len(spec["values"])]
        if kind == "anyOf":
            return self.model(spec["schemas"][0], seed, depth)
        makers = self._makers.get(name)
        if makers is None:
            makers = [
                (p["name"], self._maker(p["name"], p["type"])) for p in spec.get("properties", [])
            ]
            self._makers[name] = makers
        return {field: make(seed, depth) for field, make in makers}

    def _maker(self, field: str, kind: str) -> Callable[[int, int], Any]:
        if kind == "string":
            string = string_maker(field)
            return lambda seed, depth: string(seed)
        return lambda seed, depth: self.value(field, kind, seed, depth + 1)

    def value(self, field: str, kind: str, seed: int, depth: int) -> Any:
        """A value of a derived-spec type such as ``array<LabelV1>`` or ``string``."""
        if kind.startswith("array<"):
            inner = kind[6:-1]
            if depth > 5:
                return []
            return [self.value(field, inner, seed + k, depth) for k in range(1 + seed % 2)]
        if kind.startswith("map<"):
            return {f"{field}_key": self.value(field, kind[4:-1], seed, depth)}
        if kind in self.models:
            return self.model(kind, seed, depth) if depth <= 6 else {}
        if kind == "string":
            return string_maker(field)(seed)
        if kind in ("number", "integer"):
            return seed % 97 + 1
        if kind == "boolean":
            return seed % 2 == 0
        if kind == "object":
            if field.lower().endswith("settings"):
                return secret_settings(seed)
            return {"key": f"{field}-{seed}", "nested": {"flag": True}}
        return {"any": f"{field}-{seed}"}


# Every field the schemas declare date-time gets an ISO-8601 value (or null for these two).
POINTS_IN_TIME = ("timestamp", "start", "end", "time", "period", "nextexecution")
UNTIL_DONE = ("deprecatedat", "finishedat")


@cache
def string_maker(field: str) -> Callable[[int], str | None]:
    """How a string field's value follows from the seed, decided once per field name."""
    lowered = field.lower()
    if lowered in UNTIL_DONE:  # null while the rule is live or the request is running
        return lambda seed: None if seed % 3 == 0 else _hour_stamp(seed)
    if lowered.endswith("at") or lowered in POINTS_IN_TIME:
        return _hour_stamp
    if "email" in lowered:
        return lambda seed: f"person{seed}@example.com"
    if lowered == "id":
        return lambda seed: f"id{seed}"
    prefix = f"{field}-"
    return lambda seed: prefix + str(seed)


@cache
def _hour_of_2026(hour: int) -> str:
    return iso(dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=hour))


def _hour_stamp(seed: int) -> str:
    return _hour_of_2026((seed * 7) % 20000)


def secret_settings(seed: int) -> dict[str, Any]:
    """A free-form settings object: some plain keys, some secret-named ones (sentinels)."""
    return {
        "region": "us-west-2",
        "host": f"db{seed}.example.com",
        "port": 5432,
        "enabled": True,
        "apiKey": f"{SENTINEL}-api-{seed}",
        "token": f"{SENTINEL}-token-{seed}",
        "connection": {"user": "loader", "password": f"{SENTINEL}-pw-{seed}"},
        "privateKey": f"{SENTINEL}-pk-{seed}",
        "clientSecret": f"{SENTINEL}-cs-{seed}",
        "credentials": {"json": f"{SENTINEL}-cred-{seed}"},
    }
