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

from connectivity.cli import register as register_connectivity
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


# --- feeds (issue 5): thin wrappers over feeds.service / feeds.worker -----------------

sources_app = typer.Typer(help="Feed sources: add and list.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")


def _operator() -> Any:
    """The CLI acts with staff rights as the system principal (id 0, no account)."""
    from hub.auth import SYSTEM_EMAIL, Principal
    from hub.records import utcnow

    return Principal(
        account_id=0,
        email=SYSTEM_EMAIL,
        display_name="command line",
        role=Role.ADMIN,
        organisation_id=None,
        signed_in_at=utcnow(),
    )


@sources_app.command("add")
@friendly_errors
def sources_add(
    name: Annotated[str, typer.Option(help="Name shown to staff and the public.")],
    url: Annotated[str, typer.Option(help="Feed address (RSS, Atom or JSON Feed), https://...")],
    trust: Annotated[
        str, typer.Option(help="trusted, allowed, unverified or blocked.")
    ] = "allowed",
    interval: Annotated[int, typer.Option(help="Minutes between polls (at least 15).")] = 30,
    publisher: Annotated[str, typer.Option(help="Who publishes the feed.")] = "",
    attribution: Annotated[str, typer.Option(help="Credit line the source requires.")] = "",
    language: Annotated[str, typer.Option(help="Language code of the items.")] = "pt",
) -> None:
    """Register a feed source."""
    from feeds.models import SourceDraft, TrustTier
    from feeds.service import create_source
    from hub.errors import InvalidInput
    from hub.i18n import _

    if trust not in {t.value for t in TrustTier}:
        raise InvalidInput(_("--trust: use trusted, allowed, unverified or blocked."))
    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        source = create_source(
            session=session,
            actor=_operator(),
            draft=SourceDraft(
                name=name,
                url=url,
                trust=TrustTier(trust),
                interval_minutes=interval,
                publisher=publisher,
                attribution=attribution,
                language=language,
            ),
        )
        typer.echo(
            f"Added source {source.name} (id {source.id}, {source.trust.value}): {source.url}"
        )


@sources_app.command("list")
@friendly_errors
def sources_list() -> None:
    """List feed sources with their health."""
    from feeds.service import source_health

    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        rows = source_health(session=session, actor=_operator())
    if not rows:
        typer.echo("No feed sources. Add one with `python -m hub sources add`.")
    for row in rows:
        state = "enabled" if row.enabled else "disabled"
        typer.echo(
            f"{row.id:>4}  {row.name}  [{row.trust.value}, {state}, {row.outcome.value}, "
            f"{row.items_last_24h} items/24h, {row.consecutive_failures} failures]  {row.url}"
        )
        if row.message:
            typer.echo(f"      {row.message}")


@app.command("fetch")
@friendly_errors
def fetch(
    source: Annotated[str | None, typer.Option(help="Only this source (by name).")] = None,
) -> None:
    """Poll feed sources now (all enabled ones, or --source) and print a summary each."""
    from feeds.service import find_source
    from feeds.worker import poll_sources

    engine = make_engine()
    migrate(engine)
    ids = None
    if source:
        with session_scope(engine) as session:
            ids = [find_source(session=session, name=source).id or 0]
    summaries = poll_sources(engine=engine, source_ids=ids, due_only=False)
    if not summaries:
        typer.echo("No enabled feed sources to poll.")
    for summary in summaries:
        if summary.skipped:
            typer.echo(f"{summary.source_name}: skipped, another scheduler is polling it.")
            continue
        line = (
            f"{summary.source_name}: {summary.outcome.value}, {summary.new} new, "
            f"{summary.updated} revised, {summary.unchanged} unchanged"
        )
        typer.echo(line + (f". {summary.message}" if summary.message else ""))


@app.command("worker")
@friendly_errors
def worker() -> None:
    """Run the feed scheduler in this process until Ctrl-C or SIGTERM (for deployments
    whose app replicas run with HUB_RUN_SCHEDULER=0)."""
    from feeds.scheduler import run_worker

    engine = make_engine()
    prepare_database(engine)
    typer.echo("Feed worker running; Ctrl-C or SIGTERM stops it.")
    run_worker(engine)
    typer.echo("Feed worker stopped.")


register_connectivity(app, friendly_errors)  # import-indicators, gaps, ... (issue 7)


# --- registry exchange (issue 3): thin wrappers over initiatives.exchange --------------


