"""Secret redaction: secret values are replaced by a fixed marker before a record leaves the tap.

The marker keeps the field (and list length) so evidence still shows *that* a secret is set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "**REDACTED**"

# Words that mark a settings/config key as secret, matched on the key's words
# (snake_case, camelCase, kebab-case and dotted names are split into words).
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "pass",
        "secret",
        "secrets",
        "token",
        "tokens",
        "key",
        "keys",
        "apikey",
        "writekey",
        "credential",
        "credentials",
        "private",
        "privatekey",
        "cookie",
        "session",
        "signature",
        "sas",
        "salt",
        "otp",
        "pin",
    }
)
SECRET_PHRASES = ("connection_string", "connectionstring", "client_secret", "auth_header")
_WORD_SPLIT = re.compile(r"[^a-zA-Z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def is_secret_key(name: str) -> bool:
    """Whether a settings/config key names a secret (key, token, secret, password, ...)."""
    words = {w.lower() for w in _WORD_SPLIT.split(name) if w}
    if words & SECRET_WORDS:
        return True
    lowered = name.lower()
    return any(phrase in lowered for phrase in SECRET_PHRASES)


def redact_value(value: Any) -> Any:
    """Replace a secret value with the marker, keeping shape for lists and objects."""
    if value is None or value == "":
        return value
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    return REDACTED


def redact_tree(value: Any, extra_keys: Iterable[str] = ()) -> Any:
    """Redact, at any depth, values whose key is secret-like or listed in ``extra_keys``."""
    extra = frozenset(extra_keys)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: redact_value(v) if (k in extra or is_secret_key(str(k))) else walk(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(value)
