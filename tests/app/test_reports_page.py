"""The staff Reports page: create from a snapshot, edit highlights, sign off, publish,
compare two; with the demo data."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from hub.auth import Role
from tests.app.conftest import texts

PAGE = "pages/staff_reports.py"


def _button(app: AppTest, label: str) -> None:
    [button] = [b for b in app.button if b.label == label]
    button.click().run()
    assert not app.exception, app.exception


def test_staff_create_sign_off_publish_and_compare(
    open_app: Callable[[Role | None], AppTest],
) -> None:
    app = open_app(Role.STAFF).run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    assert "No report yet" in texts(app)

    app.text_input[0].set_value("2026-W48")
    _button(app, "Create the report")
    assert "Report created from the snapshot." in texts(app)
    assert "2026-W48" in texts(app)
    app.text_area[0].set_value("Connectivity **first**")
    _button(app, "Save the highlights")
    assert "Highlights saved." in texts(app)
    _button(app, "Sign off")
    _button(app, "Publish")
    assert "Published on the public site." in texts(app)
    assert "State: Published" in "\n".join(c.value for c in app.caption)

    app.text_input[0].set_value("2026-W47")
    _button(app, "Create the report")
    assert "Report created from the snapshot." in texts(app)
    assert not any(b.label == "Publish" for b in app.button)
    captions = "\n".join(c.value for c in app.caption)
    assert "Nothing moved." in captions  # the same registry a week apart
