"""A report's outputs: the HTML body (for the public page and the staff page), the PDF
(WeasyPrint, tagged, with the district map and the chart as SVG drawn here, no browser),
and the snapshot as HXL CSV and JSON.

All text is built here with ``_``/``ngettext`` and Babel's number formats, so one
template serves both languages and the catalog holds every sentence.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlmodel import Session, col, select
from weasyprint import HTML

from geo.areas import areas_by_level, geometry_of
from hub.i18n import (
    _,
    format_date,
    format_datetime,
    format_number,
    get_language,
    ngettext,
    set_language,
)
from hub.tabular import safe_cell
from initiatives.models import VocabularyKind, VocabularyTerm
from reports.draft import NATIONAL, Figures, report_figures
from reports.models import Report, ReportArea, ReportInitiative

TEMPLATES = Path(__file__).parent / "templates"
# Five classes of a colour-blind-safe sequential blue (ColorBrewer Blues), light to dark.
CLASS_COLOURS = ("#eff3ff", "#bdd7ee", "#6baed6", "#3182bd", "#08519c")
NO_DATA_COLOUR = "#f4f4f4"
MAP_WIDTH, MAP_HEIGHT = 360, 440


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["j2", "html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["_"] = _
    return environment


_ENVIRONMENT = _environment()


@dataclass
class ReportView:
    """What every output of one report needs, read once."""

    report: Report
    figures: Figures
    district_names: dict[str, str]
    district_geometry: dict[str, dict[str, Any]]
    categories: dict[str, tuple[str, str]]  # code -> (English, Portuguese)

    def category(self, code: str) -> str:
        labels = self.categories.get(code)
        if labels is None:
            return code
        return labels[1] if get_language() == "pt" else labels[0]

    def district(self, code: str) -> str:
        if code == NATIONAL:
            return _("Whole country")
        return self.district_names.get(code, code)


def build_view(*, session: Session, report: Report) -> ReportView:
    districts = areas_by_level(session=session, level="district")
    geometry = {area.code: g for area in districts if (g := geometry_of(area)) is not None}
    terms = session.exec(
        select(VocabularyTerm).where(col(VocabularyTerm.kind) == VocabularyKind.CATEGORY)
    ).all()
    return ReportView(
        report=report,
        figures=report_figures(session=session, report=report),
        district_names={area.code: area.name for area in districts},
        district_geometry=geometry,
        categories={term.code: (term.label_en, term.label_pt) for term in terms},
    )


# --- text ------------------------------------------------------------------------------


def number(value: float | None) -> str:
    return format_number(value) if value is not None else "–"


def change_text(delta: int | None) -> str:
    if delta is None:
        return _("first report")
    if delta == 0:
        return _("no change")
    sign = "+" if delta > 0 else "−"
    return _("{change} since the last report").format(change=f"{sign}{number(abs(delta))}")


def key_figure_rows(view: ReportView) -> list[dict[str, str]]:
    key, figures = view.figures.key, view.figures
    labels = {
        "active": _("Active initiatives"),
        "partners": _("Partners active"),
        "areas": _("Areas covered"),
        "people_targeted": _("People targeted"),
        "people_reached": _("People reached"),
    }
    return [
        {"label": labels[name], "value": number(value), "change": change_text(figures.change(name))}
        for name, value in key.as_dict().items()
    ]


def summary_sentence(view: ReportView) -> str:
    key = view.figures.key
    initiatives = ngettext(
        "{n} initiative was active", "{n} initiatives were active", key.active
    ).format(n=number(key.active))
    partners = ngettext("{n} partner", "{n} partners", key.partners).format(n=number(key.partners))
    areas = ngettext("{n} area", "{n} areas", key.areas).format(n=number(key.areas))
    return _("On {day}, {initiatives}, run by {partners} in {areas}.").format(
        day=format_date(view.report.period_end, format="long"),
        initiatives=initiatives,
        partners=partners,
        areas=areas,
    )


def change_rows(view: ReportView) -> list[dict[str, str]]:
    changes = view.figures.changes
    return [
        {"label": _("New this period"), "value": number(changes.new)},
        {"label": _("Ended this period"), "value": number(changes.ended)},
        {"label": _("Overdue for confirmation"), "value": number(changes.overdue)},
        {"label": _("Withdrawn this period"), "value": number(changes.withdrawn)},
    ]


def public_rows(view: ReportView) -> list[dict[str, str]]:
    report = view.report
    return [
        {"label": _("Questions answered this period"), "value": number(report.questions_answered)},
        {"label": _("Measures in force"), "value": number(report.measures_in_force)},
        {"label": _("News items published"), "value": number(report.feed_items_published)},
    ]


def overlap_sentence(view: ReportView) -> str:
    report = view.report
    decided = ngettext(
        "{n} possible overlap was decided this period",
        "{n} possible overlaps were decided this period",
        report.overlap_decisions,
    ).format(n=number(report.overlap_decisions))
    duplicates = ngettext(
        "{n} was a duplicate", "{n} were duplicates", report.overlap_duplicates
    ).format(n=number(report.overlap_duplicates))
    return f"{decided}; {duplicates}."


def method_notes(view: ReportView) -> list[str]:
    report = view.report
    notes = [
        _("Period: {start} to {end}; records as they stood at {cutoff}.").format(
            start=format_date(report.period_start),
            end=format_date(report.period_end),
            cutoff=format_datetime(report.cutoff),
        ),
        _(
            "Active: published, with status active or planned, started by the cut-off day "
            "and not ended before it. Overdue: live but not confirmed by its partner for "
            "the confirmation period, or past its planned end."
        ),
        _(
            "Sources: the hub's registry of initiatives, reported by the partners and "
            "reviewed by the office; connectivity gaps from the gap map; official answers, "
            "measures and news from the public site."
        ),
    ]
    if report.demo or any(gap.is_demo for gap in view.figures.gaps):
        notes.append(_("Demo values: figures marked demo are illustrative, not real data."))
    return notes


# --- SVG -------------------------------------------------------------------------------


def class_breaks(values: list[int]) -> list[int]:
    """Upper bounds of up to five equal-width classes over 1..max."""
    top = max(values, default=0)
    if top <= 0:
        return []
    step = max(1, -(-top // len(CLASS_COLOURS)))
    return [min(top, step * (i + 1)) for i in range(len(CLASS_COLOURS)) if step * i < top]


def colour_for(value: int, breaks: list[int]) -> str:
    if value <= 0 or not breaks:
        return NO_DATA_COLOUR
    for index, bound in enumerate(breaks):
        if value <= bound:
            return CLASS_COLOURS[index]
    return CLASS_COLOURS[len(breaks) - 1]


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    coordinates = geometry.get("coordinates") or []
    polygons = coordinates if geometry.get("type") == "MultiPolygon" else [coordinates]
    return [ring for polygon in polygons for ring in polygon]


def _frame(codes: list[str], geometry: dict[str, dict[str, Any]]) -> tuple[float, ...]:
    points = [p for code in codes for ring in _rings(geometry[code]) for p in ring]
    return (
        min(p[0] for p in points),
        min(p[1] for p in points),
        max(p[0] for p in points),
        max(p[1] for p in points),
    )


def district_map_svg(view: ReportView) -> str:
    """A choropleth of active initiatives per district: an equirectangular projection of
    the district polygons, the mainland large and the islands in boxes on the left."""
    counts = view.figures.by_district
    geometry = view.district_geometry
    breaks = class_breaks([n for code, n in counts.items() if code != NATIONAL])
    groups: dict[str, list[str]] = {"mainland": [], "azores": [], "madeira": []}
    for code, shape in geometry.items():
        west = min(p[0] for ring in _rings(shape) for p in ring)
        groups["azores" if west < -20 else "madeira" if west < -12 else "mainland"].append(code)
    boxes = {
        "mainland": (130, 10, 220, 400),
        "azores": (5, 10, 120, 90),
        "madeira": (5, 120, 80, 70),
    }
    parts: list[str] = []
    for group, codes in groups.items():
        if not codes:
            continue
        x0, y0, width, height = boxes[group]
        west, south, east, north = _frame(codes, geometry)
        scale = min(width / max(east - west, 1e-9), height / max(north - south, 1e-9))
        if group != "mainland":
            parts.append(
                f'<rect x="{x0}" y="{y0}" width="{width}" height="{height}" '
                'fill="none" stroke="#888" stroke-width="0.5"/>'
            )
        for code in sorted(codes):
            path = " ".join(
                "M"
                + " L".join(
                    f"{x0 + (lon - west) * scale:.1f},{y0 + (north - lat) * scale:.1f}"
                    for lon, lat, *_rest in ring
                )
                + " Z"
                for ring in _rings(geometry[code])
            )
            value = counts.get(code, 0)
            label = f"{view.district(code)}: {number(value)}"
            parts.append(
                f'<path d="{path}" fill="{colour_for(value, breaks)}" stroke="#333" '
                f'stroke-width="0.4"><title>{escape(label)}</title></path>'
            )
    legend: list[str] = []
    lower = 1
    for index, bound in enumerate(breaks):
        y = 210 + index * 18
        text = number(bound) if bound == lower else f"{number(lower)}–{number(bound)}"
        legend.append(
            f'<rect x="8" y="{y}" width="14" height="12" fill="{CLASS_COLOURS[index]}" '
            f'stroke="#333" stroke-width="0.4"/><text x="28" y="{y + 10}">{escape(text)}</text>'
        )
        lower = bound + 1
    y = 210 + len(breaks) * 18
    legend.append(
        f'<rect x="8" y="{y}" width="14" height="12" fill="{NO_DATA_COLOUR}" stroke="#333" '
        f'stroke-width="0.4"/><text x="28" y="{y + 10}">{escape(_("none"))}</text>'
    )
    title = _("Active initiatives per district")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {MAP_WIDTH} {MAP_HEIGHT}" '
        f'role="img" aria-labelledby="map-title" font-family="DejaVu Sans, sans-serif" '
        f'font-size="10"><title id="map-title">{escape(title)}</title>'
        f'<text x="8" y="200" font-weight="bold">{escape(_("Initiatives"))}</text>'
        + "".join(parts)
        + "".join(legend)
        + "</svg>"
    )


def category_bars_svg(view: ReportView) -> str:
    """Horizontal bars of active initiatives per category, largest first."""
    rows = sorted(view.figures.by_category.items(), key=lambda item: (-item[1], item[0]))
    top = max((n for _code, n in rows), default=0) or 1
    height = 20 * len(rows) + 10
    bars = []
    for index, (code, value) in enumerate(rows):
        y = 5 + index * 20
        width = 200 * value / top
        bars.append(
            f'<text x="150" y="{y + 12}" text-anchor="end">{escape(view.category(code))}</text>'
            f'<rect x="155" y="{y}" width="{width:.1f}" height="14" fill="{CLASS_COLOURS[3]}"/>'
            f'<text x="{160 + width:.1f}" y="{y + 12}">{escape(number(value))}</text>'
        )
    title = _("Active initiatives per category")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 420 {height}" role="img" '
        f'aria-labelledby="bars-title" font-family="DejaVu Sans, sans-serif" font-size="10">'
        f'<title id="bars-title">{escape(title)}</title>' + "".join(bars) + "</svg>"
    )


# --- HTML and PDF ----------------------------------------------------------------------


def matrix(view: ReportView) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The category × district table: district columns with any presence, in code order."""
    districts = sorted({d for _c, d in view.figures.category_district})
    rows = [
        (
            view.category(category),
            [number(view.figures.category_district.get((category, d), 0)) for d in districts],
        )
        for category in sorted(view.figures.by_category)
    ]
    return [view.district(d) for d in districts], rows


