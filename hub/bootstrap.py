"""What every start does before serving: migrate, then load demo data on first start."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from geo.areas import load_reference_areas
from hub import settings
from hub.db import check_connection, migrate, session_scope
from hub.demo import database_is_empty, load_demo


def prepare_database(engine: Engine) -> int:
    """Migrate, then in demo mode load the demo data into an empty database.

    Idempotent, so it runs on every start. Returns how many demo records were added.
    """
    check_connection(engine)
    migrate(engine)
    with session_scope(engine) as session:  # real reference geography, demo or not
        load_reference_areas(session=session)
    if settings.demo_mode():
        with session_scope(engine) as session:
            if database_is_empty(session=session):
                return load_demo(session=session)
    return 0
