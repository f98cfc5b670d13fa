"""``FivetranApi``: the Fivetran emulator, made of its areas."""

from __future__ import annotations

from taps_sandbox.fivetran.catalog import CatalogArea
from taps_sandbox.fivetran.groups import GroupsArea
from taps_sandbox.fivetran.platform import PlatformArea
from taps_sandbox.fivetran.transformations import TransformationsArea


class FivetranApi(GroupsArea, PlatformArea, TransformationsArea, CatalogArea):
    """Every GET the tap-fivetran contract uses, with Fivetran's envelopes, cursors and errors.

    The route table is each area's routes in turn (``FivetranCore._route_table``); no two areas
    serve overlapping paths, so their order does not matter.
    """
