"""Measures in force and the consolidated contacts directory (staff write, public read),
with the contacts as CSV and JSON open data."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import delete
from sqlmodel import Session, col, select

from answers.checks import clean_email, clean_phone, tel_target
from answers.models import (
    TOPIC_LABELS,
    Contact,
    ContactDraft,
    ContactPublic,
    LinkedInitiative,
    Measure,
    MeasureDraft,
    MeasureInitiative,
    MeasurePublic,
    Topic,
)
from answers.search import fold, search_ids
from hub.audit import AuditEntry, snapshot
from hub.auth import Principal, require_staff
from hub.clean import cleaned as revalidated
from hub.errors import Gone, InvalidInput, NotFound
from hub.i18n import _
from hub.records import check_version, save_record, stale_guard, utcnow
from hub.tabular import safe_cell
from hub.urls import safe_http_url
from initiatives.models import Initiative, ReviewState
from partners import webhooks

R = TypeVar("R", Measure, Contact)


def _text(raw: str, label: str, field: str, limit: int, *, required: bool = False) -> str:
    value = " ".join(raw.replace("\x00", " ").split())
    if required and not value:
        raise InvalidInput(_("{label}: this is required.").format(label=label), field=field)
    if len(value) > limit:
        raise InvalidInput(
            _("{label}: use at most {n} characters.").format(label=label, n=limit), field=field
        )
    return value


def _url(raw: str, label: str, field: str) -> str:
    if not raw.strip():
        return ""
    url = safe_http_url(raw)
    if url is None:
        raise InvalidInput(
            _("{label}: enter an address starting with https:// (for example {example}).").format(
                label=label, example="https://www.gov.pt"
            ),
            field=field,
        )
    return url


def _get(session: Session, model: type[R], record_id: int) -> R:
    record = session.get(model, record_id, populate_existing=True)
    if record is None:
        raise NotFound(_("That record does not exist."))
    return record


# --- measures ------------------------------------------------------------------------------


def validate_measure(*, session: Session, draft: MeasureDraft) -> tuple[MeasureDraft, list[int]]:
    """The cleaned draft and the ids of the initiatives it names."""
    draft = revalidated(draft)
    summary = "\n".join(line.strip() for line in draft.summary.strip().splitlines())
    if not summary:
        raise InvalidInput(_("Summary: explain the measure in plain words."), field="summary")
    if len(summary) > 4000:
        raise InvalidInput(_("Summary: use at most 4000 characters."), field="summary")
    if draft.in_force_from and draft.in_force_to and draft.in_force_to < draft.in_force_from:
        raise InvalidInput(
            _("In force until: the date is before the date it comes into force."),
            field="in_force_to",
        )
    documents = [_text(d, _("Forms and documents"), "documents", 300) for d in draft.documents]
    codes = [c.strip().upper() for c in draft.initiative_codes if c.strip()]
    ids: list[int] = []
    if codes:
        found = dict(
            session.exec(
                select(Initiative.code, Initiative.id).where(col(Initiative.code).in_(codes))
            ).all()
        )
        unknown = [c for c in codes if c not in found]
        if unknown:
            raise InvalidInput(
                _("Initiatives: no initiative has the identifier {codes}.").format(
                    codes=", ".join(unknown)
                ),
                field="initiative_codes",
            )
        ids = sorted({found[c] or 0 for c in codes})
    cleaned = draft.model_copy(
        update={
            "title": _text(draft.title, _("Title"), "title", 200, required=True),
            "summary": summary,
            "audience": _text(draft.audience, _("For whom"), "audience", 300),
            "legal_reference": _text(
                draft.legal_reference, _("Legal reference"), "legal_reference", 300
            ),
            "legal_link": _url(draft.legal_link, _("Legal text link"), "legal_link"),
            "documents": [d for d in documents if d],
            "initiative_codes": codes,
        }
    )
    return cleaned, ids


def _apply_measure(measure: Measure, draft: MeasureDraft) -> None:
    for name in (
        "area",
        "title",
        "summary",
        "audience",
        "in_force_from",
        "in_force_to",
        "legal_reference",
        "legal_link",
        "published",
    ):
        setattr(measure, name, getattr(draft, name))
    measure.documents = "\n".join(draft.documents)
    measure.search_text = fold(
        draft.title,
        draft.summary,
        draft.audience,
        draft.legal_reference,
        _(TOPIC_LABELS[draft.area]),
    )


def _link_initiatives(session: Session, measure_id: int, ids: list[int]) -> None:
    session.execute(
        delete(MeasureInitiative).where(col(MeasureInitiative.measure_id) == measure_id)
    )
    for initiative_id in ids:
        session.add(MeasureInitiative(measure_id=measure_id, initiative_id=initiative_id))


def create_measure(*, session: Session, actor: Principal | None, draft: MeasureDraft) -> Measure:
    actor = require_staff(actor)
    draft, ids = validate_measure(session=session, draft=draft)
    measure = Measure(area=draft.area, title=draft.title, summary=draft.summary)
    _apply_measure(measure, draft)
    session.add(measure)
    session.flush()
    _link_initiatives(session, measure.id or 0, ids)
    if measure.published:
        _announce(session, measure)
    return save_record(
        session=session,
        actor=actor,
        record=measure,
        action="create",
        entity_type="measure",
        before=None,
    )


def _announce(session: Session, measure: Measure) -> None:
    """The measure.published webhook event, in the publishing transaction (issue 17)."""
    webhooks.emit(
        session=session,
        event_type="measure.published",
        organisation_ids=[],
        data={"id": measure.id, "title": measure.title, "area": str(measure.area)},
    )


def update_measure(
    *,
    session: Session,
    actor: Principal | None,
    measure_id: int,
    draft: MeasureDraft,
    expected_version: int,
) -> Measure:
    actor = require_staff(actor)
    measure = _get(session, Measure, measure_id)
    check_version(measure, expected_version)
    draft, ids = validate_measure(session=session, draft=draft)
    before = snapshot(measure) | {
        "initiative_codes": measure_codes(session=session, measure_id=measure_id)
    }
    # The side-table rewrite flushes the measure with it: a lost race on either is a
    # stale record, so the whole mutation is guarded, not just the final flush.
    with stale_guard(session=session, record=measure):
        _apply_measure(measure, draft)
        _link_initiatives(session, measure_id, ids)
        if measure.published and not before.get("published"):
            _announce(session, measure)
        return save_record(
            session=session,
            actor=actor,
            record=measure,
            action="update",
            entity_type="measure",
            before=before,
        )


def measure_codes(*, session: Session, measure_id: int) -> list[str]:
    return list(
        session.exec(
            select(Initiative.code)
            .join(MeasureInitiative, col(MeasureInitiative.initiative_id) == Initiative.id)
            .where(MeasureInitiative.measure_id == measure_id)
            .order_by(Initiative.code)
        ).all()
    )


def draft_of_measure(*, session: Session, measure: Measure) -> MeasureDraft:
    return MeasureDraft(
        area=measure.area,
        title=measure.title,
        summary=measure.summary,
        audience=measure.audience,
        in_force_from=measure.in_force_from,
        in_force_to=measure.in_force_to,
        legal_reference=measure.legal_reference,
        legal_link=measure.legal_link,
        documents=[d for d in measure.documents.splitlines() if d],
        initiative_codes=measure_codes(session=session, measure_id=measure.id or 0),
        published=measure.published,
    )


def list_measures(*, session: Session, actor: Principal | None) -> list[Measure]:
    require_staff(actor)
    return list(session.exec(select(Measure).order_by(Measure.area, Measure.title)).all())


def get_measure(*, session: Session, actor: Principal | None, measure_id: int) -> Measure:
    require_staff(actor)
    return _get(session, Measure, measure_id)


def list_public_measures(
    *,
    session: Session,
    text: str = "",
    area: Topic | None = None,
    on: date | None = None,
    limit: int = 200,
    ended_too: bool = False,
) -> list[MeasurePublic]:
    """Published measures in force on ``on`` (default: today), by area then title;
    ``ended_too``: every published measure, in force, ended or not yet in force."""
    today = on or utcnow().date()
    query = select(Measure).where(col(Measure.published).is_(True))
    if not ended_too:
        query = query.where(
            col(Measure.in_force_from).is_(None) | (col(Measure.in_force_from) <= today),
            col(Measure.in_force_to).is_(None) | (col(Measure.in_force_to) >= today),
        )
    if text.strip():
        ids = search_ids(
            session=session,
            table="measure",
            query=text,
            where="t.published",
            limit=limit,
            order="t.area, t.title",
        )
        if not ids:
            return []
        query = query.where(col(Measure.id).in_(ids))
    if area is not None:
        query = query.where(col(Measure.area) == area)
    measures = list(session.exec(query.order_by(Measure.area, Measure.title).limit(limit)).all())
    return public_measures(session=session, measures=measures)


def public_measures(*, session: Session, measures: list[Measure]) -> list[MeasurePublic]:
    """The public shapes of ``measures``, with the published initiatives carrying them."""
    links: dict[int, list[LinkedInitiative]] = {}
    if measures:
        for measure_id, code, title in session.exec(
            select(MeasureInitiative.measure_id, Initiative.code, Initiative.title)
            .join(Initiative, col(Initiative.id) == MeasureInitiative.initiative_id)
            .where(
                col(MeasureInitiative.measure_id).in_([m.id for m in measures]),
                col(Initiative.review_state) == ReviewState.PUBLISHED,
            )
            .order_by(Initiative.code)
        ).all():
            links.setdefault(measure_id, []).append(LinkedInitiative(code=code, title=title))
    return [
        MeasurePublic(
            id=m.id or 0,
            area=m.area,
            title=m.title,
            summary=m.summary,
            audience=m.audience,
            in_force_from=m.in_force_from,
            in_force_to=m.in_force_to,
            legal_reference=m.legal_reference,
            legal_link=safe_http_url(m.legal_link, assume_https=False) or "",
            documents=[d for d in m.documents.splitlines() if d],
            initiatives=links.get(m.id or 0, []),
            updated_at=m.updated_at,
        )
        for m in measures
    ]


def get_public_measure(*, session: Session, measure_id: int) -> MeasurePublic:
    """A published measure for its own page, in force or not (the page says which).
    Never published: NotFound; published once and since taken down: Gone, known from
    the audit log (every save records the row as it was written)."""
    measure = session.get(Measure, measure_id)
    if measure is not None and measure.published:
        return public_measures(session=session, measures=[measure])[0]
    if measure is not None and any(
        (entry.after or {}).get("published") is True
        for entry in session.exec(
            select(AuditEntry).where(
                col(AuditEntry.entity_type) == "measure",
                col(AuditEntry.entity_id) == str(measure_id),
            )
        )
    ):
        raise Gone(_("Measure {id} is no longer published.").format(id=measure_id))
    raise NotFound(_("There is no published measure {id}.").format(id=measure_id))


# --- contacts ------------------------------------------------------------------------------


def validate_contact(draft: ContactDraft) -> ContactDraft:
    draft = revalidated(draft)
    cleaned = draft.model_copy(
        update={
            "name": _text(draft.name, _("Name"), "name", 200, required=True),
            "phone": clean_phone(draft.phone),
            "email": clean_email(draft.email),
            "web": _url(draft.web, _("Website"), "web"),
            "opening_hours": _text(draft.opening_hours, _("Opening hours"), "opening_hours", 200),
            "languages": _text(draft.languages, _("Languages"), "languages", 200),
            "audience": _text(draft.audience, _("For whom"), "audience", 300),
            "area_code": _text(draft.area_code, _("Area code"), "area_code", 12),
            "organisation": _text(
                draft.organisation, _("Responsible organisation"), "organisation", 200
            ),
            "note": _text(draft.note, _("Note"), "note", 300),
        }
    )
    if not (cleaned.phone or cleaned.email or cleaned.web):
        raise InvalidInput(
            _("Phone: give at least a phone number, an e-mail or a website."), field="phone"
        )
    if cleaned.last_verified and cleaned.last_verified > utcnow().date():
        raise InvalidInput(_("Last verified: the date is in the future."), field="last_verified")
    return cleaned


def create_contact(*, session: Session, actor: Principal | None, draft: ContactDraft) -> Contact:
    actor = require_staff(actor)
    contact = Contact(**validate_contact(draft).model_dump())
    session.add(contact)
    session.flush()
    return save_record(
        session=session,
        actor=actor,
        record=contact,
        action="create",
        entity_type="contact",
        before=None,
    )


def update_contact(
    *,
    session: Session,
    actor: Principal | None,
    contact_id: int,
    draft: ContactDraft,
    expected_version: int,
) -> Contact:
    actor = require_staff(actor)
    contact = _get(session, Contact, contact_id)
    check_version(contact, expected_version)
    cleaned = validate_contact(draft)
    before = snapshot(contact)
    for name, value in cleaned.model_dump().items():
        setattr(contact, name, value)
    return save_record(
        session=session,
        actor=actor,
        record=contact,
        action="update",
        entity_type="contact",
        before=before,
    )


def list_contacts(*, session: Session, actor: Principal | None) -> list[Contact]:
    require_staff(actor)
    return list(session.exec(select(Contact).order_by(*_CONTACT_ORDER)).all())


def get_contact(*, session: Session, actor: Principal | None, contact_id: int) -> Contact:
    require_staff(actor)
    return _get(session, Contact, contact_id)


_CONTACT_ORDER = (col(Contact.emergency).desc(), col(Contact.position), col(Contact.name))


def list_public_contacts(*, session: Session) -> list[ContactPublic]:
    """Published contacts: emergency lines first, then in the staff's order."""
    contacts = session.exec(
        select(Contact).where(col(Contact.published).is_(True)).order_by(*_CONTACT_ORDER)
    ).all()
    return [
        ContactPublic(
            id=c.id or 0,
            name=c.name,
            phone=c.phone,
            tel=tel_target(c.phone),
            email=c.email,
            web=safe_http_url(c.web, assume_https=False) or "",
            opening_hours=c.opening_hours,
            languages=c.languages,
            audience=c.audience,
            area_code=c.area_code,
            organisation=c.organisation,
            last_verified=c.last_verified,
            emergency=c.emergency,
            note=c.note,
        )
        for c in contacts
    ]


