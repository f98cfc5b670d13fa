"""Each endpoint's documented limits as data: page-size range, rate limit, required parameters.

One table per API (``tap_segment.endpoints``, ``tap_fivetran.endpoints``) drives three things
that must agree: the page size a stream asks for, the client-side limiter, and the sandbox,
which refuses what the real API refuses. A test walks each table against the spec data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class EndpointLimit:
    """What one GET endpoint accepts. ``page_max`` None: the endpoint takes no page size."""

    path: str  # template with {placeholders}, as the spec writes it
    page_max: int | None = 1000
    page_min: int = 1
    per_minute: float | None = None  # the endpoint's own documented rate limit
    required: tuple[str, ...] = ()  # required query parameters
    note: str = ""

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """The template as an anchored regex (a placeholder matches one path segment)."""
        parts = re.split(r"\{[^}]+\}", self.path)
        return re.compile("^" + "[^/]+".join(re.escape(p) for p in parts) + "$")

    def page_size(self, wanted: int) -> int:
        """``wanted`` clamped into this endpoint's range."""
        if self.page_max is None:
            return wanted
        return max(self.page_min, min(wanted, self.page_max))


@dataclass(frozen=True)
class RateLimit:
    """An API-wide documented limit: ``requests`` per ``seconds`` (a rolling window)."""

    requests: float
    seconds: float


@dataclass
class EndpointTable:
    """Every endpoint of one API the taps call; looked up by template or by concrete path."""

    api: str
    limits: Iterable[EndpointLimit]
    account_limit: RateLimit | None = None
    _by_template: dict[str, EndpointLimit] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.limits = tuple(self.limits)
        self._by_template = {_shape(limit.path): limit for limit in self.limits}
        if len(self._by_template) != len(self.limits):
            raise ValueError(f"{self.api}: an endpoint is listed twice")

    def __iter__(self) -> Iterator[EndpointLimit]:
        return iter(self._by_template.values())

    def template(self, path: str) -> EndpointLimit:
        """The entry for a path template a stream declares (placeholder names may differ from
        the spec's); KeyError names the gap."""
        try:
            return self._by_template[_shape(path)]
        except KeyError:
            raise KeyError(f"{self.api}: {path} is not in the endpoint-limits table") from None

    def match(self, path: str) -> EndpointLimit | None:
        """The entry whose template matches a concrete request path."""
        for limit in self._by_template.values():
            if limit.pattern.match(path):
                return limit
        return None


def _shape(template: str) -> str:
    """A template with its placeholder names erased: ``/a/{x}/b`` -> ``/a/{}/b``."""
    return re.sub(r"\{[^}]+\}", "{}", template)
