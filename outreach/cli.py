"""Operators' commands for reaching people offline (registered on ``python -m hub``):
``leaflets`` prints the area leaflets as PDF files, or one ZIP; ``postal-codes load FILE``
loads an office's own postal code file (for SMS ``INFO <postal code>``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from geo.postal_codes import load_postal_codes
from hub.cli import friendly_errors
from hub.db import make_engine, session_scope
from hub.errors import InvalidInput
from hub.i18n import _
from outreach.leaflets import largest_gap_areas, leaflet_pdf, leaflets_zip


def _write(path: Path, data: bytes) -> None:
    """Written beside, then renamed: a reader never sees half a PDF."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def register(app: typer.Typer, *, prepare_database: Callable[[Engine], object]) -> None:
    postal_codes = typer.Typer(help="Postal codes -> municipality (SMS INFO <postal code>).")
    app.add_typer(postal_codes, name="postal-codes")

    @postal_codes.command("load")
    @friendly_errors
    def postal_codes_load(
        file: Annotated[
            Path, typer.Argument(help="CSV with postal_code and municipality_code columns.")
        ],
    ) -> None:
        """Replace the postal code table with FILE (e.g. CTT's data, licensed to the office)."""
        engine = make_engine()
        prepare_database(engine)
        with session_scope(engine) as session:
            loaded = load_postal_codes(session=session, path=file, replace=True)
        typer.echo(f"{loaded} postal codes loaded from {file}")

    @app.command("leaflets")
    @friendly_errors
    def leaflets_command(
        out: Annotated[Path, typer.Option("--out", help="Folder for the PDF files.")],
        area: Annotated[
            list[str] | None, typer.Option("--area", help="District or municipality code.")
        ] = None,
        top: Annotated[
            int | None, typer.Option("--top", help="The N municipalities with the largest gap.")
        ] = None,
        lang: Annotated[str, typer.Option("--lang", help="pt or en.")] = "pt",
        easy_read: Annotated[bool, typer.Option("--easy-read", help="Easy Read variant.")] = False,
        include_online: Annotated[
            bool, typer.Option("--include-online", help="List online-only offers too, last.")
        ] = False,
        as_zip: Annotated[bool, typer.Option("--zip", help="One ZIP instead of PDFs.")] = False,
    ) -> None:
        """Print A4 leaflets (PDF) of the lines, offers and measures of areas."""
        if lang not in {"pt", "en"}:
            raise InvalidInput(_("Language: use pt or en."), field="lang")
        if bool(area) == (top is not None):
            raise InvalidInput(_("Give either --area CODE or --top N."), field="area")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InvalidInput(
                _("Cannot write to {folder}: {reason}.").format(folder=out, reason=err.strerror)
            ) from None
        engine = make_engine()
        prepare_database(engine)
        with session_scope(engine) as session:
            codes = list(area or []) or largest_gap_areas(session=session, count=top or 0)
            if as_zip:
                data = leaflets_zip(
                    session=session,
                    area_codes=codes,
                    language=lang,
                    easy_read=easy_read,
                    include_online=include_online,
                )
                path = out / f"leaflets-{lang}{'-easy-read' if easy_read else ''}.zip"
                _write(path, data)
                typer.echo(f"{path}  {len(codes)} leaflets, {len(data):,} bytes")
                return
            for code in codes:
                name, pdf = leaflet_pdf(
                    session=session,
                    area_code=code,
                    language=lang,
                    easy_read=easy_read,
                    include_online=include_online,
                )
                _write(out / name, pdf)
                typer.echo(f"{out / name}  {len(pdf):,} bytes")