@app.command("import-initiatives")
@friendly_errors
def import_initiatives_command(
    file: Annotated[Path, typer.Argument(help="Exchange-format CSV or XLSX file.")],
    organisation: Annotated[
        str, typer.Option(help="Lead organisation (name or acronym) of rows that name none.")
    ],
    valid_only: Annotated[
        bool, typer.Option("--valid-only", help="Import the valid rows; report the others.")
    ] = False,
    submit: Annotated[
        bool, typer.Option("--submit", help="New initiatives go to review, not to drafts.")
    ] = False,
) -> None:
    """Import initiatives (docs/exchange-format.md); all rows or none unless --valid-only."""
    from hub.errors import InvalidInput
    from initiatives.exchange import import_initiatives
    from partners.service import find_organisation

    if not file.is_file():
        raise InvalidInput(f"No file at {file}.")
    engine = make_engine()
    prepare_database(engine)
    with session_scope(engine) as session:
        lead = find_organisation(session=session, name_or_acronym=organisation)
        report = import_initiatives(
            session=session,
            actor=_operator(),
            data=file.read_bytes(),
            filename=file.name,
            organisation_id=lead.id,
            valid_only=valid_only,
            submit=submit,
        )
    for line in report.lines():
        typer.echo(line)
    if report.problems:
        raise typer.Exit(1)


@app.command("export-initiatives")
@friendly_errors
def export_initiatives_command(
    out: Annotated[Path, typer.Argument(help="File to write.")],
    format: Annotated[str, typer.Option("--format", help="csv, xlsx, hxl or iati.")] = "csv",
    all_: Annotated[
        bool,
        typer.Option("--all", help="Every state and contact e-mails (staff export)."),
    ] = False,
) -> None:
    """Export the registry; by default the public export (published, public fields)."""
    from hub.errors import InvalidInput
    from initiatives.exchange import ExportFormat, export_initiatives

    if format not in {f.value for f in ExportFormat}:
        raise InvalidInput("--format: use csv, xlsx, hxl or iati.")
    engine = make_engine()
    prepare_database(engine)
    with session_scope(engine) as session:
        exported = export_initiatives(
            session=session, actor=_operator(), format=format, include_all=all_
        )
    out.write_bytes(exported.data)
    typer.echo(f"Exported {exported.count} initiatives to {out} ({len(exported.data):,} bytes).")


@app.command("export-public")
@friendly_errors
def export_public_command(
    outdir: Annotated[Path, typer.Argument(help="Folder for index.html, feed.xml and open data.")],
) -> None:
    """Write the public page and open data as static files for any static host."""
    from portal.export import export_public

    engine = make_engine()
    sizes = export_public(engine, outdir)
    for name, size in sizes.items():
        typer.echo(f"{outdir / name}  {size:,} bytes")


@app.command("remind")
@friendly_errors
def remind() -> None:
    """Remind partners of initiatives past their end date or not confirmed lately."""
    from initiatives.freshness import send_freshness_reminders

    engine = make_engine()
    with session_scope(engine) as session:
        run = send_freshness_reminders(session=session)
    typer.echo(
        f"{run.reminded} reminders written; {run.emailed} e-mails sent; "
        f"{run.mail_errors} e-mails failed."
    )


# --- overlap detection (issue 4): a thin wrapper over initiatives.overlap -------------


@app.command("overlaps")
@friendly_errors
def overlaps_command(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX in the registry exchange format.")],
    out: Annotated[Path, typer.Option("--out", help="CSV to write: id_a,id_b,score,explanation.")],
    threshold: Annotated[
        float | None,
        typer.Option(help="Lowest score (0 to 1) written; default HUB_OVERLAP_THRESHOLD."),
    ] = None,
    against_registry: Annotated[
        bool, typer.Option("--against-registry", help="Also compare with the registry.")
    ] = False,
) -> None:
    """Find overlapping initiatives in a file (only id and title are required)."""
    import csv
    import os

    from hub.errors import InvalidInput
    from initiatives.overlap import (
        area_tree,
        batch_overlaps,
        read_overlap_file,
        registry_records,
    )
    from initiatives.overlap import threshold as default_threshold

    if not file.is_file():
        raise InvalidInput(f"No file at {file}.")
    if threshold is not None and not 0 <= threshold <= 1:
        raise InvalidInput("--threshold: give a number between 0 and 1, such as 0.5.")
    records = read_overlap_file(file.read_bytes(), filename=file.name)
    engine = make_engine()
    prepare_database(engine)
    with session_scope(engine) as session:
        tree = area_tree(session)
        against = registry_records(session)[0] if against_registry else []
    pairs = batch_overlaps(
        records,
        tree=tree,
        min_score=default_threshold() if threshold is None else threshold,
        against=against,
    )
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id_a", "id_b", "score", "explanation"])
        for pair in pairs:
            writer.writerow([pair.key_a, pair.key_b, f"{pair.score:.3f}", pair.explanation])
    os.replace(partial, out)  # all or nothing: no half-written file on a failure
    typer.echo(f"{len(records)} initiatives read; {len(pairs)} overlapping pairs written to {out}.")


def main() -> None:
    app()
