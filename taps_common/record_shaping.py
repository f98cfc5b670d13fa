"""What happens to a record between the API and stdout: parent keys added from the context,
fields the schema does not declare kept (and reported once), empty timestamps made null,
secrets redacted.

Runs on the SDK's thread (``post_process``) and, for context keys, wherever pages are walked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from taps_common.redaction import redact_tree, redact_value


def with_context_keys(
    record: dict[str, Any], context: Mapping[str, Any] | None, declared: frozenset[str]
) -> dict[str, Any]:
    """Parent keys (and ``workspaceId``) from the context, where the schema declares them."""
    for key, value in (context or {}).items():
        if key in declared and key not in record:
            record[key] = value
    return record


def keep_unknown_fields(
    row: dict[str, Any],
    declared: frozenset[str],
    extra_column: str | None,
    warn_once: Callable[[str], None],
) -> None:
    """Fields the API sent but the schema lacks: say so once, never drop them; with an
    ``extra_column`` they move into that free-form object (targets that create only declared
    columns keep them too)."""
    if declared.issuperset(row):
        return
    unknown = [k for k in row if k not in declared]
    warn_once(
        "the API sent fields the schema does not declare: "
        + ", ".join(sorted(map(str, unknown)))
        + (f" (kept in '{extra_column}')" if extra_column else "")
    )
    if extra_column:
        extra = row.setdefault(extra_column, {})
        for key in unknown:
            extra[key] = row.pop(key)


def empty_times_as_null(row: dict[str, Any], fields: Iterable[str]) -> None:
    """An API that sends ``""`` for a timestamp means "none": a date-time column (and the
    schema) takes null, not an empty string (target-postgres refuses it)."""
    for name in fields:
        if row.get(name) == "":
            row[name] = None


def redact(
    row: dict[str, Any],
    secret_values: Iterable[str],
    secret_trees: Iterable[str],
    extra_secret_keys: Iterable[str],
) -> dict[str, Any]:
    """Whole-value secrets replaced; free-form objects redacted by key name."""
    for name in secret_values:
        if name in row:
            row[name] = redact_value(row[name])
    for name in secret_trees:
        if isinstance(row.get(name), (dict, list)):
            row[name] = redact_tree(row[name], extra_secret_keys)
    return row
