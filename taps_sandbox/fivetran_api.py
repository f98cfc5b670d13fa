"""Where the server finds the Fivetran emulator; the code lives in ``taps_sandbox.fivetran``."""

from taps_sandbox.fivetran import FivetranApi

__all__ = ["FivetranApi"]
