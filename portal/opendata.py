"""Descriptors a harvester picks up (issue 16): a Frictionless Data Package
(``datapackage.json``) describing every public CSV and JSON file with field types, a
DCAT-AP catalogue in JSON-LD (``catalogue.jsonld``, for dados.gov.pt and other CKAN or
udata portals), the codes the registry uses (``vocabularies.json``, the target of the
IATI export's vocabulary-uri) and a JSON Schema per JSON file (``*.schema.json`` beside
it, shipped in ``portal/schemas/``). The licence comes from ``HUB_DATA_LICENCE``.

Paths inside ``datapackage.json`` are relative, so the same descriptor holds for the
served site and for a static export; the DCAT catalogue needs absolute addresses and
builds them from ``HUB_PUBLIC_BASE_URL``. Codes are strings in every table schema, so
``0101`` keeps its leading zero.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from answers.directory import CONTACT_COLUMNS
from geo.areas import country_code
from hub import settings
from hub.i18n import _, get_language, set_language
from initiatives.exchange import HXL_COLUMNS
from initiatives.exchange.export import HXL_LONG_TABLES, export_hxl_long
from initiatives.exchange.iati import VOCABULARIES_FILE, dac_purpose_codes
from initiatives.models import CHANNEL_LABELS, Channel, VocabularyKind
from initiatives.vocabulary import vocabulary
from reports.render import HXL_COLUMNS as REPORT_HXL_COLUMNS
from reports.service import published_reports

SCHEMAS = Path(__file__).resolve().parent / "schemas"
JSON = "application/json; charset=utf-8"
CSV = "text/csv; charset=utf-8"
# JSON files and the schema each is published with, beside it.
JSON_SCHEMAS: dict[str, str] = {
    "initiatives.json": "initiatives.schema.json",
    "contacts.json": "contacts.schema.json",
    "answers.json": "answers.schema.json",
    "measures.json": "measures.schema.json",
    VOCABULARIES_FILE: "vocabularies.schema.json",
    "catalogue.jsonld": "catalogue.schema.json",
}
SCHEMA_FILES = {name: JSON for name in JSON_SCHEMAS.values()}
# The public files this module builds, with their media types.
OPEN_DATA_FILES: dict[str, str] = {
    "datapackage.json": JSON,
    "catalogue.jsonld": "application/ld+json; charset=utf-8",
    VOCABULARIES_FILE: JSON,
    **{name: CSV for name in HXL_LONG_TABLES},
    **SCHEMA_FILES,
}
LICENCES: dict[str, tuple[str, str]] = {
    "CC-BY-4.0": (
        "Creative Commons Attribution 4.0",
        "https://creativecommons.org/licenses/by/4.0/",
    ),
    "CC0-1.0": (
        "CC0 1.0 Public Domain Dedication",
        "https://creativecommons.org/publicdomain/zero/1.0/",
    ),
    "CC-BY-SA-4.0": (
        "Creative Commons Attribution-ShareAlike 4.0",
        "https://creativecommons.org/licenses/by-sa/4.0/",
    ),
    "ODC-BY-1.0": (
        "Open Data Commons Attribution License 1.0",
        "https://opendatacommons.org/licenses/by/1-0/",
    ),
    "ODbL-1.0": (
        "Open Data Commons Open Database License 1.0",
        "https://opendatacommons.org/licenses/odbl/1-0/",
    ),
}
# Field types of the CSV files; every other field is a string (codes included).
_TYPES: dict[str, dict[str, Any]] = {
    "start_date": {"type": "date"},
    "end_date": {"type": "date"},
    "last_verified": {"type": "date"},
    "people_targeted": {"type": "integer", "constraints": {"minimum": 0}},
    "people_reached": {"type": "integer", "constraints": {"minimum": 0}},
    "emergency": {"type": "boolean", "trueValues": ["true"], "falseValues": ["false"]},
}
_STATUSES = ["planned", "active", "completed", "cancelled", "suspended"]
_EU = "http://publications.europa.eu/resource/authority/"
_FILE_TYPES = {"csv": "CSV", "json": "JSON", "atom": "ATOM"}
_ISO_ALPHA3 = {"PT": "PRT", "ES": "ESP", "BR": "BRA", "AO": "AGO", "MZ": "MOZ", "CV": "CPV"}


def licence() -> dict[str, str]:
    """The open data's licence: SPDX id, title and address."""
    name = str(settings.get("HUB_DATA_LICENCE"))
    title, url = LICENCES[name]
    return {"name": name, "title": title, "path": url}


