"""``python -m hub report --week 2026-W49 --out DIR``: create the week's report (or take
the existing one of that week) and write its files: HTML and PDF in both languages, the
snapshot as HXL CSV and JSON. ``--compare 2026-W48`` prints what moved since that week."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from hub.cli import friendly_errors, operator
from hub.db import make_engine, session_scope
from hub.errors import InvalidInput
from hub.i18n import _
from reports.draft import compare_reports
from reports.models import Report
from reports.render import (
    build_view,
    render_document,
    render_pdf,
    snapshot_csv,
    snapshot_json,
)
from reports.service import create_weekly_report, get_report, week_bounds


def _write(path: Path, data: bytes) -> None:
    """Written beside, then renamed: a reader never sees half a file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def write_report_files(*, engine: Engine, report_id: int, out: Path) -> list[Path]:
    written = []
    with session_scope(engine) as session:
        report = get_report(session=session, actor=operator(), report_id=report_id)
        view = build_view(session=session, report=report)
        stem = f"report-{report.slug}"
        files = {
            f"{stem}.csv": snapshot_csv(session=session, report=report).encode(),
            f"{stem}.json": snapshot_json(
                session=session, report=report, figures=view.figures
            ).encode(),
        }
        for language in ("pt", "en"):
            files[f"{stem}-{language}.html"] = render_document(view, language=language).encode()
            files[f"{stem}-{language}.pdf"] = render_pdf(view, language=language)
    for name, data in files.items():
        _write(out / name, data)
        written.append(out / name)
    return written


def register(app: typer.Typer, *, prepare_database: Callable[[Engine], object]) -> None:
    @app.command("report")
    @friendly_errors
    def report_command(
        week: Annotated[str, typer.Option("--week", help="ISO week, e.g. 2026-W49.")],
        out: Annotated[Path, typer.Option("--out", help="Folder for the files.")],
        compare: Annotated[
            str | None, typer.Option("--compare", help="An earlier week to compare with.")
        ] = None,
    ) -> None:
        """The weekly situation report: snapshot, HTML, PDF, HXL CSV and JSON."""
        week_bounds(week)  # a malformed week fails before anything is written
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InvalidInput(
                _("Cannot write to {folder}: {reason}.").format(folder=out, reason=err.strerror)
            ) from None
        engine = make_engine()
        prepare_database(engine)
        with session_scope(engine) as session:
            report = session.exec(select(Report).where(col(Report.slug) == week)).first()
            if report is None:
                report = create_weekly_report(session=session, actor=operator(), week=week)
                typer.echo(f"Report {week} created (cut-off {report.cutoff.isoformat()}).")
            report_id = report.id or 0
            if compare:
                earlier = session.exec(select(Report).where(col(Report.slug) == compare)).first()
                if earlier is None:
                    raise InvalidInput(
                        _("No report for {week}.").format(week=compare), field="compare"
                    )
                by_category, by_district = compare_reports(
                    session=session, before=earlier, after=report
                )
                for title, rows in (("category", by_category), ("district", by_district)):
                    for row in rows:
                        typer.echo(
                            f"{title} {row.key}: {row.before} -> {row.after} ({row.change:+d})"
                        )
        for path in write_report_files(engine=engine, report_id=report_id, out=out):
            typer.echo(str(path))
