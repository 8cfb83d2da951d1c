"""The operators' command line, core part: ``python -m hub --help``.

``wiring.build_cli`` makes the app with ``new_app``, registers the core commands
(``register``: backup, restore) and then each package's own (``<package>/cli.py``,
``register(app)``). Every command reports problems as one clear line on stderr and
exits 1 (``friendly_errors``); never a traceback for a mistake an operator can fix.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from hub import settings
from hub.auth import SYSTEM_EMAIL, Principal, Role
from hub.backup import backup as backup_database
from hub.backup import restore as restore_database
from hub.db import make_engine
from hub.errors import HubError
from hub.i18n import set_language
from hub.records import utcnow
from hub.settings import SettingsError

F = TypeVar("F", bound=Callable[..., Any])


def new_app() -> typer.Typer:
    """The empty ``python -m hub`` app, before any command is registered."""
    return typer.Typer(help="Operate the crisis-response coordination hub.", no_args_is_help=True)


def friendly_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            set_language(settings.default_language())
            return func(*args, **kwargs)
        except (HubError, SettingsError) as err:
            typer.secho(f"Error: {err}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def operator() -> Principal:
    """The CLI acts with administrator rights as the system principal (id 0, no account)."""
    return Principal(
        account_id=0,
        email=SYSTEM_EMAIL,
        display_name="command line",
        role=Role.ADMIN,
        organisation_id=None,
        signed_in_at=utcnow(),
    )


def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the backup.")],
    overwrite: Annotated[bool, typer.Option(help="Replace FILE if it exists.")] = False,
) -> None:
    """Write a consistent backup of the whole database to FILE (the app may keep running)."""
    engine = make_engine()
    target = backup_database(engine, file, overwrite=overwrite)
    typer.echo(f"Backup written to {target} ({target.stat().st_size:,} bytes).")


def restore(
    file: Annotated[Path, typer.Argument(help="A backup written by `python -m hub backup`.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Replace the whole database with FILE. A corrupt or foreign file is refused."""
    engine = make_engine()
    if not yes:
        typer.confirm(
            f"Replace every record in {engine.url.render_as_string(hide_password=True)} "
            f"with {file}?",
            abort=True,
        )
    revision = restore_database(engine, file)
    typer.echo(f"Restored from {file}; schema {revision}. Restart the app to clear its caches.")


def register(app: typer.Typer) -> None:
    """The core's commands: backup and restore."""
    app.command("backup")(friendly_errors(backup))
    app.command("restore")(friendly_errors(restore))
