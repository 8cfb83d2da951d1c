"""The public face over HTTP, served by the same server as the app (st.App routes):

  /public/                  the plain HTML page (?lang=en, ?q=, ?area=, ?audience=, ?channel=)
  /public/feed.xml          Atom feed of the aggregated information
  /public/initiatives.json  published initiatives (public fields)
  /public/initiatives.csv   the same as HXL-tagged CSV
  /public/contacts.json     emergency and support contacts (also contacts.csv)
  /public/answers.json      published questions and official answers
  /public/measures.json     published measures in force

Every response carries ETag, Last-Modified and Cache-Control, and answers 304 to a
matching conditional request, so any CDN in front can absorb a crowd.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from hub import settings
from hub.db import make_engine
from hub.errors import HubError
from portal.content import PublicQuery
from portal.site import PublicCache, Rendered

CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"
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
    if request.headers.get("if-none-match") == rendered.etag:
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)


def _endpoint(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        language = _language(request)
        query = (
            PublicQuery.from_params(dict(request.query_params))
            if name in {"index", "feed.xml"}
            else PublicQuery()
        )
        cache = public_cache()
        hit = cache.cached(name, language, query)
        if hit is None:
            try:
                hit = await run_in_threadpool(cache.render, name, language, query)
            except HubError as err:
                return PlainTextResponse(str(err), status_code=503, headers={"Retry-After": "30"})
        return _respond(request, hit)

    return serve


ROUTES = [
    Route("/public", _endpoint("index"), methods=["GET", "HEAD"]),
    Route("/public/", _endpoint("index"), methods=["GET", "HEAD"]),
    Route("/public/feed.xml", _endpoint("feed.xml"), methods=["GET", "HEAD"]),
    Route("/public/initiatives.json", _endpoint("initiatives.json"), methods=["GET", "HEAD"]),
    Route("/public/initiatives.csv", _endpoint("initiatives.csv"), methods=["GET", "HEAD"]),
    # issue 8: contacts directory, official answers and measures in force as open data
    *(
        Route(f"/public/{name}", _endpoint(name), methods=["GET", "HEAD"])
        for name in ("contacts.json", "contacts.csv", "answers.json", "measures.json")
    ),
]
