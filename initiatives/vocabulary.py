"""The configurable lists an initiative is described with (categories, target groups).

Read by the forms (``queries.form_choices``), validation, the exchange formats and the
public site; extended by staff (``add_term``)."""

from __future__ import annotations

import re

from sqlalchemy import func
from sqlmodel import Session, col, select

from hub.audit import record_change, snapshot
from hub.auth import Principal, require_staff
from hub.errors import InvalidInput
from hub.i18n import _
from initiatives.models import VocabularyKind, VocabularyTerm


def vocabulary(
    *, session: Session, kind: VocabularyKind, include_inactive: bool = False
) -> list[VocabularyTerm]:
    query = select(VocabularyTerm).where(VocabularyTerm.kind == kind)
    if not include_inactive:
        query = query.where(col(VocabularyTerm.active).is_(True))
    return list(
        session.exec(query.order_by(col(VocabularyTerm.position), col(VocabularyTerm.code))).all()
    )


def term_labels(*, session: Session, kind: VocabularyKind, language: str) -> dict[str, str]:
    return {
        term.code: term.label_pt if language == "pt" else term.label_en
        for term in vocabulary(session=session, kind=kind, include_inactive=True)
    }


def add_term(
    *,
    session: Session,
    actor: Principal | None,
    kind: VocabularyKind,
    code: str,
    label_en: str,
    label_pt: str,
) -> VocabularyTerm:
    """Staff extend a configurable list (a new category or target group)."""
    require_staff(actor)
    code = code.strip().lower().replace(" ", "_")
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,39}", code):
        raise InvalidInput(
            _(
                "Code: use 2 to 40 lower-case letters, digits or underscores, "
                "starting with a letter."
            ),
            field="code",
        )
    if not label_en.strip() or not label_pt.strip():
        raise InvalidInput(_("Labels: give the name in English and in Portuguese."), field="label")
    existing = session.exec(
        select(VocabularyTerm).where(VocabularyTerm.kind == kind, VocabularyTerm.code == code)
    ).first()
    if existing is not None:
        raise InvalidInput(
            _("Code: '{code}' is already in the list.").format(code=code), field="code"
        )
    position = session.exec(
        select(func.coalesce(func.max(VocabularyTerm.position), 0)).where(
            VocabularyTerm.kind == kind
        )
    ).one()
    term = VocabularyTerm(
        kind=kind,
        code=code,
        label_en=label_en.strip(),
        label_pt=label_pt.strip(),
        position=int(position) + 1,
    )
    session.add(term)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        action="create",
        entity_type="vocabulary_term",
        entity_id=term.id,
        after=snapshot(term),
    )
    session.commit()
    return term