CONTACT_COLUMNS = (
    "name",
    "phone",
    "email",
    "web",
    "opening_hours",
    "languages",
    "audience",
    "area_code",
    "organisation",
    "last_verified",
    "emergency",
    "note",
)


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return str(safe_cell(text))  # formula injection: the hub's one guard (hub.tabular)


def contacts_csv(contacts: list[ContactPublic]) -> bytes:
    """UTF-8 CSV (with BOM, so spreadsheets read the accents), one contact a row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CONTACT_COLUMNS)
    for contact in contacts:
        writer.writerow([_csv_cell(getattr(contact, name)) for name in CONTACT_COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _document(key: str, items: list[Any], *, generated_at: datetime, demo: bool) -> bytes:
    document = {
        "generated_at": generated_at.astimezone(UTC).isoformat(),
        "demo": demo,
        "count": len(items),
        key: [item.model_dump(mode="json") for item in items],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def contacts_json(contacts: list[ContactPublic], *, generated_at: datetime, demo: bool) -> bytes:
    return _document("contacts", contacts, generated_at=generated_at, demo=demo)


def open_data_json(key: str, items: list[Any], *, generated_at: datetime, demo: bool) -> bytes:
    """``answers`` or ``measures`` as a JSON document like the other open data."""
    return _document(key, items, generated_at=generated_at, demo=demo)
