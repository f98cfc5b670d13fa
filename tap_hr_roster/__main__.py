"""`python -m tap_hr_roster`: the same as the `tap-hr-roster` command."""

from tap_hr_roster.tap import TapHrRoster

TapHrRoster.cli()
