"""`steward dashboard`: serve the Streamlit dashboard for this workspace."""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from steward.errors import ConfigError

console = Console()
APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


def streamlit_command(app: Path, *, port: int, host: str, debug: bool) -> list[str]:
    """The `streamlit run` command line; security settings are explicit, not left to defaults."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        f"--server.port={port}",
        f"--server.address={host}",
        "--server.headless=true",
        "--server.enableXsrfProtection=true",
        "--server.enableCORS=true",
        "--browser.gatherUsageStats=false",
        f"--client.showErrorDetails={'full' if debug else 'false'}",
        "--client.toolbarMode=minimal",
        f"--logger.level={'debug' if debug else 'warning'}",
        # A served dashboard is not edited in place: watching source files made every
        # new session resolve the path of each loaded module (about 4,000), and the
        # full garbage collection after every script run took half the server's CPU
        # under load (Python's own collector still runs).
        "--server.fileWatcherType=none",
        "--server.runOnSave=false",
        "--runner.postScriptGC=false",
    ]


def register(app: typer.Typer) -> None:
    @app.command()
    def dashboard(
        ctx: typer.Context,
        port: Annotated[
            int | None, typer.Option(help="Port (default: dashboard.port in the config).")
        ] = None,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    ) -> None:
        """Serve the live dashboard (stewards and members sign in)."""
        from steward.cli import state

        cli = state(ctx)
        ws = cli.workspace(sync=False)
        chosen = port or ws.settings.dashboard.port
        if not APP.exists():
            raise ConfigError(
                f"the dashboard app is missing at {APP}",
                hint="reinstall Steward from its source tree (the dashboards/ folder ships with it)",
            )
        os.environ["STEWARD_CONFIG"] = str(ws.config.path)
        ws.close()
        console.print(f"Dashboard for {ws.config.path} on http://{host}:{chosen}/", highlight=False)
        serve_here(streamlit_command(APP, port=chosen, host=host, debug=cli.debug))


#: What the pages import, loaded before the server listens: otherwise the first page
#: after a start pays for it (about 3 CPU-seconds). Not extra_streamlit_components:
#: a component declared before the server runs never loads in the browser.
WARM_MODULES = (
    "numpy",
    "pandas",
    "pyarrow",
    "sqlalchemy",
    "steward.access",
    "steward.exports",
)


def warm_up() -> None:
    """Load what the first pages need before the server listens, not on their first request.

    The pages' helper modules (``dashboards.*``, not the app and page scripts)
    and every query module are imported, the workspace is opened (when
    ``STEWARD_CONFIG`` names it). Charts are Vega-Lite dicts whose data
    Streamlit sends as Arrow: pyarrow is loaded here, and Altair not at all.
    """
    # Streamlit warns that no server runs yet while components and cached functions
    # are declared: true, and not worth a line in the server's output.
    logging.disable(logging.WARNING)
    try:
        for name in WARM_MODULES:
            importlib.import_module(name)
        for package in ("steward.queries", "dashboards"):
            found = importlib.import_module(package)
            for module in pkgutil.iter_modules(found.__path__):
                # The app and its pages are scripts Streamlit runs, not modules to import.
                if not module.ispkg and module.name != "app":
                    importlib.import_module(f"{package}.{module.name}")
        if os.environ.get("STEWARD_CONFIG"):
            importlib.import_module("dashboards.session").open_now()
        # Once per process Streamlit walks the whole call stack (inspect.stack(), about
        # 0.2 s) to decide whether to warn about running outside `streamlit run`; the
        # first page's first element paid for it. A private helper, so only if present.
        delta_generator = importlib.import_module("streamlit.delta_generator")
        check = getattr(delta_generator, "_maybe_print_use_warning", None)
        if callable(check):
            check()
    finally:
        logging.disable(logging.NOTSET)


def load_streamlit_config(command: list[str]) -> None:
    """Read Streamlit's configuration once, with this command's flags, before anything else does.

    ``command`` is :func:`streamlit_command`'s line. Loading the pages'
    modules (:func:`warm_up`) reads Streamlit's configuration without the
    flags; ``streamlit run`` then read it again with them, saw the server
    section change (the port, the address) and printed "An update to the
    [server] config option section was detected. To have these changes be
    reflected, please restart streamlit." at every start, though nothing
    needed a restart. Parsed by Streamlit's own ``run`` command, so the values
    are the ones its second reading gets, and that reading changes nothing.
    """
    from streamlit import config as streamlit_config
    from streamlit.web import bootstrap
    from streamlit.web import cli as streamlit_cli

    ctx = streamlit_cli.main_run.make_context("run", list(command[4:]))
    flags = {k: v for k, v in ctx.params.items() if k not in ("target", "args")}
    if hasattr(streamlit_config, "_main_script_path"):
        # Streamlit also reads a .streamlit/config.toml beside the app (set by `run`).
        streamlit_config._main_script_path = os.path.abspath(ctx.params["target"])
    bootstrap.load_config_options(flag_options=flags)


def serve_here(command: list[str]) -> None:
    """Run the Streamlit server in this process (the same pid as `steward dashboard`).

    A signal to the command reaches the server itself, so stopping it stops the
    server and frees the port; and what the pages need is loaded first (:func:`warm_up`).
    """
    load_streamlit_config(command)
    warm_up()
    from streamlit.web import cli as streamlit_cli

    sys.argv = ["streamlit", *command[3:]]  # command is `python -m streamlit run ...`
    streamlit_cli.main()