def context(view: ReportView) -> dict[str, Any]:
    columns, rows = matrix(view)
    report = view.report
    return {
        "report": report,
        "title": report_title(report),
        "summary": summary_sentence(view),
        "key_figures": key_figure_rows(view),
        "changes": change_rows(view),
        "map_svg": Markup(district_map_svg(view)),  # noqa: S704 - built here, values escaped
        "bars_svg": Markup(category_bars_svg(view)),  # noqa: S704 - built here, values escaped
        "highlights": Markup(report.highlights_html),  # noqa: S704 - sanitized by nh3 on save
        "matrix_columns": columns,
        "matrix_rows": rows,
        "districts": [
            (view.district(code), number(n))
            for code, n in sorted(view.figures.by_district.items(), key=lambda i: (-i[1], i[0]))
        ],
        "gaps": [
            {
                "name": gap.area_name,
                "gap": "–" if gap.gap is None else f"{format_number(round(gap.gap * 100))} %",
                "people": number(
                    None if gap.people_affected is None else round(gap.people_affected)
                ),
                "offline": number(gap.offline_offers),
                "demo": gap.is_demo,
            }
            for gap in view.figures.gaps
        ],
        "overlaps": overlap_sentence(view),
        "public_rows": public_rows(view),
        "notes": method_notes(view),
    }


