"""The composition root: the one module that knows every package.

It lists the tables for Alembic (``TABLE_MODELS``), prepares the database on every start
(``prepare_database``), loads the demo (``load_demo``), lists the scheduled jobs
(``scheduler_jobs``, ``build_scheduler``, ``run_worker``), mounts the faces' routes
(``ROUTES``) and builds the operators' CLI from each package's ``cli.register``
(``build_cli``, ``main``). Nothing else imports "everything": ``hub/`` (the core) knows
no domain package, and a package knows only the packages it uses.
"""

from __future__ import annotations

import threading
from typing import Annotated

import typer
import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

import api.cli
import connectivity.cli
import feeds.cli
import hub.cli
import initiatives.cli
import outreach.cli
import partners.cli
import portal.cli
import reports.cli
from answers.demo import load_demo_answers
from answers.models import (
    AnswerVersion,
    Contact,
    Measure,
    MeasureInitiative,
    Question,
    QuestionContact,
    RateBucket,
)
from api.app import create_app as create_api
from api.cleanup import cleanup_job
from api.standalone import PREFIX as API_PREFIX
from connectivity.demo import load_demo_indicators
from connectivity.models import IndicatorValue
from feeds.demo import load_demo_feeds
from feeds.models import FeedItem, FeedSource, FeedState
from feeds.scheduler import feed_job
from geo.areas import load_reference_areas
from geo.models import Area, PostalCode
from geo.postal_codes import load_postal_codes
from hub import settings
from hub.audit import AuditEntry
from hub.cli import friendly_errors
from hub.db import applied_migrations, check_connection, make_engine, migrate, session_scope
from hub.outbox import OutboxMessage
from hub.scheduler import ScheduledJob
from hub.scheduler import build_scheduler as build_job_scheduler
from hub.scheduler import run_worker as run_job_worker
from initiatives.demo import load_demo_initiatives
from initiatives.freshness import reminder_job
from initiatives.models import (
    Initiative,
    InitiativeArea,
    InitiativeChannel,
    InitiativeParticipant,
    InitiativeTargetGroup,
    InitiativeVersion,
    Notification,
    VocabularyTerm,
)
from initiatives.overlap_models import InitiativeLink, OverlapDecision, OverlapNote
from outreach.jobs import outreach_jobs
from outreach.models import DigestSent, SmsConversation, SmsCount, Subscription
from partners.api_keys import ApiIdempotency, ApiKey
from partners.demo import DEMO_PASSWORD, database_is_empty, load_demo_partners
from partners.models import Account, Organisation
from partners.sessions import WebSession
from partners.webhook_sender import webhook_job
from partners.webhooks import WebhookDelivery, WebhookSubscription
from portal.reports_site import ROUTES as REPORT_ROUTES
from portal.routes import ROUTES as PORTAL_ROUTES
from portal.signin import ROUTES as SIGNIN_ROUTES
from portal.sms_routes import ROUTES as SMS_ROUTES
from portal.subscribe_routes import ROUTES as SUBSCRIBE_ROUTES
from reports.models import (
    Report,
    ReportArea,
    ReportChannel,
    ReportGap,
    ReportInitiative,
    ReportTargetGroup,
)

# --- the schema ----------------------------------------------------------------------

# Every table model, so SQLModel.metadata knows the whole schema (migrations/env.py).
TABLE_MODELS: tuple[type[SQLModel], ...] = (
    AuditEntry,
    Area,
    PostalCode,  # issue 19: INFO <postal code>
    Organisation,
    Account,
    VocabularyTerm,
    Initiative,
    InitiativeArea,
    InitiativeTargetGroup,
    InitiativeChannel,
    InitiativeParticipant,
    InitiativeVersion,
    Notification,
    OverlapDecision,
    InitiativeLink,
    OverlapNote,
    FeedSource,
    FeedState,
    FeedItem,
    IndicatorValue,
    Question,
    QuestionContact,
    AnswerVersion,
    Measure,
    MeasureInitiative,
    Contact,
    RateBucket,
    WebSession,
    # partner API and webhooks (issue 17)
    ApiKey,
    ApiIdempotency,
    OutboxMessage,
    WebhookSubscription,
    WebhookDelivery,
    # offline channels: SMS, subscriptions (issue 19)
    Subscription,
    DigestSent,
    SmsConversation,
    SmsCount,
    # the weekly situation report and its snapshot (issue 20)
    Report,
    ReportInitiative,
    ReportArea,
    ReportChannel,
    ReportTargetGroup,
    ReportGap,
)