def _field(name: str, tag: str = "") -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, "type": "string", **_TYPES.get(name, {})}
    if name == "status":
        field["constraints"] = {"enum": _STATUSES}
    if tag:
        field["rdfType"] = f"https://hxlstandard.org/standard/1-1final/dictionary/#tag_{tag}"
        field["description"] = f"HXL {tag}"
    return field


def _table(path: str, fields: list[dict[str, Any]], *, hxl: bool) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "name": path.replace(".", "-"),  # unique: initiatives-csv beside initiatives-json
        "path": path,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": {"fields": fields, "missingValues": [""]},
    }
    if hxl:  # the second row holds the HXL hashtags, not data
        resource["dialect"] = {"commentRows": [2]}
    return resource


def _tables() -> list[dict[str, Any]]:
    public_hxl = [(n, t) for n, t in HXL_COLUMNS if n != "contact_email"]
    tables = [
        _table("initiatives.csv", [_field(n, t) for n, t in public_hxl], hxl=True),
        _table("contacts.csv", [_field(n) for n in CONTACT_COLUMNS], hxl=False),
    ]
    for path, columns in HXL_LONG_TABLES.items():
        tables.append(_table(path, [_field(n, t) for n, t in columns], hxl=True))
    return tables


def _json_resources() -> list[dict[str, Any]]:
    return [
        {
            "name": path.replace(".", "-"),
            "path": path,
            "format": "json",
            "mediatype": "application/ld+json" if path.endswith(".jsonld") else "application/json",
            "encoding": "utf-8",
            "jsonSchema": schema,
        }
        for path, schema in JSON_SCHEMAS.items()
    ]


def report_resources(*, session: Session) -> list[dict[str, Any]]:
    """issue 20: each published situation report's snapshot, as HXL CSV and as JSON."""
    resources: list[dict[str, Any]] = []
    for report in published_reports(session=session):
        fields = [_field(name, tag) for name, tag in REPORT_HXL_COLUMNS]
        name = f"report-{report.slug.lower()}"  # resource names are lower case
        resources.append(
            {**_table(f"reports/{report.slug}.csv", fields, hxl=True), "name": f"{name}-csv"}
        )
        resources.append(
            {
                "name": f"{name}-json",
                "path": f"reports/{report.slug}.json",
                "format": "json",
                "mediatype": "application/json",
                "encoding": "utf-8",
            }
        )
    return resources


def datapackage_json(*, generated_at: datetime, extra: list[dict[str, Any]] | None = None) -> bytes:
    """The Frictionless Data Package descriptor of every public CSV and JSON file."""
    base_url = settings.public_base_url()
    terms = licence()
    descriptor = {
        "profile": "data-package",
        "name": "coordination-hub-open-data",
        "title": _("Official information and support: open data"),
        "description": _(
            "Who does what, where, for whom and when (the registry of initiatives, also "
            "as HXL 3W tables), emergency and support contacts, official answers and "
            "measures in force."
        ),
        "homepage": base_url,
        "created": generated_at.astimezone(UTC).isoformat(),
        "licenses": [terms],
        "resources": _tables() + _json_resources() + (extra or []),  # extra: issue 20
    }
    return json.dumps(descriptor, ensure_ascii=False, indent=1).encode("utf-8")


