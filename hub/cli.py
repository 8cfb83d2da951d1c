"""Operators' command line: ``python -m hub --help``.

Every command reports problems as one clear line on stderr and exits 1; never a
traceback for a mistake an operator can fix.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from hub import settings
from hub.auth import Role
from hub.backup import backup as backup_database
from hub.backup import restore as restore_database
from hub.bootstrap import prepare_database
from hub.db import current_revisions, make_engine, migrate, session_scope
from hub.demo import DEMO_PASSWORD, database_is_empty, load_demo
from hub.errors import HubError
from hub.i18n import set_language
from hub.settings import SettingsError

app = typer.Typer(help="Operate the crisis-response coordination hub.", no_args_is_help=True)

F = TypeVar("F", bound=Callable[..., Any])


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


@app.command("init-db")
@friendly_errors
def init_db() -> None:
    """Create or upgrade the schema (Alembic); in demo mode, load demo data if empty."""
    engine = make_engine()
    loaded = prepare_database(engine)
    typer.echo(
        f"Database ready at schema {', '.join(sorted(current_revisions(engine)))}: "
        f"{engine.url.render_as_string(hide_password=True)}"
    )
    if loaded:
        typer.echo(f"Demo mode: loaded {loaded} demo records. Demo password: {DEMO_PASSWORD}")


@app.command("create-user")
@friendly_errors
def create_user(
    email: Annotated[str, typer.Option(help="Sign-in e-mail address.")],
    name: Annotated[str, typer.Option(help="The person's name as others will see it.")],
    role: Annotated[Role, typer.Option(help="admin, staff or partner.")] = Role.STAFF,
    organisation: Annotated[
        str | None, typer.Option(help="For partner accounts: organisation name or acronym.")
    ] = None,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="At least 10 characters; asked for when omitted.",
        ),
    ] = "",
) -> None:
    """Create an account (the first administrator, typically)."""
    from partners.accounts import bootstrap_account
    from partners.models import AccountDraft
    from partners.service import find_organisation

    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        organisation_id = None
        if organisation:
            organisation_id = find_organisation(session=session, name_or_acronym=organisation).id
        account = bootstrap_account(
            session=session,
            draft=AccountDraft(
                email=email,
                display_name=name,
                role=role,
                organisation_id=organisation_id,
                password=password,
            ),
        )
        typer.echo(f"Created {account.role.value} account {account.email} (id {account.id}).")


@app.command("load-demo")
@friendly_errors
def load_demo_command(
    if_empty: Annotated[bool, typer.Option(help="Only when the database has no data yet.")] = False,
) -> None:
    """Load the illustrative demo organisations and accounts."""
    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        if if_empty and not database_is_empty(session=session):
            typer.echo("Database already has data; demo data not loaded.")
            return
        added = load_demo(session=session)
    typer.echo(f"Demo data loaded: {added} records added. Demo password: {DEMO_PASSWORD}")


@app.command("backup")
@friendly_errors
def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the backup.")],
    overwrite: Annotated[bool, typer.Option(help="Replace FILE if it exists.")] = False,
) -> None:
    """Write a consistent backup of the whole database to FILE (the app may keep running)."""
    engine = make_engine()
    target = backup_database(engine, file, overwrite=overwrite)
    typer.echo(f"Backup written to {target} ({target.stat().st_size:,} bytes).")


@app.command("restore")
@friendly_errors
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


def main() -> None:
    app()
