"""python -m hub review approve|send-back|reject (issue 21): bulk review from the shell."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from hub.audit import AuditEntry
from hub.db import make_engine, migrate
from initiatives.models import Initiative, ReviewState
from initiatives.review import waiting
from tests.factories import make_initiative, make_world
from wiring import app

runner = CliRunner()


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "en")
    return url


def test_review_commands_select_decide_and_report(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine)
    with Session(engine) as session:
        world = make_world(session)
        health = [make_initiative(session, world.own, submit=True, category="health") for _ in "ab"]
        make_initiative(session, world.own, submit=True, category="education")
        other = make_initiative(session, world.other, submit=True)
        one_import = waiting(session=session, actor=world.staff, organisation_id=world.other.id)
        codes = {i.code for i in health}
        other_code = other.code

    dry = runner.invoke(app, ["review", "approve", "--organisation", "OPM", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "3 records waiting for review selected" in dry.output

    done = runner.invoke(
        app, ["review", "approve", "--organisation", "OPM", "--category", "health"]
    )
    assert done.exit_code == 0, done.output
    assert "approve: 2/2" in done.output and "2 done, 0 refused." in done.output

    unreasoned = runner.invoke(app, ["review", "reject", "--import", one_import[0].import_id])
    assert unreasoned.exit_code == 1 and "Reason" in unreasoned.output
    assert "Traceback" not in unreasoned.output
    rejected = runner.invoke(
        app,
        ["review", "reject", "--import", one_import[0].import_id, "--message", "Duplicate"],
    )
    assert rejected.exit_code == 0, rejected.output

    with Session(engine) as session:
        states = {i.code: i.review_state for i in session.exec(select(Initiative))}
        audited = session.exec(select(AuditEntry).where(AuditEntry.action == "publish")).all()
    assert {c for c, s in states.items() if s is ReviewState.PUBLISHED} == codes
    assert states[other_code] is ReviewState.REJECTED
    assert len(audited) == 2
    engine.dispose()
