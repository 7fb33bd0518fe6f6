"""`steward account` and `steward dashboard`, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from steward.commands.dashboard import APP, streamlit_command

from .fixtures import Federation

STEWARD = [sys.executable, "-m", "steward"]


def run(
    config: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STEWARD, "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        input=stdin,
        env={**os.environ, **(env or {})},
    )


def test_account_add_list_disable(federation: Federation) -> None:
    added = run(
        federation.config,
        "account",
        "add",
        "--role",
        "member",
        "--member",
        "bob",
        "--commons",
        "toolshed",
        "--password-env",
        "NEW_PW",
        "bobby",
        env={"NEW_PW": "a-secret-pass"},
    )
    assert added.returncode == 0, added.stderr
    assert "Added member account 'bobby' in toolshed for member bob." in added.stdout
    listed = run(federation.config, "account", "list")
    assert listed.returncode == 0
    assert "bobby" in listed.stdout and "a-secret-pass" not in listed.stdout
    assert "argon2" not in listed.stdout
    disabled = run(federation.config, "account", "disable", "bobby")
    assert disabled.returncode == 0
    assert "disabled" in run(federation.config, "account", "list").stdout


def test_account_add_prompts_for_the_password(federation: Federation) -> None:
    added = run(
        federation.config,
        "account",
        "add",
        "--role",
        "steward",
        "--commons",
        "orchard",
        "otto",
        stdin="orchard-pass-1\norchard-pass-1\n",
    )
    assert added.returncode == 0, added.stderr
    assert "orchard-pass-1" not in added.stdout + added.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--role", "member", "--commons", "toolshed", "x1"], {"PW": "p"}, "needs --member"),
        (["--role", "steward", "x2"], {}, "has 2 commons"),
        (
            ["--role", "steward", "--commons", "toolshed", "--password-env", "NOPE", "x3"],
            {},
            "NOPE is not set",
        ),
        (
            ["--role", "steward", "--commons", "toolshed", "--password-env", "PW", "x4"],
            {"PW": "short"},
            "too short",
        ),
    ],
)
def test_account_add_errors_are_clear(
    federation: Federation, args: list[str], env: dict[str, str], message: str
) -> None:
    if "--password-env" not in args and "x2" not in args:
        args = [*args[:-1], "--password-env", "PW", args[-1]]
    proc = run(federation.config, "account", "add", *args, env=env)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_disable_unknown_account(federation: Federation) -> None:
    proc = run(federation.config, "account", "disable", "ghost")
    assert proc.returncode == 1 and "no account named 'ghost'" in proc.stderr


def test_dashboard_command_keeps_security_settings_on() -> None:
    cmd = streamlit_command(APP, port=8765, host="127.0.0.1", debug=False)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("app.py")
    assert "--server.enableXsrfProtection=true" in cmd
    assert "--client.showErrorDetails=false" in cmd
    assert "--server.headless=true" in cmd
    assert "--browser.gatherUsageStats=false" in cmd
    assert "--server.port=8765" in cmd
    debug = streamlit_command(APP, port=8765, host="127.0.0.1", debug=True)
    assert "--client.showErrorDetails=full" in debug
    assert "--server.enableXsrfProtection=true" in debug


def test_dashboard_command_turns_off_per_run_overheads_of_a_development_server() -> None:
    # Under 20 sessions the forced full collection after each script run and the
    # per-session source watcher took most of the server's CPU (bench_dashboard_load).
    cmd = streamlit_command(APP, port=8765, host="127.0.0.1", debug=False)
    assert "--runner.postScriptGC=false" in cmd
    assert "--server.fileWatcherType=none" in cmd
    assert "--server.runOnSave=false" in cmd


def test_the_server_reads_its_config_once_with_the_flags_so_nothing_says_restart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Streamlit printed "An update to the [server] config option section was detected"
    at every start: the pages' imports read the config without the flags, `run` then
    with them, and the port and address differed."""
    from streamlit import config as streamlit_config
    from streamlit import config_util
    from streamlit.web import bootstrap
    from streamlit.web import cli as streamlit_cli

    from steward.commands.dashboard import load_streamlit_config

    changed: list[bool] = []
    real = config_util.server_option_changed

    def spy(old: object, new: object) -> bool:
        changed.append(real(old, new))  # type: ignore[arg-type]
        return changed[-1]

    monkeypatch.setattr(config_util, "server_option_changed", spy)
    command = streamlit_command(APP, port=8765, host="127.0.0.1", debug=False)
    try:
        streamlit_config.get_config_options(force_reparse=True)  # as an import would
        load_streamlit_config(command)
        assert streamlit_config.get_option("server.port") == 8765
        # What `streamlit run` does next with the same command line.
        ctx = streamlit_cli.main_run.make_context("run", list(command[4:]))
        flags = {k: v for k, v in ctx.params.items() if k not in ("target", "args")}
        bootstrap.load_config_options(flag_options=flags)
        assert changed[-1] is False
    finally:
        streamlit_config.get_config_options(force_reparse=True)
