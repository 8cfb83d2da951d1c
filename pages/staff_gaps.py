"""Staff: the connectivity gap map. Where need is high and initiatives are few."""

from collections.abc import Callable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit_folium import st_folium

from connectivity import maps
from connectivity.gaps import NEED_INDICATORS
from hub import settings
from hub.auth import STAFF_ROLES
from hub.errors import HubError
from hub.i18n import _, get_language
from ui.datacache import current_version
from ui.gaps import (
    MapView,
    area_breakdown,
    channel_label,
    gap_data,
    indicator_import,
    map_layers,
    map_legend,
    positions_of,
    status_label,
    target_files,
    targets_list,
)
from ui.guards import require_role
from ui.outreach import area_outreach, top_leaflets

principal = require_role(*STAFF_ROLES)

LEVEL_KEY, METRIC_KEY, LAYERS_KEY, TOP_KEY = "gaps_level", "gaps_metric", "gaps_layers", "gaps_top"
AREA_KEY, MAP_KEY, UPLOAD_KEY, HEX_KEY = "gaps_area", "gaps_map", "gaps_upload", "gaps_hex"
LAYERS = {
    "districts": _("District choropleth"),
    "municipalities": _("Municipality symbols"),
    "initiatives": _("Initiatives"),
    "hexagons": _("H3 hexagons"),
}

st.title(_("Connectivity gap map"))
st.caption(
    _(
        "Need N is the weighted share of people cut off; people affected A = N × base "
        "population; coverage C = min(1, initiatives' reach ÷ A); gap G = A × (1 − C). "
        "Missing data is unknown, never zero."
    )
)

controls, weights_box = st.columns([2, 1])
with controls:
    level = st.radio(
        _("Rank"), ["district", "municipality"], key=LEVEL_KEY, horizontal=True,
        format_func=lambda v: _("Districts") if v == "district" else _("Municipalities"),
    )  # fmt: skip
    metric = st.radio(
        _("Colour by"), ["gap", "need"], key=METRIC_KEY, horizontal=True,
        format_func=lambda v: _("Unmet need (gap)") if v == "gap" else _("Need"),
    )  # fmt: skip
    layers = st.multiselect(
        _("Layers"), list(LAYERS), default=["districts", "municipalities", "initiatives"],
        format_func=LAYERS.__getitem__, key=LAYERS_KEY, placeholder=_("Choose layers"),
    )  # fmt: skip
    top_n = st.slider(_("Targets to list"), 5, 50, 10, key=TOP_KEY)
with weights_box, st.expander(_("Weights (equal by default)"), icon=":material/tune:"):
    weights = {
        key: st.number_input(_(label), 0.0, 10.0, 1.0, 0.5, key=f"gaps_w_{key}")
        for key, label in NEED_INDICATORS.items()
    }

key = (settings.database_url(), tuple(sorted(weights.items())), get_language(), current_version())
try:
    data = gap_data(*key)
except HubError as err:
    st.error(str(err))
    st.stop()
ranked = data.gaps[level]
by_code = {g.code: g for g in ranked}
initiatives = data.initiatives
if any(g.data_status.value == "demo" for g in ranked):
    st.warning(
        _("The indicator values are synthetic demo data, not measurements."),
        icon=":material/science:",
    )

keep = maps.InitiativeFilter()
if "initiatives" in layers and initiatives:
    cols = st.columns(4)
    categories = data.choices.categories
    options = data.options  # gathered once per data version (ui.gaps.gap_data)
    filters: list[tuple[DeltaGenerator, str, frozenset[str], Callable[[str], str]]] = [  # codes
        (cols[0], _("Category"), options[0], lambda c: categories.get(c, c)),  # kept as values;
        (cols[1], _("Organisation"), options[1], str),  # people read names
        (cols[2], _("Status"), options[2], status_label),
        (cols[3], _("Channel"), options[3], channel_label),
    ]  # fmt: skip
    picked = [
        frozenset(
            col.multiselect(
                label, sorted(options, key=shown), format_func=shown, key=f"gaps_f_{n}",
                placeholder=_("All"),
            )
        )
        for n, (col, label, options, shown) in enumerate(filters)
    ]  # fmt: skip
    keep = maps.InitiativeFilter(*picked)

top = [g.code for g in ranked if g.known][:top_n]
if st.session_state.get(AREA_KEY) not in by_code:  # none yet, or the level changed
    st.session_state.pop(AREA_KEY, None)
    if ranked:
        st.session_state[AREA_KEY] = top[0] if top else ranked[0].code
selected = st.session_state.get(AREA_KEY)
geometries = data.geometries
positions = positions_of(data)
view = MapView(
    level=level, metric=metric, layers=tuple(layers), top=tuple(top), selected=selected,
    hex_resolution=st.session_state.get(HEX_KEY, 6), keep=keep,
)  # fmt: skip
fmap = maps.build_gap_map(**map_layers(*key, view))  # built once per data version and view
map_col, list_col = st.columns([3, 2])
with map_col:
    returned = st_folium(
        fmap, key=MAP_KEY, height=560, use_container_width=True,
        returned_objects=["last_object_clicked"],
    )  # fmt: skip
    map_legend(maps.legend())
    st.caption(_("Areas: Natural Earth (public domain); municipalities: GeoNames (CC BY 4.0)."))
    if "hexagons" in layers:
        st.select_slider(_("Hexagon size (H3 resolution)"), [5, 6, 7], 6, key=HEX_KEY)
clicked = maps.clicked_area(
    returned,
    geometries={c: g for c, g in geometries.items() if c in by_code},
    points={} if level == "district" else {c: p for c, p in positions.items() if c in by_code},
)
if clicked and clicked != st.session_state.get(AREA_KEY):
    st.session_state[AREA_KEY] = clicked
    st.rerun()

with list_col:
    targets_list(ranked, top, level=level, files=target_files(*key, level))

area_breakdown(ranked, key=AREA_KEY)
if ranked:  # issue 19: offline reach, leaflet and public page of the area
    area_outreach(st.session_state[AREA_KEY], actor=principal)
top_leaflets(top)  # issue 19: leaflets of the largest gaps, one ZIP
indicator_import(key=UPLOAD_KEY, actor=principal)
