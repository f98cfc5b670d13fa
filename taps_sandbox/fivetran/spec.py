"""The vendored Fivetran OpenAPI document and the filler that makes objects from its models.

Every property of a model gets a plausible value of its type, from a random stream seeded per
object, so the taps' schemas are exercised end to end; config values whose names say secret
carry the sentinel.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taps_sandbox.base import SENTINEL
from taps_sandbox.fivetran.values import ADJECTIVES, ANCHOR, FAMILY, GIVEN, NOUNS, iso, word_id

SPEC_NAME = "fivetran-rest-api.json"
# The repo keeps specs/ next to the package; an installed copy may carry them inside it.
SPEC_DIRS = (
    Path(__file__).resolve().parent.parent / "specs",
    Path(__file__).resolve().parent.parent.parent / "specs",
)
SECRET_NAME = re.compile(r"password|secret|token|key|private|credential", re.IGNORECASE)

_SPEC: dict[str, Any] | None = None
_SPEC_LOCK = threading.Lock()


def load_spec() -> dict[str, Any]:
    """The vendored OpenAPI document, parsed once per process (3 MB)."""
    global _SPEC  # noqa: PLW0603
    with _SPEC_LOCK:
        if _SPEC is None:
            found = [d / SPEC_NAME for d in SPEC_DIRS if (d / SPEC_NAME).is_file()]
            if not found:
                raise FileNotFoundError(f"{SPEC_NAME} not found in {[str(d) for d in SPEC_DIRS]}")
            _SPEC = json.loads(found[0].read_text(encoding="utf-8"))
        return _SPEC


_PASSWORD_NAMES: frozenset[str] | None = None


def password_field_names() -> frozenset[str]:
    """Every property name the spec marks ``format: password`` anywhere, read here from the
    spec and not from the tap's table, so a name the table lacks shows up as a leak."""
    global _PASSWORD_NAMES  # noqa: PLW0603
    if _PASSWORD_NAMES is None:
        found: set[str] = set()
        stack: list[tuple[Any, str]] = [(load_spec(), "")]
        while stack:
            node, name = stack.pop()
            if isinstance(node, list):
                stack.extend((item, name) for item in node)
            elif isinstance(node, dict):
                if node.get("format") == "password" and name:
                    found.add(name)
                for key, sub in node.items():
                    if key == "properties" and isinstance(sub, dict):
                        stack.extend((v, k) for k, v in sub.items())
                    else:
                        stack.append(
                            (sub, name if key in ("items", "allOf", "oneOf", "anyOf") else "")
                        )
        _PASSWORD_NAMES = frozenset(found)
    return _PASSWORD_NAMES


def sentinel_password_fields(value: Any, label: str, names: frozenset[str]) -> Any:
    """``value`` with a sentinel in every config field named like a spec password field.

    The tap redacts by field name across services, and Fivetran reuses names (``username`` is
    a password in some connectors, plain in others): a secret in any field of that name must
    never leave the tap. Applied after the fill, so the random stream stays as it was.
    """

    def secret(sub: Any, where: str) -> Any:
        if isinstance(sub, dict):
            return {k: secret(v, f"{where}-{k}") for k, v in sub.items()}
        if isinstance(sub, list):
            return [secret(v, f"{where}-{n}") for n, v in enumerate(sub)]
        if sub is None or isinstance(sub, bool) or (isinstance(sub, str) and SENTINEL in sub):
            return sub
        return f"{SENTINEL}-{where}"

    def walk(node: Any, where: str) -> Any:
        if isinstance(node, dict):
            return {
                k: secret(v, f"{where}-{k}") if k in names else walk(v, f"{where}-{k}")
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(v, f"{where}-{n}") for n, v in enumerate(node)]
        return node

    return walk(value, label)


class SchemaFiller:
    """Walks OpenAPI schemas and fills every property with a plausible value of its type."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.schemas: dict[str, Any] = spec["components"]["schemas"]

    def model(
        self, name: str, rng: random.Random, secrets: SecretCounter, variant: str = ""
    ) -> Any:
        """Fill model ``name``; for a discriminated model, the variant for ``variant``."""
        schema = self.schemas[name]
        mapping = schema.get("discriminator", {}).get("mapping", {})
        if variant and variant in mapping:
            schema = self.ref(mapping[variant])
        value = _Walk(self, rng, secrets).fill(schema, _Ctx())
        prop = schema.get("discriminator", {}).get("propertyName")
        if prop and variant and isinstance(value, dict):
            value[prop] = variant
        return value

    def ref(self, ref: str) -> dict[str, Any]:
        """Resolve a local ``#/components/schemas/X`` reference."""
        return self.schemas[ref.rsplit("/", 1)[-1]]


@dataclass(frozen=True)
class _Ctx:
    """Where the walk is: property name, depth, inside ``config``, under a secret-named key."""

    name: str = ""
    depth: int = 0
    in_config: bool = False
    secret: bool = False

    def child(self, key: str) -> _Ctx:
        in_config = self.in_config or key == "config"
        secret = self.secret or (self.in_config and bool(SECRET_NAME.search(key)))
        return _Ctx(key, self.depth + 1, in_config, secret)


