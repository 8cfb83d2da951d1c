"""The gap map page: renders for staff with the demo data, breakdown by selectbox, exports."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from connectivity import maps
from hub.auth import Role
from tests.app.conftest import texts

PAGE = "pages/staff_gaps.py"


def open_gap_page(open_app: Callable[[Role | None], AppTest]) -> AppTest:
    app = open_app(Role.STAFF).run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def test_staff_see_the_map_targets_and_demo_label(
    open_app: Callable[[Role | None], AppTest],
) -> None:
    app = open_gap_page(open_app)
    shown = texts(app)
    assert "Connectivity gap map" in shown
    assert "synthetic demo data" in shown
    assert "Top 10 targets" in shown
    top = app.dataframe[0].value
    assert len(top) == 10
    labels = [b.label for b in app.get("download_button")]
    assert labels == ["CSV", "GeoJSON"]


def test_picking_an_area_shows_its_whole_breakdown(
    open_app: Callable[[Role | None], AppTest],
) -> None:
    app = open_gap_page(open_app)
    app.selectbox(key="gaps_area").set_value("PT-08").run()
    assert not app.exception, app.exception
    summary = app.dataframe[1].value
    figures = list(summary.iloc[:, 0])
    assert "Coverage C = min(1, Σr / A)" in figures
    assert "Gap G = A × (1 − C)" in figures
    readings = app.dataframe[2].value
    assert len(readings) == 4
    assert set(readings["Source"]) == {"demo (synthetic)"}


def test_municipality_ranking_and_weights(open_app: Callable[[Role | None], AppTest]) -> None:
    app = open_gap_page(open_app)
    app.radio(key="gaps_level").set_value("municipality").run()
    assert not app.exception, app.exception
    assert app.selectbox(key="gaps_area").value.isdigit()  # a DICO code, not a district
    app.number_input(key="gaps_w_offline").set_value(5.0).run()
    assert not app.exception, app.exception


def test_partner_is_refused(open_app: Callable[[Role | None], AppTest]) -> None:
    app = open_app(Role.PARTNER)
    app.switch_page(PAGE).run()
    assert "Your account does not give access to this page." in texts(app)


def test_the_legend_swatches_have_the_map_colours(
    open_app: Callable[[Role | None], AppTest],
) -> None:
    app = open_gap_page(open_app)
    bodies = [str(h.proto.body) for h in app.get("html")]
    legend = next(b for b in bodies if "hub-legend" in b)
    colours = re.findall(r"background-color:(#[0-9a-fA-F]{6})", legend)
    assert colours == [colour for colour, _label in maps.legend()]
    assert len(set(colours)) == len(colours) >= 5  # filled, and all different
    for _colour, label in maps.legend():
        assert html.escape(label) in legend
    assert "<script" not in legend


def test_no_raw_code_or_none_in_the_filters_and_tables(
    open_app: Callable[[Role | None], AppTest],
) -> None:
    app = open_gap_page(open_app)
    statuses = app.multiselect(key="gaps_f_2").options  # as the page shows them
    assert statuses and not {"active", "planned", "completed"} & set(statuses), statuses
    categories = app.multiselect(key="gaps_f_0").options
    assert "communications_packages" not in categories
    for frame in app.dataframe:
        cells = frame.value.astype(str).to_numpy().ravel().tolist()
        assert "None" not in cells and "nan" not in cells, frame.value
