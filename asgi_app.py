"""ASGI entry point: ``streamlit run asgi_app.py`` serves hub_app.py and the routes
wiring mounts, and, once per process, runs the scheduler (every job wiring lists) in
the server's lifespan (HUB_RUN_SCHEDULER).

The lifespan is the one place a process starts background work: page scripts rerun
on every interaction, and ``st.cache_resource`` would start it lazily and again after
a cache clear. Run several replicas with HUB_RUN_SCHEDULER=0 and one
``python -m hub worker``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st

from hub.db import make_engine
from hub.errors import HubError
from hub.scheduler import scheduler_enabled
from hub.settings import SettingsError
from wiring import ROUTES, build_scheduler, prepare_database

log = logging.getLogger("hub.asgi")


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[dict[str, Any] | None]:
    scheduler = None
    engine = None
    try:
        if scheduler_enabled():
            engine = make_engine()
            prepare_database(engine)
            scheduler = build_scheduler(engine)
            scheduler.start()
            log.info("feed scheduler started")
    except (HubError, SettingsError) as err:
        # The pages show the same problem to whoever opens them; serve anyway.
        log.error("feed scheduler not started: %s", err)
    try:
        yield None
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
            log.info("feed scheduler stopped")
        if engine is not None:
            engine.dispose()


app = st.App("hub_app.py", lifespan=lifespan, routes=ROUTES)
