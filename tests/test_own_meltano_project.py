"""The taps from someone else's Meltano project: what the README's "Use it from your own Meltano
project" tells a new user to type, in a temporary folder that holds no file of this repository.

`meltano init`, then `meltano add --from-ref hub/extractors/<tap>.yml` for both taps, the
selection of the hub file (`meltano select`: Meltano keeps only the definition of a --from-ref
plugin, not its `select`), pip_url pointed at a wheel `python -m build` made from this
checkout, target-jsonl 0.1.4 added as a custom loader from PyPI, `meltano install`. Then
`meltano invoke tap-fivetran` against the sandbox emits every default stream, and
`meltano run tap-fivetran target-jsonl` writes them and stores state. Every command is bounded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from taps_sandbox.base import FIVETRAN_API_KEY, FIVETRAN_API_SECRET, SandboxOptions
from taps_sandbox.server import Sandbox
from tests.tap_runner import default_selected, discover
from tests.test_e2e_meltano import mt
from tests.test_hub_plugins import gen

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
TAPS = ("tap-segment", "tap-fivetran")
STEP_TIMEOUT_S = 300.0
INSTALL_TIMEOUT_S = 900.0
# target-jsonl asks these when added with --custom: namespace, pip_url, executable, settings.
JSONL_ANSWERS = "target_jsonl\ntarget-jsonl==0.1.4\ntarget-jsonl\ndestination_path:string\n"


def user_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A user's shell: none of this checkout's Meltano, tap or target variables leak in."""
    env = {
        k: v
        for k, v in mt.clean_env().items()
        if not k.startswith(("MELTANO_", "TAP_", "TARGET_", "DBT_", "EVIDENCE_"))
    }
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    env.update(extra or {})
    return env


