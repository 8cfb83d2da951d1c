"""The shared part of the connectivity imports: the system principal, the validation
report, text decoding and the CSV reader's errors."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from hub.auth import SYSTEM_EMAIL, Principal, Role
from hub.errors import InvalidInput
from hub.i18n import _
from hub.records import utcnow


def system_principal() -> Principal:
    """The CLI acts as the system (account id 0 never matches a real account)."""
    return Principal(
        account_id=0,
        email=SYSTEM_EMAIL,
        display_name="system",
        role=Role.STAFF,
        organisation_id=None,
        signed_in_at=utcnow(),
    )


# --- the validation report ------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    where: str  # "row 4", "feature 12", "file"
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}, {self.field}: {self.message}" if self.field else self.message


@dataclass
class ImportReport:
    rows_read: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, where: str, field_name: str, message: str) -> None:
        self.errors.append(Problem(where, field_name, message))

    def warn(self, where: str, field_name: str, message: str) -> None:
        self.warnings.append(Problem(where, field_name, message))

    def lines(self, limit: int = 50) -> list[str]:
        shown = [_("Error: {problem}").format(problem=p) for p in self.errors[:limit]]
        if len(self.errors) > limit:
            shown.append(_("... and {n} more errors.").format(n=len(self.errors) - limit))
        shown += [_("Warning: {problem}").format(problem=p) for p in self.warnings[:limit]]
        return shown


class ImportRejected(InvalidInput):
    """The file has errors; nothing was imported. ``report`` lists every problem."""

    def __init__(self, report: ImportReport) -> None:
        first = str(report.errors[0]) if report.errors else ""
        super().__init__(
            _("{n} problems found; nothing was imported. First: {first}").format(
                n=len(report.errors), first=first
            ),
            field="file",
        )
        self.report = report


def decode_text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            _("The file is not UTF-8 text. Save it as 'CSV UTF-8' and import it again."),
            field="file",
        ) from None


def csv_problem(err: csv.Error) -> str:
    """One line for a CSV the reader cannot read (a cell over the field limit, mostly)."""
    return _(
        "The CSV cannot be read ({reason}): a cell is longer than {size} KB or its quotes "
        "are not closed. Correct the file and import it again."
    ).format(reason=str(err).split(":")[0], size=csv.field_size_limit() // 1024)
