"""Alembic environment: the engine comes from hub.db (never from alembic.ini)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from answers.search import include_name as answers_include_name
from hub.db import make_engine
from wiring import import_models

import_models()  # every table on SQLModel.metadata

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes.get("engine") or make_engine()
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            # Full-text search objects made by raw DDL in 0006_answers (SQLite FTS5
            # tables, PostgreSQL generated tsvector columns and their GIN indexes) are
            # not in the models: autogenerate must not offer to drop them.
            include_name=answers_include_name,
        )
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit(
        "Offline (SQL script) migrations are not supported; run `python -m hub init-db`."
    )
run_migrations_online()