def _distribution(base_url: str, path: str, kind: str, media_type: str) -> dict[str, Any]:
    url = base_url + path
    return {
        "@id": url + "#distribution",
        "@type": "dcat:Distribution",
        "dct:title": path,
        "dcat:accessURL": {"@id": url},
        "dcat:downloadURL": {"@id": url},
        "dcat:mediaType": {"@id": f"http://www.iana.org/assignments/media-types/{media_type}"},
        "dct:format": {"@id": f"{_EU}file-type/{_FILE_TYPES[kind]}"},
        "dct:license": {"@id": licence()["path"]},
    }


def _dataset(
    base_url: str,
    key: str,
    title: tuple[str, str],
    description: tuple[str, str],
    theme: str,
    files: list[tuple[str, str, str]],
    *,
    publisher: dict[str, Any],
    modified: str,
    country: str,
) -> dict[str, Any]:
    return {
        "@id": f"{base_url}catalogue.jsonld#{key}",
        "@type": "dcat:Dataset",
        "dct:identifier": f"{base_url}catalogue.jsonld#{key}",
        "dct:title": [
            {"@value": title[0], "@language": "pt"},
            {"@value": title[1], "@language": "en"},
        ],
        "dct:description": [
            {"@value": description[0], "@language": "pt"},
            {"@value": description[1], "@language": "en"},
        ],
        "dct:publisher": publisher,
        "dcat:contactPoint": {
            "@type": "vcard:Organization",
            "vcard:fn": publisher["foaf:name"],
            "vcard:hasURL": {"@id": base_url},
        },
        "dcat:theme": {"@id": f"{_EU}data-theme/{theme}"},
        "dct:spatial": {"@id": f"{_EU}country/{_ISO_ALPHA3.get(country, country)}"},
        "dct:modified": {"@value": modified, "@type": "xsd:dateTime"},
        "dcat:landingPage": {"@id": base_url},
        "dct:license": {"@id": licence()["path"]},
        "dcat:distribution": [_distribution(base_url, *f) for f in files],
    }


