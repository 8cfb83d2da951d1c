"""Gap map widgets (connectivity): the cached figures behind the map, the targets list,
one area's breakdown and the indicator import."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd
import streamlit as st

from connectivity import maps
from connectivity.gaps import (
    GAP_CLASS_LABELS,
    AreaGap,
    InitiativeReach,
    area_gaps,
    breakdown,
    targets_csv,
)
from connectivity.imports import ImportRejected, import_indicators
from geo.areas import areas_by_level, geometry_of
from hub.auth import Principal
from hub.db import session_scope
from hub.errors import HubError
from hub.i18n import N_, _
from initiatives.models import CHANNEL_LABELS, STATUS_LABELS, Channel, Status
from initiatives.queries import FormChoices, form_choices, published_reach
from ui.session import get_engine

LEVELS = ("district", "municipality")
DATA_STATUS_LABELS = {
    "complete": N_("complete"),
    "partial": N_("partial"),
    "demo": N_("synthetic demo data"),
    "unknown": N_("unknown"),
}


@dataclass(frozen=True)
class GapData:
    """Every level's ranked gaps, the area outlines (GeoJSON, as geo.areas gives them)
    and the published initiatives, for one set of weights."""

    gaps: dict[str, list[AreaGap]]
    geometries: dict[str, dict[str, Any]]
    initiatives: list[InitiativeReach]
    choices: FormChoices  # names of categories and organisations, for the filters
    # The filters' options (category, organisation, status, channel), gathered once.
    options: tuple[frozenset[str], ...] = ()


# Keyed on the data version (ui.datacache), so a write anywhere shows on the next run;
# cleared too after the workspace's writes (ui.forms.clear_data_caches). A resource, not
# cache_data: a hit hands out the one shared object instead of unpickling 50,000
# initiatives per rerun. Read-only by contract: no caller mutates it.
@st.cache_resource(show_spinner=False, max_entries=8)
def gap_data(
    url: str, weights: tuple[tuple[str, float], ...], language: str, version: str = ""
) -> GapData:
    """Cached per database, weights, language (the labels are translated) and version."""
    with session_scope(get_engine()) as session:
        choices = form_choices(session=session, language=language)
        initiatives: list[InitiativeReach] = list(published_reach(session=session))
        gaps = {
            level: area_gaps(
                session=session, level=level, weights=dict(weights), initiatives=initiatives
            )
            for level in LEVELS
        }
        geometries = {
            a.code: geometry
            for level in LEVELS
            for a in areas_by_level(session=session, level=level)
            if (geometry := geometry_of(a)) is not None
        }
    options = (
        frozenset(i.category for i in initiatives),
        frozenset(i.organisation for i in initiatives),
        frozenset(i.status for i in initiatives),
        frozenset(c for i in initiatives for c in i.channels),
    )
    data = GapData(
        gaps=gaps, geometries=geometries, initiatives=initiatives, choices=choices, options=options
    )
    return data


@dataclass(frozen=True)
class MapView:
    """What the map shows: every choice on the page that changes a layer."""

    level: str
    metric: str
    layers: tuple[str, ...]
    top: tuple[str, ...]
    selected: str | None
    hex_resolution: int
    keep: maps.InitiativeFilter


def positions_of(data: GapData) -> dict[str, tuple[float, float]]:
    """Each area's point (district and municipality seats), for markers and clicks."""
    return {
        g.code: (g.lat, g.lon)
        for g in data.gaps["district"] + data.gaps["municipality"]
        if g.lat and g.lon is not None
    }


# The layers' FeatureCollections, built once per data version and view and shared by
# every viewer (issue 21): a rerun that changes nothing on the map builds nothing. The
# key is gap_data's plus the view; the data itself is gap_data's cached object.
@st.cache_resource(show_spinner=False, max_entries=32)
def map_layers(
    url: str, weights: tuple[tuple[str, float], ...], language: str, version: str, view: MapView
) -> dict[str, Any]:
    data = gap_data(url, weights, language, version)
    districts, municipalities = data.gaps["district"], data.gaps["municipality"]
    top = view.top
    layers: dict[str, Any] = {}
    if "districts" in view.layers:
        layers["districts"] = maps.district_features(
            districts, data.geometries, metric=view.metric,
            top=top if view.level == "district" else (), selected=view.selected,
        )  # fmt: skip
    if "municipalities" in view.layers:
        layers["municipalities"] = maps.municipality_features(
            municipalities, metric=view.metric,
            top=top if view.level == "municipality" else (), selected=view.selected,
        )  # fmt: skip
    if "hexagons" in view.layers:
        layers["hexes"] = maps.hex_features(
            [(g.lat, g.lon, g.gap or 0.0) for g in municipalities if g.lat and g.lon],
            resolution=view.hex_resolution,
        )
    if "initiatives" in view.layers:
        shown = maps.filter_initiatives(data.initiatives, view.keep)
        positions = positions_of(data)
        # Markers while they are few; past MAX_MARKERS one symbol per area (what the
        # browser can parse and cluster in time).
        if maps.marker_count(shown) <= maps.MAX_MARKERS:
            layers["initiative_rows"] = maps.initiative_points(shown, positions)
        else:
            layers["initiative_symbols"] = maps.initiative_areas(shown, positions)
    return layers


