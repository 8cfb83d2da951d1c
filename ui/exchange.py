"""Registry exchange widgets: import with a report, export downloads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hub.auth import Principal
from hub.db import session_scope
from hub.errors import HubError
from hub.i18n import _
from initiatives.exchange import (
    ExportFormat,
    export_initiatives,
    import_initiatives,
    import_template,
)
from ui.forms import clear_data_caches
from ui.session import get_engine


def initiative_import(*, key: str, actor: Principal, organisation_id: int | None) -> None:
    """Upload CSV/XLSX in the exchange format; a report lists every bad row and field.
    All or nothing unless the user asks for the valid rows only."""

    with st.expander(_("Import from a spreadsheet (CSV or XLSX)"), icon=":material/upload:"):
        st.caption(
            _(
                "One row per initiative, in the exchange format. Only id and title are "
                "required. Download a template to start from."
            )
        )
        left, right = st.columns(2)
        for column, fmt in ((left, "csv"), (right, "xlsx")):
            template = import_template(fmt)
            column.download_button(
                _("Template ({format})").format(format=fmt.upper()),
                template.data,
                file_name=template.filename,
                mime=template.media_type,
                key=f"{key}_tpl_{fmt}",
            )
        upload = st.file_uploader(
            _("File (CSV or XLSX)"),
            type=["csv", "xlsx"],
            key=f"{key}_file",
            help=_("Drag the file here or browse for it; at most {n} MB.").format(
                n=st.get_option("server.maxUploadSize")
            ),
        )
        valid_only = st.checkbox(
            _("Import the valid rows only (skip rows with problems)"), key=f"{key}_valid_only"
        )
        submit = st.checkbox(_("Submit the imported initiatives for review"), key=f"{key}_submit")
        if upload is not None and st.button(_("Import"), type="primary", key=f"{key}_go"):
            try:
                with session_scope(get_engine()) as session, st.spinner(_("Checking every row…")):
                    report = import_initiatives(
                        session=session,
                        actor=actor,
                        data=upload.getvalue(),
                        filename=upload.name,
                        organisation_id=organisation_id,
                        valid_only=valid_only,
                        submit=submit,
                    )
            except HubError as err:
                st.error(str(err))
                return
            (st.success if report.written else st.error)(report.summary())
            for warning in report.warnings:
                st.warning(warning)
            if report.problems:
                st.dataframe(pd.DataFrame(report.problem_rows()), hide_index=True, width="stretch")
                st.download_button(
                    _("Download the report (CSV)"),
                    report.problems_csv(),
                    file_name="import-report.csv",
                    mime="text/csv",
                    key=f"{key}_report",
                    icon=":material/download:",
                )
            if report.written:
                clear_data_caches()


def initiative_exports(*, key: str, actor: Principal, include_all: bool) -> None:
    """Download buttons for every exchange format (built when asked, not on every run)."""

    labels = {
        ExportFormat.CSV: "CSV",
        ExportFormat.XLSX: "XLSX",
        ExportFormat.HXL: "HXL CSV",
        ExportFormat.IATI: "IATI XML",
    }
    columns = st.columns(len(labels) + 1)
    chosen = columns[0].selectbox(
        _("Export as"),
        list(labels),
        format_func=labels.__getitem__,
        key=f"{key}_format",
        label_visibility="collapsed",
    )
    if columns[1].button(_("Prepare export"), key=f"{key}_prepare", icon=":material/download:"):
        # An earlier export's button must not stand beside this export's error.
        st.session_state.pop(f"{key}_file", None)
        try:
            with session_scope(get_engine()) as session:
                st.session_state[f"{key}_file"] = export_initiatives(
                    session=session, actor=actor, format=chosen, include_all=include_all
                )
        except HubError as err:
            st.error(str(err))
    prepared = st.session_state.get(f"{key}_file")
    if prepared is not None:
        columns[2].download_button(
            _("Download {name} ({n} initiatives)").format(name=prepared.filename, n=prepared.count),
            prepared.data,
            file_name=prepared.filename,
            mime=prepared.media_type,
            key=f"{key}_download",
        )