def meltano(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = STEP_TIMEOUT_S,
    answers: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`meltano ARGS` in ``cwd``, bounded; fails the test with Meltano's output."""
    cmd = [str(mt.meltano_executable()), *args]
    try:
        done = subprocess.run(
            cmd,
            cwd=cwd,
            env=user_env(env),
            input=answers,
            stdin=None if answers is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"timed out after {timeout:.0f}s: meltano {' '.join(args)}")
    if done.returncode != 0:
        pytest.fail(f"meltano {' '.join(args)} exited {done.returncode}:\n{done.stderr[-4000:]}")
    return done


def hub(tap: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "hub" / "extractors" / f"{tap}.yml").read_text("utf-8"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel a release would publish, built from this checkout."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    [built] = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A new Meltano project with both taps from the hub files and a custom target-jsonl."""
    try:
        mt.ensure_meltano(timeout=INSTALL_TIMEOUT_S)
    except mt.MeltanoError as err:
        pytest.fail(f"Meltano setup failed: {err}")
    home = tmp_path_factory.mktemp("own")
    meltano(home, "init", "evidence", "--no_usage_stats")
    project = home / "evidence"
    # uv ships with Meltano 4 and installs the plugin venvs several times faster than pip.
    meltano(project, "config", "set", "meltano", "venv.backend", "uv")
    text_before = (project / "meltano.yml").read_text("utf-8")
    assert "tap-" not in text_before
    for tap in TAPS:
        ref = ROOT / "hub" / "extractors" / f"{tap}.yml"
        meltano(project, "add", "--plugin-type", "extractor", tap, "--from-ref", str(ref),
                "--no-install")  # fmt: skip
        for rule in hub(tap)["select"]:
            if rule == "*.*":
                meltano(project, "select", tap, "*", "*")
            else:
                stream = rule.removeprefix("!").removesuffix(".*")
                meltano(project, "select", tap, "--exclude", stream, "*")
    # The hub files install the release from the package index; this one is not published,
    # so pip_url points at the wheel, as the README says to do with a local build.
    yml = project / "meltano.yml"
    line = f"pip_url: {gen.pip_url()}"
    text = yml.read_text("utf-8")
    assert text.count(line) == len(TAPS), text
    yml.write_text(text.replace(line, f"pip_url: {wheel}"), "utf-8")
    meltano(project, "add", "--plugin-type", "loader", "target-jsonl", "--custom",
            "--no-install", answers=JSONL_ANSWERS)  # fmt: skip
    meltano(project, "install", timeout=INSTALL_TIMEOUT_S)
    return project


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(SandboxOptions(), port=0)
    sb.start()
    yield sb
    sb.stop()


def fivetran_env(sb: Sandbox) -> dict[str, str]:
    """The sandbox's fixed test credentials, given as a user gives secrets: variables."""
    return {
        "TAP_FIVETRAN_API_URL": sb.fivetran_url,
        "TAP_FIVETRAN_API_KEY": FIVETRAN_API_KEY,
        "TAP_FIVETRAN_API_SECRET": FIVETRAN_API_SECRET,
    }


@dataclass
class Invoked:
    schemas: set[str]
    records: Counter[str]


@pytest.fixture(scope="module")
def invoked(project: Path, sandbox: Sandbox) -> Invoked:
    done = meltano(project, "invoke", "tap-fivetran", env=fivetran_env(sandbox))
    schemas: set[str] = set()
    records: Counter[str] = Counter()
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "SCHEMA":
            schemas.add(message["stream"])
        elif message["type"] == "RECORD":
            records[message["stream"]] += 1
    return Invoked(schemas, records)


def default_streams(tap: str) -> set[str]:
    """What the tap itself selects by default (the checkout's tap, the same code as the wheel)."""
    config = {"api_key": "x", "api_secret": "y"} if tap == "tap-fivetran" else {"token": "x"}
    return default_selected(discover(tap, config))


def _setting(setting: Mapping[str, Any]) -> dict[str, Any]:
    return {"sensitive": False, **setting}


def test_the_project_holds_the_hub_definitions(project: Path, wheel: Path) -> None:
    loaded = yaml.safe_load((project / "meltano.yml").read_text("utf-8"))
    added = {p["name"]: p for p in loaded["plugins"]["extractors"]}
    assert sorted(added) == sorted(TAPS)
    for tap in TAPS:
        definition = hub(tap)
        plugin = added[tap]
        assert plugin["pip_url"] == str(wheel)
        assert plugin["variant"] == definition["variant"]
        for key in ("namespace", "executable", "capabilities", "settings_group_validation"):
            assert plugin[key] == definition[key], (tap, key)
        assert [_setting(s) for s in plugin["settings"]] == [
            _setting(s) for s in definition["settings"]
        ], tap
        assert plugin["select"] == definition["select"], tap
    text = (project / "meltano.yml").read_text("utf-8")
    assert str(ROOT) not in text and "-e ." not in text, "the project must not use the checkout"


def test_the_taps_report_the_wheels_version(project: Path) -> None:
    version = gen.project()["version"]
    for tap in TAPS:
        shown = meltano(project, "invoke", tap, "--version").stdout
        assert f"{tap} v{version}," in shown, shown
        about = json.loads(meltano(project, "invoke", tap, "--about", "--format=json").stdout)
        assert about["version"] == version, tap


def test_invoke_emits_every_default_stream(invoked: Invoked) -> None:
    expected = default_streams("tap-fivetran")
    assert invoked.schemas == expected
    assert set(invoked.records) == expected, "a default stream sent no record"
    assert invoked.records["sync_runs"] == 1


def test_run_into_a_custom_jsonl_loader(
    project: Path, sandbox: Sandbox, invoked: Invoked, tmp_path: Path
) -> None:
    out = tmp_path / "jsonl"
    out.mkdir()
    meltano(project, "config", "set", "target-jsonl", "destination_path", str(out))
    meltano(project, "run", "tap-fivetran", "target-jsonl", env=fivetran_env(sandbox))
    written: Counter[str] = Counter()
    for path in out.glob("*.jsonl"):
        # target-jsonl 0.1.4 names each file <stream>-<timestamp>.jsonl
        stream = path.name.rsplit("-", 1)[0]
        written[stream] += sum(1 for line in path.read_text("utf-8").splitlines() if line)
    assert written == invoked.records
    state = meltano(project, "state", "get", "dev:tap-fivetran-to-target-jsonl").stdout
    assert '"bookmarks"' in state