def catalogue_jsonld(*, generated_at: datetime, country: str) -> bytes:
    """A DCAT-AP 2 catalogue of the public datasets, in JSON-LD with its context inline
    (no remote context to fetch)."""
    base_url = settings.public_base_url()
    modified = generated_at.astimezone(UTC).replace(microsecond=0).isoformat()
    publisher = {
        "@id": base_url + "#publisher",
        "@type": "foaf:Agent",
        "foaf:name": str(settings.get("HUB_OFFICE_NAME")),
    }
    common: dict[str, Any] = {"publisher": publisher, "modified": modified, "country": country}
    datasets = [
        _dataset(
            base_url,
            "initiatives",
            ("Registo de iniciativas (3W)", "Registry of initiatives (3W)"),
            (
                "Quem faz o quê, onde, para quem e quando: iniciativas publicadas de "
                "parceiros públicos, privados e sem fins lucrativos.",
                "Who does what, where, for whom and when: published initiatives of public, "
                "private and non-profit partners.",
            ),
            "SOCI",
            [
                ("initiatives.json", "json", "application/json"),
                ("initiatives.csv", "csv", "text/csv"),
                *((name, "csv", "text/csv") for name in HXL_LONG_TABLES),
                (VOCABULARIES_FILE, "json", "application/json"),
            ],
            **common,
        ),
        _dataset(
            base_url,
            "contacts",
            ("Contactos de emergência e apoio", "Emergency and support contacts"),
            (
                "Linhas de emergência e de apoio, com horário, línguas e público.",
                "Emergency and support lines, with opening hours, languages and audience.",
            ),
            "HEAL",
            [("contacts.json", "json", "application/json"), ("contacts.csv", "csv", "text/csv")],
            **common,
        ),
        _dataset(
            base_url,
            "answers",
            ("Respostas oficiais", "Official answers"),
            (
                "Perguntas do público respondidas pela autoridade competente.",
                "Questions from the public answered by the competent authority.",
            ),
            "GOVE",
            [("answers.json", "json", "application/json")],
            **common,
        ),
        _dataset(
            base_url,
            "measures",
            ("Medidas em vigor", "Measures in force"),
            ("Medidas públicas em vigor.", "Public measures in force."),
            "GOVE",
            [("measures.json", "json", "application/json")],
            **common,
        ),
        _dataset(
            base_url,
            "news",
            ("Informação oficial (Atom)", "Official information (Atom)"),
            (
                "Notícias de fontes oficiais e novos apoios publicados.",
                "News from official sources and newly published support.",
            ),
            "GOVE",
            [("feed.xml", "atom", "application/atom+xml")],
            **common,
        ),
    ]
    document = {
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "vcard": "http://www.w3.org/2006/vcard/ns#",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@id": base_url + "catalogue.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": [
            {"@value": "Informação oficial e apoios: dados abertos", "@language": "pt"},
            {"@value": "Official information and support: open data", "@language": "en"},
        ],
        "dct:description": [
            {
                "@value": "Dados abertos do gabinete de coordenação da resposta à crise.",
                "@language": "pt",
            },
            {"@value": "Open data of the crisis-response coordination office.", "@language": "en"},
        ],
        "dct:publisher": publisher,
        "foaf:homepage": {"@id": base_url},
        "dct:license": {"@id": licence()["path"]},
        "dct:language": [
            {"@id": f"{_EU}language/POR"},
            {"@id": f"{_EU}language/ENG"},
        ],
        "dct:modified": {"@value": modified, "@type": "xsd:dateTime"},
        "dcat:dataset": datasets,
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def vocabularies_json(*, session: Session, generated_at: datetime) -> bytes:
    """The registry's codes with their labels; categories with their DAC purpose code."""
    dac = dac_purpose_codes()

    def terms(kind: VocabularyKind) -> list[dict[str, Any]]:
        return [
            {"code": t.code, "label_pt": t.label_pt, "label_en": t.label_en, "active": t.active}
            for t in vocabulary(session=session, kind=kind, include_inactive=True)
        ]

    document = {
        "generated_at": generated_at.astimezone(UTC).isoformat(),
        "categories": [
            {**term, "dac_purpose_code": dac.get(term["code"], "99810")}
            for term in terms(VocabularyKind.CATEGORY)
        ],
        "target_groups": terms(VocabularyKind.TARGET_GROUP),
        "channels": [
            {
                "code": channel.value,
                "label_pt": _translated(CHANNEL_LABELS[channel], "pt"),
                "label_en": _translated(CHANNEL_LABELS[channel], "en"),
                "active": True,
            }
            for channel in Channel
        ],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _translated(message: str, language: str) -> str:
    previous = get_language()
    set_language(language)
    try:
        return _(message)
    finally:
        set_language(previous)


def schema_file(name: str) -> bytes:
    """A published JSON Schema (``initiatives.schema.json``), beside its data."""
    if name not in SCHEMA_FILES:
        raise KeyError(name)
    return (SCHEMAS / name).read_bytes()


def build_open_data_file(*, session: Session, name: str, generated_at: datetime) -> bytes:
    """One of the files above, freshly built."""
    if name in SCHEMA_FILES:
        return schema_file(name)
    if name == "datapackage.json":
        return datapackage_json(generated_at=generated_at, extra=report_resources(session=session))
    if name == "catalogue.jsonld":
        return catalogue_jsonld(generated_at=generated_at, country=country_code())
    if name == VOCABULARIES_FILE:
        return vocabularies_json(session=session, generated_at=generated_at)
    if name in HXL_LONG_TABLES:
        return export_hxl_long(session=session)[name]
    raise KeyError(name)
