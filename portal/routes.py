"""The public face over HTTP, at the root of the site (issue 14), served by the same
server as the workspace (st.App routes; the workspace lives under /app) or on its own:

  /                          the plain HTML page (?lang=en, ?q=, ?area=, ?audience=,
                             ?channel=, ?ended=1, ?page=, ?aq=)
  /initiatives/<code>        one initiative's page (e.g. /initiatives/INI-000014)
  /measures/<id>             one measure's page
  /answers/<id>              one official answer's page
  /feed.xml                  Atom feed of the aggregated information
  /initiatives.json          published initiatives (public fields; each with its url)
  /initiatives.csv           the same as HXL-tagged CSV
  /contacts.json             emergency and support contacts (also contacts.csv)
  /answers.json              published questions and official answers
  /measures.json             published measures in force
  /public, /public/<path>    308 to the same path at the root, query kept (old links)

Every response carries ETag, Last-Modified and Cache-Control, and answers 304 to a
matching conditional request, so any CDN in front can absorb a crowd. An item never
published answers 404; one withdrawn after it was public answers 410 with a short
notice (cached like a page, until the data changes).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from hub import settings
from hub.db import make_engine
from hub.errors import HubError, NotFound
from portal.content import PublicQuery
from portal.opendata import OPEN_DATA_FILES
from portal.render import render_notice
from portal.site import PublicCache, Rendered

CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"
# A missing page may appear once published: cache it briefly only.
NOT_FOUND_CACHE_CONTROL = "public, max-age=30"
FILE_NAMES = (
    "feed.xml",
    "initiatives.json",
    "initiatives.csv",
    "contacts.json",
    "contacts.csv",
    "answers.json",
    "measures.json",
    *OPEN_DATA_FILES,  # issue 16: descriptors, 3W tables, JSON Schemas
)
_cache: PublicCache | None = None
_cache_lock = threading.Lock()


def public_cache() -> PublicCache:
    global _cache
    with _cache_lock:
        if _cache is None:
            _cache = PublicCache(make_engine())
        return _cache


def _language(request: Request) -> str:
    wanted = request.query_params.get("lang", "")
    return wanted if wanted in {"pt", "en"} else settings.default_language()


def _respond(request: Request, rendered: Rendered) -> Response:
    headers = {
        "ETag": rendered.etag,
        "Last-Modified": rendered.last_modified,
        "Cache-Control": CACHE_CONTROL,
        "Vary": "Accept-Encoding",
    }
    if rendered.status == 200 and request.headers.get("if-none-match") == rendered.etag:
        return Response(status_code=304, headers=headers)
    return Response(
        rendered.body, status_code=rendered.status, media_type=rendered.media_type, headers=headers
    )


async def _serve(request: Request, name: str, query: PublicQuery) -> Response:
    language = _language(request)
    cache = public_cache()
    hit = cache.cached(name, language, query)
    if hit is None:
        try:
            hit = await run_in_threadpool(cache.render, name, language, query)
        except NotFound as err:
            return HTMLResponse(
                render_notice(
                    language=language, status=404, message=str(err), generated_at=datetime.now(UTC)
                ),
                status_code=404,
                headers={"Cache-Control": NOT_FOUND_CACHE_CONTROL},
            )
        except HubError as err:
            return PlainTextResponse(str(err), status_code=503, headers={"Retry-After": "30"})
    return _respond(request, hit)


def _endpoint(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        query = (
            PublicQuery.from_params(dict(request.query_params))
            if name in {"index", "feed.xml"}
            else PublicQuery()
        )
        return await _serve(request, name, query)

    return serve


def _item_endpoint(kind: str) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        return await _serve(request, f"{kind}/{request.path_params['key']}", PublicQuery())

    return serve


async def moved_to_root(request: Request) -> Response:
    """/public/<path>?<query> -> /<path>?<query>: 308 keeps the method, and old links,
    bookmarks and feed subscriptions keep working."""
    rest = request.path_params.get("rest", "").lstrip("/\\")
    # Re-encoded, so "/public//host" or "/public/\\host" stay paths on this site and
    # never become a link to another host.
    target = "/" + quote(rest, safe="/:@!$&'()*+,;=-._~")
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(target, status_code=308)


GET = ["GET", "HEAD"]
ROUTES = [
    Route("/", _endpoint("index"), methods=GET),
    *(Route(f"/{name}", _endpoint(name), methods=GET) for name in FILE_NAMES),
    Route("/initiatives/{key:path}", _item_endpoint("initiatives"), methods=GET),
    Route("/measures/{key}", _item_endpoint("measures"), methods=GET),
    Route("/answers/{key}", _item_endpoint("answers"), methods=GET),
    Route("/public", moved_to_root, methods=GET),
    Route("/public/{rest:path}", moved_to_root, methods=GET),
]
