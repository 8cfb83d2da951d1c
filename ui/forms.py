"""Form plumbing shared by every page: optimistic locking across reruns, one-write
saves, and the one way to show text that came from partners, feeds or the public."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date

import pandas as pd
import streamlit as st
from sqlmodel import Session

from hub.db import session_scope
from hub.errors import HubError, StaleRecord
from hub.i18n import N_, _
from hub.tabular import safe_cell
from hub.text import escape_markdown
from ui.gaps import gap_data
from ui.session import clear_public_caches, flash, get_engine

FORM_VERSIONS_KEY = "hub_form_versions"

# Audit and history codes as people read them. A code missing here still reads well
# enough: its underscores become spaces.
ACTION_LABELS = {
    "activate": N_("activated"),
    "answer overlap warning": N_("answered the overlap warning"),
    "approve_edit": N_("approved an edit"),
    "ask": N_("asked"),
    "confirm": N_("confirmed as current"),
    "create": N_("created"),
    "deactivate": N_("deactivated"),
    "denied": N_("refused"),
    "disable": N_("disabled"),
    "enable": N_("enabled"),
    "end_session": N_("ended a session"),
    "end_sessions": N_("ended the sessions"),
    "feed_failing": N_("feed failing"),
    "feed_recovered": N_("feed recovered"),
    "import": N_("imported"),
    "ingest": N_("received from a feed"),
    "link_joint": N_("linked as one joint effort"),
    "link_merged": N_("linked as merged"),
    "link_related": N_("linked as related"),
    "load_reference": N_("loaded reference data"),
    "lock": N_("locked"),
    "merge": N_("merged"),
    "merge_withdraw": N_("withdrawn by a merge"),
    "overlap_decision": N_("overlap decided"),
    "overlap_note": N_("overlap note"),
    "propose_edit": N_("proposed an edit"),
    "publish": N_("published"),
    "reject": N_("rejected"),
    "remind": N_("reminded"),
    "report_progress": N_("reported progress"),
    "request_changes": N_("asked for changes"),
    "restore": N_("restored"),
    "revoke": N_("revoked"),
    "send_again": N_("sent again"),
    "sign_in": N_("signed in"),
    "sign_out": N_("signed out"),
    "submit": N_("submitted"),
    "unpublish": N_("unpublished"),
    "update": N_("updated"),
    "useful": N_("marked useful"),
    "withdraw": N_("withdrawn"),
}
RECORD_TYPE_LABELS = {
    "account": N_("account"),
    "api_key": N_("API key"),
    "area": N_("area"),
    "contact": N_("contact"),
    "database": N_("database"),
    "feed_item": N_("feed item"),
    "feed_source": N_("feed"),
    "indicator_value": N_("indicator value"),
    "initiative": N_("initiative"),
    "measure": N_("measure"),
    "organisation": N_("organisation"),
    "overlap_decision": N_("overlap decision"),
    "overlap_note": N_("overlap note"),
    "question": N_("question"),
    "vocabulary_term": N_("list entry"),
    "webhook_subscription": N_("webhook subscription"),
}
SIGN_IN_ACTIONS = ("sign_in", "sign_out")  # their own filter in the audit log, off by default


def action_label(code: str) -> str:
    return _(ACTION_LABELS[code]) if code in ACTION_LABELS else code.replace("_", " ")


def record_type_label(code: str) -> str:
    return _(RECORD_TYPE_LABELS[code]) if code in RECORD_TYPE_LABELS else code.replace("_", " ")


def md(text: str) -> str:
    """Escape text from users, partners or feeds so Markdown cannot turn it into links,
    images or markup. Use it for every such text put into a Markdown element."""
    return escape_markdown(text)


def plain(text: str) -> None:
    """Render text from partners, feeds or the public as text: every Markdown character
    escaped, line breaks kept (never ``st.write`` such text)."""
    st.markdown(md(text).replace("\n", "  \n"))


def shown_version(form_key: str, current_version: int) -> int:
    """The record's version when this form was first shown to this user.

    Saving passes it as ``expected_version``; if someone else saved in between, the
    service refuses instead of overwriting their change.
    """
    versions: dict[str, int] = st.session_state.setdefault(FORM_VERSIONS_KEY, {})
    return versions.setdefault(form_key, current_version)


def reset_form(form_key: str) -> None:
    """Forget the form's inputs and remembered version, so it shows the record afresh."""
    st.session_state.setdefault(FORM_VERSIONS_KEY, {}).pop(form_key, None)
    for key in [k for k in st.session_state if str(k).startswith(form_key + "_")]:
        del st.session_state[key]


def reload_button(form_key: str) -> None:
    if st.button(_("Reload the record"), key=f"reload_{form_key}", icon=":material/refresh:"):
        reset_form(form_key)
        st.rerun()


def optional(value: object) -> str:
    """A table cell for a value that may be missing: "—", never "None"."""
    return "—" if value is None or value == "" else str(value)


def spreadsheet_csv(table: pd.DataFrame) -> bytes:
    """A table as the CSV a spreadsheet opens: UTF-8 with a BOM, booleans as Yes/No in
    the page language, dates as YYYY-MM-DD and every text cell guarded against formulas."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(str(c)) for c in table.columns])
    for row in table.itertuples(index=False):
        writer.writerow([_csv_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_cell(value: object) -> object:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if value is None or (isinstance(value, float) and value != value):  # NaN
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return safe_cell(value)


def clear_data_caches() -> None:
    """Forget every cached query after a write, so the next run shows the change (the
    style guide: cached data is cleared after writes, not left to expire)."""
    clear_public_caches()
    gap_data.clear()


def save_and_rerun(success: str, form_key: str, write: Callable[[Session], object]) -> None:
    """Run one write in its own short session. On success forget the form and rerun with
    ``success`` shown; on a domain error show its message (and a reload button when
    someone else saved first). Nothing is half-written: services commit all or nothing."""
    try:
        with session_scope(get_engine()) as session:
            write(session)
    except StaleRecord as err:
        st.error(str(err))
        reload_button(form_key)
    except HubError as err:
        st.error(str(err))
    else:
        clear_data_caches()
        reset_form(form_key)
        flash(success)
        st.rerun()
