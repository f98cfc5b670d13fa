"""``python -m tap_fivetran``."""

from tap_fivetran.tap import TapFivetran

TapFivetran.cli()
