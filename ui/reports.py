"""Widgets of the staff Reports page (issue 20): create a weekly report, the archive,
one report (highlights, sign-off, release, downloads) and the comparison of two."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st
from sqlmodel import Session

from hub.auth import Principal
from hub.db import session_scope
from hub.i18n import _, format_date, format_datetime
from reports.draft import compare_reports
from reports.models import REPORT_STATE_LABELS, Report, ReportState
from reports.render import (
    build_view,
    render_body,
    render_pdf,
    snapshot_csv,
    snapshot_json,
)
from reports.service import create_weekly_report, edit_highlights, get_report, release, sign_off
from ui.forms import save_and_rerun, shown_version
from ui.guards import link
from ui.session import get_engine

CREATE_FORM = "report_create"
HIGHLIGHTS_FORM = "report_highlights"
PICK_KEY = "report_pick"
COMPARE_KEYS = ("report_compare_before", "report_compare_after")
PDF_KEY = "report_pdf"


def this_week() -> str:
    year, week, _day = datetime.now(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def create_form(actor: Principal) -> None:
    with st.form(CREATE_FORM):
        week = st.text_input(_("Week (ISO, e.g. 2026-W49)"), value=this_week())
        st.caption(
            _("The snapshot is taken now, for the week's end or now if it is still running.")
        )
        if st.form_submit_button(_("Create the report")):
            save_and_rerun(
                _("Report created from the snapshot."),
                CREATE_FORM,
                lambda s: create_weekly_report(session=s, actor=actor, week=week),
            )


def archive_table(reports: list[Report]) -> None:
    rows = [
        {
            _("Report"): report.slug,
            _("Period"): f"{format_date(report.period_start)} – {format_date(report.period_end)}",
            _("Cut-off"): format_datetime(report.cutoff),
            _("State"): _(REPORT_STATE_LABELS[report.state]),
        }
        for report in reports
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def pick_report(reports: list[Report]) -> int | None:
    ids = [report.id for report in reports if report.id is not None]
    names = {report.id: report.slug for report in reports}
    return st.selectbox(_("Open a report"), ids, key=PICK_KEY, format_func=lambda i: names[i])


def _highlights(actor: Principal, report: Report) -> None:
    form_key = f"{HIGHLIGHTS_FORM}_{report.id}"
    version = shown_version(form_key, report.version)
    with st.form(form_key):
        text = st.text_area(
            _("Highlights (Markdown)"),
            value=report.highlights_md,
            height=160,
            key=f"{form_key}_text",
        )
        if st.form_submit_button(_("Save the highlights")):
            save_and_rerun(
                _("Highlights saved."),
                form_key,
                lambda s: edit_highlights(
                    session=s,
                    actor=actor,
                    report_id=report.id or 0,
                    markdown=text,
                    expected_version=version,
                ),
            )


def _actions(actor: Principal, report: Report) -> None:
    rid, version = report.id or 0, report.version
    if report.state is ReportState.DRAFT:
        _highlights(actor, report)
        if st.button(_("Sign off"), key=f"report_sign_{rid}"):
            save_and_rerun(
                _("Signed off: publish it or keep it internal."),
                f"report_sign_{rid}",
                lambda s: sign_off(session=s, actor=actor, report_id=rid, expected_version=version),
            )
    elif report.state is ReportState.SIGNED_OFF:
        left, right = st.columns(2)
        for column, public, label, done in (
            (left, True, _("Publish"), _("Published on the public site.")),
            (right, False, _("Keep internal"), _("Kept internal.")),
        ):
            if column.button(label, key=f"report_release_{rid}_{public}"):
                _release(actor, rid, version, public=public, done=done)
    elif report.state is ReportState.PUBLISHED:
        link(_("Open the public page"), f"/reports/{report.slug}")


def _release(actor: Principal, rid: int, version: int, *, public: bool, done: str) -> None:
    save_and_rerun(
        done,
        f"report_release_{rid}",
        lambda s: release(
            session=s, actor=actor, report_id=rid, public=public, expected_version=version
        ),
    )


def _downloads(session: Session, report: Report, language: str) -> None:
    view = build_view(session=session, report=report)
    columns = st.columns(3)
    columns[0].download_button(
        _("Snapshot (CSV, HXL)"),
        snapshot_csv(session=session, report=report).encode(),
        file_name=f"report-{report.slug}.csv",
        mime="text/csv",
    )
    columns[1].download_button(
        _("Snapshot (JSON)"),
        snapshot_json(session=session, report=report, figures=view.figures).encode(),
        file_name=f"report-{report.slug}.json",
        mime="application/json",
    )
    pdf_key = f"{PDF_KEY}_{report.id}_{report.version}_{language}"
    if pdf_key in st.session_state:
        columns[2].download_button(
            _("Download the PDF"),
            st.session_state[pdf_key],
            file_name=f"report-{report.slug}-{language}.pdf",
            mime="application/pdf",
        )
    elif columns[2].button(_("Make the PDF")):
        st.session_state[pdf_key] = render_pdf(view, language=language)
        st.rerun()
    st.html(render_body(view, language=language))  # our template; highlights nh3-clean


def report_detail(actor: Principal, report_id: int, language: str) -> None:
    with session_scope(get_engine()) as session:
        report = get_report(session=session, actor=actor, report_id=report_id)
        st.subheader(report.slug)
        st.caption(
            _("State: {state}. Cut-off {cutoff}; created by {who}.").format(
                state=_(REPORT_STATE_LABELS[report.state]),
                cutoff=format_datetime(report.cutoff),
                who=report.created_by,
            )
        )
        _actions(actor, report)
        _downloads(session, report, language)


def comparison(actor: Principal, reports: list[Report]) -> None:
    if len(reports) < 2:
        st.caption(_("A comparison needs two reports."))
        return
    names: dict[int, str] = {report.id: report.slug for report in reports if report.id is not None}
    ids = list(names)

    def name_of(report_id: int) -> str:
        return names[report_id]

    left, right = st.columns(2)
    before_id = left.selectbox(_("Before"), ids, index=1, key=COMPARE_KEYS[0], format_func=name_of)
    after_id = right.selectbox(_("After"), ids, index=0, key=COMPARE_KEYS[1], format_func=name_of)
    with session_scope(get_engine()) as session:
        before = get_report(session=session, actor=actor, report_id=before_id or 0)
        after = get_report(session=session, actor=actor, report_id=after_id or 0)
        view = build_view(session=session, report=after)
        by_category, by_district = compare_reports(session=session, before=before, after=after)
    for title, moved, name in (
        (_("By category"), by_category, view.category),
        (_("By district"), by_district, view.district),
    ):
        st.markdown(f"**{title}**")
        if not moved:
            st.caption(_("Nothing moved."))
            continue
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        _("Where"): name(row.key),
                        _("Before"): row.before,
                        _("After"): row.after,
                        _("Change"): row.change,
                    }
                    for row in moved
                ]
            ),
            hide_index=True,
            width="stretch",
        )
