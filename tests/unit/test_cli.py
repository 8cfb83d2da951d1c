"""Operators' CLI: python -m hub ... with clear one-line errors, never a traceback."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from hub.db import make_engine, migrate
from hub.settings import PROJECT_ROOT
from partners.models import Account, Organisation
from wiring import app, build_scheduler, run_worker

runner = CliRunner()


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'instance' / 'hub.db'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "en")
    return url


def test_init_db_then_demo_on_first_start_only(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DEMO_MODE", "1")
    first = runner.invoke(app, ["init-db"])
    assert first.exit_code == 0, first.output
    assert "loaded" in first.output
    migrations = len(list((PROJECT_ROOT / "migrations" / "versions").glob("0*.py")))
    assert f"Database up to date ({migrations} migrations)" in first.output, first.output
    second = runner.invoke(app, ["init-db"])
    assert second.exit_code == 0 and "loaded" not in second.output
    with Session(make_engine(sqlite_url)) as session:
        names = {o.acronym for o in session.exec(select(Organisation)).all()}
        assert {"DGS", "AMA", "SPMS", "DGE", "APRITEL", "AWS"} <= names
        assert len(session.exec(select(Organisation)).all()) == 21


def test_init_db_outside_demo_mode_loads_nothing(sqlite_url: str) -> None:
    result = runner.invoke(app, ["init-db"])
    assert result.exit_code == 0
    with Session(make_engine(sqlite_url)) as session:
        assert session.exec(select(Organisation)).all() == []


def test_create_user_for_an_organisation(sqlite_url: str) -> None:
    assert runner.invoke(app, ["load-demo"]).exit_code == 0
    result = runner.invoke(
        app,
        [
            "create-user",
            "--email",
            "New@Example.pt",
            "--name",
            "New",
            "--role",
            "partner",
            "--organisation",
            "dgs",
            "--password",
            "long enough password",
        ],
    )
    assert result.exit_code == 0, result.output
    with Session(make_engine(sqlite_url)) as session:
        account = session.exec(select(Account).where(Account.email == "new@example.pt")).one()
        assert account.organisation_id is not None


def test_cli_speaks_the_default_language(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "pt")
    result = runner.invoke(
        app, ["create-user", "--email", "x@example.pt", "--name", "X", "--password", "short"]
    )
    assert result.exit_code == 1 and "Palavra-passe" in result.output


def test_create_user_errors_are_one_clear_line(sqlite_url: str) -> None:
    result = runner.invoke(
        app,
        [
            "create-user",
            "--email",
            "x@example.pt",
            "--name",
            "X",
            "--role",
            "partner",
            "--organisation",
            "Nowhere",
            "--password",
            "long enough password",
        ],
    )
    assert result.exit_code == 1
    assert "No organisation is called 'Nowhere'" in result.output
    short = runner.invoke(
        app, ["create-user", "--email", "x@example.pt", "--name", "X", "--password", "short"]
    )
    assert short.exit_code == 1 and "at least 10 characters" in short.output


def test_backup_and_restore_commands(sqlite_url: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["load-demo"]).exit_code == 0
    target = tmp_path / "backup.db"
    result = runner.invoke(app, ["backup", str(target)])
    assert result.exit_code == 0 and target.exists(), result.output
    junk = tmp_path / "junk.db"
    junk.write_text("junk")
    refused = runner.invoke(app, ["restore", "--yes", str(junk)])
    assert refused.exit_code == 1 and "not a SQLite backup" in refused.output
    restored = runner.invoke(app, ["restore", "--yes", str(target)])
    assert restored.exit_code == 0, restored.output


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "not a valid database URL"),
        ("postgresql+psycopg://hub:secret@127.0.0.1:1/none", "Cannot open the database"),
        ("sqlite:////proc/forbidden/hub.db", "Cannot create the database folder"),
        ("mysql://x@y/z", "must point at SQLite or PostgreSQL"),
    ],
)
def test_bad_database_url_gives_a_clear_message_not_a_traceback(url: str, expected: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hub", "init-db"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"HUB_DATABASE_URL": url, "HUB_DEFAULT_LANGUAGE": "en", "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "secret" not in result.stderr, "passwords never appear in messages"


def test_unopenable_sqlite_file_gives_a_clear_message(tmp_path: Path) -> None:
    blocked = tmp_path / "hub.db"
    blocked.mkdir()  # a folder where the file should be: SQLite cannot open it (even as root)
    result = subprocess.run(
        [sys.executable, "-m", "hub", "init-db"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "HUB_DATABASE_URL": f"sqlite:///{blocked}",
            "PATH": "/usr/bin:/bin",
            "HUB_DEFAULT_LANGUAGE": "en",
        },
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert result.returncode == 1
    assert "Cannot open the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_remind_command_reports_what_it_did(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DEMO_MODE", "1")
    assert runner.invoke(app, ["init-db"]).exit_code == 0
    result = runner.invoke(app, ["remind"])
    assert result.exit_code == 0, result.output
    assert "reminders written" in result.output


def test_export_public_writes_the_static_site(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DEMO_MODE", "1")
    assert runner.invoke(app, ["init-db"]).exit_code == 0
    out = tmp_path / "site"
    result = runner.invoke(app, ["export-public", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("index.html", "index.en.html", "feed.xml", "initiatives.json", "initiatives.csv"):
        assert (out / name).stat().st_size > 0, name
    assert "Linha SNS 24 reforçada" in (out / "index.html").read_text(encoding="utf-8")
    blocked = tmp_path / "file"
    blocked.write_text("x")
    refused = runner.invoke(app, ["export-public", str(blocked / "sub")])
    assert refused.exit_code == 1 and "Cannot create" in refused.output


def test_export_public_on_a_fresh_database_and_a_bad_base_url(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    fresh = runner.invoke(app, ["export-public", str(out)])  # no init-db first
    assert fresh.exit_code == 0, fresh.output
    assert (out / "feed.en.xml").stat().st_size > 0
    monkeypatch.setenv("HUB_PUBLIC_BASE_URL", "javascript:alert(1)")
    bad = runner.invoke(app, ["export-public", str(out)])
    assert bad.exit_code == 1 and "HUB_PUBLIC_BASE_URL" in bad.output
    assert "Traceback" not in bad.output


COMMANDS = {
    "init-db",
    "create-user",
    "load-demo",
    "backup",
    "restore",
    "sources",
    "fetch",
    "worker",
    "import-indicators",
    "import-ookla",
    "import-boundaries",
    "gaps",
    "import-initiatives",
    "export-initiatives",
    "export-public",
    "remind",
    "overlaps",
}


def test_python_m_hub_offers_every_package_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hub", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "120", "HUB_DEFAULT_LANGUAGE": "en"},
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert result.returncode == 0, result.stderr
    missing = {name for name in COMMANDS if f" {name} " not in result.stdout}
    assert not missing, result.stdout


def test_the_worker_schedules_every_job_one_run_at_a_time(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine)
    scheduler = build_scheduler(engine)
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    assert set(jobs) == {
        "poll_due_sources",
        "remind_partners",
        "webhooks",  # the partner API's outbox sender (issue 17)
        "api_cleanup",  # old idempotency records and finished outbox messages (issue 17)
        "outreach-digest",  # subscription digests and SMS updates (issue 19)
        "outreach-clean-up",
    }
    assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(engine,), kwargs={"stop": stop})
    worker.start()
    stop.set()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the worker stops when asked"
