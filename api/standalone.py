"""The API alone, under /api/v1 as in the full server: ``uvicorn api.standalone:app``
(``python -m hub serve-api`` runs it), for deployments that scale the API apart."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.routing import Mount

from api.app import create_app

PREFIX = "/api/v1"


def standalone(engine: Engine | None = None) -> Starlette:
    return Starlette(routes=[Mount(PREFIX, app=create_app(engine))])


app = standalone()
