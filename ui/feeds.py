"""Feed widgets (issue 5): the feed-source form, the health table, refresh results."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from feeds.models import (
    DEFAULT_INTERVAL_MINUTES,
    OUTCOME_LABELS,
    TRUST_TIER_LABELS,
    FeedSource,
    FetchSummary,
    SourceDraft,
    SourceHealth,
    TrustTier,
)
from feeds.topics import topic_keys, topic_label
from hub.i18n import _, format_datetime


def source_fields(existing: FeedSource | None, *, key: str) -> SourceDraft:
    """The feed-source form's fields (call inside an ``st.form``)."""

    tiers = list(TrustTier)
    name = st.text_input(
        _("Name"), value=existing.name if existing else "", max_chars=200, key=f"{key}_name"
    )
    url = st.text_input(
        _("Feed URL"),
        value=existing.url if existing else "",
        placeholder="https://",
        key=f"{key}_url",
        help=_("The address of the RSS, Atom or JSON Feed document, not of the web page."),
    )
    left, right = st.columns(2)
    publisher = left.text_input(
        _("Publisher"), value=existing.publisher if existing else "", key=f"{key}_publisher"
    )
    language = right.text_input(
        _("Language"), value=existing.language if existing else "pt", key=f"{key}_language"
    )
    trust = left.selectbox(
        _("Trust tier"),
        tiers,
        index=tiers.index(existing.trust if existing else TrustTier.ALLOWED),
        format_func=lambda t: _(TRUST_TIER_LABELS[t]),
        key=f"{key}_trust",
    )
    interval = right.number_input(
        _("Poll every (minutes)"),
        min_value=15,
        max_value=1440,
        value=existing.interval_minutes if existing else DEFAULT_INTERVAL_MINUTES,
        key=f"{key}_interval",
    )
    keys = topic_keys()
    chosen = [t for t in (existing.topics.split(",") if existing else []) if t in keys]
    topics = st.multiselect(
        _("Topics"),
        keys,
        default=chosen,
        format_func=topic_label,
        key=f"{key}_topics",
        placeholder=_("Choose topics"),
        help=_("Used when no keyword rule matches an item."),
    )
    attribution = st.text_input(
        _("Attribution"),
        value=existing.attribution if existing else "",
        key=f"{key}_attribution",
        help=_("Credit line shown with every item, when the source requires one."),
    )
    enabled = st.checkbox(
        _("Enabled"), value=existing.enabled if existing else True, key=f"{key}_enabled"
    )
    return SourceDraft(
        name=name,
        url=url,
        publisher=publisher,
        language=language,
        topics=",".join(topics),
        trust=trust,
        interval_minutes=int(interval),
        attribution=attribution,
        enabled=enabled,
    )


def when(value: datetime | None) -> str:
    """A moment in the office's time zone and the page language; "—" when there is none."""
    return format_datetime(value, format="short") if value else "—"


def feed_health_table(rows: list[SourceHealth]) -> None:
    """One row per source: trust, last success, next poll, recent items, failures."""
    st.dataframe(
        pd.DataFrame(
            [
                {
                    _("Source"): row.name,
                    _("Trust tier"): _(TRUST_TIER_LABELS[row.trust]),
                    _("Enabled"): row.enabled,
                    _("Status"): _(OUTCOME_LABELS[row.outcome]),
                    _("Last success"): when(row.last_success_at),
                    _("Next poll"): when(row.next_poll_at) if row.enabled else "—",
                    _("Items in last 24 h"): row.items_last_24h,
                    _("Consecutive failures"): row.consecutive_failures,
                    _("Last problem"): row.message,
                }
                for row in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def refresh_report(summaries: list[FetchSummary]) -> None:
    """What "Refresh now" did, one line per source."""
    for summary in summaries:
        line = _("{name}: {new} new, {updated} revised.").format(
            name=summary.source_name, new=summary.new, updated=summary.updated
        )
        if summary.skipped:
            st.info(_("{name}: skipped, being polled elsewhere.").format(name=summary.source_name))
        elif summary.message:
            st.warning(f"{line} {summary.message}")
        else:
            st.success(line)
