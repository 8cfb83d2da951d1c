"""Staff: feed sources. Health, refresh now, register, edit, enable, OPML."""

import streamlit as st

from feeds.models import TRUST_TIER_LABELS, FetchSummary, SourceDraft, TrustTier
from feeds.service import (
    create_source,
    export_opml,
    get_source,
    import_opml,
    refresh_now,
    set_source_enabled,
    source_health,
    update_source,
)
from hub.auth import STAFF_ROLES
from hub.db import session_scope
from hub.errors import HubError
from hub.i18n import _
from ui.feeds import feed_health_table, refresh_report, source_fields
from ui.forms import reset_form, save_and_rerun, shown_version
from ui.guards import require_role
from ui.session import clear_public_caches, flash, get_engine

principal = require_role(*STAFF_ROLES)

STAFF_FEEDS_NEW_FORM = "staff_feeds_new"
STAFF_FEEDS_EDIT_FORM = "staff_feeds_edit"
STAFF_FEEDS_PICK_KEY = "staff_feeds_pick"
STAFF_FEEDS_REFRESH_PICK_KEY = "staff_feeds_refresh_pick"
STAFF_FEEDS_REFRESH_KEY = "staff_feeds_refresh"
STAFF_FEEDS_OPML_FILE_KEY = "staff_feeds_opml_file"
STAFF_FEEDS_OPML_TRUST_KEY = "staff_feeds_opml_trust"
STAFF_FEEDS_OPML_IMPORT_KEY = "staff_feeds_opml_import"


st.title(_("Feeds"))
st.caption(
    _(
        "Sources of official information. Items from trusted sources publish at once; "
        "items from allowed sources wait on the Feed review page."
    )
)

with session_scope(get_engine()) as session:
    rows = source_health(session=session, actor=principal)
by_id = {row.id: row for row in rows}

st.subheader(_("Feed health"))
if rows:
    feed_health_table(rows)
    picked = st.multiselect(
        _("Sources to refresh (empty: every enabled source)"),
        list(by_id),
        format_func=lambda i: by_id[i].name,
        key=STAFF_FEEDS_REFRESH_PICK_KEY,
        placeholder=_("Every enabled source"),
    )
    if st.button(_("Refresh now"), key=STAFF_FEEDS_REFRESH_KEY, icon=":material/refresh:"):
        bar = st.progress(0.0, text=_("Fetching feeds…"))

        def advance(done: int, total: int, summary: FetchSummary) -> None:
            bar.progress(done / total, text=f"{summary.source_name} ({done}/{total})")

        try:
            summaries = refresh_now(
                engine=get_engine(), actor=principal, source_ids=picked or None, progress=advance
            )
        except HubError as err:
            st.error(str(err))
        else:
            bar.progress(1.0, text=_("Done: {n} sources polled.").format(n=len(summaries)))
            clear_public_caches()
            refresh_report(summaries)
else:
    st.info(_("No feed sources yet. Register the first one below or import an OPML file."))

with (
    st.expander(_("Register a source"), icon=":material/add:"),
    st.form(STAFF_FEEDS_NEW_FORM),
):
    draft: SourceDraft = source_fields(None, key=STAFF_FEEDS_NEW_FORM)
    if st.form_submit_button(_("Register source"), type="primary"):
        try:
            with session_scope(get_engine()) as session:
                created = create_source(session=session, actor=principal, draft=draft)
        except HubError as err:
            st.error(str(err))
        else:
            reset_form(STAFF_FEEDS_NEW_FORM)
            flash(_("Registered {name}; it is polled at the next tick.").format(name=created.name))
            st.rerun()

if rows:
    st.subheader(_("Edit a source"))
    picked_id = st.selectbox(
        _("Source"), list(by_id), key=STAFF_FEEDS_PICK_KEY, format_func=lambda i: by_id[i].name
    )
    form_key = f"{STAFF_FEEDS_EDIT_FORM}_{picked_id}"
    with session_scope(get_engine()) as session:
        source = get_source(session=session, source_id=picked_id)
    version = shown_version(form_key, source.version)
    with st.form(form_key):
        edited: SourceDraft = source_fields(source, key=form_key)
        save, toggle = st.columns(2)
        saved = save.form_submit_button(_("Save changes"), type="primary")
        toggled = toggle.form_submit_button(_("Disable") if source.enabled else _("Enable"))
    if saved:
        save_and_rerun(
            _("Saved."),
            form_key,
            lambda s: update_source(
                session=s,
                actor=principal,
                source_id=picked_id,
                draft=edited,
                expected_version=version,
            ),
        )
    elif toggled:
        save_and_rerun(
            _("Saved."),
            form_key,
            lambda s: set_source_enabled(
                session=s,
                actor=principal,
                source_id=picked_id,
                enabled=not source.enabled,
                expected_version=version,
            ),
        )

st.subheader(_("OPML"))
with session_scope(get_engine()) as session:
    opml = export_opml(session=session, actor=principal)
st.download_button(
    _("Download the source list (OPML)"),
    opml,
    file_name="hub-feed-sources.opml",
    mime="text/x-opml",
    icon=":material/download:",
)
upload = st.file_uploader(
    _("Import sources from an OPML file"),
    type=["opml", "xml"],
    key=STAFF_FEEDS_OPML_FILE_KEY,
    help=_("Drag the file here or browse for it; at most {n} MB.").format(
        n=st.get_option("server.maxUploadSize")
    ),
)
tiers = list(TrustTier)
default_trust = st.selectbox(
    _("Trust tier for imported sources that do not say"),
    tiers,
    index=tiers.index(TrustTier.ALLOWED),
    format_func=lambda t: _(TRUST_TIER_LABELS[t]),
    key=STAFF_FEEDS_OPML_TRUST_KEY,
)
if upload is not None and st.button(_("Import"), key=STAFF_FEEDS_OPML_IMPORT_KEY):
    try:
        with session_scope(get_engine()) as session:
            report = import_opml(
                session=session,
                actor=principal,
                data=upload.getvalue(),
                default_trust=default_trust,
            )
    except HubError as err:
        st.error(str(err))
    else:
        st.success(
            _("Imported {added} sources; {skipped} were already registered.").format(
                added=len(report.added), skipped=len(report.skipped)
            )
        )
        for refusal in report.refused:
            st.warning(refusal)
