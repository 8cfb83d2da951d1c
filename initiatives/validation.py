"""The field rules of an initiative: ``validate_draft`` cleans a draft or raises
InvalidInput naming the field and the fix. Used by every path that stores a draft (the
services, the importers, the demo loader)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlmodel import Session, col, select

from geo.areas import country_code
from geo.areas import known_area_codes as reference_area_codes
from hub.clean import cleaned
from hub.errors import InvalidInput
from hub.i18n import _
from hub.urls import safe_http_url
from initiatives.models import InitiativeDraft, Participant, ParticipantRole, VocabularyKind
from initiatives.vocabulary import vocabulary
from partners.accounts import EMAIL_PATTERN
from partners.models import Organisation

TITLE_MAX = 200
DESCRIPTION_MAX = 5000
LINK_MAX = 500  # the column's length
PEOPLE_MAX = 20_000_000  # more than the population: surely a typing slip


def known_area_codes(*, session: Session) -> set[str]:
    """Every reference area code (geo.areas), the set ``validate_draft`` checks against."""
    return reference_area_codes(session=session)


def unique_values(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        cleaned = value.strip()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


def validate_draft(
    *,
    session: Session,
    draft: InitiativeDraft,
    area_codes: set[str] | None = None,
    categories: set[str] | None = None,
    target_groups: set[str] | None = None,
    organisation_ids: set[int] | None = None,
) -> InitiativeDraft:
    """Return a cleaned copy of ``draft`` or raise InvalidInput naming the field and the fix.

    The optional sets let a bulk import look the reference lists up once, not per row.
    """
    draft = cleaned(draft)
    title = " ".join(draft.title.split())
    if not title:
        raise InvalidInput(_("Title: give the initiative a title."), field="title")
    if len(title) > TITLE_MAX:
        raise InvalidInput(
            _("Title: use at most {n} characters.").format(n=TITLE_MAX), field="title"
        )
    description = draft.description.strip()
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(
            _("Description: use at most {n} characters.").format(n=DESCRIPTION_MAX),
            field="description",
        )
    if organisation_ids is None:
        organisation_ids = {
            organisation_id
            for organisation_id in session.exec(
                select(Organisation.id).where(col(Organisation.active).is_(True))
            ).all()
            if organisation_id is not None
        }
    if draft.lead_organisation_id is None or draft.lead_organisation_id not in organisation_ids:
        raise InvalidInput(
            _("Organisation: choose the organisation that leads the initiative."),
            field="lead_organisation_id",
        )
    participants: dict[int, Participant] = {}
    for participant in draft.participants:
        if participant.organisation_id not in organisation_ids:
            raise InvalidInput(
                _("Participating organisations: one of them does not exist."), field="participants"
            )
        if participant.organisation_id != draft.lead_organisation_id:
            participants[participant.organisation_id] = participant.model_copy(
                update={"role": ParticipantRole.IMPLEMENTING}
                if participant.role is ParticipantRole.LEAD
                else {}
            )
    if categories is None:
        categories = {t.code for t in vocabulary(session=session, kind=VocabularyKind.CATEGORY)}
    category = draft.category.strip()
    if category not in categories:
        raise InvalidInput(
            _("Category: '{value}' is not in the list. Choose one of: {allowed}.").format(
                value=category, allowed=", ".join(sorted(categories))
            ),
            field="category",
        )
    if target_groups is None:
        target_groups = {
            t.code for t in vocabulary(session=session, kind=VocabularyKind.TARGET_GROUP)
        }
    groups = unique_values(draft.target_groups)
    unknown_groups = [g for g in groups if g not in target_groups]
    if unknown_groups:
        raise InvalidInput(
            _("Target groups: '{value}' is not in the list. Choose from: {allowed}.").format(
                value=unknown_groups[0], allowed=", ".join(sorted(target_groups))
            ),
            field="target_groups",
        )
    if area_codes is None:
        area_codes = known_area_codes(session=session)
    country = country_code().upper()
    areas = [a.upper() if a.upper().startswith(country) else a for a in unique_values(draft.areas)]
    unknown_areas = [a for a in areas if a not in area_codes]
    if unknown_areas:
        raise InvalidInput(
            _(
                "Areas: '{value}' is not a known district (PT-11), municipality (1106) or "
                "country code."
            ).format(value=unknown_areas[0]),
            field="areas",
        )
    for start_field, end_field, start, end in (
        ("planned_start", "planned_end", draft.planned_start, draft.planned_end),
        ("actual_start", "actual_end", draft.actual_start, draft.actual_end),
    ):
        if start and end and end < start:
            raise InvalidInput(
                _("End date: {end} is before the start date {start}. Correct one of them.").format(
                    end=end.isoformat(), start=start.isoformat()
                ),
                field=end_field,
            )
        del start_field
    for field, value in (
        ("people_targeted", draft.people_targeted),
        ("people_reached", draft.people_reached),
    ):
        if value is not None and not 0 <= value <= PEOPLE_MAX:
            raise InvalidInput(
                _("People: enter a whole number between 0 and {n}.").format(n=f"{PEOPLE_MAX:,}"),
                field=field,
            )
    link = ""
    if draft.link.strip():
        link = safe_http_url(draft.link) or ""
        if not link:
            raise InvalidInput(
                _("Public link: enter a web address starting with https://."), field="link"
            )
        if len(link) > LINK_MAX:
            raise InvalidInput(
                _("Public link: use at most {n} characters.").format(n=LINK_MAX), field="link"
            )
    contact = draft.contact_email.strip().lower()
    if contact and (not EMAIL_PATTERN.match(contact) or len(contact) > 254):
        raise InvalidInput(
            _("Contact e-mail: enter an address like name@example.pt."), field="contact_email"
        )
    code = (draft.code or "").strip()
    if code and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:/\-]{0,79}", code):
        raise InvalidInput(
            _("Identifier: use up to 80 letters, digits, dots, dashes, colons or slashes."),
            field="code",
        )
    return draft.model_copy(
        update={
            "code": code or None,
            "title": title,
            "description": description,
            "category": category,
            "target_groups": groups,
            "areas": areas,
            "channels": list(dict.fromkeys(draft.channels)),
            "participants": list(participants.values()),
            "link": link,
            "contact_email": contact,
        }
    )
