"""A new stream lands by its class alone: written into a copy of the repo, the generator run,
and the copied tap run against the copied sandbox (both as subprocesses on 127.0.0.1).

What the generator writes (the schema file, one endpoint-limits row) is all that changes
besides the class; the sandbox serves the endpoint from the spec; meltano.yml selects every
stream but the opt-in ones, so it needs no line either (tests/test_e2e_meltano.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from taps_sandbox.base import FIVETRAN_API_KEY, FIVETRAN_API_SECRET, SEGMENT_TOKEN

ROOT = Path(__file__).resolve().parents[1]
COPIED = (
    "tap_segment",
    "tap_fivetran",
    "taps_common",
    "taps_sandbox",
    "scripts",
    "schemas",
    "specs",
)
SENTINEL = "SENTINEL-SECRET"

SEGMENT_CLASS = """

class SourceConnectedDestinationsStream(SegmentStream):
    name = "source_connected_destinations"
    path = "/sources/{sourceId}/connected-destinations"
    records_key = "destinations"
    primary_keys = ("workspaceId", "sourceId", "id")
    parent_stream_type = SourcesStream
    secret_trees = ("settings",)
"""

FIVETRAN_CLASS = """

class TransformationPackagesStream(_List):
    name = "transformation_packages"
    path = "/v1/transformations/package-metadata"
    primary_keys = ("id",)
"""


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in COPIED
        for p in (root / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The repo's code, schemas and specs in a temporary folder."""
    for folder in COPIED:
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    return tmp_path


def _env(copy: Path) -> dict[str, str]:
    # The copy comes first on the path, before the editable install of the checkout.
    return {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}


def _python(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python in the copy (bounded); fail with its stderr unless it exits 0."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=copy,
        check=False,
        env=_env(copy),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _add_and_generate(copy: Path, module: str, class_text: str, generator: str) -> set[str]:
    """Append the class, run the generator; return the files that changed besides the class."""
    before = _files(copy)
    streams = copy / module
    streams.write_text(streams.read_text(encoding="utf-8") + class_text, encoding="utf-8")
    _python(copy, f"scripts/{generator}")
    after = _files(copy)
    changed = {name for name in after if before.get(name) != after[name]}
    return changed - {module}


@pytest.fixture
def sandbox_url(copy: Path) -> Iterator[str]:
    """The copy's sandbox on a free loopback port."""
    port_file = copy / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "taps_sandbox", "--port", "0", "--port-file", str(port_file)],
        cwd=copy,
        env=_env(copy),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.05)
        port = port_file.read_text().strip()
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _run(copy: Path, tap: str, config: dict) -> tuple[dict[str, list[dict]], dict[str, dict]]:
    """Records and SCHEMA messages per stream of one run of the copy's tap."""
    config_file = copy / "config.json"
    config_file.write_text(json.dumps(config))
    done = _python(copy, "-m", tap, "--config", str(config_file))
    assert SENTINEL not in done.stdout + done.stderr
    records: dict[str, list[dict]] = {}
    schemas: dict[str, dict] = {}
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"])
        elif message["type"] == "SCHEMA":
            schemas[message["stream"]] = message
    return records, schemas


@pytest.mark.e2e
def test_a_segment_stream_is_its_class(copy: Path, sandbox_url: str) -> None:
    changed = _add_and_generate(
        copy, "tap_segment/streams.py", SEGMENT_CLASS, "generate_segment_schemas.py"
    )
    assert changed == {
        "schemas/segment/source_connected_destinations.json",
        "tap_segment/endpoints.py",
    }
    endpoints = (copy / "tap_segment/endpoints.py").read_text(encoding="utf-8")
    assert 'E("/sources/{sourceId}/connected-destinations"),' in endpoints
    schema = json.loads((copy / "schemas/segment/source_connected_destinations.json").read_text())
    for key in ("workspaceId", "sourceId", "id"):
        assert schema["properties"][key]["type"] == ["string"], key

    config = {"token": SEGMENT_TOKEN, "api_url": f"{sandbox_url}/segment", "page_size": 3}
    records, schemas = _run(copy, "tap_segment", config)
    new = records["source_connected_destinations"]
    sources = {r["id"] for r in records["sources"]}
    assert schemas["source_connected_destinations"]["key_properties"] == [
        "workspaceId",
        "sourceId",
        "id",
    ]
    assert {r["sourceId"] for r in new} == sources, "every source's destinations, named by it"
    assert len(new) == 3 * len(sources)  # the sandbox's default for a spec-derived list
    assert len({(r["sourceId"], r["id"]) for r in new}) == len(new)
    assert all(r["workspaceId"] == records["workspaces"][0]["id"] for r in new)
    assert all("**REDACTED**" in json.dumps(r["settings"]) for r in new)


@pytest.mark.e2e
def test_a_fivetran_stream_is_its_class(copy: Path, sandbox_url: str) -> None:
    changed = _add_and_generate(
        copy, "tap_fivetran/streams.py", FIVETRAN_CLASS, "generate_fivetran_schemas.py"
    )
    assert changed == {"schemas/fivetran/transformation_packages.json", "tap_fivetran/endpoints.py"}
    endpoints = (copy / "tap_fivetran/endpoints.py").read_text(encoding="utf-8")
    assert 'E("/v1/transformations/package-metadata"),' in endpoints
    schema = json.loads((copy / "schemas/fivetran/transformation_packages.json").read_text())
    assert schema["properties"]["id"]["type"] == ["string"]

    config = {
        "api_key": FIVETRAN_API_KEY,
        "api_secret": FIVETRAN_API_SECRET,
        "api_url": f"{sandbox_url}/fivetran",
        "page_size": 1,  # two pages
    }
    records, schemas = _run(copy, "tap_fivetran", config)
    new = records["transformation_packages"]
    assert schemas["transformation_packages"]["key_properties"] == ["id"]
    assert len(new) >= 2
    assert len({r["id"] for r in new}) == len(new)
    # Every field the spec's model names arrives, as the schema declares it.
    assert {k for r in new for k in r} == set(schema["properties"])
