"""Operators' commands for feeds (registered on ``python -m hub``): thin wrappers over
feeds.service and feeds.worker. ``python -m hub worker`` runs every scheduled job, so
it lives in wiring."""

from __future__ import annotations

from typing import Annotated

import typer

from feeds.models import SourceDraft, TrustTier
from feeds.service import create_source, find_source, source_health
from feeds.worker import poll_sources
from hub.cli import friendly_errors, operator
from hub.db import make_engine, migrate, session_scope
from hub.errors import InvalidInput
from hub.i18n import _


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
    if trust not in {t.value for t in TrustTier}:
        raise InvalidInput(_("--trust: use trusted, allowed, unverified or blocked."))
    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        source = create_source(
            session=session,
            actor=operator(),
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


def sources_list() -> None:
    """List feed sources with their health."""
    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        rows = source_health(session=session, actor=operator())
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


def fetch(
    source: Annotated[str | None, typer.Option(help="Only this source (by name).")] = None,
) -> None:
    """Poll feed sources now (all enabled ones, or --source) and print a summary each."""
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


def register(app: typer.Typer) -> None:
    sources_app = typer.Typer(help="Feed sources: add and list.", no_args_is_help=True)
    sources_app.command("add")(friendly_errors(sources_add))
    sources_app.command("list")(friendly_errors(sources_list))
    app.add_typer(sources_app, name="sources")
    app.command("fetch")(friendly_errors(fetch))
