"""Open data checked with the tools portals and readers run (issue 16): lxml against the
official IATI 2.03 XSD plus the codelist rules, libhxl on the 3W long tables,
``frictionless validate`` on a real static export's datapackage.json, jsonschema on every
JSON file, rdflib on the DCAT-AP catalogue, feedparser on the feed's rights, listparser
on OPML, and a static export served by a web server running as another user."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import feedparser
import hxl
import listparser
import pytest
import rdflib
from jsonschema import Draft202012Validator
from lxml import etree
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.testclient import TestClient
from typer.testing import CliRunner

import portal.routes
from connectivity import maps
from connectivity.gaps import AreaInput, compute_gaps, targets_csv
from feeds.service import export_opml
from hub.errors import InvalidInput
from initiatives.exchange import export_initiatives, iati_identifier, import_initiatives
from initiatives.exchange.export import HXL_LONG_TABLES, export_hxl_long
from initiatives.exchange.iati import dac_purpose_codes, safe_code
from initiatives.models import Participant, ParticipantRole, Status
from partners.models import OrganisationDraft
from partners.orgid import agencies, split_org_id
from partners.service import create_organisation, update_organisation
from portal.export import export_public
from portal.opendata import JSON_SCHEMAS, OPEN_DATA_FILES
from portal.routes import ROUTES
from tests.factories import World, make_initiative, make_source
from wiring import app

ROOT = Path(__file__).resolve().parents[2]
XSD = ROOT / "tests" / "standards" / "iati-2.03" / "iati-activities-schema.xsd"
REF = "XE-EXAMPLE-OFFICE1"  # XE-EXAMPLE: the org-id list reserved for example data
FORBIDDEN = re.compile(r"[/&|?\s]")
runner = CliRunner()


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def published_world(session: Session, world: World) -> dict[str, Any]:
    """Published initiatives: an active one with a funder, a completed one, a national
    one; the partner's organisation carries an org-id identifier."""
    own = update_organisation(
        session=session,
        actor=world.staff,
        organisation_id=world.own.id or 0,
        draft=OrganisationDraft(
            name=world.own.name, acronym="OPM", org_identifier="PT-NIPPC-500000000"
        ),
        expected_version=world.own.version,
    )
    active = make_initiative(
        session,
        own,
        publish=True,
        status=Status.ACTIVE,
        planned_start=date(2020, 3, 20),
        participants=[
            Participant(organisation_id=world.other.id or 0, role=ParticipantRole.FUNDING)
        ],
    )
    completed = make_initiative(
        session,
        world.other,
        publish=True,
        status=Status.COMPLETED,
        category="education",
        areas=["PT-13", "1312", "0101"],
    )
    national = make_initiative(session, world.joint, publish=True, areas=["PT"])
    return {"own": own, "active": active, "completed": completed, "national": national}


# --- IATI ------------------------------------------------------------------------------