def import_models() -> tuple[type[SQLModel], ...]:
    """The table models (importing this module registered them on SQLModel.metadata)."""
    return TABLE_MODELS


# --- every start ---------------------------------------------------------------------


def load_demo(*, session: Session) -> int:
    """Load every package's illustrative demo data; returns how many records were added.

    Records already present are left alone, so loading twice adds nothing.
    """
    # Demo initiatives name areas: the reference geography must be there first (it is
    # real data, loaded on every start; loading it again is a no-op).
    load_reference_areas(session=session)
    added = load_demo_partners(session=session)  # organisations and accounts
    added += load_demo_initiatives(session=session)  # through validation, like a form
    added += load_demo_feeds(session=session)  # sample feeds, through parse-and-store
    added += load_demo_indicators(session=session)  # synthetic, labelled demo
    added += load_demo_answers(session=session)  # questions, measures, contacts (issue 8)
    return added


def prepare_database(engine: Engine) -> int:
    """Migrate, then in demo mode load the demo data into an empty database.

    Idempotent, so it runs on every start. Returns how many demo records were added.
    """
    check_connection(engine)
    migrate(engine)
    with session_scope(engine) as session:  # real reference geography, demo or not
        load_reference_areas(session=session)
        load_postal_codes(session=session)  # issue 19; an office's own file replaces it
    if settings.demo_mode():
        with session_scope(engine) as session:
            if database_is_empty(session=session):
                return load_demo(session=session)
    return 0


# --- background work -----------------------------------------------------------------


def scheduler_jobs(*, first_run_in: float = 5.0) -> list[ScheduledJob]:
    """Every scheduled job: feeds every tick (first after ``first_run_in`` seconds),
    freshness reminders daily, webhooks from the outbox every few seconds (issue 17)."""
    return [
        feed_job(first_run_in=first_run_in),
        reminder_job(),
        webhook_job(first_run_in=first_run_in),
        cleanup_job(),  # old idempotency records and finished outbox messages (issue 17)
        *outreach_jobs(),  # digest at 09:00 Lisbon, mail and SMS sending, clean-up (issue 19)
    ]


def build_scheduler(engine: Engine, *, first_run_in: float = 5.0) -> BackgroundScheduler:
    """The process's scheduler with every job, not started (asgi_app.py starts it)."""
    return build_job_scheduler(engine, scheduler_jobs(first_run_in=first_run_in))


def run_worker(engine: Engine, *, stop: threading.Event | None = None) -> None:
    """Run every job in this process until SIGINT or SIGTERM (or ``stop``)."""
    run_job_worker(engine, scheduler_jobs(first_run_in=0.5), stop=stop)


# --- the faces' routes ---------------------------------------------------------------

# static/ at /assets (the gap map's Leaflet files; Streamlit's own /static/ is reserved
# and its static serving is off): the workspace lives under /app, the rest at the root.
ASSETS = Mount(
    "/assets", app=StaticFiles(directory=settings.PROJECT_ROOT / "static"), name="assets"
)

# The partner API (issue 17); its engine is made on its first request.
API = Mount(API_PREFIX, app=create_api(), name="api")

