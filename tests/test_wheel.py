"""The distribution others depend on. `python -m build` makes an sdist and, from it, a wheel (so
the sdist holds everything a build needs). The wheel carries the schemas: installed in a fresh
virtual environment (no access to this checkout's schemas/) it runs --discover from there. Both
install cleanly, dependencies from the package index, in an empty venv (`pip check` passes),
and report pyproject's version; the metadata is complete (authors, URLs, keywords, license,
classifiers, the README as description); CHANGELOG.md names the version."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests import contract

ROOT = Path(__file__).resolve().parents[1]


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
VERSION = PROJECT["version"]
INSTALL_TIMEOUT_S = 900


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """`python -m build`: the sdist, then the wheel built from it."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    [built] = dist.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def sdist(dist: Path) -> Path:
    [built] = dist.glob("*.tar.gz")
    return built


TAPS = {"tap-segment": ("tap_segment", "segment"), "tap-fivetran": ("tap_fivetran", "fivetran")}


def checkout_schemas(api: str) -> set[str]:
    """Stream names with a schema file in the checkout (every contract stream has one)."""
    names = {p.stem for p in (ROOT / "schemas" / api).glob("*.json")}
    assert set(contract.streams(f"tap-{api}")) <= names
    return names


def test_wheel_ships_one_schema_per_stream(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for package, api in TAPS.values():
        shipped = {
            n.removeprefix(f"{package}/schemas/").removesuffix(".json")
            for n in names
            if n.startswith(f"{package}/schemas/") and n.endswith(".json")
        }
        assert shipped == checkout_schemas(api), package
    assert not [n for n in names if n.startswith("taps_sandbox/")]


def test_wheel_ships_the_marts_contracts(wheel):
    """The evidence pack reads each mart's columns from its dbt contract: the wheel carries
    every mart's yml (evidence_pack/contracts.py reads them there when installed)."""
    names = set(zipfile.ZipFile(wheel).namelist())
    marts = {p.name for p in (ROOT / "transform" / "models" / "marts").glob("*.yml")}
    assert marts
    assert {f"evidence_pack/contracts/{m}" for m in marts} <= names


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


def test_metadata_is_complete(wheel):
    [name] = [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".dist-info/METADATA")]
    meta = Parser().parsestr(zipfile.ZipFile(wheel).read(name).decode())
    assert meta["Name"] == PROJECT["name"] and meta["Version"] == VERSION
    assert meta["Summary"] and meta["Requires-Python"] == ">=3.11"
    assert meta["Author-email"] and meta["Maintainer-email"]
    assert meta["License-Expression"] == "Apache-2.0" and meta["License-File"] == "LICENSE"
    assert {"singer", "meltano", "segment", "fivetran"} <= set(meta["Keywords"].split(","))
    classifiers = meta.get_all("Classifier")
    assert "License :: OSI Approved :: Apache Software License" in classifiers
    assert any(c.startswith("Topic :: ") for c in classifiers)
    assert "Programming Language :: Python :: 3.11" in classifiers
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Homepage", "Repository", "Documentation", "Changelog", "Issues"} <= set(urls)
    assert meta["Description-Content-Type"] == "text/markdown"
    readme = (ROOT / "README.md").read_text("utf-8")
    assert meta.get_payload().strip() == readme.strip()
    assert f"{name.split('/')[0]}/licenses/LICENSE" in zipfile.ZipFile(wheel).namelist()


def test_sdist_holds_the_sources_a_build_needs(sdist):
    top = sdist.name.removesuffix(".tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.removeprefix(f"{top}/") for n in tar.getnames()}
    for needed in ("pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE", "PKG-INFO"):
        assert needed in names, needed
    for api in ("segment", "fivetran"):
        assert {f"schemas/{api}/{s}.json" for s in checkout_schemas(api)} <= names
    assert {"hub/extractors/tap-segment.yml", "hub/extractors/tap-fivetran.yml"} <= names


def test_changelog_names_the_version():
    """Keep a Changelog: an Unreleased section, then this version with its date, linked."""
    text = (ROOT / "CHANGELOG.md").read_text("utf-8")
    headings = re.findall(r"^## \[([^\]]+)\](.*)$", text, flags=re.M)
    assert headings[0] == ("Unreleased", "")
    version, dated = headings[1]
    assert version == VERSION, "the newest released section is not pyproject's version"
    assert re.fullmatch(r" - \d{4}-\d{2}-\d{2}", dated), dated
    assert f"[{VERSION}]: " in text and "[Unreleased]: " in text


def _empty_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True).create(path)
    return path / "bin"


def _pip_install(bin_dir: Path, target: Path) -> None:
    done = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(target)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    check = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0, check.stdout


def _reported_versions(bin_dir: Path, cwd: Path) -> None:
    """Every command of the distribution reports pyproject's version."""
    for tap in TAPS:
        shown = subprocess.run(
            [str(bin_dir / tap), "--version"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=cwd,
            check=True,
        ).stdout
        assert shown.startswith(f"{tap} v{VERSION},"), shown
        about = subprocess.run(
            [str(bin_dir / tap), "--about", "--format=json"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=cwd,
            check=True,
        ).stdout
        assert json.loads(about)["version"] == VERSION, tap
    pack = subprocess.run(
        [str(bin_dir / "evidence-pack"), "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=True,
    ).stdout
    assert pack.strip() == f"evidence-pack {VERSION}"


def test_wheel_installs_in_an_empty_venv(wheel, tmp_path):
    bin_dir = _empty_venv(tmp_path / "venv")
    _pip_install(bin_dir, wheel)
    _reported_versions(bin_dir, tmp_path)


def test_sdist_installs_in_an_empty_venv(sdist, tmp_path):
    bin_dir = _empty_venv(tmp_path / "venv")
    _pip_install(bin_dir, sdist)
    _reported_versions(bin_dir, tmp_path)
    catalog = subprocess.run(
        [str(bin_dir / "tap-segment"), "--discover"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=True,
    ).stdout
    found = {s["tap_stream_id"] for s in json.loads(catalog)["streams"]}
    assert found - contract.ALLOWED_EXTRA == set(contract.streams("tap-segment"))