def status_label(value: str) -> str:
    known = {s.value: s for s in Status}
    return _(STATUS_LABELS[known[value]]) if value in known else value


def channel_label(value: str) -> str:
    known = {c.value: c for c in Channel}
    return _(CHANNEL_LABELS[known[value]]) if value in known else value


def readable(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Table rows with nothing left empty as "None": a missing figure reads "—"."""
    return pd.DataFrame(
        [{k: "—" if v is None or v == "" else v for k, v in row.items()} for row in rows]
    )


def map_legend(items: list[tuple[str, str]]) -> None:
    """The colour key under the map: a filled swatch beside each label (plain HTML and
    inline styles, no script). Colours are the map's own constants, labels escaped."""
    swatch = (
        '<span aria-hidden="true" style="display:inline-block;width:1.1em;height:1.1em;'
        "vertical-align:-0.15em;margin-right:0.35em;border:1px solid #666;"
        'background-color:{colour}"></span>'
    )
    entries = "".join(
        '<li style="display:inline-block;margin:0 1em 0.3em 0">'
        + swatch.format(colour=escape(colour))
        + escape(label)
        + "</li>"
        for colour, label in items
    )
    st.html(
        f'<ul class="hub-legend" aria-label="{escape(_("Map colours"))}" '
        f'style="list-style:none;padding:0;margin:0.3em 0">{entries}</ul>'
    )


@st.cache_resource(show_spinner=False, max_entries=16)
def target_files(
    url: str, weights: tuple[tuple[str, float], ...], language: str, version: str, level: str
) -> tuple[bytes, bytes]:
    """The whole ranking as CSV and GeoJSON, built once per data version (not per rerun:
    the GeoJSON carries every area's outline)."""
    data = gap_data(url, weights, language, version)
    ranked = data.gaps[level]
    return (
        targets_csv(ranked).encode("utf-8"),
        maps.targets_geojson(ranked, data.geometries).encode("utf-8"),
    )


def targets_list(
    ranked: list[AreaGap],
    top: list[str],
    *,
    level: str,
    files: tuple[bytes, bytes],
) -> None:
    """The top targets as a table, with CSV and GeoJSON downloads of the whole ranking
    (``files``: ``target_files``)."""
    by_code = {g.code: g for g in ranked}
    st.subheader(_("Top {n} targets").format(n=len(top)))
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "#": n,
                    _("Area"): f"{by_code[c].name} ({by_code[c].code})",
                    _("Gap"): round(by_code[c].gap or 0),
                    _("Need"): round(by_code[c].need or 0, 3),
                    _("Class"): _(GAP_CLASS_LABELS[by_code[c].gap_class]),
                }
                for n, c in enumerate(top, start=1)
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    csv_col, geo_col = st.columns(2)
    csv_col.download_button(
        _("CSV"),
        files[0],
        file_name=f"gap_targets_{level}.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    geo_col.download_button(
        _("GeoJSON"),
        files[1],
        file_name=f"gap_targets_{level}.geojson",
        mime="application/geo+json",
        icon=":material/download:",
    )


def area_breakdown(ranked: list[AreaGap], *, key: str) -> None:
    """Every figure behind the score of the area chosen under ``key``."""
    st.subheader(_("Breakdown of one area"))
    if not ranked:
        return
    by_code = {g.code: g for g in ranked}
    st.selectbox(
        _("Area (or click it on the map)"),
        list(by_code),
        key=key,
        format_func=lambda c: f"{by_code[c].name} ({c})",
    )
    parts = breakdown(by_code[st.session_state[key]])
    status, data_status = _("Status"), _("Data status")
    for row in parts["summary"]:
        if row.get(_("Figure")) == data_status:
            value = str(row[_("Value")])
            row[_("Value")] = _(DATA_STATUS_LABELS[value]) if value in DATA_STATUS_LABELS else value
    for row in parts["initiatives"]:
        row[status] = status_label(str(row[status]))
    st.dataframe(readable(parts["summary"]), hide_index=True, width="stretch")
    st.dataframe(readable(parts["readings"]), hide_index=True, width="stretch")
    if parts["initiatives"]:
        st.dataframe(readable(parts["initiatives"]), hide_index=True, width="stretch")
    else:
        st.info(_("No published initiative acts in this area."))


def indicator_import(*, key: str, actor: Principal) -> None:
    """Upload indicator values (CSV, all rows or none); the map is recomputed after."""
    with st.expander(_("Import indicator values (CSV)"), icon=":material/upload:"):
        st.caption(_("Columns: area_code,indicator,value,source,year. All rows or none."))
        upload = st.file_uploader(
            _("CSV file"),
            type=["csv"],
            key=key,
            help=_("Drag the file here or browse for it; at most {n} MB.").format(
                n=st.get_option("server.maxUploadSize")
            ),
        )
        if upload is None or not st.button(_("Import"), type="primary"):
            return
        try:
            with session_scope(get_engine()) as session:
                report = import_indicators(
                    session=session, actor=actor, data=upload.getvalue(), label=upload.name
                )
        except ImportRejected as err:
            st.error(str(err))
            st.code("\n".join(err.report.lines()))
        except HubError as err:
            st.error(str(err))
        else:
            gap_data.clear()  # indicator values change nothing else that is cached
            st.success(
                _("Imported: {added} added, {updated} updated.").format(
                    added=report.added, updated=report.updated
                )
            )
