"""The fixed values the generated Fivetran account is made of: sizes, services, roles, words,
and the id and timestamp formats."""

from __future__ import annotations

import datetime as dt

ACCOUNT_ID = "acct_sandbox_1"
ANCHOR = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)  # generated history ends here (sync history: now)
SYNC_EVERY = dt.timedelta(hours=6)
SYNC_HISTORY_DAYS = 30
MAX_WINDOW = dt.timedelta(days=7)
FUNCTION_SERVICES = frozenset(
    {"connector_sdk", "aws_lambda", "azure_function", "google_cloud_function"}
)

# fmt: off
# Services the sandbox's connections and destinations use; every one has a spec variant.
CONNECTION_SERVICES = (
    "postgres", "salesforce", "google_sheets", "hubspot", "stripe", "mysql",
    "fivetran_log", "connector_sdk", "github", "zendesk", "s3", "google_ads",
)
DESTINATION_SERVICES = ("snowflake", "big_query", "redshift", "postgres_warehouse", "databricks")
ACCOUNT_ROLES = (
    "Account Administrator", "Account Billing", "Account Analyst", "Account Reviewer",
    "Destination Creator", "Account Security Administrator",
)
GROUP_ROLES = ("Destination Administrator", "Destination Reviewer", "Destination Analyst")
CONNECTION_ROLES = ("Connector Administrator", "Connector Reviewer")
LOG_SERVICES = ("cloudwatch", "datadog_log", "stackdriver", "splunkLog", "new_relic_log")
WEBHOOK_EVENTS = (
    "sync_start", "sync_end", "status", "dbt_run_succeeded", "transformation_run_failed",
)

ADJECTIVES = (
    "amber", "brisk", "calm", "dapper", "eager", "fancy", "gentle", "hasty", "icy", "jolly",
    "keen", "lucid", "mellow", "nimble", "opal", "proud", "quiet", "rapid", "sunny", "tidy",
    "upbeat", "vivid", "witty", "young", "zesty", "bold", "crisp", "deft", "early", "fair",
    "grand", "humble", "ideal", "jade", "kind", "lush", "mild", "noble", "open", "plush",
)
NOUNS = (
    "anchor", "badger", "cactus", "dolphin", "ember", "falcon", "glacier", "harbor", "island",
    "jigsaw", "kettle", "lantern", "meadow", "nectar", "orchid", "pebble", "quartz", "river",
    "saddle", "tundra", "umbrella", "violet", "walnut", "yonder", "zephyr", "beacon", "canyon",
    "delta", "echo", "fjord", "grove", "heron", "iris", "juniper", "kelp", "lagoon", "maple",
    "nomad", "otter", "prairie",
)
GIVEN = ("Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jon", "Kai")
FAMILY = ("Lovelace", "Okafor", "Nguyen", "Patel", "Rossi", "Schmidt", "Tanaka", "Walsh", "Zhou")

# Collections in id-allocation order (ids never repeat across collections).
COLLECTIONS = (
    "groups", "connections", "users", "teams", "webhooks", "system_keys", "transformations",
    "transformation_projects", "private_links", "proxy_agents", "hybrid_deployment_agents",
    "log_services", "external_secrets_managers", "connector_sdk_packages", "package_metadata",
    "roles", "connector_types",
)
SMALL = {
    "groups": 7, "connections": 12, "users": 9, "teams": 3, "webhooks": 3, "system_keys": 3,
    "transformations": 3, "transformation_projects": 2, "private_links": 2, "proxy_agents": 2,
    "hybrid_deployment_agents": 2, "log_services": 2, "external_secrets_managers": 2,
    "connector_sdk_packages": 2, "package_metadata": 2, "roles": 4, "connector_types": 4,
}
# fmt: on
SIZES: dict[str, dict[str, int]] = {
    "small": SMALL,
    "medium": {k: v * 10 for k, v in SMALL.items()},
    "large": {
        **{k: v * 5 for k, v in SMALL.items()},
        "groups": 50,
        "connections": 2000,
        "users": 300,
        "teams": 40,
    },
}


def iso(moment: dt.datetime) -> str:
    """ISO-8601 UTC with microseconds, as Fivetran writes timestamps."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: str) -> dt.datetime:
    """Parse an ISO-8601 timestamp (``Z`` or offset; naive means UTC)."""
    parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def word_id(k: int) -> str:
    """A Fivetran-looking id (``adjective_noun``) for global number ``k``; injective."""
    space = len(ADJECTIVES) * len(NOUNS)
    block, rest = divmod(k, space)
    rest = (rest * 997) % space  # scramble so neighbours do not look sequential
    base = f"{ADJECTIVES[rest % len(ADJECTIVES)]}_{NOUNS[rest // len(ADJECTIVES)]}"
    return base if block == 0 else f"{base}{block}"
