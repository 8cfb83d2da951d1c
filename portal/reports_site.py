"""The published situation reports on the public site (issue 20):

  /reports                 the archive of published reports (newest first)
  /reports/<slug>          one report as a plain HTML page (?lang=en)
  /reports/<slug>.pdf      the same as a tagged PDF
  /reports/<slug>.csv      its snapshot as HXL CSV; .json the snapshot and key figures

Only reports in the "published" state are served; a draft, a signed-off or an internal
report answers 404 like any unknown address. A published report never changes (its
snapshot is frozen), so rendered files are kept per (slug, language, version).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from jinja2 import Environment, select_autoescape
from markupsafe import Markup
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from hub import settings
from hub.db import make_engine, session_scope
from hub.errors import NotFound
from hub.i18n import LANGUAGES, _, format_date, get_language, ngettext, set_language
from portal.opendata import licence
from portal.render import SIGNIN, TEMPLATES, render_notice, when
from reports.models import Report
from reports.render import (
    build_view,
    render_body,
    render_pdf,
    report_title,
    snapshot_csv,
    snapshot_json,
)
from reports.service import published_report, published_reports

CACHE_CONTROL = "public, max-age=300"
KINDS = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
}
# The public site's templates (its layout and footer), with the same globals.
PORTAL_TEMPLATES = Environment(
    loader=TEMPLATES,
    autoescape=select_autoescape(["j2", "html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
PORTAL_TEMPLATES.globals.update({"_": _, "ngettext": ngettext, "data_licence": licence})
_engine: Engine | None = None
_lock = threading.Lock()
_rendered: OrderedDict[tuple[str, str, str, int], bytes] = OrderedDict()
MAX_RENDERED = 64


def engine() -> Engine:
    global _engine
    with _lock:
        if _engine is None:
            _engine = make_engine()
        return _engine


def _language(request: Request) -> str:
    wanted = request.query_params.get("lang", "")
    return wanted if wanted in LANGUAGES else settings.default_language()


def _links(path: str, language: str) -> dict[str, str]:
    other = "en" if language == "pt" else "pt"
    home = "/" if language == settings.default_language() else f"/?lang={language}"
    return {"home": home, "other_language": f"{path}?lang={other}", "signin": SIGNIN}


def _suffix(language: str) -> str:
    return "" if language == settings.default_language() else f"?lang={language}"


def report_page(*, report: Report, body: str, language: str) -> str:
    other = "en" if language == "pt" else "pt"
    path = f"/reports/{report.slug}"
    return PORTAL_TEMPLATES.get_template("report.html.j2").render(
        lang=language,
        other_lang=other,
        other_language_name=LANGUAGES[other],
        links=_links(path, language),
        demo=False,  # the report says so itself when drafted from demo data
        generated_at=report.published_at or report.updated_at,
        when=when,
        title=report_title(report),
        body=Markup(body),  # noqa: S704 - rendered by reports.render's autoescaping template
        period=_("{start} to {end}").format(
            start=format_date(report.period_start), end=format_date(report.period_end)
        ),
        files={kind: f"{path}.{kind}" for kind in ("pdf", "csv", "json")},
        archive=f"/reports{_suffix(language)}",
    )


def archive_page(*, reports: list[Report], language: str) -> str:
    other = "en" if language == "pt" else "pt"
    return PORTAL_TEMPLATES.get_template("reports.html.j2").render(
        lang=language,
        other_lang=other,
        other_language_name=LANGUAGES[other],
        links=_links("/reports", language),
        demo=False,
        generated_at=datetime.now(UTC),
        when=when,
        reports=[
            {
                "title": report_title(report),
                "href": f"/reports/{report.slug}{_suffix(language)}",
                "period": _("{start} to {end}").format(
                    start=format_date(report.period_start), end=format_date(report.period_end)
                ),
            }
            for report in reports
        ],
    )


def render_file(slug: str, kind: str, language: str) -> bytes:
    """One published report's file (KINDS), from the per-version cache or freshly."""
    previous = get_language()
    set_language(language)
    try:
        with session_scope(engine()) as session:
            report = published_report(session=session, slug=slug)
            key = (slug, kind, language, report.version)
            with _lock:
                if key in _rendered:
                    return _rendered[key]
            view = build_view(session=session, report=report)
            if kind == "html":
                body = render_body(view, language=language)
                data = report_page(report=report, body=body, language=language).encode()
            elif kind == "pdf":
                data = render_pdf(view, language=language)
            elif kind == "csv":
                data = snapshot_csv(session=session, report=report).encode()
            else:
                data = snapshot_json(session=session, report=report, figures=view.figures).encode()
        with _lock:
            _rendered[key] = data
            while len(_rendered) > MAX_RENDERED:
                _rendered.popitem(last=False)
        return data
    finally:
        set_language(previous)


def render_archive(language: str) -> bytes:
    previous = get_language()
    set_language(language)
    try:
        with session_scope(engine()) as session:
            return archive_page(
                reports=published_reports(session=session), language=language
            ).encode()
    finally:
        set_language(previous)


def _not_found(language: str, err: NotFound) -> Response:
    return HTMLResponse(
        render_notice(
            language=language, status=404, message=str(err), generated_at=datetime.now(UTC)
        ),
        status_code=404,
        headers={"Cache-Control": "public, max-age=30"},
    )


def _respond(request: Request, data: bytes, media_type: str, filename: str = "") -> Response:
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if filename:
        headers["Content-Disposition"] = f'inline; filename="{filename}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


def _file_endpoint(kind: str) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        language = _language(request)
        slug = request.path_params["slug"]
        try:
            data = await run_in_threadpool(render_file, slug, kind, language)
        except NotFound as err:
            return _not_found(language, err)
        filename = "" if kind == "html" else f"report-{slug}-{language}.{kind}"
        return _respond(request, data, KINDS[kind], filename)

    return serve


async def archive(request: Request) -> Response:
    language = _language(request)
    data = await run_in_threadpool(render_archive, language)
    return _respond(request, data, KINDS["html"])


GET = ["GET", "HEAD"]
ROUTES = [
    Route("/reports", archive, methods=GET),
    *(
        Route(f"/reports/{{slug}}.{kind}", _file_endpoint(kind), methods=GET)
        for kind in ("pdf", "csv", "json")
    ),
    Route("/reports/{slug}", _file_endpoint("html"), methods=GET),
]