class _Walk:
    """One object's fill: its random stream and its secret numbering."""

    def __init__(self, filler: SchemaFiller, rng: random.Random, secrets: SecretCounter) -> None:
        self.filler, self.rng, self.secrets = filler, rng, secrets

    def fill(self, schema: dict[str, Any], ctx: _Ctx) -> Any:
        """One value for ``schema``; ``ctx.name`` (the property name) drives plausible strings."""
        rng = self.rng
        if "$ref" in schema:
            schema = self.filler.ref(schema["$ref"])
        if "allOf" in schema:
            merged: Any = None
            for part in schema["allOf"]:
                merged = deep_merge(merged, self.fill(part, ctx))
            own = {k: v for k, v in schema.items() if k not in ("allOf", "discriminator")}
            if own.get("properties"):
                merged = deep_merge(merged, self.fill(own, ctx))
            return merged
        kind = schema.get("type")
        if "enum" in schema:
            if kind == "array":  # the spec puts some item enums on the array itself
                return [coerce(rng.choice(schema["enum"]), None)]
            return coerce(rng.choice(schema["enum"]), kind)
        if kind == "object" or "properties" in schema:
            return self.fill_object(schema, ctx)
        if kind == "array":
            example = schema.get("example")
            secret = ctx.in_config and (ctx.secret or SECRET_NAME.search(ctx.name))
            if (
                isinstance(example, list)
                and example
                and not secret
                and all(isinstance(x, str) for x in example)
            ):
                return list(example)
            items = schema.get("items", {"type": "string"})
            inner = _Ctx(ctx.name, ctx.depth + 1, ctx.in_config, ctx.secret)
            return [self.fill(items, inner) for _ in range(rng.randint(1, 2))]
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "integer":
            return plausible_int(ctx.name, schema.get("example"), rng)
        if kind == "number":
            return round(rng.uniform(0, 100), 2)
        return self.fill_string(schema, ctx)

    def fill_object(self, schema: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
        """Every declared property; maps get one or two entries; free-form gets a small dict."""
        if ctx.depth > 8:
            return {}
        props = schema.get("properties")
        if props:
            return {key: self.fill(sub, ctx.child(key)) for key, sub in props.items()}
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return {
                f"entry_{n}": self.fill(extra, ctx.child("entry"))
                for n in range(1, self.rng.randint(1, 2) + 1)
            }
        if ctx.secret:
            return {"value": self.secrets.next()}
        return {"attribute": f"value_{self.rng.randint(1, 99)}", "enabled": self.rng.random() < 0.5}

    def fill_string(self, schema: dict[str, Any], ctx: _Ctx) -> str:
        """A string that looks like what the field holds."""
        rng = self.rng
        fmt = schema.get("format")
        lname = ctx.name.lower()
        if fmt == "password" or ctx.secret or (ctx.in_config and SECRET_NAME.search(lname)):
            return self.secrets.next()
        if fmt == "date-time" or lname.endswith(("_at", "_date")):
            return iso(
                ANCHOR
                - dt.timedelta(
                    seconds=rng.randint(0, 365 * 86400), microseconds=rng.randint(0, 999_999)
                )
            )
        if fmt == "byte":
            return base64.b64encode(rng.randbytes(12)).decode()
        if "email" in lname:
            return f"{rng.choice(GIVEN).lower()}.{rng.choice(FAMILY).lower()}@example.com"
        if "url" in lname or "link" in lname or lname in ("picture", "endpoint", "uri"):
            return f"https://{rng.choice(NOUNS)}.example.com/{rng.choice(ADJECTIVES)}"
        if "host" in lname:
            return f"{rng.choice(NOUNS)}-{rng.randint(1, 9)}.example.internal"
        if lname == "id" or lname.endswith("_id"):
            return word_id(rng.randint(50_000, 90_000))
        example = schema.get("example")
        if isinstance(example, str) and example and example.lower() not in ("string", "..."):
            return example
        if isinstance(example, (int, float)) and not isinstance(example, bool):
            return str(example)
        return f"{lname or 'value'}_{rng.choice(NOUNS)}"


class SecretCounter:
    """Hands out ``SENTINEL-<n>`` values, numbered per object so they stay deterministic."""

    def __init__(self, base: int) -> None:
        self.base = base
        self.n = 0

    def next(self) -> str:
        """The next secret value for this object."""
        self.n += 1
        return f"{SENTINEL}-{self.base + self.n}"


def deep_merge(left: Any, right: Any) -> Any:
    """Merge allOf parts: dicts recursively, otherwise the right side wins."""
    if isinstance(left, dict) and isinstance(right, dict):
        out = dict(left)
        for key, value in right.items():
            out[key] = deep_merge(out.get(key), value) if key in out else value
        return out
    return right if right is not None else left


def coerce(value: Any, kind: str | None) -> Any:
    """Enum values in the spec are sometimes strings for integer fields; honour the type."""
    if kind == "integer":
        try:
            return int(value)
        except (TypeError, ValueError):
            return 0
    if kind == "boolean":
        return bool(value)
    return value


def plausible_int(name: str, example: Any, rng: random.Random) -> int:
    """Ports look like ports; other integers stay small and positive."""
    if "port" in name.lower():
        return rng.choice((443, 5432, 3306, 1433, 22))
    if isinstance(example, int) and not isinstance(example, bool) and example > 0:
        return example
    return rng.randint(1, 500)
