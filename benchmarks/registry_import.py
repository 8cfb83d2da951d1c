"""Import and validation of a 10k-row exchange CSV into a fresh SQLite database.

Prints the median of 3 runs in seconds (goal: <= 10 s). Each run starts from a copy of
one migrated database holding the reference areas and a few organisations.

    .venv/bin/python benchmarks/registry_import.py [ROWS]
"""

from __future__ import annotations

import csv
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session, func, select

from geo.areas import load_reference_areas
from geo.models import Area, AreaLevel
from hub.auth import SYSTEM_EMAIL, Principal, Role
from hub.db import make_engine, migrate
from hub.records import utcnow
from initiatives.exchange import COLUMNS, import_initiatives
from initiatives.models import Initiative
from partners.models import Organisation

ORGANISATIONS = [(f"Partner organisation {n}", f"P{n}") for n in range(1, 21)]
CATEGORIES = ["connectivity", "health", "education", "telework", "information", "other"]
GROUPS = ["health_professionals", "students_teachers", "businesses", "citizens", "elderly"]
CHANNELS = ["online", "phone", "in_person", "sms", "broadcast"]
STATUSES = ["planned", "active", "completed"]
WORDS = [
    "dados",
    "móveis",
    "grátis",
    "escolas",
    "tablets",
    "saúde",
    "apoio",
    "linha",
    "telefone",
    "idosos",
    "famílias",
]


def operator() -> Principal:
    return Principal(
        account_id=0,
        email=SYSTEM_EMAIL,
        display_name="benchmark",
        role=Role.ADMIN,
        organisation_id=None,
        signed_in_at=utcnow(),
    )


def make_template(folder: Path) -> tuple[Path, list[str], list[str]]:
    path = folder / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with Session(engine) as session:
        load_reference_areas(session=session)
        session.add_all(Organisation(name=n, acronym=a) for n, a in ORGANISATIONS)
        session.commit()
        districts = [
            a.code for a in session.exec(select(Area).where(Area.level == AreaLevel.DISTRICT))
        ]
        municipalities = [
            a.code for a in session.exec(select(Area).where(Area.level == AreaLevel.MUNICIPALITY))
        ]
    engine.dispose()
    return path, districts, municipalities


def make_csv(rows: int, districts: list[str], municipalities: list[str]) -> bytes:
    rng = random.Random(3)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for n in range(rows):
        start = date(2020, 3, 1) + timedelta(days=rng.randrange(120))
        lead, partner = rng.sample(ORGANISATIONS, 2)
        writer.writerow(
            [
                f"BENCH-{n:06d}",
                " ".join(rng.choices(WORDS, k=6)).capitalize(),
                " ".join(rng.choices(WORDS, k=40)),
                lead[1],
                f"{partner[0]}:funding" if n % 3 == 0 else "",
                rng.choice(CATEGORIES),
                ";".join(rng.sample(GROUPS, 2)),
                ";".join([rng.choice(districts), *rng.sample(municipalities, 2)]),
                ";".join(rng.sample(CHANNELS, 2)),
                start.isoformat(),
                (start + timedelta(days=rng.randrange(30, 200))).isoformat(),
                rng.choice(STATUSES),
                f"{rng.randrange(100, 100_000):,}".replace(",", "."),
                "",
                f"https://www.example.pt/iniciativa/{n}",
                f"contacto{n}@example.pt",
            ]
        )
    return buffer.getvalue().encode("utf-8")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as folder:
        template, districts, municipalities = make_template(Path(folder))
        data = make_csv(rows, districts, municipalities)
        timings, cpu = [], []
        for run in range(3):
            path = Path(folder) / f"run{run}.db"
            shutil.copy(template, path)
            engine = make_engine(f"sqlite:///{path}")
            with Session(engine, expire_on_commit=False) as session:
                started, cpu_started = time.perf_counter(), time.process_time()
                report = import_initiatives(
                    session=session, actor=operator(), data=data, filename="bench.csv"
                )
                timings.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
                assert report.ok and len(report.created) == rows, report.lines()[:5]
                assert session.exec(select(func.count()).select_from(Initiative)).one() == rows
            engine.dispose()
            print(f"run {run + 1}: {timings[-1]:.2f} s (CPU {cpu[-1]:.2f} s)")
    print(
        f"import + validation of {rows:,} rows ({len(data) / 1e6:.1f} MB CSV): "
        f"median {statistics.median(timings):.2f} s (goal <= 10 s); "
        f"median CPU time {statistics.median(cpu):.2f} s"
    )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
