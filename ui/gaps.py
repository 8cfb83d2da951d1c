"""Gap map widgets (connectivity): the cached figures behind the map, the targets list,
one area's breakdown and the indicator import."""

from __future__ import annotations

from dataclasses import dataclass
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
from hub.i18n import _
from initiatives.queries import published_reach
from ui.session import get_engine

LEVELS = ("district", "municipality")


@dataclass(frozen=True)
class GapData:
    """Every level's ranked gaps, the area outlines (GeoJSON, as geo.areas gives them)
    and the published initiatives, for one set of weights."""

    gaps: dict[str, list[AreaGap]]
    geometries: dict[str, dict[str, Any]]
    initiatives: list[InitiativeReach]


@st.cache_data(ttl=60, show_spinner=False)
def gap_data(url: str, weights: tuple[tuple[str, float], ...], language: str) -> GapData:
    """Cached per database, weights and language (the labels are translated)."""
    with session_scope(get_engine()) as session:
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
    return GapData(gaps=gaps, geometries=geometries, initiatives=initiatives)


def targets_list(
    ranked: list[AreaGap],
    top: list[str],
    *,
    level: str,
    geometries: dict[str, dict[str, Any]],
) -> None:
    """The top targets as a table, with CSV and GeoJSON downloads of the whole ranking."""
    by_code = {g.code: g for g in ranked}
    st.subheader(_("Top {n} targets").format(n=len(top)))
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "#": n,
                    _("Area"): f"{by_code[c].code} {by_code[c].name}",
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
        targets_csv(ranked).encode("utf-8"),
        file_name=f"gap_targets_{level}.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    geo_col.download_button(
        _("GeoJSON"),
        maps.targets_geojson(ranked, geometries).encode("utf-8"),
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
        format_func=lambda c: f"{c} {by_code[c].name}",
    )
    parts = breakdown(by_code[st.session_state[key]])
    st.dataframe(pd.DataFrame(parts["summary"]), hide_index=True, width="stretch")
    st.dataframe(pd.DataFrame(parts["readings"]), hide_index=True, width="stretch")
    if parts["initiatives"]:
        st.dataframe(pd.DataFrame(parts["initiatives"]), hide_index=True, width="stretch")
    else:
        st.info(_("No published initiative acts in this area."))


def indicator_import(*, key: str, actor: Principal) -> None:
    """Upload indicator values (CSV, all rows or none); the map is recomputed after."""
    with st.expander(_("Import indicator values (CSV)"), icon=":material/upload:"):
        st.caption(_("Columns: area_code,indicator,value,source,year. All rows or none."))
        upload = st.file_uploader(_("CSV file"), type=["csv"], key=key)
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
            gap_data.clear()
            st.success(
                _("Imported: {added} added, {updated} updated.").format(
                    added=report.added, updated=report.updated
                )
            )
