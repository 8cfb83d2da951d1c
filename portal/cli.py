"""Operators' command for the public site (registered on ``python -m hub``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.cli import friendly_errors
from hub.db import make_engine
from portal.export import export_public


def export_public_command(
    outdir: Annotated[Path, typer.Argument(help="Folder for index.html, feed.xml and open data.")],
) -> None:
    """Write the public page and open data as static files for any static host."""
    engine = make_engine()
    sizes = export_public(engine, outdir)
    for name, size in sizes.items():
        typer.echo(f"{outdir / name}  {size:,} bytes")


def register(app: typer.Typer) -> None:
    app.command("export-public")(friendly_errors(export_public_command))
