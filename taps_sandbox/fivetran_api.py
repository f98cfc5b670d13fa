"""Where the server finds the Fivetran emulator; the code lives in ``taps_sandbox.fivetran``."""

from taps_sandbox.fivetran import FivetranApi

API = FivetranApi  # what the server loads (server._load_api)

__all__ = ["API", "FivetranApi"]
