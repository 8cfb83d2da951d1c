"""Operators' commands for the registry (registered on ``python -m hub``): thin wrappers
over initiatives.exchange (issue 3), initiatives.freshness and initiatives.overlap
(issue 4), and bulk review over initiatives.review (issue 21).

Importing and comparing need the database ready (schema, reference areas, demo data in
demo mode), which only the composition root knows how to do: ``register`` takes its
``prepare_database``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from hub.cli import friendly_errors, operator
from hub.db import make_engine, session_scope
from hub.errors import InvalidInput
from hub.tabular import safe_cell
from initiatives.exchange import ExportFormat, export_initiatives, import_initiatives
from initiatives.freshness import send_freshness_reminders
from initiatives.overlap import area_tree, batch_overlaps, read_overlap_file, registry_records
from initiatives.overlap import threshold as default_threshold
from initiatives.review import Decision, review_many, waiting
from partners.service import find_organisation


def remind() -> None:
    """Remind partners of initiatives past their end date or not confirmed lately."""
    engine = make_engine()
    with session_scope(engine) as session:
        run = send_freshness_reminders(session=session)
    typer.echo(
        f"{run.reminded} reminders written; {run.emailed} e-mails sent; "
        f"{run.mail_errors} e-mails failed."
    )


def register(app: typer.Typer, *, prepare_database: Callable[[Engine], object]) -> None:
    register_review(app, prepare_database=prepare_database)

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
        if not file.is_file():
            raise InvalidInput(f"No file at {file}.")
        engine = make_engine()
        prepare_database(engine)
        with session_scope(engine) as session:
            lead = find_organisation(session=session, name_or_acronym=organisation)
            report = import_initiatives(
                session=session,
                actor=operator(),
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
        if format not in {f.value for f in ExportFormat}:
            raise InvalidInput("--format: use csv, xlsx, hxl or iati.")
        engine = make_engine()
        prepare_database(engine)
        with session_scope(engine) as session:
            exported = export_initiatives(
                session=session, actor=operator(), format=format, include_all=all_
            )
        out.write_bytes(exported.data)
        typer.echo(
            f"Exported {exported.count} initiatives to {out} ({len(exported.data):,} bytes)."
        )

    app.command("remind")(friendly_errors(remind))

    @app.command("overlaps")
    @friendly_errors
    def overlaps_command(
        file: Annotated[Path, typer.Argument(help="CSV or XLSX in the registry exchange format.")],
        out: Annotated[
            Path, typer.Option("--out", help="CSV to write: id_a,id_b,score,explanation.")
        ],
        threshold: Annotated[
            float | None,
            typer.Option(help="Lowest score (0 to 1) written; default HUB_OVERLAP_THRESHOLD."),
        ] = None,
        against_registry: Annotated[
            bool, typer.Option("--against-registry", help="Also compare with the registry.")
        ] = False,
    ) -> None:
        """Find overlapping initiatives in a file (only id and title are required)."""
        if not file.is_file():
            raise InvalidInput(f"No file at {file}.")
        if threshold is not None and not 0 <= threshold <= 1:
            raise InvalidInput("--threshold: give a number between 0 and 1, such as 0.5.")
        records = read_overlap_file(file.read_bytes(), filename=file.name)
        engine = make_engine()
        prepare_database(engine)
        with session_scope(engine) as session:
            tree = area_tree(session=session)
            against = registry_records(session=session)[0] if against_registry else []
        pairs = batch_overlaps(
            records,
            tree=tree,
            min_score=default_threshold() if threshold is None else threshold,
            against=against,
        )
        partial = out.with_name(out.name + ".partial")
        # utf-8-sig: a BOM first, the one convention of every CSV the hub writes
        with partial.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id_a", "id_b", "score", "explanation"])
            for pair in pairs:
                cells = (pair.key_a, pair.key_b, f"{pair.score:.3f}", pair.explanation)
                writer.writerow([safe_cell(c) for c in cells])  # formulas stay text
        os.replace(partial, out)  # all or nothing: no half-written file on a failure
        typer.echo(
            f"{len(records)} initiatives read; {len(pairs)} overlapping pairs written to {out}."
        )


def review(
    decision: Decision,
    *,
    prepare_database: Callable[[Engine], object],
    organisation: str | None,
    import_id: str | None,
    category: str | None,
    message: str | None,
    dry_run: bool,
) -> None:
    """Decide every record waiting for review that the filters select."""
    engine = make_engine()
    prepare_database(engine)
    with session_scope(engine) as session:
        lead = (
            find_organisation(session=session, name_or_acronym=organisation)
            if organisation
            else None
        )
        selected = waiting(
            session=session,
            actor=operator(),
            organisation_id=lead.id if lead else None,
            import_id_=import_id,
            category=category,
        )
        imports = sorted({c.import_id for c in selected})
        typer.echo(
            f"{len(selected)} records waiting for review selected "
            f"(imports: {', '.join(imports[:5]) or '-'}{' ...' if len(imports) > 5 else ''})."
        )
        if dry_run or not selected:
            return

        def tick(done: int, total: int) -> None:
            if done == total or done % 100 == 0:
                typer.echo(f"\r{decision.value}: {done}/{total}", nl=done == total)

        result = review_many(
            session=session,
            actor=operator(),
            ids=[c.initiative_id for c in selected],
            versions={c.initiative_id: c.version for c in selected},
            decision=decision,
            message=message,
            progress=tick,
        )
    typer.echo(result.summary())
    for refusal in result.refused:
        typer.echo(f"{refusal.code}: {refusal.reason}")
    if result.refused:
        raise typer.Exit(1)


def _review_command(
    decision: Decision, prepare_database: Callable[[Engine], object]
) -> Callable[..., None]:
    def command(
        organisation: Annotated[
            str | None, typer.Option(help="Lead organisation (name or acronym).")
        ] = None,
        import_id: Annotated[
            str | None,
            typer.Option("--import", help="Import id (a --dry-run lists those selected)."),
        ] = None,
        category: Annotated[str | None, typer.Option(help="Category code.")] = None,
        message: Annotated[
            str | None,
            typer.Option(help="Reason the partner sees (send-back and reject need one)."),
        ] = None,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Count the selection; change nothing.")
        ] = False,
    ) -> None:
        review(
            decision,
            prepare_database=prepare_database,
            organisation=organisation,
            import_id=import_id,
            category=category,
            message=message,
            dry_run=dry_run,
        )

    command.__doc__ = f"{decision.value.capitalize()}: every record the filters select."
    return friendly_errors(command)


def register_review(app: typer.Typer, *, prepare_database: Callable[[Engine], object]) -> None:
    """``python -m hub review approve|send-back|reject`` (bulk review)."""
    group = typer.Typer(help="Approve, send back or reject many submissions at once.")
    app.add_typer(group, name="review")
    for decision in Decision:
        group.command(decision.value)(_review_command(decision, prepare_database))
