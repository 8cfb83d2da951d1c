"""``python -m hub export-public OUTDIR``: the public page and open data as static files,
so the information outlives the app on any static host."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy.engine import Engine

from hub.errors import ExportError
from hub.i18n import _
from portal.content import PublicQuery
from portal.site import build

OUTPUTS = {
    "index.html": ("index", "pt"),
    "index.en.html": ("index", "en"),
    "feed.xml": ("feed.xml", "pt"),
    "initiatives.json": ("initiatives.json", "pt"),
    "initiatives.csv": ("initiatives.csv", "pt"),
    "contacts.json": ("contacts.json", "pt"),
    "contacts.csv": ("contacts.csv", "pt"),
    "answers.json": ("answers.json", "pt"),
    "measures.json": ("measures.json", "pt"),
}


def export_public(engine: Engine, outdir: Path) -> dict[str, int]:
    """Write every file; each lands whole (written aside, then renamed). Returns sizes."""
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(
            _("Cannot create {path}: {reason}").format(path=outdir, reason=err.strerror or err)
        ) from None
    sizes: dict[str, int] = {}
    for filename, (name, language) in OUTPUTS.items():
        body = build(engine, name, language=language, query=PublicQuery(), base="./", static=True)
        fd, partial = tempfile.mkstemp(prefix=".export-", dir=outdir)
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        os.replace(partial, outdir / filename)
        sizes[filename] = len(body)
    return sizes
