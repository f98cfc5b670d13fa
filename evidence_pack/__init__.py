"""The evidence pack: one folder a compliance reviewer opens from disk (no server, no network).

It reads the `evidence` marts and the taps' `sync_runs` manifests from the warehouse and writes
`index.html` (runs, access review, changes, credential hygiene, a Graphviz data-flow diagram),
CSV files in the Vanta and Drata access-review layouts, and `manifest.json` with the SHA-256 of
every file, so the reviewer can tell the pack is whole and unchanged.
"""

__all__ = ["ReportError"]


class ReportError(Exception):
    """A problem the user can fix; its message is the one line the CLI prints."""