def test_iati_export_is_valid_against_the_xsd_and_follows_the_rulesets(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_IATI_REPORTING_ORG_REF", REF)
    records = published_world(session, world)
    source = (
        "id,title,organisation,status,start_date\r\n"
        "OPM/2020/001,Linha & apoio?,OPM,planned,2020-04-01\r\n"
        "OPM-2020-001,Outra,OPM,planned,2020-04-01\r\n"
    )
    report = import_initiatives(session=session, actor=world.staff, data=source.encode())
    assert report.written, report.lines()
    data = export_initiatives(
        session=session, actor=world.staff, format="iati", include_all=True
    ).data
    root = etree.fromstring(data)
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    assert schema.validate(root), schema.error_log

    identifiers = root.xpath("//iati-identifier/text()")
    assert len(identifiers) == len(set(identifiers)) == 5  # OPM/2020/001 and OPM-2020-001 differ
    for identifier in identifiers:
        assert identifier.startswith(REF + "-") and not FORBIDDEN.search(identifier)
    for ref in root.xpath("//reporting-org/@ref | //participating-org/@ref"):
        split = split_org_id(ref)
        assert split is not None and agencies()[split[0]].active, ref

    def activity(code: str) -> Any:
        return root.xpath(f"iati-activity[iati-identifier='{iati_identifier(REF, code)}']")[0]

    active, completed = activity(records["active"].code), activity(records["completed"].code)
    today = date.today().isoformat()
    assert active.xpath("activity-date[@type='2']/@iso-date") == ["2020-03-20"]
    assert active.xpath("activity-date[@type='4']") == []
    assert completed.xpath("activity-date[@type='2']/@iso-date")
    (end,) = completed.xpath("activity-date[@type='4']/@iso-date")
    assert end <= today and completed.xpath("activity-date[@type='2']/@iso-date")[0] <= end
    planned = activity("OPM/2020/001")
    assert planned.xpath("activity-date[@type='2' or @type='4']") == []

    assert active.xpath("participating-org[@ref='PT-NIPPC-500000000']/@role") == ["2", "4"]
    assert active.xpath("participating-org[@role='1']/@ref") == []  # the funder has no org-id
    for each in root.xpath("iati-activity"):
        (dac,) = each.xpath("sector[@vocabulary='1']/@code")
        assert re.fullmatch(r"\d{5}", dac)
        (own,) = each.xpath("sector[@vocabulary='99']")
        assert own.get("vocabulary-uri", "").endswith("/vocabularies.json")
        assert all(t.get("vocabulary-uri") for t in each.xpath("tag[@vocabulary='99']"))
        assert each.get("humanitarian") == "1"
        assert each.xpath("humanitarian-scope/@code") == ["EP-2020-000012-001"]
        assert each.xpath("humanitarian-scope/@vocabulary") == ["1-2"]
        assert each.xpath("humanitarian-scope/@type") == ["1"]
    assert completed.xpath("sector[@vocabulary='1']/@code") == [dac_purpose_codes()["education"]]

    monkeypatch.setenv("HUB_IATI_HUMANITARIAN_SCOPE", "")
    data = export_initiatives(
        session=session, actor=world.staff, format="iati", include_all=True
    ).data
    assert b"humanitarian-scope" not in data and schema.validate(etree.fromstring(data))


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("PT NIPC 600000000", "does not start with a list code"),
        ("PT-NIPC-600000000", "does not start with a list code"),  # not on the codelist
        ("PT-NIPPC-600000000/&", "no spaces, '/', '&'"),
        ("PT-NIPPC-", "no spaces, '/', '&'"),
        ("FR-INSEE-123456789", "withdrawn"),
    ],
)
def test_a_malformed_reporting_org_ref_is_refused_with_the_setting_and_an_example(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch, ref: str, reason: str
) -> None:
    monkeypatch.setenv("HUB_IATI_REPORTING_ORG_REF", ref)
    with pytest.raises(InvalidInput, match="HUB_IATI_REPORTING_ORG_REF") as raised:
        export_initiatives(session=session, actor=None, format="iati")
    assert reason in str(raised.value) and "PT-NIPPC-600000000" in str(raised.value)


def test_the_cli_refuses_a_malformed_reporting_org_ref_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "en")
    monkeypatch.setenv("HUB_IATI_REPORTING_ORG_REF", "PT-NIPC-600000000/&")
    out = tmp_path / "out.xml"
    result = runner.invoke(app, ["export-initiatives", str(out), "--format", "iati"])
    assert result.exit_code == 1 and "HUB_IATI_REPORTING_ORG_REF" in result.output
    assert not out.exists()


def test_identifiers_with_reserved_characters_are_mapped_safely() -> None:
    mapped = {code: safe_code(code) for code in ("OPM/2020/001", "OPM-2020-001", "A&B|C?D", "A B")}
    assert mapped["OPM-2020-001"] == "OPM-2020-001"  # a safe code is kept as it is
    assert len(set(mapped.values())) == len(mapped)
    assert not any(FORBIDDEN.search(v) for v in mapped.values())
    assert safe_code("OPM/2020/001") == safe_code("OPM/2020/001")  # stable


