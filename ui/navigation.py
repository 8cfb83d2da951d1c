"""The navigation table: which pages each role sees, by section, in order.

Plain data, so the README's "Who sees what" table can be checked against it
(tests/unit/test_navigation.py) as the settings table is checked against
hub/settings.py. ``hub_app.py`` turns it into ``st.Page`` objects on every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from hub.auth import Role
from hub.i18n import LANGUAGES, _, get_language


@dataclass(frozen=True)
class NavItem:
    file: str  # pages/<file>.py
    title: str
    icon: str


def _information() -> NavItem:
    return NavItem("public_home", _("Public information"), ":material/campaign:")


def _account() -> NavItem:
    return NavItem("account", _("My account"), ":material/person:")


def pages_for(role: Role | None, *, forced_password_change: bool) -> dict[str, list[NavItem]]:
    """The pages of one role by section (titles in the current language); the very
    first page is its start page. An account that must change its password sees only
    My account."""
    if role is None:
        return {"": [_information(), NavItem("login", _("Sign in"), ":material/login:")]}
    if forced_password_change:
        return {"": [_account()]}
    if role is Role.PARTNER:
        return {
            _("My organisation"): [
                NavItem(
                    "partner_initiatives", _("Our initiatives"), ":material/volunteer_activism:"
                ),
                NavItem("partner_home", _("Organisation profile"), ":material/domain:"),
            ],
            _("Public"): [_information()],
            _("Account"): [_account()],
        }
    sections = {
        _("Registry"): [
            NavItem("staff_home", _("Overview"), ":material/dashboard:"),
            NavItem("staff_review", _("Review"), ":material/fact_check:"),
            NavItem("staff_registry", _("Registry"), ":material/table_view:"),
            NavItem("staff_overlaps", _("Overlaps"), ":material/join_inner:"),
            NavItem("staff_gaps", _("Gap map"), ":material/map:"),
            NavItem("staff_outreach", _("Offline reach"), ":material/print:"),  # issue 19
            NavItem("staff_partners", _("Partners"), ":material/handshake:"),
            NavItem("staff_reports", _("Reports"), ":material/summarize:"),  # issue 20
        ],
        _("Public information"): [
            NavItem("staff_feeds", _("Feeds"), ":material/rss_feed:"),
            NavItem("staff_feed_review", _("Feed review"), ":material/checklist:"),
            NavItem("staff_questions", _("Questions"), ":material/contact_support:"),
            NavItem("staff_directory", _("Measures and contacts"), ":material/contact_phone:"),
            _information(),
        ],
    }
    if role is Role.ADMIN:
        sections[_("Administration")] = [
            NavItem("staff_accounts", _("Accounts"), ":material/manage_accounts:"),
            NavItem("staff_audit", _("Audit log"), ":material/history:"),
        ]
    sections[_("Account")] = [_account()]
    return sections


def every_page_file() -> set[str]:
    """Every page file some role can reach."""
    files = set()
    for role in (None, *Role):
        for forced in (False, True):
            sections = pages_for(role, forced_password_change=forced)
            files |= {item.file for items in sections.values() for item in items}
    return files


def announce_language() -> None:
    """Set ``<html lang>`` to the page language. Streamlit serves one index.html with
    ``lang="en"`` for every page and offers no setting for it, so screen readers would
    read Portuguese with English rules; a two-line inline script (nothing fetched) sets
    it on every run. In the sidebar, where an empty element takes no room."""
    language = get_language() if get_language() in LANGUAGES else "pt"
    st.sidebar.html(
        f"<script>document.documentElement.lang = {language!r};</script>",
        unsafe_allow_javascript=True,
    )
