"""``python -m hub export-public OUTDIR``: the public page, every item's own page and the
open data as static files, so the information outlives the app on any static host.

Item pages go in one folder per kind (``initiatives/INI-000014.html`` and
``initiatives/INI-000014.en.html``, ``measures/3.html``, ``answers/12.html``); the
exported index and the item pages link to them, and the open data's ``url`` fields
point at them (under HUB_PUBLIC_BASE_URL).

Every file is first written whole into a hidden staging folder inside OUTDIR; once all
are written they are renamed into place (each rename is atomic: the item folders first,
then the data, the index pages last, so a page never links to a file of the previous
export that is gone). A web server never serves half a file, and a failed export leaves
the previous one untouched. Files are 0644 and folders 0755 whatever the operator's
umask: the web server usually runs as another user.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from sqlalchemy.engine import Engine

from hub.errors import ExportError
from hub.i18n import _
from portal.content import PublicQuery
from portal.items import KINDS
from portal.opendata import OPEN_DATA_FILES
from portal.render import item_path, static_index_name
from portal.site import build, build_items, index_page_count, item_keys

# Data first, pages last: see the module docstring.
OUTPUTS = {
    **{name: (name, "pt") for name in OPEN_DATA_FILES},  # issue 16: descriptors, 3W, schemas
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
LATER_PAGE = re.compile(r"index-[0-9]+(\.en)?\.html")
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
        for kind, keys in item_keys(engine).items():
            folder = staging / kind
            folder.mkdir()
            folder.chmod(FOLDER_MODE)
            for language in ("pt", "en"):
                names = [f"{kind}/{key}" for key in keys]
                for name, body in build_items(engine, names, language=language, static=True):
                    key = name.partition("/")[2]
                    relative = item_path(kind, key, static=True, language=language)
                    written = staging / relative
                    written.write_bytes(body)
                    written.chmod(FILE_MODE)
                    sizes[relative] = len(body)
        for filename, (name, language) in OUTPUTS.items():
            body = build(
                engine, name, language=language, query=PublicQuery(), base="./", static=True
            )
            written = staging / filename
            written.write_bytes(body)
            written.chmod(FILE_MODE)
            sizes[filename] = len(body)
        # The list's later pages (index-2.html, ...), renamed with the index pages, last.
        later_pages = []
        for number in range(2, index_page_count(engine) + 1):
            for language in ("pt", "en"):
                filename = static_index_name(number, language)
                query = PublicQuery(page=number)
                body = build(
                    engine, "index", language=language, query=query, base="./", static=True
                )
                written = staging / filename
                written.write_bytes(body)
                written.chmod(FILE_MODE)
                sizes[filename] = len(body)
                later_pages.append(filename)
        for kind in KINDS:  # an item folder replaces the previous export's whole
            previous = outdir / kind
            if previous.is_dir():
                os.replace(previous, staging / f".previous-{kind}")
            os.replace(staging / kind, previous)
        for filename in [*later_pages, *OUTPUTS]:
            os.replace(staging / filename, outdir / filename)
        for stale in outdir.glob("index-*.html"):  # pages of a longer list exported before
            if LATER_PAGE.fullmatch(stale.name) and stale.name not in later_pages:
                stale.unlink()
    except OSError as err:
        raise _problem(outdir, err) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sizes
