"""hub/ and meltano.yml's extractors are what scripts/generate_hub_plugins.py makes from the
taps' own settings: a setting added to a tap, a changed default or description, a new opt-in
stream or a new version fails here until the generator is run (and meltano.yml follows)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "generate_hub_plugins", ROOT / "scripts" / "generate_hub_plugins.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_hub_plugins"] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.fixture(scope="module")
def expected() -> dict[Path, str]:
    return gen.expected_files()


def test_hub_files_are_the_generators_output(expected: dict[Path, str]) -> None:
    # tap-hr-roster (meltano.yml) has no hub file on purpose: see generate_hub_plugins.extractors.
    assert sorted(p.relative_to(ROOT / "hub") for p in expected) == [
        Path("extractors/tap-fivetran.yml"),
        Path("extractors/tap-segment.yml"),
        Path("utilities/evidence-pack.yml"),
    ]
    assert sorted((ROOT / "hub").rglob("*.yml")) == sorted(expected), "a hub file nobody writes"
    for path, text in expected.items():
        assert path.is_file(), f"{path} missing: run python scripts/generate_hub_plugins.py"
        assert path.read_text("utf-8") == text, (
            f"{path.relative_to(ROOT)} differs from the taps: run "
            "python scripts/generate_hub_plugins.py"
        )


def test_hub_files_hold_what_a_hub_definition_needs(expected: dict[Path, str]) -> None:
    version = gen.project()["version"]
    for path, text in expected.items():
        definition = yaml.safe_load(text)
        for key in ("name", "namespace", "variant", "pip_url", "executable", "settings"):
            assert definition.get(key), (path.name, key)
        for key in ("label", "description", "repo", "docs", "keywords", "maintenance_status"):
            assert definition.get(key), (path.name, key)
        assert definition["pip_url"].endswith(f"=={version}"), path.name
        for setting in definition["settings"]:
            assert {"name", "kind", "label", "description", "sensitive"} <= set(setting), setting
        if path.parent.name == "extractors":
            assert definition["capabilities"] and definition["settings_group_validation"]
            assert definition["select"][0] == "*.*"


def test_secrets_are_sensitive(expected: dict[Path, str]) -> None:
    by_name = {p.stem: yaml.safe_load(t) for p, t in expected.items()}
    sensitive = {
        name: {s["name"] for s in d["settings"] if s["sensitive"]} for name, d in by_name.items()
    }
    assert sensitive == {
        "tap-segment": {"token", "workspaces"},
        "tap-fivetran": {"api_key", "api_secret"},
        "evidence-pack": {"pg_password"},
    }


def test_meltano_yml_extractors_are_the_hub_definitions() -> None:
    assert gen.meltano_yml_drift() == []


def test_drift_in_meltano_yml_is_reported(tmp_path: Path) -> None:
    """The check is not vacuous: a changed label and a missing setting both show."""
    text = (ROOT / "meltano.yml").read_text("utf-8")
    changed = text.replace("label: Page size", "label: Page length", 1).replace(
        "    - *progress_interval_seconds\n", "", 1
    )
    assert changed != text
    copy = tmp_path / "meltano.yml"
    copy.write_text(changed, "utf-8")
    problems = "\n".join(gen.meltano_yml_drift(copy))
    assert "setting page_size differs" in problems
    assert "tap-fivetran settings" in problems and "progress_interval_seconds" in problems


def test_kinds_follow_the_json_types() -> None:
    kind = gen.setting_kind
    assert kind("x", {"type": ["integer", "null"]}) == "integer"
    assert kind("x", {"type": ["number", "string", "null"]}) == "string"
    assert kind("x", {"type": ["string", "null"], "format": "date-time"}) == "date_iso8601"
    assert kind("x", {"type": ["string"], "enum": ["us", "eu"]}) == "options"
    # A plain number would be `decimal`, which Meltano 4.4 cannot pass on from the environment.
    with pytest.raises(gen.GeneratorError, match="number-or-text"):
        kind("x", {"type": ["number", "null"]})


def test_a_setting_without_a_title_is_refused() -> None:
    schema = {"properties": {"depth": {"type": ["integer"], "description": "How deep."}}}
    with pytest.raises(gen.GeneratorError, match="no title"):
        gen.settings_of("tap-x", schema)


def test_a_secret_inside_a_list_makes_the_setting_sensitive() -> None:
    item = {"type": "object", "properties": {"token": {"type": ["string"], "secret": True}}}
    assert gen.holds_secret({"type": ["array"], "items": item})
    assert not gen.holds_secret({"type": ["array"], "items": {"type": "string"}})


def test_pack_settings_must_be_cli_options(monkeypatch: pytest.MonkeyPatch) -> None:
    bogus = ("depth", "--depth", "Depth", "integer", "Not an option of evidence-pack.")
    monkeypatch.setattr(gen, "PACK_SETTINGS", [*gen.PACK_SETTINGS, bogus])
    with pytest.raises(gen.GeneratorError, match="no option --depth"):
        gen.evidence_pack()


def test_readme_shows_both_pip_urls() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert f"pip_url: {gen.pip_url()}" in readme
    assert f"pip_url: {gen.git_pip_url()}" in readme
