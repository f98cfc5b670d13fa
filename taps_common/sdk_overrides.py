"""The only places this project overrides private SDK hooks, because the SDK offers no public
one for what is needed. Each is marked ``@override`` (a type checker fails when the SDK renames
it) and tests/test_sdk_overrides.py fails when the SDK stops calling it or changes its
signature.

- ``PluginBase._validate_config``: settings errors as one line per setting, named, never
  echoing a value (the SDK prints JSON-schema paths and values, which may be credentials).
- ``Stream._write_activate_version_message``: the SDK sends ACTIVATE_VERSION before the first
  record, which marks every old row deleted even when the stream then fails or is gated; it
  is held back until the stream is known to be whole.

One public hook is overridden for the same purpose: ``Stream.finalize_state_progress_markers``,
which ``Tap.sync_all`` calls right after each top-level stream's ``sync`` (test_sdk_overrides
checks that it still does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft7Validator
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from taps_common.settings import SettingError, common_errors


class SettingsCheckedInOneLine(Tap):
    """Tap mixin: settings validated into one line per bad setting."""

    def tap_errors(self, config: Mapping[str, Any]) -> list[SettingError]:
        """Tap-specific setting errors (credentials, region, ...)."""
        return []

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        config = dict(self.config)
        errors = self.tap_errors(config) + common_errors(config)
        named = {e.setting for e in errors}
        schema = dict(self.config_jsonschema)
        self.append_builtin_config(schema)
        for err in Draft7Validator(schema).iter_errors(config):
            problem = describe_schema_error(err)
            if problem.setting not in named:  # the tap's own line says more
                named.add(problem.setting)
                errors.append(problem)
        if errors and raise_errors:
            lines = [f"{self.name}: {e}" for e in errors]
            raise ConfigValidationError(lines[0], errors=lines, schema=None)
        return [str(e) for e in errors]


def describe_schema_error(err: Any) -> SettingError:
    """One line naming the setting and what is wrong; never the value (it may be a secret)."""
    path = ""
    for part in err.absolute_path:  # written as the tap's own checks write it: workspaces[0].x
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    if err.validator == "required":
        present = err.instance if isinstance(err.instance, dict) else {}
        missing = next((n for n in err.validator_value if n not in present), "?")
        return SettingError(f"{path}.{missing}" if path else str(missing), "is missing")
    name = path or "?"
    limits = {
        "minimum": f"must be at least {err.validator_value}",
        "exclusiveMinimum": f"must be more than {err.validator_value}",
        "maximum": f"must be at most {err.validator_value}",
        "type": f"must be of type {err.validator_value}",
        "enum": f"must be one of {err.validator_value}",
        "format": f"must be a valid {err.validator_value}",
    }
    return SettingError(name, limits.get(err.validator, "is not valid"))


class ActivateVersionWhenWhole(Stream):
    """Stream mixin: ACTIVATE_VERSION held back until ``activate_version`` is called."""

    _pending_version: int | None = None

    @override
    def _write_activate_version_message(self, full_table_version: int) -> None:
        self._pending_version = full_table_version

    def stream_is_whole(self) -> bool:
        """Whether every tenant read this stream to the end (subclasses know)."""
        return False

    def activate_version(self) -> None:
        """Send the held ACTIVATE_VERSION if the stream is whole; once."""
        version, self._pending_version = self._pending_version, None
        if version is not None and self.stream_is_whole():
            Stream._write_activate_version_message(self, version)

    @override
    def finalize_state_progress_markers(self, state: dict[str, Any] | None = None) -> None:
        """After a top-level stream's ``sync`` (its children sync inside it), that stream and
        every stream below it are through: their ACTIVATE_VERSION goes now, so a target that
        drains on it (target-postgres) loads them while later streams are read, not all at
        the end of the run."""
        super().finalize_state_progress_markers(state)
        if self.parent_stream_type is None and not state:
            self.activate_tree()

    def activate_tree(self) -> None:
        """``activate_version`` for this stream and every stream below it."""
        self.activate_version()
        for child in self.child_streams:
            if isinstance(child, ActivateVersionWhenWhole):
                child.activate_tree()
