"""tap-fivetran's settings as a typed value: the shared ones plus the API's base URL
(defaults from the tap's schema, ``TapFivetran.config_jsonschema``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taps_common.settings import CommonSettings, Given


@dataclass(frozen=True)
class FivetranSettings(CommonSettings):
    """What a tap-fivetran run reads; the key pair stays in the config (see
    ``CommonSettings``)."""

    api_url: str

    @classmethod
    def fields(cls, given: Given) -> dict[str, Any]:
        """The shared fields and tap-fivetran's own."""
        return {**super().fields(given), "api_url": given.text("api_url")}
