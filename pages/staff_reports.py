"""Staff: the weekly situation report. Create one from a snapshot, edit its highlights,
sign it off, publish it (or keep it internal); the archive and a comparison of two."""

import streamlit as st

from hub.auth import Role
from hub.db import session_scope
from hub.i18n import _, get_language
from reports.service import list_reports
from ui.guards import require_role
from ui.reports import archive_table, comparison, create_form, pick_report, report_detail
from ui.session import get_engine

principal = require_role(Role.STAFF, Role.ADMIN)

st.title(_("Reports"))
st.caption(
    _(
        "Who does what where, week by week: a snapshot of the registry at the cut-off, "
        "so a report never changes when records change later."
    )
)
create_form(principal)

with session_scope(get_engine()) as session:
    reports = list_reports(session=session, actor=principal)

if not reports:
    st.info(_("No report yet. Create the first one above."))
    st.stop()

st.header(_("Archive"))
archive_table(reports)
picked = pick_report(reports)
if picked is not None:
    report_detail(principal, picked, get_language())

st.header(_("Compare two reports"))
comparison(principal, reports)
