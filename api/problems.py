"""Errors as RFC 9457 ``application/problem+json``, in the caller's language.

Every refusal names the field (its path in the request, ``items.3.title``) and says
what to do, in Portuguese or English (``Accept-Language``). A domain error keeps the
services' message (translated when it was raised); a malformed request gets our own
message per kind of mistake, not Pydantic's English. Anything unexpected is a 500 with
no traceback and no internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from hub.errors import (
    AuthenticationFailed,
    DatabaseUnavailable,
    HubError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StaleRecord,
)
from hub.i18n import _
from partners.api_keys import IdempotencyConflict

log = logging.getLogger("hub.api")
MEDIA_TYPE = "application/problem+json"


class TooManyRequests(HubError):
    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Conflict(HubError):
    """The request clashes with the record's state (e.g. a code that is already taken)."""


_STATUS: tuple[tuple[type[HubError], int], ...] = (
    (AuthenticationFailed, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (StaleRecord, 409),
    (Conflict, 409),
    (IdempotencyConflict, 409),
    (InvalidInput, 422),
    (TooManyRequests, 429),
    (DatabaseUnavailable, 503),
)


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    request: Request | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path if request is not None else "",
        "errors": errors or [],
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field_path(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] if len(parts) > 1 else parts
    return ".".join(parts)


def _message(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    messages = {
        "missing": _("this field is required."),
        "extra_forbidden": _("this field is not part of the request; remove it."),
        "string_type": _("give text."),
        "string_too_long": _("too long: at most {n} characters.").format(
            n=context.get("max_length", "?")
        ),
        "too_long": _("too many items: at most {n}.").format(n=context.get("max_length", "?")),
        "int_parsing": _("give a whole number."),
        "int_type": _("give a whole number."),
        "int_from_float": _("give a whole number."),
        "bool_parsing": _("give true or false."),
        "bool_type": _("give true or false."),
        "date_from_datetime_parsing": _("give a date as YYYY-MM-DD."),
        "date_parsing": _("give a date as YYYY-MM-DD."),
        "date_type": _("give a date as YYYY-MM-DD."),
        "datetime_parsing": _("give a date and time as 2026-12-01T10:00:00Z."),
        "datetime_from_date_parsing": _("give a date and time as 2026-12-01T10:00:00Z."),
        "datetime_type": _("give a date and time as 2026-12-01T10:00:00Z."),
        "enum": _("choose one of: {values}.").format(values=context.get("expected", "")),
        "literal_error": _("choose one of: {values}.").format(values=context.get("expected", "")),
        "list_type": _("give a list."),
        "model_type": _("give an object."),
        "model_attributes_type": _("give an object."),
        "dict_type": _("give an object."),
        "json_invalid": _("the body is not valid JSON."),
        "greater_than_equal": _("at least {n}.").format(n=context.get("ge", "?")),
        "less_than_equal": _("at most {n}.").format(n=context.get("le", "?")),
        "greater_than": _("above {n}.").format(n=context.get("gt", "?")),
    }
    return messages.get(kind, _("this value is not valid."))


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_path(tuple(e.get("loc", ()))), "message": _message(e)}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, _("The request is not valid"), detail, request=request, errors=errors)

    @app.exception_handler(HubError)
    async def domain_error(request: Request, exc: HubError) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 422)
        headers = {}
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, AuthenticationFailed):
            headers["WWW-Authenticate"] = 'Bearer realm="hub"'
        if isinstance(exc, DatabaseUnavailable):
            headers["Retry-After"] = "30"
        field = getattr(exc, "field", None)
        errors = [{"field": field, "message": str(exc)}] if field else []
        return problem(
            status, _title_of(status), str(exc), request=request, errors=errors, headers=headers
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else ""
        if exc.status_code == 404:
            detail = _("There is nothing at this address. See /api/v1/docs.")
        elif exc.status_code == 405:
            detail = _("This address does not take that method. See /api/v1/docs.")
        return problem(
            exc.status_code,
            _title_of(exc.status_code),
            detail,
            request=request,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("API request failed: %s %s", request.method, request.url.path)
        return problem(
            500,
            _title_of(500),
            _("Something went wrong on our side; nothing was changed. Try again later."),
            request=request,
        )


def _title_of(status: int) -> str:
    titles = {
        400: _("Bad request"),
        401: _("The API key is missing or not valid"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        415: _("Unsupported media type"),
        422: _("The request is not valid"),
        429: _("Too many requests"),
        500: _("Internal error"),
        503: _("Service unavailable"),
    }
    return titles.get(status, _("Error"))


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, description in (
        (401, "The API key is missing, unknown, revoked or expired."),
        (403, "The key may not do this (scope, or another organisation's record)."),
        (404, "No such record, or not one the key may see."),
        (409, "The record changed since it was read, or the identifier is taken."),
        (422, "The request is not valid: each field's problem is listed."),
        (429, "Too many requests: wait the Retry-After seconds."),
    )
}