def report_title(report: Report) -> str:
    return _("Situation report {name}: who does what where").format(name=report.slug)


def render_body(view: ReportView, *, language: str, heading_level: int = 2) -> str:
    """The report's sections as an HTML fragment (the public and staff pages wrap it)."""
    previous = get_language()
    set_language(language)
    try:
        return _ENVIRONMENT.get_template("report_body.html.j2").render(
            **context(view), h=heading_level
        )
    finally:
        set_language(previous)


def render_document(view: ReportView, *, language: str) -> str:
    previous = get_language()
    set_language(language)
    try:
        body = Markup(  # noqa: S704 - rendered by our autoescaping template
            _ENVIRONMENT.get_template("report_body.html.j2").render(**context(view), h=2)
        )
        return _ENVIRONMENT.get_template("report_document.html.j2").render(
            lang=language, title=report_title(view.report), body=body, report=view.report
        )
    finally:
        set_language(previous)


def render_pdf(view: ReportView, *, language: str) -> bytes:
    """The report as a tagged A4 PDF (PDF/UA-1), DejaVu fonts embedded (as the leaflets)."""
    return bytes(
        HTML(string=render_document(view, language=language)).write_pdf(pdf_variant="pdf/ua-1")
    )


# --- the snapshot as open data ---------------------------------------------------------

