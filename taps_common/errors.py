"""Errors a user reads: one line, what happened, what to fix, never a credential."""

from __future__ import annotations

from singer_sdk.exceptions import ConfigValidationError, FatalAPIError


class TapConfigError(ConfigValidationError):
    """A setting is missing or wrong; raised before any request is made."""


class ApiResponseError(FatalAPIError):
    """The API answered something it does not promise (bad JSON, missing envelope, 4xx)."""

    def __init__(self, message: str, *, path: str = "", status: int | None = None) -> None:
        self.path = path
        self.status = status
        where = f" ({path}, HTTP {status})" if status is not None else f" ({path})" if path else ""
        super().__init__(f"{message}{where}")


class CredentialsRejectedError(ApiResponseError):
    """The API rejected the credentials (401 on the first call)."""


class HostUnreachableError(ApiResponseError):
    """The API host cannot be resolved or refuses connections: the run stops at once."""


class RetriesExhaustedError(ApiResponseError):
    """A request kept failing with retriable errors past the configured bounds."""


class NotEntitledError(Exception):
    """The plan or the role does not allow this endpoint: the stream ends, the run goes on."""

    def __init__(self, path: str, status: int, reason: str) -> None:
        self.path = path
        self.status = status
        self.reason = reason
        super().__init__(f"{path} answered HTTP {status}: {reason}")


class ChildNotFoundError(Exception):
    """One parent's child endpoint answered 404 (object deleted between list and detail)."""

    def __init__(self, path: str, status: int, code: str = "") -> None:
        self.path = path
        self.status = status
        self.code = code
        super().__init__(f"{path} answered HTTP {status} {code}".rstrip())


class StreamEndedError(Exception):
    """Raised inside a walk when its stream has already ended for this tenant: stop quietly."""


# These end the whole run (nothing else can succeed); every other error ends one stream.
FATAL_ERRORS = (CredentialsRejectedError, HostUnreachableError)
