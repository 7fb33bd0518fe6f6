"""`steward account`: built-in dashboard accounts (argon2-hashed passwords)."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from steward import access
from steward.display import cell
from steward.errors import InputError

console = Console()


def _password(password_env: str | None) -> str:
    if password_env is not None:
        value = os.environ.get(password_env)
        if not value:
            raise InputError(
                f"environment variable {password_env} is not set or empty",
                hint=f"export {password_env}=... before running the command",
            )
        return value
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def register(app: typer.Typer) -> None:
    account = typer.Typer(help="Dashboard accounts for stewards and members.", no_args_is_help=True)
    app.add_typer(account, name="account")

    @account.command("add")
    def add(
        ctx: typer.Context,
        username: Annotated[str, typer.Argument(help="Login name.")],
        role: Annotated[str, typer.Option(help="steward or member.")] = "member",
        commons: Annotated[
            str | None, typer.Option(help="Commons slug (default: the only commons).")
        ] = None,
        member: Annotated[
            str | None, typer.Option(help="Member code (member accounts only).")
        ] = None,
        email: Annotated[
            str | None, typer.Option(help="Email, used to match a single sign-on identity.")
        ] = None,
        password_env: Annotated[
            str | None,
            typer.Option(
                "--password-env",
                help="Read the password from this environment variable instead of prompting.",
            ),
        ] = None,
    ) -> None:
        """Add an account; the password is prompted for (or read from --password-env)."""
        from steward.cli import state

        ws = state(ctx).workspace()
        if commons is None:
            slugs = [c.slug for c in ws.settings.commons]
            if len(slugs) != 1:
                raise InputError(
                    f"this workspace has {len(slugs)} commons; say which one",
                    hint=f"add --commons with one of: {', '.join(slugs)}",
                )
            commons = slugs[0]
        password = _password(password_env)
        with ws.store.write() as conn:
            info = access.create_account(
                conn,
                username=username,
                password=password,
                role=role,
                commons=commons,
                member=member,
                email=email,
            )
        who = f" for member {info.member_code}" if info.member_code else ""
        console.print(
            f"Added {info.role} account {info.username!r} in {info.commons_slug}{who}.",
            highlight=False,
            markup=False,
        )

    @account.command("list")
    def list_(ctx: typer.Context) -> None:
        """List accounts (never their passwords)."""
        from steward.cli import state

        ws = state(ctx).workspace()
        with ws.store.read() as conn:
            rows = access.list_accounts(conn)
        if not rows:
            console.print("No accounts yet: add one with `steward account add`.")
            return
        table = Table(title="Accounts")
        for col in ("username", "role", "commons", "member", "email", "status", "created"):
            # Folded, never cut with "…": an email cut short cannot be checked or used.
            table.add_column(col, overflow="fold")
        for a in rows:
            table.add_row(
                cell(a.username),
                str(a.role),
                cell(a.commons_slug or ""),
                cell(a.member_code or ""),
                cell(a.email or ""),
                "disabled" if a.disabled else "active",
                f"{a.created_at:%Y-%m-%d}",
            )
        console.print(table)

    @account.command("disable")
    def disable(
        ctx: typer.Context, username: Annotated[str, typer.Argument(help="Login name.")]
    ) -> None:
        """Disable an account: it can no longer sign in, and open sessions end."""
        from steward.cli import state

        ws = state(ctx).workspace()
        with ws.store.write() as conn:
            access.disable_account(conn, username)
        console.print(f"Disabled account {username!r}.", highlight=False, markup=False)

    @account.command("enable")
    def enable(
        ctx: typer.Context, username: Annotated[str, typer.Argument(help="Login name.")]
    ) -> None:
        """Re-enable a disabled account; its password is unchanged."""
        from steward.cli import state

        ws = state(ctx).workspace()
        with ws.store.write() as conn:
            access.enable_account(conn, username)
        console.print(f"Enabled account {username!r}.", highlight=False, markup=False)

    @account.command("passwd")
    def passwd(
        ctx: typer.Context,
        username: Annotated[str, typer.Argument(help="Login name.")],
        password_env: Annotated[
            str | None,
            typer.Option(
                "--password-env",
                help="Read the new password from this environment variable instead of prompting.",
            ),
        ] = None,
    ) -> None:
        """Set a new password (prompted for, or read from --password-env)."""
        from steward.cli import state

        ws = state(ctx).workspace()
        with ws.store.read() as conn:
            access.require_account(conn, username)  # before prompting for a password
        password = _password(password_env)
        with ws.store.write() as conn:
            access.set_password(conn, username, password)
        console.print(f"Changed the password of {username!r}.", highlight=False, markup=False)
