"""Administrators: the audit log of every change by anyone (who, when, what, before/after),
and a record's history rebuilt version by version from its entries."""

import json
import math

import pandas as pd
import streamlit as st

from hub.audit import changed_fields, entity_types, list_entries, record_history
from hub.auth import Role
from hub.db import session_scope
from hub.i18n import _, format_datetime
from ui.forms import (
    SIGN_IN_ACTIONS,
    action_label,
    md,
    record_type_label,
    spreadsheet_csv,
)
from ui.guards import require_role
from ui.session import get_engine

principal = require_role(Role.ADMIN)

PAGE_SIZE = 50
TYPE_KEY = "audit_type"
ACTOR_KEY = "audit_actor"
ID_KEY = "audit_entity_id"
PAGE_KEY = "audit_page"
PICK_KEY = "audit_pick"
SIGN_INS_KEY = "audit_sign_ins"


st.title(_("Audit log"))
st.caption(_("Every change by anyone, newest first. The log cannot be edited or deleted."))

with session_scope(get_engine()) as session:
    types = entity_types(session=session)

left, middle, right = st.columns(3)
entity_type = left.selectbox(
    _("Record type"),
    ["", *sorted(types, key=record_type_label)],
    key=TYPE_KEY,
    format_func=lambda t: record_type_label(t) if t else _("All"),
)
actor_text = middle.text_input(_("Who (name or e-mail contains)"), key=ACTOR_KEY)
entity_id = right.text_input(_("Record id"), key=ID_KEY)
sign_ins = st.toggle(_("Show sign-ins and sign-outs"), value=False, key=SIGN_INS_KEY)

with session_scope(get_engine()) as session:
    _first, total = list_entries(
        session=session,
        actor=principal,
        entity_type=entity_type or None,
        entity_id=entity_id.strip() or None,
        actor_text=actor_text.strip() or None,
        limit=1,
        exclude_actions=() if sign_ins else SIGN_IN_ACTIONS,
    )
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page_number = st.number_input(_("Page"), min_value=1, max_value=pages, value=1, key=PAGE_KEY)
    entries, total = list_entries(
        session=session,
        actor=principal,
        entity_type=entity_type or None,
        entity_id=entity_id.strip() or None,
        actor_text=actor_text.strip() or None,
        limit=PAGE_SIZE,
        offset=(int(page_number) - 1) * PAGE_SIZE,
        exclude_actions=() if sign_ins else SIGN_IN_ACTIONS,
    )

st.caption(
    _("{total} entries; page {page} of {pages}.").format(total=total, page=page_number, pages=pages)
)
if not entries:
    st.info(_("No entries match these filters."))
    st.stop()

rows = pd.DataFrame(
    [
        {
            _("When"): format_datetime(e.at),
            _("Who"): e.actor_label,
            _("Action"): action_label(e.action),
            _("Record type"): record_type_label(e.entity_type),
            _("Record id"): e.entity_id or "",
            _("Version"): e.version if e.version is not None else (e.after or {}).get("version"),
            _("What changed"): e.summary,
        }
        for e in entries
    ]
)
st.dataframe(rows, hide_index=True, width="stretch")
st.download_button(
    _("Download this page as CSV"),
    spreadsheet_csv(rows),
    file_name="audit-log.csv",
    mime="text/csv",
    icon=":material/download:",
)

by_id = {e.id: e for e in entries}
picked = st.selectbox(
    _("Show before and after for"),
    list(by_id),
    key=PICK_KEY,
    format_func=lambda i: (
        f"{format_datetime(by_id[i].at)} · {action_label(by_id[i].action)} · "
        f"{record_type_label(by_id[i].entity_type)} {by_id[i].entity_id or ''}"
    ),
)
entry = by_id[picked]
fields = changed_fields(entry.before, entry.after)
if fields and entry.before is not None and entry.after is not None:
    st.table(
        pd.DataFrame(
            [
                {
                    _("Field"): f,
                    _("Before"): md(json.dumps(entry.before.get(f), ensure_ascii=False)),
                    _("After"): md(json.dumps(entry.after.get(f), ensure_ascii=False)),
                }
                for f in fields
            ]
        )
    )
else:
    before_col, after_col = st.columns(2)
    before_col.caption(_("Before"))
    before_col.json(entry.before or {})
    after_col.caption(_("After"))
    after_col.json(entry.after or {})

if entry.entity_id is None:
    st.stop()
with st.expander(_("History of this record, version by version")):
    with session_scope(get_engine()) as session:
        steps = record_history(
            session=session,
            actor=principal,
            entity_type=entry.entity_type,
            entity_id=entry.entity_id,
        )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    _("Version"): s.version,
                    _("When"): format_datetime(s.at),
                    _("Who"): s.actor_label,
                    _("Action"): action_label(s.action),
                    _("What changed"): ", ".join(s.changed),
                }
                for s in steps
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    if steps:
        step = st.selectbox(
            _("The record as it was after"),
            range(len(steps)),
            index=len(steps) - 1,
            key=f"{PICK_KEY}_step",
            format_func=lambda n: (
                f"{_('version')} {steps[n].version or '?'} · {action_label(steps[n].action)}"
            ),
        )
        st.json(steps[step].state)
