"""Write the pack: CSV files, index.html, then manifest.json over all of them.

The folder is built beside the target and swapped in at the end, so a failed run never leaves
half a pack, and a folder that is not a previous pack is never overwritten.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from evidence_pack import ReportError
from evidence_pack.data import DEFAULT_RAW_SCHEMAS, load
from evidence_pack.diagram import flows_picture
from evidence_pack.exports import drata_files, manifest, table_files, vanta_files
from evidence_pack.page import render
from evidence_pack.warehouse import Warehouse


def _check_target(out: Path) -> None:
    """Refuse to replace anything but an empty folder or an earlier pack."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ReportError(f"--out {out} is a file: give a folder path")
    if any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise ReportError(
            f"--out {out} exists and is not an evidence pack (no manifest.json): "
            "choose an empty or new folder"
        )


def build(
    wh: Warehouse,
    out: Path,
    *,
    now: datetime,
    since: datetime | None,
    raw_schemas: Mapping[str, str] = DEFAULT_RAW_SCHEMAS,
) -> Path:
    """Read the warehouse once and write the whole pack to `out`; returns `out`."""
    _check_target(out)
    ev = load(wh, now=now, since=since, raw_schemas=raw_schemas)
    svg = flows_picture(ev.data_flows)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        files = {**vanta_files(ev), **drata_files(ev), **table_files(ev)}
        for rel, text in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="")
        listing = [(rel, (tmp / rel).stat().st_size) for rel in sorted(files)]
        (tmp / "index.html").write_text(render(ev, svg, listing), encoding="utf-8")
        (tmp / "manifest.json").write_text(manifest(ev, tmp), encoding="utf-8")
        tmp.chmod(0o755)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
