"""Endpoints without a key: the reference lists and the published records.

Only the ``*Public`` shapes leave here, built by the same functions as the public site,
so an unpublished record or a private field (contact e-mail, review note) cannot. The
answers are cached in the process for ``CACHE_SECONDS`` with an ETag (a 304 for a
matching If-None-Match); the anonymous rate limit applies to every request.
"""

from __future__ import annotations

import contextvars
import hashlib
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter
from sqlmodel import Session, col, select
from starlette.types import ASGIApp, Receive, Scope, Send

from answers.directory import list_public_contacts, list_public_measures
from answers.models import AnswerPublic, ContactPublic, MeasurePublic
from answers.service import list_public_answers
from api.deps import PublicDep, SessionDep, spend_leased_public_token
from api.initiatives import after_cursor, one_page
from api.problems import PROBLEM_RESPONSES
from api.schemas import MAX_PAGE, AreaOut, PublicInitiativePage, Term
from feeds.models import StoryPublic
from feeds.service import list_public_stories
from geo.models import Area
from hub.errors import NotFound
from hub.i18n import _, get_language, gettext, set_language
from initiatives.models import (
    CHANNEL_LABELS,
    Initiative,
    InitiativePublic,
    ReviewState,
    VocabularyKind,
)
from initiatives.queries import public_shapes
from initiatives.vocabulary import vocabulary

CACHE_SECONDS = 30.0
CACHE_CONTROL = "public, max-age=30"
router = APIRouter(
    tags=["public"], responses={code: PROBLEM_RESPONSES[code] for code in (422, 429)}
)


class _Cache:
    """Rendered JSON by (path, query, language), for CACHE_SECONDS."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, str], tuple[float, bytes, str]] = {}

    def get(self, key: tuple[str, str, str]) -> tuple[bytes, str] | None:
        with self._lock:
            hit = self._entries.get(key)
        if hit is None or time.monotonic() - hit[0] > CACHE_SECONDS:
            return None
        return hit[1], hit[2]

    def put(self, key: tuple[str, str, str], body: bytes) -> str:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        with self._lock:
            if len(self._entries) > 2000:
                self._entries.clear()
            self._entries[key] = (time.monotonic(), body, etag)
        return etag

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


cache = _Cache()


def _cache_key(request: Request) -> tuple[str, str, str]:
    return (request.url.path, str(request.query_params), get_language())


def _answer(request: Request, body: bytes, etag: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Language"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def cached(request: Request, build: Callable[[], Any], adapter: TypeAdapter[Any]) -> Response:
    key = _cache_key(request)
    hit = cache.get(key)
    if hit is None:
        body = adapter.dump_json(build())
        etag = cache.put(key, body)
    else:
        body, etag = hit
    return _answer(request, body, etag)


class CachedReads:
    """Answer a GET whose answer is in the cache before FastAPI sees it.

    Only ``cached`` fills the cache, and only for the keyless endpoints, so a hit is a
    public read. Through FastAPI the same bytes cost its routing, the dependencies (a
    session, the rate limit), a worker thread and the response machinery: about 2 ms a
    request, ~420/s on two cores; here a dictionary look-up. The anonymous rate limit
    still applies: a token this process has leased is spent here; without one the
    request goes the long way, which takes tokens from the database (or answers 429).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            request = Request(scope)
            hit = cache.get(_cache_key(request))
            if hit is not None and spend_leased_public_token(request):
                await _answer(request, *hit)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def in_language(language: str, message: str) -> str:
    """``message`` translated into ``language``, whatever the request's language."""

    def translate() -> str:
        set_language(language)
        return gettext(message)

    return contextvars.copy_context().run(translate)


def _doc(model: Any) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": "OK"}, 304: {"description": "Not modified"}}


# --- reference lists -----------------------------------------------------------------


def _terms(session: Session, kind: VocabularyKind) -> list[Term]:
    return [
        Term(code=t.code, label_en=t.label_en, label_pt=t.label_pt)
        for t in vocabulary(session=session, kind=kind)
    ]


@router.get("/reference/categories", responses=_doc(list[Term]), response_model=None)
def categories(request: Request, session: SessionDep, _caller: PublicDep) -> Response:
    return cached(
        request, lambda: _terms(session, VocabularyKind.CATEGORY), TypeAdapter(list[Term])
    )


