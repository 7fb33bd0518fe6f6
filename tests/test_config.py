"""Configuration: every bad config gets a message naming file, key path and expectation."""

from __future__ import annotations

import copy
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from steward import config
from steward.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

GOOD: dict[str, Any] = {
    "commons": [
        {
            "slug": "shed",
            "name": "Shed",
            "timezone": "Europe/Paris",
            "resources": [
                {"slug": "drill", "name": "Drills", "kind": "pool", "capacity": 4},
                {"slug": "fund", "name": "Fund", "kind": "stock", "reserve": 10, "capacity": 100},
            ],
        }
    ]
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    """GOOD with one key set (value=DELETE removes it); path like commons.0.resources.1.kind."""
    data = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    key: Any = int(last) if last.isdigit() else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return data


DELETE = object()

# (case, config data, env, expected message pattern)
BAD_CONFIGS: list[tuple[str, Any, dict[str, str], str]] = [
    ("empty file", None, {}, r"the file is empty"),
    ("not a mapping", ["a", "b"], {}, r"expected a mapping"),
    ("missing commons", {"database": {"url": "sqlite:///x.db"}}, {}, r"commons: is required"),
    (
        "missing resource name",
        with_change("commons.0.resources.0.name", DELETE),
        {},
        r"commons\[0\]\.resources\[0\]\.name: is required",
    ),
    (
        "unknown resource kind",
        with_change("commons.0.resources.0.kind", "tank"),
        {},
        r"commons\[0\]\.resources\[0\]\.kind: got 'tank'; input should be 'stock' or 'pool'",
    ),
    (
        "wrong type for capacity",
        with_change("commons.0.resources.0.capacity", "lots"),
        {},
        r"commons\[0\]\.resources\[0\]\.capacity: .*decimal",
    ),
    (
        "negative capacity",
        with_change("commons.0.resources.0.capacity", -3),
        {},
        r"resources\[0\]\.capacity: .*greater than or equal to 0",
    ),
    (
        "reserve above capacity",
        with_change("commons.0.resources.1.reserve", 500),
        {},
        r"commons\[0\]\.resources\[1\]: reserve \(500\) is above capacity \(100\)",
    ),
    (
        "undefined env var",
        with_change("database.url", "${NO_SUCH_DB_URL}"),
        {},
        r"database\.url: environment variable NO_SUCH_DB_URL is not set",
    ),
    (
        "unknown timezone",
        with_change("commons.0.timezone", "Mars/Olympus"),
        {},
        r"commons\[0\]\.timezone: unknown timezone 'Mars/Olympus'",
    ),
    (
        "misspelt key",
        with_change("commons.0.resources.0.capacty", 3),
        {},
        r"resources\[0\]\.capacty: is not a known setting",
    ),
    (
        "bad slug",
        with_change("commons.0.resources.0.slug", "Big Drill!"),
        {},
        r"resources\[0\]\.slug: String should match pattern",
    ),
    (
        "duplicate resource",
        with_change("commons.0.resources.1.slug", "drill"),
        {},
        r"resource slug 'drill' is defined twice",
    ),
    (
        "collector on unknown commons",
        with_change("collectors", [{"name": "x", "kind": "csv", "commons": "nowhere"}]),
        {},
        r"commons 'nowhere' is not defined",
    ),
    (
        "bad schedule",
        with_change("forecast", {"schedule": {"every": "often"}}),
        {},
        r"forecast\.schedule\.every: String should match pattern",
    ),
    (
        "floor above cap",
        with_change("commons.0.resources.0.quota", {"floor": 5, "cap": 2}),
        {},
        r"resources\[0\]\.quota: floor \(5\) is above cap \(2\)",
    ),
    (
        "pool with reserve",
        with_change("commons.0.resources.0.reserve", 1),
        {},
        r"a pool has no reserve",
    ),
    (
        "override with a bad port",
        GOOD,
        {"STEWARD_DASHBOARD_PORT": "eighty"},
        r"dashboard\.port: Input should be a valid integer",
    ),
]


@pytest.mark.parametrize(
    ("data", "env", "pattern"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS]
)
def test_bad_config_names_file_key_and_expectation(
    tmp_path: Path, data: Any, env: dict[str, str], pattern: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        config.load(path, env=env)
    message = str(info.value)
    assert str(path) in message
    assert re.search(pattern, message), message


def test_missing_file_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as info:
        config.load(tmp_path / "nope.yaml", env={})
    assert "steward init" in (info.value.hint or "")


def test_invalid_yaml_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("commons:\n  - slug: a\n   name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d+, column \d+"):
        config.load(path, env={})


def test_env_interpolation_and_default(tmp_path: Path) -> None:
    data = copy.deepcopy(GOOD)
    data["database"] = {"url": "${DB_URL}"}
    data["alerts"] = {"routes": [{"name": "ops", "urls": ["${HOOK:-json://127.0.0.1:9/}"]}]}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    loaded = config.load(path, env={"DB_URL": "sqlite:///from-env.db"})
    assert loaded.settings.database.url == "sqlite:///from-env.db"
    assert loaded.settings.alerts.routes[0].urls == ["json://127.0.0.1:9/"]


def test_steward_env_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(GOOD), encoding="utf-8")
    env = {"STEWARD_DATABASE_URL": "postgresql://u@h/db", "STEWARD_FORECAST_WORKERS": "3"}
    loaded = config.load(path, env=env)
    assert loaded.settings.database.url == "postgresql://u@h/db"
    assert loaded.settings.forecast.workers == 3


def test_relative_sqlite_path_resolves_next_to_config(tmp_path: Path) -> None:
    data = dict(GOOD, database={"url": "sqlite:///data/s.db"})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    loaded = config.load(path, env={})
    assert loaded.database_url == f"sqlite:///{(tmp_path / 'data' / 's.db').resolve()}"


@pytest.mark.parametrize("name", ["demo.yaml", "example.yaml"])
def test_shipped_configs_are_valid(name: str) -> None:
    loaded = config.load(REPO / "config" / name, env={"SMTP_USER": "u", "SMTP_PASSWORD": "p"})
    assert loaded.settings.commons


def test_quiet_loggers_stay_at_warning_and_the_demo_quiets_its_sends() -> None:
    """The demo's inbox prints each message; the sender's INFO line printed it a second time."""
    loaded = config.load(REPO / "config" / "demo.yaml", env={})
    assert "steward.alerts.delivery" in loaded.settings.logging.quiet
    sends, root = logging.getLogger("steward.alerts.delivery"), logging.getLogger()
    saved = sends.level, root.level
    try:
        loaded.settings.logging.apply()
        assert root.isEnabledFor(logging.INFO)
        assert not sends.isEnabledFor(logging.INFO) and sends.isEnabledFor(logging.WARNING)
    finally:
        sends.setLevel(saved[0])
        root.setLevel(saved[1])


def test_every_setting_is_documented() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for setting in config.SETTINGS:
        assert f"`{setting.env}`" in readme, f"{setting.env} is not documented in README.md"


def test_every_collector_option_and_alert_rule_is_documented() -> None:
    from steward.alerts.options import RULE_MODELS
    from steward.collectors.registry import COLLECTORS

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for collector in COLLECTORS:
        assert f"| `{collector.kind}` |" in readme, f"collector kind {collector.kind} undocumented"
        for name in collector.Options.model_fields:
            assert f"`{name}`" in readme, f"{collector.kind} option {name} is not in README.md"
    for rule, model in RULE_MODELS.items():
        assert f"| `{rule}` |" in readme, f"alert rule {rule} is not in README.md"
        for name in model.model_fields:
            shown = model.model_fields[name].alias or name
            assert f"`{shown}`" in readme, f"{rule} option {shown} is not in README.md"
