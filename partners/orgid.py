"""Organisation identifiers in the org-id.guide form: ``{list code}-{identifier}``.

The list code (``PT-NIPPC``, ``XM-DAC``, ``CA_AB-ABT``) must be on IATI's
OrganisationRegistrationAgency codelist, shipped in
``data/iati/OrganisationRegistrationAgency.csv`` (source and licence in data/README.md);
a withdrawn list is refused too. The identifier part is what the list's registry gives
(``600000000``): letters, digits, ``.``, ``_``, ``:`` or ``-``, starting with a letter
or digit, so it never carries the characters IATI forbids in identifiers (``/ & | ?``)
or spaces. Used for ``HUB_IATI_REPORTING_ORG_REF`` and for an organisation's optional
identifier (the IATI export's ``participating-org/@ref``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from hub.errors import InvalidInput
from hub.i18n import _

CODELIST = (
    Path(__file__).resolve().parent.parent / "data" / "iati" / "OrganisationRegistrationAgency.csv"
)
EXAMPLE = "PT-NIPPC-600000000"
MAX_LENGTH = 120
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    active: bool


@cache
def agencies() -> dict[str, Agency]:
    """The shipped codelist, by code."""
    with CODELIST.open(encoding="utf-8", newline="") as handle:
        return {
            row["code"]: Agency(row["code"], row["name"], row["status"] == "active")
            for row in csv.DictReader(handle)
        }


def split_org_id(value: str) -> tuple[str, str] | None:
    """(list code, identifier) when ``value`` starts with a known list code and a dash."""
    known = agencies()
    parts = value.split("-")
    for cut in range(len(parts) - 1, 0, -1):
        prefix = "-".join(parts[:cut])
        if prefix in known:
            return prefix, "-".join(parts[cut:])
    return None


def check_org_id(value: str, *, label: str, field: str) -> str:
    """``value`` trimmed when it is a well-formed org-id, else InvalidInput naming ``label``."""
    text = value.strip()
    example = _("for example {example}").format(example=EXAMPLE)
    if len(text) > MAX_LENGTH:
        raise InvalidInput(
            _("{label}: use at most {max} characters ({example}).").format(
                label=label, max=MAX_LENGTH, example=example
            ),
            field=field,
        )
    split = split_org_id(text)
    if split is None:
        raise InvalidInput(
            _(
                "{label}: '{value}' does not start with a list code of the IATI "
                "OrganisationRegistrationAgency codelist (org-id.guide) followed by a dash "
                "and the identifier ({example})."
            ).format(label=label, value=text, example=example),
            field=field,
        )
    code, identifier = split
    if not agencies()[code].active:
        raise InvalidInput(
            _(
                "{label}: the list {code} is withdrawn from the org-id.guide codelist; use "
                "the list that replaced it ({example})."
            ).format(label=label, code=code, example=example),
            field=field,
        )
    if not _IDENTIFIER.match(identifier):
        raise InvalidInput(
            _(
                "{label}: after {code}- write the identifier the registry gives, with "
                "letters, digits, '.', '_', ':' or '-' only: no spaces, '/', '&', '|' or "
                "'?' ({example})."
            ).format(label=label, code=code, example=example),
            field=field,
        )
    return text
