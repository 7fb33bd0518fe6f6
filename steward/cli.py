"""The ``steward`` command.

Every command reaches the workspace through :class:`CliState`, so config loading,
schema checks and error reporting behave the same everywhere. Errors Steward
raises on purpose print as one message and a non-zero exit; ``--debug`` shows the
traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.main
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from steward import log_masking
from steward.errors import StewardError

if TYPE_CHECKING:
    from steward.workspace import Workspace

#: Every command: (module that registers it with ``register(app)``, one-line help).
#: Modules load only when their command runs, so ``steward --help`` and commands
#: that do not forecast never import pandas, statsmodels or scipy.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("workspace", "Create a workspace: a configuration file and an up-to-date database."),
    "check": ("workspace", "Validate the configuration and reach the database."),
    "db": ("workspace", "Database schema."),
    "status": ("status", "Where each resource stands, its trend and its forecast risk."),
    "import": ("importing", "Load a CSV by hand; re-running it never double counts."),
    "demo": ("demo", "Build the demo federation from scratch, then run the monitor on it."),
    "forecast": (
        "forecast",
        "Forecast resources (backtested model choice) and store risk figures.",
    ),
    "calibrate": (
        "calibrate",
        "Backtest the risk figures over past origins and store their reliability per resource.",
    ),
    "dashboard": ("dashboard", "Serve the live dashboard (stewards and members sign in)."),
    "collect": ("collect", "Run collectors now and show what each read."),
    "sources": ("collect", "Health of every configured collector."),
    "quarantine": ("collect", "Rows a source sent that could not be recorded."),
    "run": (
        "collect",
        "Run every scheduled job (collectors, pipeline) until stopped (SIGTERM/Ctrl-C).",
    ),
    "quotas": (
        "quotas",
        "Show this period's quotas: allocation, used, remaining, projected, status.",
    ),
    "account": ("account", "Dashboard accounts for stewards and members."),
    "alerts": ("alerts", "Alerts: list, acknowledge, silence, test a route."),
}
#: Kept for callers that walk every command module (tests, docs checks).
COMMAND_MODULES: tuple[str, ...] = tuple(
    dict.fromkeys(f"steward.commands.{module}" for module, _ in COMMANDS.values())
)


def plain_flags(command: Any, ctx: Any) -> Any:
    """Drop the ``<bool>`` type that newer Typer prints beside every flag in help.

    A flag (``--debug``, ``--refresh``, ``--serve/--no-serve``, ``--help``) takes
    no value, so a type column saying ``<bool>`` reads as if it wanted one.
    Walks ``command`` and its subcommands; returns ``command``.
    """
    params = list(getattr(command, "params", []))
    helper = command.get_help_option(ctx) if hasattr(command, "get_help_option") else None
    if helper is not None:
        params.append(helper)
    for param in params:
        if getattr(param, "is_flag", False) and not getattr(param, "count", False):
            param.metavar = ""
    for sub in (getattr(command, "commands", None) or {}).values():
        plain_flags(sub, ctx)
    return command


class LazyCommands(TyperGroup):
    """Typer group that imports a command's module only when that command runs.

    Help lists the commands from :data:`COMMANDS` without importing them.
    """

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        module, help_text = COMMANDS[cmd_name]
        if self._listing:
            return TyperCommand(name=cmd_name, help=help_text)
        holder = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
        importlib.import_module(f"steward.commands.{module}").register(holder)
        # A callback keeps a one-command holder a group, so the command is found by name.
        holder.callback()(lambda: None)
        return plain_flags(typer.main.get_group(holder).get_command(ctx, cmd_name), ctx)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        plain_flags(self, ctx)
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


console = Console()
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class CliState:
    config: Path | None = None
    debug: bool = False
    _workspace: Workspace | None = field(default=None, repr=False)

    def workspace(self, *, sync: bool = True) -> Workspace:
        if self._workspace is None:
            from steward.workspace import open_workspace

            self._workspace = open_workspace(self.config, sync=sync)
            if not self.debug:
                # logging.level in the config (or STEWARD_LOG_LEVEL) applies from here on.
                self._workspace.settings.logging.apply()
        return self._workspace


app = typer.Typer(
    cls=LazyCommands,
    name="steward",
    help="Keep shared resources healthy: ledger, forecasts, fair-use quotas and alerts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="STEWARD_CONFIG",
            help="Configuration file (default config/steward.yaml).",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    ctx.obj = CliState(config=config, debug=debug)
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[_StderrNow()],
    )
    log_masking.install()  # also in --debug: library request logs carry URLs with tokens
    if not debug:
        # Libraries log every job run and every send; Steward logs what changed.
        for noisy in ("alembic", "apscheduler", "apprise", "httpx"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    ctx.call_on_close(lambda: ctx.obj._workspace and ctx.obj._workspace.close())


class _StderrNow(logging.StreamHandler):
    """Logs to whatever ``sys.stderr`` is when a record is written, not when logging
    was set up: a progress bar (rich) takes stderr over while it draws, and a handler
    holding the old stream glued its lines to the bar ("36/362026-12-01 ... INFO")."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # always the current sys.stderr


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv)
    try:
        # Outside standalone mode click returns a command's typer.Exit code instead of
        # exiting with it; an int here is that code (commands themselves return None).
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and not isinstance(code, bool) and code:
            sys.exit(code)
    except StewardError as exc:
        if debug:
            raise
        err_console.print(f"error: {exc.message}", style="bold red", highlight=False, markup=False)
        if exc.hint:
            err_console.print(f"  hint: {exc.hint}", highlight=False, markup=False)
        sys.exit(1)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code or 0)
    except Exception as exc:
        if debug:
            raise
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            # Usage errors (unknown command, bad option) from click, possibly typer's copy.
            exc.show()
            sys.exit(exc.exit_code)
        err_console.print(
            f"unexpected error: {type(exc).__name__}: {exc}", highlight=False, markup=False
        )
        err_console.print("  hint: re-run with --debug for the traceback and report it")
        sys.exit(2)