@router.get("/reference/target-groups", responses=_doc(list[Term]), response_model=None)
def target_groups(request: Request, session: SessionDep, _caller: PublicDep) -> Response:
    return cached(
        request, lambda: _terms(session, VocabularyKind.TARGET_GROUP), TypeAdapter(list[Term])
    )


@router.get("/reference/channels", responses=_doc(list[Term]), response_model=None)
def channels(request: Request, _caller: PublicDep) -> Response:
    def build() -> list[Term]:
        return [
            Term(code=channel.value, label_en=label, label_pt=in_language("pt", label))
            for channel, label in CHANNEL_LABELS.items()
        ]

    return cached(request, build, TypeAdapter(list[Term]))


@router.get("/reference/areas", responses=_doc(list[AreaOut]), response_model=None)
def areas(request: Request, session: SessionDep, _caller: PublicDep) -> Response:
    """The country, its districts and municipalities, with their codes (names are the
    same in both languages, but for the country's)."""

    def build() -> list[AreaOut]:
        return [
            AreaOut(
                code=a.code,
                name_en=a.name,
                name_pt=in_language("pt", a.name),
                level=a.level.value,
                parent_code=a.parent_code,
            )
            for a in session.exec(select(Area).order_by(col(Area.level), col(Area.code))).all()
        ]

    return cached(request, build, TypeAdapter(list[AreaOut]))


# --- published records ---------------------------------------------------------------


@router.get("/public/initiatives", responses=_doc(PublicInitiativePage), response_model=None)
def public_initiatives(
    request: Request,
    session: SessionDep,
    _caller: PublicDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Response:
    """Published initiatives (public fields only), oldest change first."""

    def build() -> PublicInitiativePage:
        query = select(Initiative).where(Initiative.review_state == ReviewState.PUBLISHED)
        rows, next_cursor = one_page(
            session=session, query=after_cursor(query, cursor), limit=limit
        )
        return PublicInitiativePage(
            items=public_shapes(session=session, initiatives=rows), next_cursor=next_cursor
        )

    return cached(request, build, TypeAdapter(PublicInitiativePage))


@router.get(
    "/public/initiatives/{code:path}",
    responses={**_doc(InitiativePublic), 404: PROBLEM_RESPONSES[404]},
    response_model=None,
)
def public_initiative(
    request: Request, session: SessionDep, _caller: PublicDep, code: str
) -> Response:
    def build() -> InitiativePublic:
        initiative = session.exec(
            select(Initiative).where(
                Initiative.code == code, Initiative.review_state == ReviewState.PUBLISHED
            )
        ).first()
        if initiative is None:
            raise NotFound(
                _("No published initiative has the identifier {code}.").format(code=code)
            )
        return public_shapes(session=session, initiatives=[initiative])[0]

    return cached(request, build, TypeAdapter(InitiativePublic))


@router.get("/public/measures", responses=_doc(list[MeasurePublic]), response_model=None)
def public_measures(request: Request, session: SessionDep, _caller: PublicDep) -> Response:
    """Measures in force today."""
    return cached(
        request,
        lambda: list_public_measures(session=session),
        TypeAdapter(list[MeasurePublic]),
    )


@router.get("/public/answers", responses=_doc(list[AnswerPublic]), response_model=None)
def public_answers(request: Request, session: SessionDep, _caller: PublicDep) -> Response:
    """Published questions and their official answers, most asked first."""
    return cached(
        request, lambda: list_public_answers(session=session), TypeAdapter(list[AnswerPublic])
    )


@router.get("/public/contacts", responses=_doc(list[ContactPublic]), response_model=None)
def public_contacts(request: Request, session: SessionDep, _caller: PublicDep) -> Response:
    """Emergency and support contacts."""
    return cached(
        request, lambda: list_public_contacts(session=session), TypeAdapter(list[ContactPublic])
    )


@router.get("/public/feed-items", responses=_doc(list[StoryPublic]), response_model=None)
def public_feed_items(request: Request, session: SessionDep, _caller: PublicDep) -> Response:
    """The official news the hub aggregates, one entry per story."""
    return cached(
        request, lambda: list_public_stories(session=session), TypeAdapter(list[StoryPublic])
    )
