"""Operators' commands of the connectivity gap map (registered on ``python -m hub``).

The CLI acts as the system principal (staff rights, audited as system@hub.local).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import Engine

from connectivity.gaps import NEED_INDICATORS, area_gaps, targets_csv
from connectivity.imports import (
    ImportRejected,
    ImportReport,
    import_boundaries,
    import_indicators,
    import_ookla_tiles,
    system_principal,
)
from geo.areas import load_reference_areas
from hub.db import make_engine, migrate, session_scope
from hub.errors import InvalidInput
from hub.i18n import _
from initiatives.queries import published_reach


def _engine() -> Engine:
    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        load_reference_areas(session=session)
    return engine


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as err:
        raise InvalidInput(
            _("Cannot read {file}: {reason}.").format(file=file, reason=err.strerror or err)
        ) from None


def _print_report(report: ImportReport) -> None:
    for line in report.lines(limit=200):
        typer.echo(line, err=True)


def _run_import(action: Callable[[], ImportReport], what: str) -> None:
    try:
        report = action()
    except ImportRejected as err:
        _print_report(err.report)
        typer.secho(f"Error: {err}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    _print_report(report)
    typer.echo(
        _("{what}: {added} added, {updated} updated, {unchanged} unchanged.").format(
            what=what, added=report.added, updated=report.updated, unchanged=report.unchanged
        )
    )


def parse_weights(raw: str) -> dict[str, float]:
    """'offline=2,no_4g=1' -> weights (indicators not named keep weight 1)."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        name, _sep, value = part.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise InvalidInput(
                _("Weights: write indicator=number, e.g. offline=2,no_4g=1.")
            ) from None
    return weights


def register(app: typer.Typer, friendly_errors: Callable[[Any], Any]) -> None:
    @app.command("import-indicators")
    @friendly_errors
    def import_indicators_command(
        file: Annotated[Path, typer.Argument(help="CSV: area_code,indicator,value,source,year")],
    ) -> None:
        """Import indicator values (long or wide CSV); all rows or none."""
        data = _read(file)
        engine = _engine()
        with session_scope(engine) as session:
            _run_import(
                lambda: import_indicators(
                    session=session, actor=system_principal(), data=data, label=file.name
                ),
                _("Indicators"),
            )

    @app.command("import-ookla")
    @friendly_errors
    def import_ookla_command(
        file: Annotated[Path, typer.Argument(help="CSV of Ookla tiles (quadkey, tests...).")],
        year: Annotated[int, typer.Option(help="Year of the tiles.")],
        level: Annotated[str, typer.Option(help="district or municipality")] = "municipality",
        threshold_kbps: Annotated[
            float, typer.Option(help="Download speed below which a test counts as slow.")
        ] = 30_000,
    ) -> None:
        """Aggregate Ookla Open Data speed tiles to areas, weighted by tests."""
        data = _read(file)
        engine = _engine()
        with session_scope(engine) as session:
            _run_import(
                lambda: import_ookla_tiles(
                    session=session,
                    actor=system_principal(),
                    data=data,
                    level=level,
                    year=year,
                    threshold_kbps=threshold_kbps,
                    label=file.name,
                ),
                _("Speed tiles"),
            )

    @app.command("import-boundaries")
    @friendly_errors
    def import_boundaries_command(
        file: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection in EPSG:4326.")],
        level: Annotated[str, typer.Option(help="district or municipality")],
        code_field: Annotated[str, typer.Option(help="Property holding the official code.")],
        name_field: Annotated[str, typer.Option(help="Property holding the name.")],
        parent_field: Annotated[
            str | None, typer.Option(help="Property holding the parent area's code.")
        ] = None,
        source: Annotated[str, typer.Option(help="Where the file comes from.")] = "",
    ) -> None:
        """Replace the default boundaries by official ones, simplified on import."""
        data = _read(file)
        engine = _engine()
        with session_scope(engine) as session:
            _run_import(
                lambda: import_boundaries(
                    session=session,
                    actor=system_principal(),
                    data=data,
                    level=level,
                    code_field=code_field,
                    name_field=name_field,
                    parent_field=parent_field,
                    source=source or file.name,
                ),
                _("Boundaries"),
            )

    @app.command("gaps")
    @friendly_errors
    def gaps_command(
        out: Annotated[Path, typer.Option(help="Where to write the ranked target list (CSV).")],
        level: Annotated[str, typer.Option(help="district or municipality")] = "district",
        weights: Annotated[
            str, typer.Option(help=f"e.g. offline=2,no_4g=1 ({', '.join(NEED_INDICATORS)})")
        ] = "",
    ) -> None:
        """Write the ranked gap list: area_code,area_name,level,need,people_affected,..."""
        engine = _engine()
        with session_scope(engine) as session:
            gaps = area_gaps(
                session=session,
                level=level,
                initiatives=published_reach(session=session),
                weights=parse_weights(weights),
            )
        try:
            out.write_text(targets_csv(gaps), encoding="utf-8")
        except OSError as err:
            raise InvalidInput(
                _("Cannot write {file}: {reason}.").format(file=out, reason=err.strerror or err)
            ) from None
        known = sum(1 for g in gaps if g.known)
        typer.echo(
            _("Wrote {n} areas to {file} ({known} with a known gap).").format(
                n=len(gaps), file=out, known=known
            )
        )
