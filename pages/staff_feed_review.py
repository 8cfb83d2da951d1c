"""Staff: the review queue for items from "allowed" sources, and editing published
items (publish, hide, remove for good, pin, change topic)."""

import streamlit as st

from feeds.models import ITEM_STATUS_LABELS, TRUST_TIER_LABELS, ItemStatus, ReviewItem, TrustTier
from feeds.service import (
    hide_item,
    list_items,
    pin_item,
    publish_item,
    remove_item,
    set_item_topic,
)
from feeds.topics import topic_keys, topic_label
from hub.auth import STAFF_ROLES
from hub.db import session_scope
from hub.errors import HubError
from hub.i18n import _, format_datetime
from hub.urls import safe_http_url
from ui.forms import clear_data_caches, md
from ui.guards import require_role
from ui.session import flash, get_engine

principal = require_role(*STAFF_ROLES)

STAFF_FEED_REVIEW_STATUS_KEY = "staff_feed_review_status"
STAFF_FEED_REVIEW_TIERS_KEY = "staff_feed_review_tiers"
STAFF_FEED_REVIEW_ACTION_KEY = "staff_feed_review_action"  # + _<action>_<item id>
STAFF_FEED_REVIEW_TOPIC_KEY = "staff_feed_review_topic"  # + _<item id>
PAGE_SIZE = 30

st.title(_("Feed review"))
st.caption(
    _(
        "Items from allowed sources wait here until staff publish them. Removing an item "
        "is for good: it never comes back, even if the source sends it again."
    )
)

statuses = [ItemStatus.PENDING, ItemStatus.PUBLISHED, ItemStatus.HIDDEN]
left, right = st.columns(2)
status = left.selectbox(
    _("Show"),
    statuses,
    format_func=lambda s: _(ITEM_STATUS_LABELS[s]),
    key=STAFF_FEED_REVIEW_STATUS_KEY,
)
tiers_shown = [TrustTier.TRUSTED, TrustTier.ALLOWED, TrustTier.UNVERIFIED]
tiers = right.multiselect(
    _("From sources that are"),
    tiers_shown,
    default=tiers_shown,
    format_func=lambda t: _(TRUST_TIER_LABELS[t]),
    key=STAFF_FEED_REVIEW_TIERS_KEY,
    placeholder=_("Choose trust levels"),
)

with session_scope(get_engine()) as session:
    items = list_items(
        session=session, actor=principal, statuses=[status], trust=tiers, limit=PAGE_SIZE
    )

if not items:
    st.info(_("Nothing to review here."))
    st.stop()

topics = ["", *topic_keys()]


def act(item: ReviewItem, action: str) -> None:
    key = f"{STAFF_FEED_REVIEW_TOPIC_KEY}_{item.id}"
    try:
        with session_scope(get_engine()) as session:
            item_id, version = item.id, item.version
            if action == "publish":
                publish_item(
                    session=session, actor=principal, item_id=item_id, expected_version=version
                )
            elif action == "hide":
                hide_item(
                    session=session, actor=principal, item_id=item_id, expected_version=version
                )
            elif action == "remove":
                remove_item(
                    session=session, actor=principal, item_id=item_id, expected_version=version
                )
            elif action == "pin":
                pin_item(
                    session=session,
                    actor=principal,
                    item_id=item_id,
                    pinned=not item.pinned,
                    expected_version=version,
                )
            elif action == "topic":
                set_item_topic(
                    session=session,
                    actor=principal,
                    item_id=item_id,
                    topic=st.session_state[key],
                    expected_version=version,
                )
    except HubError as err:
        st.error(str(err))
    else:
        clear_data_caches()
        flash(_("Saved: {title}").format(title=md(item.title)))
        st.rerun()


for item in items:
    with st.container(border=True):
        pin = "📌 " if item.pinned else ""
        title = md(item.title or _("(no title)"))
        link = safe_http_url(item.link, assume_https=False)
        st.markdown(f"{pin}**[{title}]({link})**" if link else f"{pin}**{title}**")
        st.caption(
            _("{source} ({tier}) · first seen {seen} · {status} · topic: {topic}").format(
                source=item.source_name,
                tier=_(TRUST_TIER_LABELS[item.trust]),
                seen=format_datetime(item.first_seen_at, format="short"),
                status=_(ITEM_STATUS_LABELS[item.status]),
                topic=topic_label(item.topic),
            )
        )
        if item.summary_html:
            st.html(item.summary_html)  # sanitized on ingest; Streamlit sanitizes again
        actions = [
            ("publish", _("Publish"), item.status is not ItemStatus.PUBLISHED),
            ("hide", _("Hide"), item.status is not ItemStatus.HIDDEN),
            ("remove", _("Remove for good"), True),
            ("pin", _("Unpin") if item.pinned else _("Pin"), True),
        ]
        # A row that wraps, each button as wide as its label: fixed columns cut the
        # longer Portuguese labels ("Remover de vez").
        with st.container(horizontal=True, vertical_alignment="bottom"):
            for action, label, shown in actions:
                if shown and st.button(
                    label, key=f"{STAFF_FEED_REVIEW_ACTION_KEY}_{action}_{item.id}"
                ):
                    act(item, action)
            st.selectbox(
                _("Topic"),
                topics,
                index=topics.index(item.topic) if item.topic in topics else 0,
                format_func=topic_label,
                key=f"{STAFF_FEED_REVIEW_TOPIC_KEY}_{item.id}",
                label_visibility="collapsed",
                width=220,
            )
            if st.button(_("Set topic"), key=f"{STAFF_FEED_REVIEW_ACTION_KEY}_topic_{item.id}"):
                act(item, "topic")
