"""Bulk review and the audit log's size (issue 21), on SQLite files.

1. Audit bytes per initiative after a submitted import of N rows and the approval of
   every row, in the lean format (changed fields only) beside the whole-snapshot format
   the log used before issue 21 (the same run with the old entry shape switched back
   on). Measured with SQLite's ``dbstat`` (pages of the table and its indexes) and as
   the JSON bytes of before/after. Goal: lean at most a third of the old.
2. Approval of the N submissions through ``initiatives.review.review_many`` (wall and
   CPU time, per record).
3. The same from the Review page in Streamlit's AppTest (signed in as staff, the
   import picked in the filter, one click), wall time of the click's run. Goal: 1,000
   in <= 20 s with a progress bar.

    .venv/bin/python benchmarks/review_bulk.py            # 1,000 rows (about 2 minutes)
    .venv/bin/python benchmarks/review_bulk.py --rows 300 # quicker
    .venv/bin/python benchmarks/review_bulk.py --no-page  # service and size only
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlmodel import Session, func, select

import hub.audit
from benchmarks.registry_import import make_csv, make_template, operator
from hub.auth import Role
from hub.db import make_engine
from hub.i18n import set_language
from initiatives.exchange import import_initiatives
from initiatives.models import Initiative, ReviewState
from initiatives.review import Decision, review_many, waiting
from partners.accounts import bootstrap_account
from partners.models import AccountDraft
from partners.sessions import open_session


def audit_bytes(session: Session) -> tuple[int, int]:
    """(pages of audit_entry and its indexes, JSON bytes of before/after)."""
    pages = session.exec(  # type: ignore[call-overload]
        text(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN "
            "(SELECT name FROM sqlite_master WHERE tbl_name = 'audit_entry')"
        )
    ).one()[0]
    payload = session.exec(  # type: ignore[call-overload]
        text(
            "SELECT coalesce(sum(length(coalesce(before, '')) + length(coalesce(after, ''))), 0) "
            "FROM audit_entry"
        )
    ).one()[0]
    return int(pages), int(payload)


@contextmanager
def whole_snapshots() -> Iterator[None]:
    """The entry shape before issue 21: whole before/after, search columns included."""
    lean, derived = hub.audit.lean_change, hub.audit.DERIVED_FIELDS
    hub.audit.lean_change = lambda before, after: (before, after)
    hub.audit.DERIVED_FIELDS = frozenset()
    try:
        yield
    finally:
        hub.audit.lean_change, hub.audit.DERIVED_FIELDS = lean, derived


def import_submitted(path: Path, data: bytes, rows: int) -> None:
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        report = import_initiatives(
            session=session, actor=operator(), data=data, filename="bench.csv", submit=True
        )
        assert report.ok and len(report.created) == rows, report.lines()[:5]
    engine.dispose()


def size_and_service(path: Path, data: bytes, rows: int, *, legacy: bool) -> dict[str, float]:
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        start_pages, start_json = audit_bytes(session)
    engine.dispose()
    with whole_snapshots() if legacy else _nothing():
        import_submitted(path, data, rows)
        engine = make_engine(f"sqlite:///{path}")
        with Session(engine) as session:
            selected = waiting(session=session, actor=operator())
            assert len(selected) == rows
            started, cpu = time.perf_counter(), time.process_time()
            result = review_many(
                session=session,
                actor=operator(),
                ids=[c.initiative_id for c in selected],
                versions={c.initiative_id: c.version for c in selected},
                decision=Decision.APPROVE,
            )
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            assert len(result.done) == rows and not result.refused, result.summary()
            pages, payload = audit_bytes(session)
        engine.dispose()
    return {
        "pages": (pages - start_pages) / rows,
        "json": (payload - start_json) / rows,
        "wall": wall,
        "cpu": cpu,
    }


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def through_the_page(path: Path, data: bytes, rows: int) -> tuple[float, float, int]:
    """Approve the import from the Review page (AppTest): (click's wall s, CPU s, published)."""
    from streamlit.testing.v1 import AppTest

    from hub.settings import PROJECT_ROOT
    from ui.session import TOKEN_KEY

    import_submitted(path, data, rows)
    url = f"sqlite:///{path}"
    os.environ["HUB_DATABASE_URL"] = url
    os.environ["HUB_DEFAULT_LANGUAGE"] = "en"
    set_language("en")  # AppTest formats the filter's options in this process too
    engine = make_engine(url)
    with Session(engine) as session:
        account = bootstrap_account(
            session=session,
            draft=AccountDraft(
                email="bench.staff@example.pt",
                display_name="Bench staff",
                role=Role.STAFF,
                password="a long benchmark password 1",  # noqa: S106 - a throwaway file
            ),
        )
        token = open_session(session=session, account_id=account.id or 0, device="benchmark")
        import_id = waiting(session=session, actor=operator())[0].import_id
    app = AppTest.from_file(str(PROJECT_ROOT / "hub_app.py"), default_timeout=600)
    app.session_state[TOKEN_KEY] = token
    app.run()
    app.switch_page("pages/staff_review.py").run()
    assert not app.exception, app.exception
    app.selectbox(key="bulk_review_import").set_value(import_id).run()
    started, cpu = time.perf_counter(), time.process_time()
    app.button(key="bulk_review_apply").click().run()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert not app.exception, app.exception
    with Session(engine) as session:
        published = session.exec(
            select(func.count())
            .select_from(Initiative)
            .where(Initiative.review_state == ReviewState.PUBLISHED)
        ).one()
    engine.dispose()
    return wall, cpu, int(published)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--no-page", action="store_true", help="skip the AppTest run")
    args = parser.parse_args()
    rows = args.rows
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        template, districts, municipalities = make_template(Path(folder))
        data = make_csv(rows, districts, municipalities)
        runs = {}
        for name, legacy in (("whole snapshots (before issue 21)", True), ("lean", False)):
            path = Path(folder) / f"{'legacy' if legacy else 'lean'}.db"
            shutil.copy(template, path)
            runs[name] = size_and_service(path, data, rows, legacy=legacy)
        old, new = runs["whole snapshots (before issue 21)"], runs["lean"]
        print(f"audit log per initiative after import + approval of {rows:,} rows:")
        for name, run in runs.items():
            print(
                f"  {name:34} {run['pages']:7,.0f} B on disk (dbstat), {run['json']:6,.0f} B JSON"
            )
        print(
            f"  lean / old: {new['pages'] / old['pages']:.0%} on disk, "
            f"{new['json'] / old['json']:.0%} JSON (goal <= 33%)"
        )
        print(
            f"approval through review_many: {new['wall']:.2f} s wall "
            f"({new['wall'] / rows * 1000:.1f} ms each), CPU {new['cpu']:.2f} s"
        )
        if not args.no_page:
            path = Path(folder) / "page.db"
            shutil.copy(template, path)
            wall, cpu, published = through_the_page(path, data, rows)
            assert published == rows, published
            print(
                f"approval of {rows:,} from the Review page (AppTest, one click): "
                f"{wall:.2f} s wall, CPU {cpu:.2f} s (goal <= 20 s for 1,000)"
            )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"peak memory {usage.ru_maxrss / 1024:.0f} MB")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
