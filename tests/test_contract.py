"""tests/contract.py reads STREAMS.md faithfully and refuses tables it cannot read, so a typo in
the contract fails loudly instead of silently shrinking what every other test checks."""

from __future__ import annotations

import pytest

from tests import contract

HEAD = "| stream | endpoint | primary key | parent | replication | default |\n|---|---|---|---|---|---|\n"


def table(*rows: str, tap: str = "tap-demo") -> str:
    return f"# Contract\n\n## {tap} (Demo API)\n{HEAD}" + "".join(r + "\n" for r in rows)


def test_cells_are_read_as_written():
    text = table(
        "| things | `GET /things?kind=…` (every kind) | workspaceId, id | | full | yes |",
        "| parts | `GET /things/{thingId}/parts` + `GET /parts/{id}` | workspaceId, thingId, `n` "
        "| things | incremental on `updatedAt` (`since`) | no (2 requests/min) |",
        "| volume | `GET /volume` | workspaceId, day, and each `groupBy` value | | incremental on "
        "the day | no |",
        "| pieces | the same response, one record per piece | a, b | things | full | yes |",
    )
    rows = contract.parse(text)["tap-demo"]
    assert list(rows) == ["things", "parts", "volume", "pieces"]
    things, parts, volume, pieces = rows.values()
    assert things.endpoints == ("/things",) and things.default and not things.incremental
    assert parts.endpoints == ("/things/{thingId}/parts", "/parts/{id}")
    assert parts.primary_key == ("workspaceId", "thingId", "n") and parts.key_note is None
    assert parts.parent == "things" and parts.replication_key == "updatedAt" and not parts.default
    assert volume.primary_key == ("workspaceId", "day") and volume.key_note
    assert volume.incremental and volume.replication_key is None
    assert volume.key_matches(["workspaceId", "day", "name"])
    assert not volume.key_matches(["workspaceId", "day"])
    assert not things.key_matches(["id"])
    assert pieces.endpoints == () and pieces.endpoint is None


@pytest.mark.parametrize(
    "row",
    [
        "| things | `GET /t` | id | | full |",  # a cell missing
        "| things | `GET /t` | id | | sometimes | yes |",  # replication neither full nor incremental
        "| things | `GET /t` | id | | full | maybe |",  # default neither yes nor no
        "| things | `GET /t` | | | full | yes |",  # no key
        "| things | `GET /t` | id | ghosts | full | yes |",  # parent that is no stream
    ],
)
def test_unreadable_rows_fail(row):
    with pytest.raises(ValueError):
        contract.parse(table(row))


def test_the_repository_contract_has_both_taps():
    parsed = contract.contract()
    assert set(parsed) == {"tap-segment", "tap-fivetran"}
    assert all(parsed[tap] for tap in parsed)
    assert contract.same_path(
        "/v1/connections/{id}/schemas", "/v1/connections/{connectionId}/schemas"
    )
    assert not contract.same_path("/v1/connections/{id}", "/v1/connections/{id}/schemas")
