"""Fivetran config secrets: the tap's table of password fields is checked against the spec, and
the sandbox puts its sentinel in every such field, so a field the table lacks leaks visibly.

The tap redacts a config value by its field name (``tap_fivetran/secret_fields.py``) or by a
secret-looking name. Names such as ``username`` or ``hostname`` look harmless but are
``format: password`` in some connectors; only the table protects them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tap_fivetran.secret_fields import PASSWORD_FIELDS
from taps_common.redaction import REDACTED
from taps_sandbox.base import SENTINEL
from taps_sandbox.fivetran import CONNECTION_SERVICES, DESTINATION_SERVICES
from tests.conftest import fivetran_config
from tests.expected import fivetran_items
from tests.tap_runner import discover, run_tap, select

SPEC = Path(__file__).resolve().parents[1] / "specs" / "fivetran-rest-api.json"
# The discriminated models whose variants carry each service's config.
CONFIG_MODELS = {"connection": "ConnectorResponseV1", "destination": "DestinationExtendedResponse"}

Fields = dict[str, bool]  # config field name -> declared format: password


def _config_fields(spec: dict[str, Any]) -> dict[str, dict[str, Fields]]:
    """kind -> service -> the fields its config declares (at any depth), read from the spec."""
    schemas = spec["components"]["schemas"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in node and seen < 50:
            node, seen = schemas[node["$ref"].rsplit("/", 1)[-1]], seen + 1
        return node

    def walk(node: dict[str, Any], name: str, out: Fields, depth: int) -> None:
        node = resolve(node)
        if depth > 30:
            return
        if name:
            out[name] = out.get(name, False) or node.get("format") == "password"
        for part in ("allOf", "oneOf", "anyOf"):
            for sub in node.get(part, []):
                walk(sub, name, out, depth + 1)
        if isinstance(node.get("items"), dict):
            walk(node["items"], name, out, depth + 1)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            walk(extra, name, out, depth + 1)
        for prop, sub in (node.get("properties") or {}).items():
            walk(sub, prop, out, depth + 1)

    def config_of(variant: dict[str, Any]) -> Fields:
        out: Fields = {}
        stack = [resolve(variant)]
        while stack:
            node = stack.pop()
            stack += [resolve(p) for p in node.get("allOf", [])]
            config = (node.get("properties") or {}).get("config")
            if config is not None:
                walk(config, "", out, 0)
        return out

    return {
        kind: {
            service: config_of({"$ref": ref})
            for service, ref in schemas[model]["discriminator"]["mapping"].items()
        }
        for kind, model in CONFIG_MODELS.items()
    }


def spec_password_fields() -> tuple[set[str], dict[str, dict[str, Fields]]]:
    """Every config field the spec marks a password, and each service's config fields."""
    by_kind = _config_fields(json.loads(SPEC.read_text(encoding="utf-8")))
    names = {
        name
        for services in by_kind.values()
        for fields in services.values()
        for name, password in fields.items()
        if password
    }
    return names, by_kind


def covering_services(
    names: set[str], services: dict[str, Fields], start: tuple[str, ...]
) -> tuple[list[str], set[str]]:
    """``start`` plus services (greedy, in a stable order) until their configs hold ``names``;
    returns them and the names still uncovered."""
    chosen = list(start)
    left = set(names) - {n for s in start for n in services.get(s, {})}
    while left:
        best = max(sorted(services), key=lambda s: len(left & set(services[s])))
        if not left & set(services[best]):
            break
        chosen.append(best)
        left -= set(services[best])
    return chosen, left


def sentinel_fields(config: Any, names: set[str], found: set[str]) -> set[str]:
    """Names of ``names`` whose value (at any depth of ``config``) holds the sentinel."""
    if isinstance(config, dict):
        for key, value in config.items():
            if key in names and SENTINEL in json.dumps(value):
                found.add(key)
            sentinel_fields(value, names, found)
    elif isinstance(config, list):
        for value in config:
            sentinel_fields(value, names, found)
    return found


def test_every_password_field_of_the_spec_is_in_the_table() -> None:
    """A field the spec marks a password but the table lacks is redacted only if its name
    happens to look secret; ``username`` does not."""
    names, _ = spec_password_fields()
    assert len(names) > 100, "the spec walk found too few password fields to be right"
    assert sorted(names - PASSWORD_FIELDS) == []


def test_sandbox_serves_a_sentinel_in_every_password_field_and_none_leaves_the_tap(
    make_sandbox,
) -> None:
    """Connections and destinations of services that hold every password field, each field
    holding the sandbox's sentinel, through the tap: the sentinel must not come out."""
    names, by_kind = spec_password_fields()
    conn_services, left = covering_services(
        names, by_kind["connection"], tuple(CONNECTION_SERVICES)
    )
    dest_services, left = covering_services(
        left, by_kind["destination"], tuple(DESTINATION_SERVICES)
    )
    assert left == set(), f"no service's config holds {sorted(left)}"
    sb = make_sandbox(
        counts={"connections": len(conn_services), "groups": len(dest_services)},
        fivetran_connection_services=tuple(conn_services),
        fivetran_destination_services=tuple(dest_services),
    )
    api = sb.apis["fivetran"]
    served: set[str] = set()
    for path in ("/v1/connections", "/v1/destinations"):
        for item in fivetran_items(api, path):
            detail = api.get(f"{path}/{item['id']}")["data"]
            sentinel_fields(detail.get("config"), names, served)
    assert sorted(names - served) == [], "fields the sandbox serves without its sentinel"

    catalog = select(discover("tap-fivetran", fivetran_config(sb)), {"connections", "destinations"})
    run = run_tap("tap-fivetran", fivetran_config(sb, page_size=100), catalog=catalog)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(run.records["connections"]) == len(conn_services)
    assert len(run.records["destinations"]) == len(dest_services)
    leaked: set[str] = set()
    for stream in ("connections", "destinations"):
        for record in run.records[stream]:
            sentinel_fields(record.get("config"), names, leaked)
    assert sorted(leaked) == [], "password fields that left the tap unredacted"
    assert SENTINEL not in run.stdout + run.stderr
    assert REDACTED in run.stdout
