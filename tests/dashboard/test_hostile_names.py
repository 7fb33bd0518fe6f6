"""Names that attack terminals and pages: markup, links and direction overrides stay inert."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import update

from dashboards.text import plain
from steward.display import cell, visible
from steward.store.models import Alert, Member
from steward.workspace import open_workspace

from .apptest import open_page, shown_text, signed_in
from .fixtures import Federation
from .test_commands import run

LINK = "[web](https://evil.example/)"
MARKUP = "[/bold]Mallory[red]"
RLO = "invoice\u202egnp.exe"


def _make_hostile(federation: Federation) -> None:
    config = yaml.safe_load(federation.config.read_text(encoding="utf-8"))
    config["commons"][0]["resources"][2]["name"] = f"{LINK} {MARKUP}"
    federation.config.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    ws = open_workspace(federation.config)
    try:
        with ws.store.write() as conn:
            conn.execute(update(Member).where(Member.code == "bob").values(name=f"{MARKUP} {RLO}"))
            conn.execute(update(Alert).values(summary=f"{MARKUP} [/] {RLO}"))
    finally:
        ws.close()


def test_cli_prints_hostile_names_literally(federation: Federation) -> None:
    _make_hostile(federation)
    added = run(
        federation.config,
        "account",
        "add",
        "--role",
        "steward",
        "--commons",
        "toolshed",
        "--email",
        "[/bold]x@example.org",
        "--password-env",
        "PW",
        "mallory",
        env={"PW": "a-secret-pass"},
    )
    assert added.returncode == 0, added.stderr
    wide = {"COLUMNS": "400"}
    for args, expected in (
        (("account", "list"), "[/bold]x@example.org"),
        (("quotas",), "[/bold]Mallory[red] invoice<U+202E>gnp.exe"),
        (("alerts", "list", "--all"), "[/bold]Mallory[red] [/] invoice<U+202E>gnp.exe"),
        (("status",), f"{LINK} {MARKUP}"),
    ):
        proc = run(federation.config, *args, env=wide)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "MarkupError" not in proc.stderr
        assert expected in proc.stdout, (args, proc.stdout)
        assert "\u202e" not in proc.stdout


def test_pages_show_hostile_names_as_text(federation: Federation) -> None:
    _make_hostile(federation)
    health = open_page(signed_in(None), "health")
    markdown = " ".join(str(e.value) for e in health.markdown)
    # The link is escaped (no "](" and no bare https:// for Markdown to turn into a link).
    assert "](" not in markdown and "https://" not in markdown
    assert f"{LINK} {MARKUP}" in shown_text(health)
    members = open_page(signed_in("sam"), "members")
    # A table cell is data, never Markdown: the grid shows the name as it is, with
    # its direction control made visible.
    shown = list(members.dataframe[0].value["Member"])  # "name (no. code)"
    assert any(v.startswith(f"{MARKUP} {visible(RLO)} (no. ") for v in shown), shown
    assert not any("\u202e" in v for v in shown)


def test_visible_names_every_direction_control() -> None:
    assert visible("a\u202eb\u2066c\u200fd\x00e") == "a<U+202E>b<U+2066>c<U+200F>d<U+0000>e"
    assert visible("Zoë 東京 עברית") == "Zoë 東京 עברית"  # real RTL text is untouched
    assert cell(MARKUP).plain == MARKUP
    assert plain(RLO) == r"invoice\<U\+202E\>gnp\.exe"


def test_the_page_icon_is_served_from_a_local_file(
    federation: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit

    seen: list[dict[str, object]] = []
    real = streamlit.set_page_config

    def spy(**kwargs: object) -> None:
        seen.append(kwargs)
        real(**kwargs)

    monkeypatch.setattr(streamlit, "set_page_config", spy)
    signed_in(None)
    icon = Path(str(seen[0]["page_icon"]))
    assert icon.is_file() and icon.suffix == ".png"
    assert not str(seen[0]["page_icon"]).startswith((":", "http"))