def test_an_organisation_identifier_is_checked_against_the_codelist(
    session: Session, world: World
) -> None:
    with pytest.raises(InvalidInput) as raised:
        create_organisation(
            session=session,
            actor=world.staff,
            draft=OrganisationDraft(name="Associação X", org_identifier="PT-NIPC-500000000"),
        )
    assert raised.value.field == "org_identifier" and "Organisation identifier" in str(raised.value)
    created = create_organisation(
        session=session,
        actor=world.staff,
        draft=OrganisationDraft(name="Associação X", org_identifier=" XM-DAC-41301 "),
    )
    assert created.org_identifier == "XM-DAC-41301"


# --- HXL -------------------------------------------------------------------------------

CORE_ATTRIBUTES = {"code", "name", "impl", "funder", "prog", "type", "start", "end", "url", "email"}


def hxl_rows(data: bytes, tmp_path: Path, name: str) -> Any:
    path = tmp_path / name
    path.write_bytes(data)
    return hxl.data(str(path), hxl.InputOptions(allow_local=True))


def test_the_3w_long_tables_read_with_libhxl_one_code_per_admin_cell(
    session: Session, world: World, tmp_path: Path
) -> None:
    records = published_world(session, world)
    tables = export_hxl_long(session=session)
    assert set(tables) == set(HXL_LONG_TABLES)
    three_w = list(hxl_rows(tables["initiatives-3w.csv"], tmp_path, "3w.csv"))
    source = hxl_rows(tables["initiatives-3w.csv"], tmp_path, "3w.csv")
    assert [c.display_tag for c in source.columns] == [
        t for _n, t in HXL_LONG_TABLES["initiatives-3w.csv"]
    ]
    for row in three_w:
        assert re.fullmatch(r"(PT-\d\d)?", row.get("#adm1+code") or ""), row.values
        assert re.fullmatch(r"(\d{4})?", row.get("#adm2+code") or ""), row.values
        assert row.get("#country+code") == "PT"
    completed = [r for r in three_w if r.get("#activity+code") == records["completed"].code]
    assert sorted((r.get("#adm1+code"), r.get("#adm2+code") or "") for r in completed) == [
        ("PT-01", "0101"),
        ("PT-13", ""),
        ("PT-13", "1312"),
    ]
    national = [r for r in three_w if r.get("#activity+code") == records["national"].code]
    assert [(r.get("#adm1+code") or "", r.get("#adm2+code") or "") for r in national] == [("", "")]

    organisations = list(hxl_rows(tables["initiatives-organisations.csv"], tmp_path, "o.csv"))
    active = [r for r in organisations if r.get("#activity+code") == records["active"].code]
    assert [r.get("#org+prog+name") for r in active if r.get("#org+prog+name")] == [world.own.name]
    assert [r.get("#org+funder+name") for r in active if r.get("#org+funder+name")] == [
        world.other.name
    ]
    for name, data in tables.items():
        dataset = hxl_rows(data, tmp_path, name)
        for column in dataset.columns:
            assert set(column.attributes) <= CORE_ATTRIBUTES, (name, column.display_tag)
        for row in dataset:  # one value per cell: nothing joined with the separator
            assert not any(";" in (value or "") for value in row.values), (name, row.values)


def test_the_wide_hxl_file_uses_core_attributes_only(
    session: Session, world: World, tmp_path: Path
) -> None:
    published_world(session, world)
    wide = export_initiatives(session=session, actor=None, format="hxl").data
    tags = [c.display_tag for c in hxl_rows(wide, tmp_path, "wide.csv").columns]
    assert "#description" in tags and "#org+impl+name" in tags
    for tag in tags:
        assert set(tag.split("+")[1:]) <= CORE_ATTRIBUTES, tag


# --- static export: data package, schemas, catalogue, feed, served as another user ------


