"""The built wheel carries the schemas: install it in a fresh virtual environment (no access to
this checkout's schemas/) and run --discover from there."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

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


def test_wheel_ships_one_schema_per_stream(wheel):
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert sum(n.startswith("tap_segment/schemas/") and n.endswith(".json") for n in names) == 38
    assert sum(n.startswith("tap_fivetran/schemas/") and n.endswith(".json") for n in names) == 32
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
        [str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    for tap, count in (("tap-segment", 38), ("tap-fivetran", 32)):
        proc = subprocess.run(
            [str(env_dir / "bin" / tap), "--discover"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,  # not the checkout: schemas must come from the wheel
            check=True,
        )
        catalog = json.loads(proc.stdout)
        assert len(catalog["streams"]) == count
        origin = subprocess.run(
            [str(py), "-c", "import tap_segment, sys; print(tap_segment.__file__)"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=True,
        ).stdout
        assert str(env_dir) in origin, origin
