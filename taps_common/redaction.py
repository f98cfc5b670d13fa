"""Secret redaction: secret values are replaced by a fixed marker before a record leaves the tap.

The marker keeps the field (and list length) so evidence still shows *that* a secret is set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "**REDACTED**"

# Key names that hold secrets in free-form settings/config objects.
SECRET_KEY_PATTERN = re.compile(
    r"(pass(word|phrase)?|pwd|secret|token|api_?key|apikey|private|credential|"
    r"(^|_|[a-z])key$|keys$|^key|signing|connection_?string|sas_?(url|token)|"
    r"client_?secret|auth(entication|orization)?_?(code|header|value)|cookie|session)",
    re.IGNORECASE,
)


def is_secret_key(name: str) -> bool:
    """Whether a settings/config key names a secret (key, token, secret, password, ...)."""
    return bool(SECRET_KEY_PATTERN.search(name))


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