@pytest.fixture
def exported(session: Session, world: World, tmp_path: Path) -> Path:
    published_world(session, world)
    outdir = tmp_path / "site"
    export_public(session.get_bind(), outdir)  # type: ignore[arg-type]
    return outdir


def frictionless_report(folder: Path) -> dict[str, Any]:
    """``frictionless validate --json datapackage.json`` run in ``folder``, as a user would."""
    tool = Path(sys.executable).with_name("frictionless")
    result = subprocess.run(
        [str(tool), "validate", "--json", "datapackage.json"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_frictionless_validates_the_exported_data_package(exported: Path) -> None:
    report = frictionless_report(exported)
    errors = [e for task in report["tasks"] for e in task["errors"]] + report.get("errors", [])
    assert report["valid"] and not errors, errors[:5]
    descriptor = json.loads((exported / "datapackage.json").read_text("utf-8"))
    described = {r["path"] for r in descriptor["resources"]}
    published = (
        {p.name for p in exported.iterdir() if p.suffix in {".csv", ".json", ".jsonld"}}
        - {"datapackage.json"}
        - set(JSON_SCHEMAS.values())
    )
    assert described == published
    assert descriptor["licenses"][0]["name"] == "CC-BY-4.0"
    for resource in descriptor["resources"]:
        for field in resource.get("schema", {}).get("fields", []):
            if field["name"].endswith(("code", "id", "districts", "municipalities", "areas")):
                assert field["type"] == "string", field  # 0101 keeps its leading zero


def test_frictionless_catches_a_broken_table(exported: Path) -> None:
    """The check above can fail: a date that is not a date is an error."""
    path = exported / "initiatives-3w.csv"
    rows = csv_rows(path.read_bytes())
    rows[2][rows[0].index("start_date")] = "March 2020"
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_bytes(("\ufeff" + buffer.getvalue()).encode())
    assert frictionless_report(exported)["valid"] is False


def test_the_site_serves_every_open_data_file_with_its_media_type(
    session: Session, world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    published_world(session, world)
    monkeypatch.setattr(portal.routes, "_cache", portal.routes.PublicCache(engine))
    client = TestClient(Starlette(routes=ROUTES))
    for name, media_type in OPEN_DATA_FILES.items():
        reply = client.get(f"/{name}")
        assert reply.status_code == 200, name
        assert reply.headers["content-type"] == media_type and reply.headers["etag"], name
    package = client.get("/datapackage.json").json()
    for resource in package["resources"]:
        assert client.get("/" + resource["path"]).status_code == 200, resource["path"]
        if "jsonSchema" in resource:
            assert client.get("/" + resource["jsonSchema"]).status_code == 200
    three_w = csv_rows(client.get("/initiatives-3w.csv").content)
    assert three_w[1][0] == "#activity+code" and len(three_w) > 3


def test_every_json_file_validates_against_its_published_schema(exported: Path) -> None:
    for data_file, schema_file in JSON_SCHEMAS.items():
        schema = json.loads((exported / schema_file).read_text("utf-8"))
        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        document = json.loads((exported / data_file).read_text("utf-8"))
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]
        assert not errors, (data_file, errors[:5])
    initiatives = json.loads((exported / "initiatives.json").read_text("utf-8"))["initiatives"]
    roles = {(p["organisation"], p["role"]) for i in initiatives for p in i["participant_roles"]}
    assert any(role == "funding" for _o, role in roles)
    broken = initiatives[0] | {"code": 14}
    schema = json.loads((exported / "initiatives.schema.json").read_text("utf-8"))
    assert not Draft202012Validator(schema).is_valid({"initiatives": [broken]})


def test_the_dcat_catalogue_parses_as_rdf_with_the_dcat_ap_mandatory_properties(
    exported: Path,
) -> None:
    graph = rdflib.Graph().parse(exported / "catalogue.jsonld", format="json-ld")
    dcat, dct = (
        rdflib.Namespace("http://www.w3.org/ns/dcat#"),
        rdflib.Namespace("http://purl.org/dc/terms/"),
    )
    (catalogue,) = graph.subjects(rdflib.RDF.type, dcat.Catalog)
    for prop in (dct.title, dct.description, dct.publisher, dcat.dataset, dct.license):
        assert graph.value(catalogue, prop) is not None, prop
    datasets = list(graph.objects(catalogue, dcat.dataset))
    assert len(datasets) >= 4
    urls = set()
    for dataset in datasets:
        assert graph.value(dataset, dct.title) and graph.value(dataset, dct.description)
        for distribution in graph.objects(dataset, dcat.distribution):
            access = graph.value(distribution, dcat.accessURL)
            assert access is not None and graph.value(distribution, dct.license) is not None
            urls.add(str(access))
    assert "http://127.0.0.1:8501/initiatives-3w.csv" in urls
    assert "http://127.0.0.1:8501/contacts.csv" in urls


def test_the_licence_is_on_the_page_and_in_the_feed_rights(
    exported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = (exported / "index.html").read_text("utf-8")
    assert 'rel="license"' in page and "https://creativecommons.org/licenses/by/4.0/" in page
    for feed_file in ("feed.xml", "feed.en.xml"):
        feed = feedparser.parse((exported / feed_file).read_bytes())
        assert not feed.bozo and "CC-BY-4.0" in feed.feed.rights


def test_every_csv_has_the_bom_and_crlf(exported: Path) -> None:
    files = sorted(exported.glob("*.csv"))
    assert {p.name for p in files} >= {"initiatives.csv", "contacts.csv", *HXL_LONG_TABLES}
    for path in files:
        data = path.read_bytes()
        assert data.startswith("\ufeff".encode()) and b"\r\n" in data, path.name
        assert b"\n" not in data.replace(b"\r\n", b""), path.name
    gaps = targets_csv(compute_gaps([AreaInput(code="PT-11", name="Lisboa", level="district")], []))
    assert gaps.startswith("\ufeffarea_code,") and "\r\n" in gaps


def test_geojson_properties_are_numbers(session: Session, world: World) -> None:
    gaps = compute_gaps(
        [AreaInput(code="PT-11", name="Lisboa", level="district", population=1000)], []
    )
    collection = json.loads(maps.targets_geojson(gaps, {}))
    (properties,) = [f["properties"] for f in collection["features"]]
    assert properties["area_code"] == "PT-11"
    for name in ("need", "people_affected", "coverage", "gap"):
        assert properties[name] is None or isinstance(properties[name], int | float), name


def test_opml_reads_with_listparser(session: Session, world: World) -> None:
    make_source(session, name="DGS", url="https://www.dgs.pt/feed.xml")
    parsed = listparser.parse(export_opml(session=session, actor=world.staff).decode("utf-8"))
    assert not parsed.bozo and "https://www.dgs.pt/feed.xml" in {f.url for f in parsed.feeds}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def public_folder(exported: Path) -> Iterator[Path]:
    """The export copied, modes kept, below a folder another user may enter (pytest's
    own temporary folders are 0700)."""
    parent = Path(tempfile.mkdtemp(prefix="hub-export-"))
    try:
        parent.chmod(0o755)
        shutil.copytree(exported, parent / "site", copy_function=shutil.copy2)
        shutil.copystat(exported, parent / "site")
        yield parent / "site"
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def test_a_web_server_running_as_another_user_serves_the_export(public_folder: Path) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run as root with setpriv to check the export as another user")
        pytest.skip("needs root and setpriv to start a server as the user nobody")
    port = _free_port()
    server = subprocess.Popen(
        [
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "/usr/bin/python3",
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(public_folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        files = [p for p in public_folder.rglob("*") if p.is_file()]
        assert len(files) > 20
        for path in files:
            relative = path.relative_to(public_folder).as_posix()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/{relative}", timeout=10) as reply:
                assert reply.status == 200 and reply.read() == path.read_bytes(), relative
    finally:
        server.terminate()
        server.wait(timeout=10)
