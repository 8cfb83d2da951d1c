"""``python -m hub export-public OUTDIR``: the public page and open data as static files,
so the information outlives the app on any static host.

Every file is first written whole into a hidden staging folder inside OUTDIR; once all
are written they are renamed into place (each rename is atomic, the pages last, so a
page never links to a file of the previous export that is gone). A web server never
serves half a file, and a failed export leaves the previous one untouched. Files are
0644 and OUTDIR 0755 whatever the operator's umask: the web server usually runs as
another user.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from sqlalchemy.engine import Engine

from hub.errors import ExportError
from hub.i18n import _
from portal.content import PublicQuery
from portal.site import build

# Data first, pages last: see the module docstring.
OUTPUTS = {
    "feed.xml": ("feed.xml", "pt"),
    "feed.en.xml": ("feed.xml", "en"),
    "initiatives.json": ("initiatives.json", "pt"),
    "initiatives.csv": ("initiatives.csv", "pt"),
    "contacts.json": ("contacts.json", "pt"),
    "contacts.csv": ("contacts.csv", "pt"),
    "answers.json": ("answers.json", "pt"),
    "measures.json": ("measures.json", "pt"),
    "index.en.html": ("index", "en"),
    "index.html": ("index", "pt"),
}
FILE_MODE = 0o644
FOLDER_MODE = 0o755


def _problem(path: Path, err: OSError) -> ExportError:
    return ExportError(
        _("Cannot create {path}: {reason}").format(path=path, reason=err.strerror or err)
    )


def export_public(engine: Engine, outdir: Path) -> dict[str, int]:
    """Write every file, then rename them all into ``outdir``. Returns their sizes."""
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        outdir.chmod(FOLDER_MODE)
        staging = Path(tempfile.mkdtemp(prefix=".export-", dir=outdir))
    except OSError as err:
        raise _problem(outdir, err) from None
    try:
        sizes: dict[str, int] = {}
        for filename, (name, language) in OUTPUTS.items():
            body = build(
                engine, name, language=language, query=PublicQuery(), base="./", static=True
            )
            written = staging / filename
            written.write_bytes(body)
            written.chmod(FILE_MODE)
            sizes[filename] = len(body)
        for filename in OUTPUTS:
            os.replace(staging / filename, outdir / filename)
    except OSError as err:
        raise _problem(outdir, err) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sizes
