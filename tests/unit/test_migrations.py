"""The schema comes from Alembic migrations, and they match the models exactly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import wiring  # noqa: F401 - the whole schema on SQLModel.metadata
from answers.search import include_name as answers_include_name
from hub.db import alembic_config, current_revisions, head_revisions, make_engine, migrate


def test_migrates_from_empty_to_head_and_matches_models(database_url: str) -> None:
    engine = make_engine(database_url)
    command.downgrade(alembic_config(engine), "base")  # the fixture's copy is migrated
    assert current_revisions(engine) == set()
    assert not inspect(engine).has_table("account")

    migrate(engine)

    assert current_revisions(engine) == head_revisions()
    with engine.connect() as connection:
        drift = compare_metadata(
            MigrationContext.configure(
                connection,
                # The same filter as migrations/env.py: full-text search objects that
                # 0006_answers creates with raw DDL are not in the models.
                opts={"compare_type": True, "include_name": answers_include_name},
            ),
            SQLModel.metadata,
        )
    assert drift == [], f"models and migrations differ; write a migration: {drift}"
    engine.dispose()


def test_migrate_is_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    migrate(engine)
    assert current_revisions(engine) == head_revisions()
    engine.dispose()
