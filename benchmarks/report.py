"""How long the weekly report takes over a large registry (issue 20): the snapshot and
draft (create_report: one INSERT ... SELECT per table, the gap ranking, the counts; then
every figure aggregated in SQL) and the PDF (WeasyPrint, map and bars as SVG).

Targets: drafted in <= 10 s and PDF in <= 15 s at 100k initiatives. The machine may be
shared: wall time, CPU time of this process and the load average are printed together.

    .venv/bin/python -m benchmarks.report             # 100k initiatives
    .venv/bin/python -m benchmarks.report --size 20000   # a quicker run
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import text
from sqlmodel import Session

from benchmarks.registry_list import populate, staff
from hub.db import make_engine, migrate
from hub.records import utcnow
from reports.draft import report_figures
from reports.render import build_view, render_pdf
from reports.service import create_report

T = TypeVar("T")


def timed(label: str, work: Callable[[], T]) -> tuple[T, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<34} wall {wall:6.2f} s   cpu {cpu:6.2f} s   load {os.getloadavg()[0]:.1f}")
    return result, wall


def spread_dates(session: Session) -> None:
    """populate() dates everything in 2020: move starts and ends around today, so the
    report sees active, new, ended and overdue initiatives as a live registry would."""
    now = utcnow()
    session.execute(
        text(
            "UPDATE initiative SET "
            "planned_start = date(:today, '-' || (id % 200) || ' days'), "
            "planned_end = date(:today, '+' || ((id % 150) - 20) || ' days'), "
            "created_at = :long_ago, "
            "published_at = datetime(:now, '-' || (id % 60) || ' days'), "
            "updated_at = datetime(:now, '-' || (id % 90) || ' days')"
        ),
        {"today": now.date().isoformat(), "now": now.isoformat(), "long_ago": "2020-01-01"},
    )
    session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="initiatives (100000)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'report.db'}")
        migrate(engine)
        with Session(engine) as session:
            started = time.perf_counter()
            populate(session, args.size)
            spread_dates(session)
            print(f"inserted {args.size:,} initiatives in {time.perf_counter() - started:.1f} s")
        actor = staff()
        with Session(engine, expire_on_commit=False) as session:
            now = utcnow()
            report, snapshot_s = timed(
                "snapshot (create_report)",
                lambda: create_report(
                    session=session,
                    actor=actor,
                    period_start=(now - timedelta(days=6)).date(),
                    cutoff=now,
                    slug="bench",
                ),
            )
            figures, figures_s = timed(
                "figures (SQL over the snapshot)",
                lambda: report_figures(session=session, report=report),
            )
            view, view_s = timed(
                "view (figures, names, shapes)", lambda: build_view(session=session, report=report)
            )
            pdf, pdf_s = timed("PDF (WeasyPrint, pt)", lambda: render_pdf(view, language="pt"))
        drafted = snapshot_s + figures_s
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(
            f"\n{args.size:,} initiatives: {figures.key.active:,} active in "
            f"{figures.key.areas:,} areas; PDF {len(pdf) / 1024:.0f} KiB"
        )
        print(f"drafted in {drafted:.2f} s (target <= 10 s): {'OK' if drafted <= 10 else 'OVER'}")
        rendered = view_s + pdf_s
        print(f"PDF in {rendered:.2f} s (target <= 15 s): {'OK' if rendered <= 15 else 'OVER'}")
        print(
            f"process CPU {usage.ru_utime + usage.ru_stime:.1f} s, max RSS "
            f"{usage.ru_maxrss / 1024:.0f} MiB, load average after {os.getloadavg()}"
        )


if __name__ == "__main__":
    main()