ROUTES = [*PORTAL_ROUTES, *SIGNIN_ROUTES, ASSETS, API]  # sign-in: /signin, /signout (issue 14)
ROUTES += SMS_ROUTES  # /sms/rapidpro, /sms/twilio, /sms/kannel (issue 19)
ROUTES += SUBSCRIBE_ROUTES  # /subscriptions, confirm, one-click unsubscribe (issue 19)
ROUTES += REPORT_ROUTES  # /reports, /reports/<slug>(.pdf|.csv|.json) (issue 20)

# What the public face needs, to run without Streamlit (``serve-public``).
PUBLIC_ROUTES = [*PORTAL_ROUTES, ASSETS, *SUBSCRIBE_ROUTES]  # subscriptions: issue 19
PUBLIC_ROUTES += REPORT_ROUTES  # the published situation reports (issue 20)


def public_app() -> Starlette:
    """The public site as its own ASGI app: the same routes as inside the combined
    server, for deployments that scale the public face apart from the workspace
    (``python -m hub serve-public``, or ``uvicorn --factory wiring:public_app``)."""
    return Starlette(routes=PUBLIC_ROUTES)


# --- the operators' CLI --------------------------------------------------------------


def init_db() -> None:
    """Create or upgrade the schema (Alembic); in demo mode, load demo data if empty."""
    engine = make_engine()
    loaded = prepare_database(engine)
    where = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    typer.echo(
        f"Database up to date ({applied_migrations(engine)} migrations): "
        f"{where or engine.url.render_as_string(hide_password=True)}"
    )
    if loaded:
        typer.echo(f"Demo mode: loaded {loaded} demo records. Demo password: {DEMO_PASSWORD}")


def load_demo_command(
    if_empty: Annotated[bool, typer.Option(help="Only when the database has no data yet.")] = False,
) -> None:
    """Load the illustrative demo organisations and accounts."""
    engine = make_engine()
    migrate(engine)
    with session_scope(engine) as session:
        if if_empty and not database_is_empty(session=session):
            typer.echo("Database already has data; demo data not loaded.")
            return
        added = load_demo(session=session)
    typer.echo(f"Demo data loaded: {added} records added. Demo password: {DEMO_PASSWORD}")


def worker() -> None:
    """Run the feed scheduler in this process until Ctrl-C or SIGTERM (for deployments
    whose app replicas run with HUB_RUN_SCHEDULER=0)."""
    engine = make_engine()
    prepare_database(engine)
    typer.echo("Feed worker running; Ctrl-C or SIGTERM stops it.")
    run_worker(engine)
    typer.echo("Feed worker stopped.")


def serve_public(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8502,
) -> None:
    """Serve the public site (page, item pages, feed, open data) without Streamlit."""
    engine = make_engine()
    prepare_database(engine)
    engine.dispose()
    typer.echo(f"Public site on http://{host}:{port}/ (Ctrl-C stops it).")
    uvicorn.run(public_app(), host=host, port=port, log_level="warning", access_log=False)


def build_cli() -> typer.Typer:
    """``python -m hub``: the core's commands and every package's."""
    cli = hub.cli.new_app()
    cli.command("init-db")(friendly_errors(init_db))
    partners.cli.register(cli)  # create-user
    cli.command("load-demo")(friendly_errors(load_demo_command))
    hub.cli.register(cli)  # backup, restore
    feeds.cli.register(cli)  # sources add/list, fetch
    cli.command("worker")(friendly_errors(worker))
    connectivity.cli.register(cli, friendly_errors)  # import-indicators, gaps, ... (issue 7)
    initiatives.cli.register(cli, prepare_database=prepare_database)  # import, export, ...
    portal.cli.register(cli, prepare_database=prepare_database)  # export-public
    outreach.cli.register(cli, prepare_database=prepare_database)  # leaflets (issue 19)
    api.cli.register(cli)  # serve-api, api-keys create/list/revoke (issue 17)
    reports.cli.register(cli, prepare_database=prepare_database)  # report (issue 20)
    cli.command("serve-public")(friendly_errors(serve_public))
    return cli


app = build_cli()


def main() -> None:
    app()
