"""Operators' command for the public site (registered on ``python -m hub``).

The export reads the database as it is after a start: ``register`` takes the composition
root's ``prepare_database`` (migrate, reference areas), so a fresh database exports an
empty site instead of failing on a missing table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from hub.cli import friendly_errors
from hub.db import make_engine
from portal.export import export_public


def register(app: typer.Typer, *, prepare_database: Callable[[Engine], object]) -> None:
    @app.command("export-public")
    @friendly_errors
    def export_public_command(
        outdir: Annotated[
            Path, typer.Argument(help="Folder for index.html, feed.xml and open data.")
        ],
    ) -> None:
        """Write the public page and open data as static files for any static host."""
        engine = make_engine()
        prepare_database(engine)
        sizes = export_public(engine, outdir)
        for name, size in sizes.items():
            typer.echo(f"{outdir / name}  {size:,} bytes")