HXL_COLUMNS = (
    ("report", "#meta+report"),
    ("code", "#activity+code"),
    ("title", "#activity+name"),
    ("organisation_id", "#org+id"),
    ("category", "#sector+code"),
    ("status", "#status"),
    ("start_date", "#date+start"),
    ("end_date", "#date+end"),
    ("people_targeted", "#targeted+num"),
    ("people_reached", "#reached+num"),
    ("active", "#indicator+active"),
    ("areas", "#adm+code+list"),
)


def snapshot_rows(*, session: Session, report: Report) -> list[dict[str, Any]]:
    """The snapshot's initiatives, one row each, areas joined (read in two queries)."""
    assert report.id is not None
    areas: dict[int, list[str]] = {}
    for initiative_id, code in session.exec(
        select(ReportArea.initiative_id, ReportArea.area_code)
        .where(col(ReportArea.report_id) == report.id)
        .order_by(col(ReportArea.initiative_id), col(ReportArea.area_code))
    ).all():
        areas.setdefault(initiative_id, []).append(code)
    rows = session.exec(
        select(ReportInitiative)
        .where(col(ReportInitiative.report_id) == report.id)
        .order_by(col(ReportInitiative.code))
    ).all()
    return [
        {
            "report": report.slug,
            "code": row.code,
            "title": row.title,
            "organisation_id": row.organisation_id,
            "category": row.category,
            "status": row.status,
            "start_date": row.start.isoformat() if row.start else "",
            "end_date": row.end.isoformat() if row.end else "",
            "people_targeted": row.people_targeted,
            "people_reached": row.people_reached,
            "active": row.is_active,
            "areas": areas.get(row.initiative_id, []),
        }
        for row in rows
    ]


def snapshot_csv(*, session: Session, report: Report) -> str:
    """HXL-tagged CSV: a header row, the hashtag row, then one row per initiative."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([name for name, _tag in HXL_COLUMNS])
    writer.writerow([tag for _name, tag in HXL_COLUMNS])
    for row in snapshot_rows(session=session, report=report):
        values = {**row, "areas": " ".join(row["areas"]), "active": str(row["active"]).lower()}
        writer.writerow(
            [safe_cell("" if values[n] is None else values[n]) for n, _tag in HXL_COLUMNS]
        )
    return out.getvalue()


def snapshot_json(*, session: Session, report: Report, figures: Figures) -> str:
    data = {
        "report": report.slug,
        "period_start": report.period_start.isoformat(),
        "period_end": report.period_end.isoformat(),
        "cutoff": report.cutoff.isoformat(),
        "demo": report.demo,
        "key_figures": figures.key.as_dict(),
        "active_by_district": figures.by_district,
        "active_by_category": figures.by_category,
        "initiatives": snapshot_rows(session=session, report=report),
    }
    return json.dumps(data, ensure_ascii=False, indent=1, default=_json_default)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)
