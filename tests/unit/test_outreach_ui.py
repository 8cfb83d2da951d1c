"""The gap map joins the offline channels up: per-area offline reach, subscribers and SMS
counts, the area's leaflet and page, and one ZIP of leaflets for the largest gaps."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from hub.auth import Role
from tests.app.conftest import demo_url, open_app, texts  # noqa: F401 - fixtures

PAGE = "pages/staff_gaps.py"


def test_the_gap_map_shows_offline_reach_and_prints_leaflets(
    open_app: Callable[[Role | None], AppTest],  # noqa: F811
) -> None:
    app = open_app(Role.STAFF).run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    shown = texts(app)
    assert "Reaching people offline" in shown
    labels = [m.label for m in app.metric]
    assert {"Phone", "SMS", "In person", "Subscribers", "SMS asked (30 days)"} <= set(labels)
    leaflet = next(b for b in app.button if b.label == "Prepare the leaflet (PDF)")
    leaflet.click().run()
    assert not app.exception, app.exception
    zip_button = next(b for b in app.button if b.label.startswith("Leaflets for the 10 areas"))
    zip_button.click().run()
    assert not app.exception, app.exception
    downloads = [b.label for b in app.get("download_button")]
    assert any(label.startswith("Download leaflet-") for label in downloads)
    assert "Download the ZIP" in downloads
    zipped = app.session_state["outreach_zip"][1]
    names = zipfile.ZipFile(io.BytesIO(zipped)).namelist()
    assert len(names) == 10 and all(n.endswith(".pdf") for n in names)
