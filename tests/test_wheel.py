"""The built wheel carries the schemas: install it in a fresh virtual environment (no access to
this checkout's schemas/) and run --discover from there."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests import contract

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    [built] = out.glob("*.whl")
    return built


TAPS = {"tap-segment": ("tap_segment", "segment"), "tap-fivetran": ("tap_fivetran", "fivetran")}


def checkout_schemas(api: str) -> set[str]:
    """Stream names with a schema file in the checkout (every contract stream has one)."""
    names = {p.stem for p in (ROOT / "schemas" / api).glob("*.json")}
    assert set(contract.streams(f"tap-{api}")) <= names
    return names


def test_wheel_ships_one_schema_per_stream(wheel):
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    for package, api in TAPS.values():
        shipped = {
            n.removeprefix(f"{package}/schemas/").removesuffix(".json")
            for n in names
            if n.startswith(f"{package}/schemas/") and n.endswith(".json")
        }
        assert shipped == checkout_schemas(api), package
    assert not [n for n in names if n.startswith("taps_sandbox/")]


def test_installed_wheel_discovers_from_its_own_files(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    # The dependencies come from this environment's site-packages, added as a plain path (its
    # .pth files, such as the editable install's, are not run); the project only from the wheel.
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = next(p for p in sys.path if p.endswith("site-packages"))
    Path(site, "deps.pth").write_text(deps + "\n")
    subprocess.run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--force-reinstall",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    for tap, (package, api) in TAPS.items():
        proc = subprocess.run(
            [str(env_dir / "bin" / tap), "--discover"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,  # not the checkout: schemas must come from the wheel
            check=True,
        )
        catalog = json.loads(proc.stdout)
        found = {s["tap_stream_id"] for s in catalog["streams"]}
        assert found - contract.ALLOWED_EXTRA == set(contract.streams(tap)), tap
        # The tap's own package, the shared one and the schema folder: all from the wheel.
        where = subprocess.run(
            [
                str(py),
                "-c",
                f"import {package}, taps_common.resources as r; print({package}.__file__); "
                f"print(r.__file__); print(r.schema_root({package!r}, {api!r}))",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=True,
        ).stdout.splitlines()
        assert len(where) == 3, where
        for path in where:
            assert Path(path).is_relative_to(site), (tap, path)
        assert Path(where[0]).parent.name == package, where
