"""Operators' commands for organisations and accounts (registered on ``python -m hub``)."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.auth import Role
from hub.cli import friendly_errors
from hub.db import make_engine, migrate, session_scope
from partners.accounts import bootstrap_account
from partners.models import AccountDraft
from partners.service import find_organisation


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


def register(app: typer.Typer) -> None:
    app.command("create-user")(friendly_errors(create_user))
