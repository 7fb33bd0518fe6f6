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
from typing import Annotated

import typer
from rich.console import Console

from steward import log_masking
from steward.errors import StewardError
from steward.workspace import Workspace, open_workspace

#: Modules that add commands: each exposes ``register(app)``.
COMMAND_MODULES: tuple[str, ...] = (
    "steward.commands.workspace",
    "steward.commands.status",
    "steward.commands.importing",
    "steward.commands.demo",
    "steward.commands.forecast",
    "steward.commands.calibrate",
    "steward.commands.account",
    "steward.commands.dashboard",
    "steward.commands.collect",
    "steward.commands.quotas",
    "steward.commands.alerts",
)

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class CliState:
    config: Path | None = None
    debug: bool = False
    _workspace: Workspace | None = field(default=None, repr=False)

    def workspace(self, *, sync: bool = True) -> Workspace:
        if self._workspace is None:
            self._workspace = open_workspace(self.config, sync=sync)
            if not self.debug:
                # logging.level in the config (or STEWARD_LOG_LEVEL) applies from here on.
                logging.getLogger().setLevel(self._workspace.settings.logging.level)
        return self._workspace


app = typer.Typer(
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
    )
    log_masking.install()  # also in --debug: library request logs carry URLs with tokens
    if not debug:
        # Libraries log every job run and every send; Steward logs what changed.
        for noisy in ("alembic", "apscheduler", "apprise", "httpx"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    ctx.call_on_close(lambda: ctx.obj._workspace and ctx.obj._workspace.close())


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv)
    try:
        app(args=argv, standalone_mode=False)
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
