"""Fivetran REST API emulator (read side), data generated from the vendored OpenAPI spec.

Objects are generated from their index on demand (deterministic from ``options.seed``) and
cached, so a 2,000-connection account starts instantly and each object costs one schema walk.
Every field of each item model is filled, so the taps' schemas are exercised end to end.

One module an API area, each a subclass of ``core.FivetranCore`` adding its objects and routes:

- ``values``: sizes, services, roles, words, id and timestamp formats;
- ``spec``: the vendored OpenAPI document and the filler that makes objects from its models;
- ``core``: auth, Accept, cursors, pages, the error envelope, route dispatch, id helpers;
- ``account``: the account, users, teams, roles and memberships;
- ``connections``: connections, schema configs, certificates, state, sync history;
- ``groups``: groups and destinations (needs ``account`` and ``connections``);
- ``platform``: webhooks, system keys, private links, agents, logging, secrets managers;
- ``transformations``: transformations, projects, package metadata;
- ``catalog``: connector types and Connector SDK packages;
- ``api``: ``FivetranApi``, all of them together.
"""

from taps_sandbox.fivetran.api import FivetranApi
from taps_sandbox.fivetran.core import ApiError
from taps_sandbox.fivetran.spec import load_spec, password_field_names
from taps_sandbox.fivetran.values import (
    CONNECTION_SERVICES,
    DESTINATION_SERVICES,
    GROUP_ROLES,
    SIZES,
)

__all__ = [
    "CONNECTION_SERVICES",
    "DESTINATION_SERVICES",
    "GROUP_ROLES",
    "SIZES",
    "ApiError",
    "FivetranApi",
    "load_spec",
    "password_field_names",
]
