"""Exchange: CSV/XLSX import with a full validation report, and CSV, XLSX, HXL and IATI
export. Export then import gives back the same records; partners import for their own
organisation only; nothing is half-written."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from openpyxl import Workbook, load_workbook
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner

from hub.audit import AuditEntry
from hub.db import make_engine
from hub.errors import InvalidInput, PermissionDenied
from initiatives.bulk import drafts_of
from initiatives.exchange import (
    COLUMNS,
    HXL_COLUMNS,
    PUBLIC_COLUMNS,
    cell_text,
    export_initiatives,
    import_initiatives,
    import_template,
    parse_date,
    parse_whole_number,
    read_table,
)
from initiatives.models import (
    Initiative,
    InitiativeDraft,
    InitiativeVersion,
    Participant,
    ParticipantRole,
    ReviewState,
    Status,
)
from initiatives.service import approve, create_initiative, draft_of
from tests.factories import World, initiative_draft, make_organisation
from wiring import app

REF = "XE-EXAMPLE-1"  # XE-EXAMPLE: the org-id list reserved for examples
# Fields the exchange format carries (actual dates and cost stay in the hub).
EXCHANGED = (
    "title",
    "description",
    "lead_organisation_id",
    "participants",
    "category",
    "target_groups",
    "areas",
    "channels",
    "planned_start",
    "planned_end",
    "status",
    "people_targeted",
    "people_reached",
    "link",
    "contact_email",
)


def csv_file(rows: list[dict[str, Any]], *, delimiter: str = ",", bom: bool = False) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, delimiter=delimiter)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def good_row(n: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": f"IMP-{n:03d}",
        "title": f"Tablets for students {n}",
        "description": "Lending tablets to pupils without a device.",
        "organisation": "OPM",
        "participating_organisations": "Escola Digital:funding",
        "category": "education",
        "target_groups": "students_teachers",
        "areas": "PT-11;1106",
        "channels": "in_person;online",
        "start_date": "2020-04-01",
        "end_date": "2020-07-31",
        "status": "active",
        "people_targeted": "5000",
        "people_reached": "",
        "link": "https://www.example.pt/tablets",
        "contact_email": "tablets@example.pt",
    }
    row.update(overrides)
    return row


def count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Initiative)).one())


def exchanged(draft: InitiativeDraft) -> dict[str, Any]:
    data = draft.model_dump(mode="json", include=set(EXCHANGED))
    data["participants"] = sorted(
        data["participants"], key=lambda p: (p["organisation_id"], p["role"])
    )
    return data


def seed(session: Session, w: World) -> list[Initiative]:
    """Three initiatives: a joint published one, a national draft, a sparse draft."""
    staff, operator, school = w.staff, w.own, w.other
    joint = create_initiative(
        session=session,
        actor=staff,
        draft=initiative_draft(
            operator,
            title='Dados móveis grátis, para médicos; "urgência"',
            description="=Linha 1\nLinha 2, com vírgulas; e ponto e vírgula",
            participants=[
                Participant(organisation_id=school.id or 0, role=ParticipantRole.FUNDING)
            ],
            people_reached=120,
        ),
        submit=True,
    )
    joint = approve(
        session=session, actor=staff, initiative_id=joint.id or 0, expected_version=joint.version
    )
    national = create_initiative(
        session=session,
        actor=staff,
        draft=initiative_draft(school, areas=["PT"], category="information", status=Status.ACTIVE),
    )
    sparse = create_initiative(
        session=session,
        actor=staff,
        draft=InitiativeDraft(
            title="Só o título", lead_organisation_id=school.id, category="other"
        ),
    )
    return [joint, national, sparse]


# --- pure parsing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1000", 1000),
        ("1 000", 1000),
        ("1.000", 1000),
        ("1,000", 1000),
        ("1.234.567", 1_234_567),
        ("1.234,00", 1234),
        ("1,234.0", 1234),
        ("1000,0", 1000),
        (2500.0, 2500),
        (7, 7),
        ("", None),
    ],
)
def test_whole_numbers_with_thousand_and_decimal_separators(raw: Any, expected: int) -> None:
    assert parse_whole_number(raw) == expected


@pytest.mark.parametrize("raw", ["12,5", "1.5", "about 100", "1.2.3"])
def test_fractions_and_words_are_not_whole_numbers(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_whole_number(raw)


def test_dates_iso_excel_and_day_first() -> None:
    assert parse_date("2020-03-20") == date(2020, 3, 20)
    assert parse_date("2020-03-20T10:00:00Z") == date(2020, 3, 20)
    assert parse_date("20/03/2020") == date(2020, 3, 20)
    assert parse_date("") is None
    with pytest.raises(ValueError):
        parse_date("March 2020")


def test_template_has_the_header_and_one_example_row() -> None:
    for fmt in ("csv", "xlsx"):
        template = import_template(fmt, organisation_name="OPM")
        header, rows = read_table(template.data, filename=template.filename)
        assert tuple(header) == COLUMNS
        assert len(rows) == 1 and rows[0][0] == 2


# --- round trips -------------------------------------------------------------------------


def test_csv_export_then_import_gives_back_the_same_records(session: Session, world: World) -> None:
    originals = seed(session, world)
    exported = export_initiatives(
        session=session, actor=world.staff, format="csv", include_all=True
    )
    assert exported.count == 3 and exported.data.startswith(b"\xef\xbb\xbf")
    copy = exported.data.replace(b"INI-", b"COPY-")

    report = import_initiatives(session=session, actor=world.staff, data=copy, filename="copy.csv")

    assert report.problems == [] and report.written, report.lines()
    assert sorted(report.created) == sorted(i.code.replace("INI-", "COPY-") for i in originals)
    for original in originals:
        twin = session.exec(
            select(Initiative).where(Initiative.code == original.code.replace("INI-", "COPY-"))
        ).one()
        assert exchanged(draft_of(session=session, initiative=twin)) == exchanged(
            draft_of(session=session, initiative=original)
        )
        assert twin.review_state is ReviewState.DRAFT
        assert twin.version == 1


def test_xlsx_export_reads_like_the_csv_and_imports_back_unchanged(
    session: Session, world: World
) -> None:
    originals = seed(session, world)
    before = {i.id: exchanged(draft_of(session=session, initiative=i)) for i in originals}
    versions = {i.id: i.version for i in originals}
    as_csv = export_initiatives(session=session, actor=world.staff, format="csv", include_all=True)
    as_xlsx = export_initiatives(
        session=session, actor=world.staff, format="xlsx", include_all=True
    )
    csv_header, csv_rows = read_table(as_csv.data, filename=as_csv.filename)
    xlsx_header, xlsx_rows = read_table(as_xlsx.data, filename=as_xlsx.filename)
    assert csv_header == xlsx_header == list(COLUMNS)

    def text(rows: list[tuple[int, list[Any]]]) -> list[list[str]]:
        return [[cell_text(v) for v in row] for _n, row in rows]

    assert text(csv_rows) == text(xlsx_rows)

    report = import_initiatives(
        session=session, actor=world.staff, data=as_xlsx.data, filename=as_xlsx.filename
    )
    assert report.problems == [] and sorted(report.updated) == sorted(i.code for i in originals)
    session.expire_all()
    for original in originals:
        again = session.get(Initiative, original.id)
        assert again is not None
        assert exchanged(draft_of(session=session, initiative=again)) == before[original.id]
        assert again.version == versions[original.id] + 1  # saved once more


# --- exports ---------------------------------------------------------------------------


def test_public_export_has_published_initiatives_and_public_fields_only(
    session: Session, world: World
) -> None:
    joint, national, _sparse = seed(session, world)
    public = export_initiatives(session=session, actor=None, format="csv")
    header, rows = read_table(public.data)
    assert tuple(header) == PUBLIC_COLUMNS and "contact_email" not in header
    assert [r[0] for _n, r in rows] == [joint.code]
    assert b"@example.pt" not in public.data
    for fmt in ("xlsx", "hxl"):
        data = export_initiatives(session=session, actor=None, format=fmt).data
        assert b"contacto@example.pt" not in data

    partner = world.partner
    with pytest.raises(PermissionDenied):
        export_initiatives(session=session, actor=partner, format="csv", include_all=True)
    full = export_initiatives(session=session, actor=world.staff, format="csv", include_all=True)
    assert b"contacto@example.pt" in full.data and national.code.encode() in full.data


def test_hxl_export_has_the_hashtag_row(session: Session, world: World) -> None:
    seed(session, world)
    data = export_initiatives(
        session=session, actor=world.staff, format="hxl", include_all=True
    ).data
    assert data.startswith("\ufeff".encode())  # one BOM convention for every CSV
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[1] == [tag for _name, tag in HXL_COLUMNS]
    for tag in (
        "#activity+code",
        "#activity+name",
        "#description",
        "#org+impl+name",
        "#org+name",
        "#sector",
        "#beneficiary+type",
        "#adm1+code",
        "#adm2+code",
        "#channel",
        "#date+start",
        "#date+end",
        "#status",
        "#targeted",
        "#reached",
        "#meta+url",
    ):
        assert tag in lines[1]
    by_tag = [dict(zip(lines[1], line, strict=True)) for line in lines[2:]]
    joint = next(r for r in by_tag if r["#org+name"])
    assert (joint["#adm1+code"], joint["#adm2+code"]) == ("PT-11", "1106")
    national = next(r for r in by_tag if r["#country+code"] == "PT")
    assert national["#adm1+code"] == ""
    public = export_initiatives(session=session, actor=None, format="hxl").data
    assert b"#contact+email" not in public


IATI_ORDER = [
    "iati-identifier",
    "reporting-org",
    "title",
    "description",
    "participating-org",
    "activity-status",
    "activity-date",
    "contact-info",
    "recipient-country",
    "location",
    "sector",
    "tag",
    "humanitarian-scope",
    "document-link",
    "related-activity",
]


def test_iati_export_has_every_mandatory_element(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidInput, match="HUB_IATI_REPORTING_ORG_REF"):
        export_initiatives(session=session, actor=None, format="iati")
    monkeypatch.setenv("HUB_IATI_REPORTING_ORG_REF", REF)
    joint, national, sparse = seed(session, world)
    exported = export_initiatives(
        session=session,
        actor=world.staff,
        format="iati",
        include_all=True,
        related={joint.id or 0: [national.code]},
    )
    root = etree.fromstring(exported.data)
    assert root.tag == "iati-activities" and root.get("version") == "2.03"
    activities = root.xpath("/iati-activities/iati-activity")
    assert len(activities) == 3
    for activity in activities:
        assert activity.xpath("string(iati-identifier)").startswith(f"{REF}-INI-")
        assert activity.xpath("reporting-org/@ref") == [REF]
        assert activity.xpath("reporting-org/@type") == ["10"]
        assert activity.xpath("string(reporting-org/narrative)")
        assert activity.xpath("string(title/narrative)")
        assert activity.xpath("string(description/narrative)")
        roles = activity.xpath("participating-org/@role")
        assert {"2", "4"} <= set(roles) and set(roles) <= {"1", "2", "3", "4"}
        assert activity.xpath("participating-org/narrative/text()")
        assert activity.xpath("activity-status/@code")[0] in {"1", "2", "3", "4", "5", "6"}
        assert activity.xpath("activity-date[@type='1' or @type='2']/@iso-date")
        assert activity.xpath("recipient-country/@code") == ["PT"]
        assert activity.get("last-updated-datetime")
        tags = [child.tag for child in activity]
        assert tags == sorted(tags, key=IATI_ORDER.index), "elements out of schema order"

    def activity_of(code: str) -> Any:
        return root.xpath(f"iati-activity[iati-identifier='{REF}-{code}']")[0]

    first = activity_of(joint.code)
    assert first.xpath("participating-org[@role='1']/narrative/text()") == ["Escola Digital"]
    assert first.xpath("related-activity/@ref") == [f"{REF}-{national.code}"]
    assert first.xpath("related-activity/@type") == ["4"]
    assert first.xpath("location/@ref") == ["1106", "PT-11"]
    assert first.xpath("location[@ref='PT-11']/point/pos/text()")
    assert first.xpath("activity-date[@type='3']/@iso-date") == ["2020-06-30"]
    assert first.xpath("sector[@vocabulary='99']/@code") == ["connectivity"]
    assert first.xpath("sector[@vocabulary='1']/@code") == ["22040"]  # DAC: ICT
    assert first.xpath("document-link/@url") == ["https://example.pt/dados"]
    assert first.xpath("contact-info/email/text()") == ["contacto@example.pt"]
    assert activity_of(national.code).xpath("location") == []
    assert activity_of(sparse.code).xpath("activity-date[@type='1']/@iso-date")

    public = etree.fromstring(export_initiatives(session=session, actor=None, format="iati").data)
    assert len(public.xpath("iati-activity")) == 1 and public.xpath("//contact-info") == []


# --- validation report -----------------------------------------------------------------

BAD_ROWS: list[tuple[dict[str, Any], str, str]] = [
    ({"start_date": "2020-05-01", "end_date": "2020-04-01"}, "end_date", "before the start"),
    ({"areas": "PT-11;9999"}, "areas", "'9999' is not a known"),
    ({"category": "astrology"}, "category", "'astrology' is not in the list"),
    ({"title": "   "}, "title", "give the initiative a title"),
    ({"title": "x" * 201}, "title", "at most 200 characters"),
    ({"description": "x" * 5001}, "description", "at most 5000 characters"),
    ({"contact_email": "not-an-address"}, "contact_email", "name@example.pt"),
    ({"start_date": "March 2020"}, "start_date", "YYYY-MM-DD"),
    ({"people_targeted": "lots"}, "people_targeted", "not a whole number"),
    ({"organisation": "Nobody Ltd"}, "organisation", "No active organisation"),
    ({"channels": "carrier pigeon"}, "channels", "not a channel"),
    ({"status": "ongoing"}, "status", "not a status"),
    ({"link": "javascript:alert(1)"}, "link", "https://"),
    ({"id": ""}, "id", "needs an identifier"),
]


def test_every_bad_row_is_reported_with_row_column_and_reason_and_nothing_written(
    session: Session, world: World
) -> None:
    rows = [good_row(0)] + [good_row(n + 1, **bad) for n, (bad, _c, _m) in enumerate(BAD_ROWS)]
    rows.append(good_row(1))  # the same id as row 3: a duplicate in the file
    report = import_initiatives(session=session, actor=world.staff, data=csv_file(rows))

    assert not report.written and count(session) == 0
    problems = {(p.row, p.column): p.message for p in report.problems}
    for n, (_bad, column, message) in enumerate(BAD_ROWS):
        row = n + 3  # the header is row 1, the good row is row 2
        assert (row, column) in problems, (row, column, report.lines())
        assert message in problems[(row, column)]
    assert (len(rows) + 1, "id") in problems
    assert report.bad_rows == list(range(3, len(rows) + 2))
    assert "Nothing was imported" in report.summary()
    assert any(line.startswith("Row 3, end_date: End date:") for line in report.lines())


def test_valid_only_imports_the_good_rows_and_reports_the_rest(
    session: Session, world: World
) -> None:
    rows = [good_row(1), good_row(2, areas="PT-99"), good_row(3)]
    report = import_initiatives(
        session=session, actor=world.staff, data=csv_file(rows), valid_only=True, submit=True
    )
    assert report.written and report.created == ["IMP-001", "IMP-003"]
    assert [(p.row, p.column) for p in report.problems] == [(3, "areas")]
    assert count(session) == 2
    imported = session.exec(select(Initiative).where(Initiative.code == "IMP-001")).one()
    assert imported.review_state is ReviewState.SUBMITTED
    draft = draft_of(session=session, initiative=imported)
    assert draft.lead_organisation_id == world.own.id
    assert draft.participants == [
        Participant(organisation_id=world.other.id or 0, role=ParticipantRole.FUNDING)
    ]
    assert (draft.planned_start, draft.people_targeted) == (date(2020, 4, 1), 5000)
    audit = session.exec(
        select(AuditEntry).where(
            AuditEntry.entity_type == "initiative", AuditEntry.entity_id == str(imported.id)
        )
    ).all()
    assert [a.action for a in audit] == ["submit"]
    assert audit[0].after is not None and audit[0].after["areas"] == ["1106", "PT-11"]
    versions = session.exec(
        select(InitiativeVersion).where(InitiativeVersion.initiative_id == imported.id)
    ).all()
    assert [(v.number, v.action) for v in versions] == [(1, "submit")]


def test_only_id_and_title_are_required(session: Session, world: World) -> None:
    data = b"id,title\nMIN-1,Linha de apoio\n"
    report = import_initiatives(
        session=session,
        actor=world.staff,
        data=data,
        organisation_id=world.other.id,
    )
    assert report.created == ["MIN-1"], report.lines()
    draft = draft_of(session=session, initiative=session.exec(select(Initiative)).one())
    assert (draft.category, draft.status, draft.areas) == ("other", Status.PLANNED, [])
    assert draft.lead_organisation_id == world.other.id
    # Without a default organisation the row must name one.
    report = import_initiatives(session=session, actor=world.staff, data=b"id,title\nM2,X\n")
    assert [(p.row, p.column) for p in report.problems] == [(2, "organisation")]


def test_missing_required_columns_are_refused(session: Session, world: World) -> None:
    with pytest.raises(InvalidInput, match="missing: title"):
        import_initiatives(session=session, actor=world.staff, data=b"id,name\nA,B\n")
    with pytest.raises(InvalidInput, match="not a readable XLSX"):
        import_initiatives(
            session=session, actor=world.staff, data=b"PK\x03\x04junk", filename="x.xlsx"
        )


def test_updates_existing_initiatives_with_a_new_version_and_audit(
    session: Session, world: World
) -> None:
    existing = create_initiative(
        session=session, actor=world.staff, draft=initiative_draft(world.own)
    )
    version = existing.version
    rows = [good_row(1, id=existing.code, title="Renamed"), good_row(2)]
    report = import_initiatives(session=session, actor=world.staff, data=csv_file(rows))
    assert (report.updated, report.created) == ([existing.code], ["IMP-002"])
    session.expire_all()
    again = session.get(Initiative, existing.id)
    assert again is not None and again.title == "Renamed" and again.version == version + 1
    numbers = session.exec(
        select(InitiativeVersion.number).where(InitiativeVersion.initiative_id == existing.id)
    ).all()
    assert sorted(numbers) == [1, 2]  # create, then the import's update
    update = session.exec(
        select(AuditEntry).where(
            AuditEntry.entity_id == str(existing.id), AuditEntry.action == "update"
        )
    ).one()
    assert update.before is not None and update.before["title"] != "Renamed"
    assert "title" in update.summary


# --- permissions -----------------------------------------------------------------------


def test_partner_import_is_for_their_own_organisation_only_and_refusals_are_audited(
    session: Session, world: World
) -> None:
    partner = world.partner  # works for the operator
    theirs = create_initiative(
        session=session, actor=world.staff, draft=initiative_draft(world.other)
    )
    rows = [
        good_row(1, organisation=""),  # defaults to the partner's organisation
        good_row(2, organisation="Escola Digital"),  # another lead: refused
        good_row(3, id=theirs.code, organisation=""),  # another organisation's id: refused
    ]
    report = import_initiatives(
        session=session,
        actor=partner,
        data=csv_file(rows),
        organisation_id=world.other.id,  # ignored: a partner imports for themselves
    )
    assert not report.written
    assert [(p.row, p.column) for p in report.problems] == [(3, "organisation"), (4, "id")]
    assert all("your own organisation" in p.message for p in report.problems)
    assert count(session) == 1
    denied = session.exec(select(AuditEntry).where(AuditEntry.action == "denied")).all()
    assert len(denied) == 2 and {d.actor_id for d in denied} == {partner.account_id}
    assert str(theirs.id) in {d.entity_id for d in denied}
    session.expire_all()
    unchanged = session.get(Initiative, theirs.id)
    assert unchanged is not None and unchanged.version == theirs.version

    report = import_initiatives(
        session=session, actor=partner, data=csv_file(rows), valid_only=True
    )
    assert report.created == ["IMP-001"]
    mine = session.exec(select(Initiative).where(Initiative.code == "IMP-001")).one()
    assert mine.lead_organisation_id == world.own.id


def test_partner_edit_of_a_published_initiative_waits_for_review(
    session: Session, world: World
) -> None:
    partner, staff = world.partner, world.staff
    created = create_initiative(
        session=session,
        actor=partner,
        draft=initiative_draft(world.own, title="Live title"),
        submit=True,
    )
    live = approve(
        session=session,
        actor=staff,
        initiative_id=created.id or 0,
        expected_version=created.version,
    )
    rows = [good_row(1, id=live.code, organisation="", title="Proposed title")]
    report = import_initiatives(session=session, actor=partner, data=csv_file(rows))
    assert report.updated == [live.code], report.lines()
    session.expire_all()
    again = session.get(Initiative, live.id)
    assert again is not None and again.title == "Live title"
    assert again.pending_changes is not None and again.pending_changes["title"] == "Proposed title"
    proposal = session.exec(select(AuditEntry).where(AuditEntry.action == "propose_edit")).one()
    assert "title" in proposal.summary


def test_signed_out_import_is_refused(session: Session, world: World) -> None:
    with pytest.raises(PermissionDenied):
        import_initiatives(session=session, actor=None, data=csv_file([good_row(1)]))


# --- file dialects ---------------------------------------------------------------------


def test_bom_semicolons_and_portuguese_numbers(session: Session, world: World) -> None:
    rows = [
        good_row(1, people_targeted="12.500", start_date="01/04/2020", areas="pt-11;0101"),
        good_row(2, people_targeted="1 000,00", participating_organisations=""),
    ]
    data = csv_file(rows, delimiter=";", bom=True)
    report = import_initiatives(session=session, actor=world.staff, data=data, filename="a.csv")
    assert report.created == ["IMP-001", "IMP-002"], report.lines()
    drafts = {
        i.code: d
        for i in session.exec(select(Initiative)).all()
        for d in [drafts_of(session=session, initiatives=[i])[i.id or 0]]
    }
    assert drafts["IMP-001"].people_targeted == 12_500
    assert drafts["IMP-001"].planned_start == date(2020, 4, 1)
    assert drafts["IMP-001"].areas == ["0101", "PT-11"]
    assert drafts["IMP-002"].people_targeted == 1000


def test_windows_1252_csv_from_portuguese_excel(session: Session, world: World) -> None:
    text = "id;title;organisation;areas\r\nW-1;Apoio à população idosa;Escola Digital;PT-13\r\n"
    report = import_initiatives(
        session=session, actor=world.staff, data=text.encode("cp1252"), filename="w.csv"
    )
    assert report.created == ["W-1"], report.lines()
    assert session.exec(select(Initiative.title)).one() == "Apoio à população idosa"


def test_hxl_file_imports_back(session: Session, world: World) -> None:
    seed(session, world)
    hxl = export_initiatives(session=session, actor=world.staff, format="hxl", include_all=True)
    report = import_initiatives(
        session=session, actor=world.staff, data=hxl.data.replace(b"INI-", b"HXL-")
    )
    assert len(report.created) == 3 and report.ok, report.lines()
    national = session.exec(select(Initiative).where(Initiative.code == "HXL-000002")).one()
    assert national.is_national


# --- CLI -------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "en")
    assert runner.invoke(app, ["init-db"]).exit_code == 0
    with Session(make_engine(url)) as session:
        make_organisation(session, name="Operadora Móvel", acronym="OPM")
        make_organisation(session, name="Escola Digital", acronym="ED")
    return url


def test_cli_import_and_export(
    cli_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(csv_file([good_row(1, organisation=""), good_row(2, areas="PT-99")]))
    refused = runner.invoke(app, ["import-initiatives", str(source), "--organisation", "opm"])
    assert refused.exit_code == 1
    assert "Nothing was imported" in refused.output and "Row 3, areas:" in refused.output

    partial = runner.invoke(
        app, ["import-initiatives", str(source), "--organisation", "opm", "--valid-only"]
    )
    assert partial.exit_code == 1 and "1 created" in partial.output

    out = tmp_path / "out.csv"
    public = runner.invoke(app, ["export-initiatives", "--format", "csv", str(out)])
    assert public.exit_code == 0 and "Exported 0 initiatives" in public.output
    full = runner.invoke(app, ["export-initiatives", "--format", "csv", str(out), "--all"])
    assert full.exit_code == 0 and "Exported 1 initiatives" in full.output
    assert b"IMP-001" in out.read_bytes() and b"tablets@example.pt" in out.read_bytes()

    monkeypatch.setenv("HUB_IATI_REPORTING_ORG_REF", REF)
    xml = tmp_path / "out.xml"
    assert (
        runner.invoke(app, ["export-initiatives", "--format", "iati", str(xml), "--all"]).exit_code
        == 0
    )
    assert etree.fromstring(xml.read_bytes()).xpath("count(//iati-activity)") == 1

    with Session(make_engine(cli_db)) as session:
        lead = session.exec(select(Initiative.lead_organisation_id)).one()
        assert lead is not None


def test_cli_errors_are_one_line(cli_db: str, tmp_path: Path) -> None:
    missing = runner.invoke(
        app, ["import-initiatives", str(tmp_path / "nope.csv"), "--organisation", "opm"]
    )
    assert missing.exit_code == 1 and "No file at" in missing.output
    source = tmp_path / "in.csv"
    source.write_bytes(csv_file([good_row(1)]))
    unknown = runner.invoke(app, ["import-initiatives", str(source), "--organisation", "Nobody"])
    assert unknown.exit_code == 1 and "No organisation is called" in unknown.output
    bad = runner.invoke(app, ["export-initiatives", "--format", "pdf", str(tmp_path / "x")])
    assert bad.exit_code == 1 and "--format" in bad.output
    iati = runner.invoke(app, ["export-initiatives", "--format", "iati", str(tmp_path / "x")])
    assert iati.exit_code == 1 and "HUB_IATI_REPORTING_ORG_REF" in iati.output


def test_the_documented_example_is_in_the_exchange_format() -> None:
    from hub.settings import PROJECT_ROOT

    doc = (PROJECT_ROOT / "docs" / "exchange-format.md").read_text(encoding="utf-8")
    example = doc.split("```csv\n", 1)[1].split("```", 1)[0]
    header, rows = read_table(example.encode("utf-8"))
    assert tuple(header) == COLUMNS and len(rows) == 2
    documented = set(re.findall(r"^\| `([a-z_]+)`", doc, flags=re.MULTILINE))
    documented |= {"start_date", "end_date", "people_targeted", "people_reached"}
    assert set(COLUMNS) <= documented


# --- hardening (issue 13): formula injection, bombs, oversized cells ---------------------

HOSTILE = ['=1+HYPERLINK("http://x")', "@SUM(1)", "+1+1", "-1+1"]


def test_every_export_keeps_formulas_as_text(session: Session, world: World) -> None:
    for n, text in enumerate(HOSTILE):
        create_initiative(
            session=session,
            actor=world.staff,
            draft=initiative_draft(world.own, title=f"Formula {n}", description=text),
        )
    for fmt in ("csv", "hxl"):
        data = export_initiatives(
            session=session, actor=world.staff, format=fmt, include_all=True
        ).data.decode("utf-8-sig")
        written = [c for row in csv.reader(io.StringIO(data)) for c in row]
        for text in HOSTILE:
            assert "'" + text in written and text not in written, (fmt, text)
    as_xlsx = export_initiatives(
        session=session, actor=world.staff, format="xlsx", include_all=True
    )
    workbook = load_workbook(io.BytesIO(as_xlsx.data))
    values = {c.value: c.data_type for row in workbook.active.iter_rows() for c in row}
    for text in HOSTILE:
        assert values.get("'" + text) == "s" and text not in values
    # the guard's quote comes off again on import: the files round-trip
    _header, rows = read_table(as_xlsx.data, filename=as_xlsx.filename)
    assert {cell_text(r[2]) for _n, r in rows} >= set(HOSTILE)


def xlsx_with_sheet(sheet_rows: str, *, tail: str = "") -> bytes:
    """A real workbook (openpyxl) whose first sheet's XML is replaced by ``sheet_rows``."""
    workbook = Workbook()
    workbook.active.append(["id", "title"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<dimension ref="A1:B2"/><sheetData><row><c t="inlineStr"><is><t>id</t></is></c>'
        '<c t="inlineStr"><is><t>title</t></is></c></row>' + sheet_rows + tail
    )
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = sheet.encode("utf-8")
            target.writestr(item.filename, data)
    return out.getvalue()


ROW = '<row><c t="n"><v>1</v></c><c t="inlineStr"><is><t>x</t></is></c></row>'


def test_xlsx_decompression_bomb_is_refused_before_reading(session: Session, world: World) -> None:
    bomb = xlsx_with_sheet(ROW * 400_000, tail="</sheetData></worksheet>")
    assert len(bomb) < 200_000  # some 27 MB of sheet XML in a small file
    with pytest.raises(InvalidInput, match="compressed more than 100 times"):
        import_initiatives(session=session, actor=world.staff, data=bomb, filename="bomb.xlsx")
    assert count(session) == 0


def test_xlsx_reading_stops_at_the_row_limit() -> None:
    # Broken XML far beyond the limit: reading every row would reach it and fail.
    data = xlsx_with_sheet(ROW * 2_000, tail="<row><c><v>1</broken>")
    with pytest.raises(InvalidInput, match="more than 10 rows"):
        read_table(data, filename="many.xlsx", max_rows=10)


def test_csv_reading_stops_at_the_row_limit() -> None:
    # A cell too long for the CSV reader after the limit: reading on would fail on it.
    data = ("id,title\n" + "A,x\n" * 20 + "B," + "y" * 200_000 + "\n").encode()
    with pytest.raises(InvalidInput, match="more than 10 rows"):
        read_table(data, max_rows=10)


def test_csv_cell_over_128_kb_is_one_clear_error(session: Session, world: World) -> None:
    data = ("id,title\nA," + "y" * 200_000 + "\n").encode()
    with pytest.raises(InvalidInput, match="longer than 128 KB"):
        import_initiatives(session=session, actor=world.staff, data=data, filename="a.csv")
    assert count(session) == 0


def test_cli_import_of_an_oversized_cell_is_one_line(cli_db: str, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(("id,title\nA," + "y" * 200_000 + "\n").encode())
    result = runner.invoke(app, ["import-initiatives", str(source), "--organisation", "opm"])
    assert result.exit_code == 1 and "longer than 128 KB" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    with Session(make_engine(cli_db)) as session:
        assert count(session) == 0


def test_cli_overlaps_out_keeps_formulas_as_text(cli_db: str, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    title = "Internet móvel grátis para médicos e enfermeiros"
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows([["id", "title"], *([t, title] for t in HOSTILE)])
    source.write_text(buffer.getvalue(), encoding="utf-8")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["overlaps", str(source), "--out", str(out), "--threshold", "0"])
    assert result.exit_code == 0, result.output
    written = [c for row in csv.reader(io.StringIO(out.read_text("utf-8"))) for c in row]
    for text in HOSTILE:
        assert "'" + text in written and text not in written
