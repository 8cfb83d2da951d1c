"""Staff widgets of the offline channels (issue 19), shown on the gap map: for the area
picked, the offers that reach people without internet, the subscribers and what was
asked by SMS, with its leaflet (PDF) and public page; and one ZIP of leaflets for the
areas with the largest gap. For the outreach page: the urgent form and the counts."""

from __future__ import annotations

import hashlib

import streamlit as st

from geo.areas import areas_by_level
from hub.auth import Principal
from hub.db import session_scope
from hub.errors import HubError
from hub.i18n import _, get_language
from initiatives.models import CHANNEL_LABELS
from outreach.digest import send_urgent
from outreach.leaflets import area_page_url, leaflet_pdf, leaflets_zip
from outreach.reach import OutreachOverview, offline_reach
from ui.session import get_engine

LEAFLET_KEY = "outreach_leaflet"
ZIP_KEY = "outreach_zip"
EASY_KEY = "outreach_easy"
KEYWORD_LABELS = {"info": "INFO", "follow": "SEGUIR"}


def area_outreach(code: str, *, actor: Principal) -> None:
    """Offline reach of one area, its leaflet and its public page."""
    st.subheader(_("Reaching people offline"))
    try:
        with session_scope(get_engine()) as session:
            reach = offline_reach(session=session, actor=actor, area_code=code)
    except HubError as err:
        st.error(str(err))
        return
    columns = st.columns(len(reach.by_channel) + 2)
    for column, (channel, count) in zip(columns, reach.by_channel.items(), strict=False):
        column.metric(_(CHANNEL_LABELS[channel]), count)
    columns[-2].metric(_("Subscribers"), reach.subscribers)
    columns[-1].metric(
        _("SMS asked (30 days)"), sum(reach.sms_by_keyword.values()),
        help=", ".join(f"{KEYWORD_LABELS.get(k, k)}: {n}" for k, n in reach.sms_by_keyword.items())
        or None,
    )  # fmt: skip
    with st.expander(_("SMS line: messages by keyword, last 30 days, every area")):
        totals: dict[str, int] = {}
        for (keyword, _area), n in reach.sms_all.items():
            totals[keyword] = totals.get(keyword, 0) + n
        st.dataframe(
            [{_("Keyword"): k.upper(), _("Messages"): n} for k, n in sorted(totals.items())],
            hide_index=True,
        )
    easy = st.toggle(_("Easy Read"), key=EASY_KEY)
    prepare, page = st.columns(2)
    if prepare.button(_("Prepare the leaflet (PDF)"), icon=":material/print:"):
        with session_scope(get_engine()) as session:
            st.session_state[LEAFLET_KEY] = leaflet_pdf(
                session=session, area_code=code, language=get_language(), easy_read=easy
            )
    page.link_button(_("The area's public page"), area_page_url(code), icon=":material/public:")
    ready = st.session_state.get(LEAFLET_KEY)
    if ready and ready[0].startswith(f"leaflet-{code}-"):
        st.download_button(
            _("Download {name}").format(name=ready[0]), ready[1], file_name=ready[0],
            mime="application/pdf", icon=":material/download:",
        )  # fmt: skip


def top_leaflets(codes: list[str]) -> None:
    """One ZIP with the leaflets of ``codes`` (the largest gaps, in order)."""
    label = _("Leaflets for the {n} areas with the largest gap (ZIP)").format(n=len(codes))
    if st.button(label, icon=":material/folder_zip:", disabled=not codes):
        with (
            st.spinner(_("Printing {n} leaflets...").format(n=len(codes))),
            session_scope(get_engine()) as session,
        ):
            data = leaflets_zip(session=session, area_codes=codes, language=get_language())
        st.session_state[ZIP_KEY] = (tuple(codes), data)
    ready = st.session_state.get(ZIP_KEY)
    if ready and list(ready[0]) == codes:
        st.download_button(
            _("Download the ZIP"), ready[1], file_name=f"leaflets-top-{len(codes)}.zip",
            mime="application/zip", icon=":material/download:",
        )  # fmt: skip


URGENT_FORM = "outreach_urgent"


def urgent_form(actor: Principal) -> None:
    """Mark an item urgent: one message now to the area's subscribers (and its
    district's), instead of waiting for the 09:00 digest. Audited by the service; the
    same area, title and link twice send nothing more (the key)."""
    with session_scope(get_engine()) as session:
        areas = [
            (a.code, a.name)
            for level in ("district", "municipality")
            for a in areas_by_level(session=session, level=level)
        ]
    names = dict(areas)
    with st.form(URGENT_FORM, clear_on_submit=True):
        code = st.selectbox(
            _("Area"), [c for c, _name in areas], format_func=lambda c: f"{names[c]} ({c})"
        )
        title = st.text_input(_("What is urgent"), max_chars=200)
        url = st.text_input(_("Link to the item (public page)"), max_chars=500)
        if not st.form_submit_button(_("Send to the area's subscribers now")):
            return
    if not code or not title.strip() or not url.strip().startswith(("https://", "http://")):
        st.error(_("Give the area, what is urgent and a link starting with https://."))
        return
    key = hashlib.sha256(f"{code}|{title.strip()}|{url.strip()}".encode()).hexdigest()[:32]
    try:
        with session_scope(get_engine()) as session:
            sent = send_urgent(
                session=session,
                actor=actor,
                area_code=code,
                title=title.strip(),
                url=url.strip(),
                key=key,
            )
    except HubError as err:
        st.error(str(err))
        return
    st.success(_("{n} messages queued for {area}.").format(n=sent, area=names[code]))


def overview_view(overview: OutreachOverview) -> None:
    """Counts of the outreach side: digest, SMS traffic, subscribers, urgent notices."""
    digest, sms, people = st.columns(3)
    digest.metric(
        _("Last daily digest"),
        overview.last_digest or _("none yet"),
        help=_("{n} messages").format(n=overview.last_digest_messages),
    )
    sms.metric(_("SMS asked (30 days)"), sum(overview.sms_by_keyword.values()))
    people.metric(_("Subscribers"), sum(a.email + a.sms for a in overview.subscribers))
    if overview.sms_by_keyword:
        st.dataframe(
            [
                {_("Keyword"): k.upper(), _("Messages"): n}
                for k, n in overview.sms_by_keyword.items()
            ],
            hide_index=True,
        )
    st.subheader(_("Subscribers per area"))
    if not overview.subscribers:
        st.info(_("Nobody has subscribed yet."))
    else:
        st.dataframe(
            [
                {
                    _("Area"): a.area_name,
                    _("E-mail"): a.email,
                    "SMS": a.sms,
                    _("Not confirmed yet"): a.pending,
                }
                for a in overview.subscribers
            ],
            hide_index=True,
        )
    st.subheader(_("Urgent notices sent"))
    if not overview.urgent:
        st.info(_("No urgent notice has been sent."))
        return
    st.dataframe(
        [
            {
                _("When"): u.at.strftime("%Y-%m-%d %H:%M"),
                _("By"): u.by,
                _("Area"): u.area_code,
                _("What is urgent"): u.title,
                _("Messages"): u.messages,
            }
            for u in overview.urgent
        ],
        hide_index=True,
    )
