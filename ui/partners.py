"""Partner widgets: the organisation form."""

from __future__ import annotations

import streamlit as st

from hub.i18n import _
from partners.models import (
    GOVERNMENT_LEVEL_LABELS,
    ORGANISATION_TYPE_LABELS,
    TRUST_LEVEL_LABELS,
    GovernmentLevel,
    Organisation,
    OrganisationDraft,
    OrganisationType,
    TrustLevel,
)


def organisation_fields(
    existing: Organisation | None, *, key: str, can_set_trust: bool
) -> OrganisationDraft:
    """The organisation form's fields (call inside an ``st.form``)."""
    types = list(OrganisationType)
    levels = list(GovernmentLevel)
    trusts = list(TrustLevel)
    name = st.text_input(
        _("Name"), value=existing.name if existing else "", max_chars=200, key=f"{key}_name"
    )
    acronym = st.text_input(
        _("Acronym"), value=existing.acronym if existing else "", max_chars=40, key=f"{key}_acronym"
    )
    left, right = st.columns(2)
    organisation_type = left.selectbox(
        _("Type"),
        types,
        index=types.index(existing.type) if existing else 0,
        format_func=lambda t: _(ORGANISATION_TYPE_LABELS[t]),
        key=f"{key}_type",
    )
    level = right.selectbox(
        _("Level of government"),
        levels,
        index=levels.index(existing.government_level) if existing else 0,
        format_func=lambda g: _(GOVERNMENT_LEVEL_LABELS[g]),
        key=f"{key}_level",
    )
    sector = st.text_input(
        _("Sector"), value=existing.sector if existing else "", max_chars=120, key=f"{key}_sector"
    )
    website = st.text_input(
        _("Website"),
        value=existing.website if existing else "",
        placeholder="https://",
        key=f"{key}_website",
    )
    org_identifier = st.text_input(
        _("Organisation identifier"),
        value=existing.org_identifier if existing else "",
        placeholder="PT-NIPPC-600000000",
        max_chars=120,
        key=f"{key}_org_identifier",
        help=_("Optional: the org-id.guide identifier (list code and number), used in IATI."),
    )
    trust = existing.trust_level if existing else TrustLevel.NEW
    if can_set_trust:
        trust = st.selectbox(
            _("Trust level"),
            trusts,
            index=trusts.index(trust),
            format_func=lambda t: _(TRUST_LEVEL_LABELS[t]),
            key=f"{key}_trust",
            help=_("How far the office relies on this partner's submissions."),
        )
    return OrganisationDraft(
        name=name,
        acronym=acronym,
        type=organisation_type,
        sector=sector,
        government_level=level,
        website=website,
        trust_level=trust,
        org_identifier=org_identifier,
    )
