"""The API app: ``create_app()`` builds it; ``wiring`` mounts it at /api/v1 in the
Streamlit server, and ``python -m hub serve-api`` serves it alone with uvicorn.

The engine is made on first use (once per app), not at import, so mounting the API
costs nothing until a request comes. Requests set the language from Accept-Language;
every error leaves as problem+json (``api.problems``).
"""

from __future__ import annotations

import threading

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import bulk, docs, initiatives, problems, public
from api.deps import wanted_language
from api.schemas import FieldProblem, Problem, state_reference_lists
from hub.db import make_engine
from hub.i18n import set_language

TITLE = "Coordination hub API"
VERSION = "1.0.0"
DESCRIPTION = (
    "The partner API of the crisis-response coordination hub: initiatives (read, write, "
    "bulk upsert), reference lists and published records. Errors are RFC 9457 problem "
    "documents in the language of Accept-Language (pt or en)."
)


class EngineHolder:
    """One engine per app, made on first use."""

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine
        self._lock = threading.Lock()

    def __call__(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = make_engine()
            return self._engine


class LanguageMiddleware:
    """Set the request's language (Accept-Language) before anything runs: a plain ASGI
    middleware, so the endpoint's thread inherits it and nothing buffers the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"accept-language", b"")
        language = wanted_language(header.decode("latin-1"))
        set_language(language)

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"content-language", language.encode())]
            await send(message)

        await self.app(scope, receive, send_with_language)


def create_app(engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.engine = EngineHolder(engine)
    problems.install(app)
    app.add_middleware(public.CachedReads)  # inside LanguageMiddleware: needs the language
    app.add_middleware(LanguageMiddleware)

    app.include_router(bulk.router)
    app.include_router(initiatives.router)
    app.include_router(public.router)

    @app.get("/docs", include_in_schema=False)
    def docs_page() -> HTMLResponse:
        return HTMLResponse(docs.render_docs(app.openapi()))

    original = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            document = original()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            schemas.setdefault("FieldProblem", FieldProblem.model_json_schema())
            schemas["Problem"].pop("$defs", None)
            app.openapi_schema = document
        with Session(app.state.engine()) as session:
            return state_reference_lists(app.openapi_schema, session=session)

    app.openapi = openapi  # type: ignore[method-assign]
    return app
