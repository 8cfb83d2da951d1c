"""The staff registry list at 100k initiatives: first page of ``search_registry``.

Inserts 100k initiatives (with areas, target groups, channels and participants) into a
temporary SQLite database with bulk INSERTs, then times the first page (50 rows, with
the total) for several filter combinations. Prints the median of 5 runs per combination
in milliseconds (goal: <= 300 ms).

    .venv/bin/python benchmarks/registry_list.py [INITIATIVES]
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert
from sqlmodel import Session, select

from geo.areas import load_reference_areas
from geo.models import Area, AreaLevel
from hub.auth import SYSTEM_EMAIL, Principal, Role
from hub.db import make_engine, migrate
from hub.records import utcnow
from hub.text import fold
from initiatives.models import (
    Initiative,
    InitiativeArea,
    InitiativeChannel,
    InitiativeParticipant,
    InitiativeTargetGroup,
    ReviewState,
    Status,
)
from initiatives.queries import RegistryFilter, search_registry
from partners.models import Organisation

CATEGORIES = ["connectivity", "health", "education", "telework", "e_services", "information"]
GROUPS = ["health_professionals", "students_teachers", "businesses", "citizens", "elderly"]
CHANNELS = ["online", "phone", "in_person", "sms", "broadcast"]
WORDS = [
    *("dados", "móveis", "grátis", "escolas", "tablets", "saúde", "apoio", "linha"),
    *("telefone", "idosos", "famílias", "internet", "fibra", "computadores"),
    *("professores", "médicos", "enfermeiros", "teletrabalho", "licenças"),
]
RUNS = 5


def staff() -> Principal:
    return Principal(
        account_id=0,
        email=SYSTEM_EMAIL,
        display_name="benchmark",
        role=Role.ADMIN,
        organisation_id=None,
        signed_in_at=utcnow(),
    )


def populate(session: Session, count: int) -> tuple[list[str], list[str]]:
    rng = random.Random(5)
    load_reference_areas(session=session)
    organisations = [Organisation(name=f"Organisation {n}", acronym=f"O{n}") for n in range(200)]
    session.add_all(organisations)
    session.commit()
    org_ids = [o.id for o in organisations if o.id is not None]
    districts = [a.code for a in session.exec(select(Area).where(Area.level == AreaLevel.DISTRICT))]
    municipalities = [
        a.code for a in session.exec(select(Area).where(Area.level == AreaLevel.MUNICIPALITY))
    ]
    now = utcnow()
    states = list(ReviewState)
    statuses = list(Status)
    rows, areas, groups, channels, participants = [], [], [], [], []
    for n in range(1, count + 1):
        title = " ".join(rng.choices(WORDS, k=5)).capitalize() + f" {n}"
        description = " ".join(rng.choices(WORDS, k=30))
        start = date(2020, 1, 1) + timedelta(days=rng.randrange(500))
        lead = rng.choice(org_ids)
        rows.append(
            {
                "id": n,
                "code": f"INI-{n:06d}",
                "title": title,
                "description": description,
                "lead_organisation_id": lead,
                "category": rng.choice(CATEGORIES),
                "is_national": n % 10 == 0,
                "status": rng.choice(statuses),
                "review_state": rng.choice(states),
                "planned_start": start,
                "planned_end": start + timedelta(days=rng.randrange(10, 300)),
                "people_targeted": rng.randrange(10, 100_000),
                "people_reached": rng.randrange(0, 50_000),
                "link": "",
                "contact_email": "",
                "search_text": fold(title, description, f"Organisation {lead}"),
                "last_confirmed_at": now - timedelta(days=rng.randrange(90)),
                "review_note": "",
                "version": 1,
                "created_at": now,
                "updated_at": now - timedelta(minutes=rng.randrange(500_000)),
                "updated_by": "benchmark",
            }
        )
        picked = {rng.choice(districts), *rng.sample(municipalities, 2)}
        areas.extend({"initiative_id": n, "area_code": a} for a in picked)
        groups.extend({"initiative_id": n, "code": g} for g in rng.sample(GROUPS, 2))
        channels.extend({"initiative_id": n, "channel": c} for c in rng.sample(CHANNELS, 2))
        if n % 4 == 0:
            partner = rng.choice(org_ids)
            if partner != lead:
                participants.append(
                    {"initiative_id": n, "organisation_id": partner, "role": "funding"}
                )
    for model, values in (
        (Initiative, rows),
        (InitiativeArea, areas),
        (InitiativeTargetGroup, groups),
        (InitiativeChannel, channels),
        (InitiativeParticipant, participants),
    ):
        session.execute(insert(model.__table__), values)  # type: ignore[attr-defined]
    session.commit()
    session.exec(select(Initiative.id).limit(1)).all()
    session.connection().exec_driver_sql("ANALYZE")
    session.commit()
    return districts, municipalities


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'list.db'}")
        migrate(engine)
        with Session(engine) as session:
            started = time.perf_counter()
            districts, municipalities = populate(session, count)
            print(f"inserted {count:,} initiatives in {time.perf_counter() - started:.1f} s")
        actor = staff()
        combos = {
            "no filter": RegistryFilter(),
            "category": RegistryFilter(category="health"),
            "area (district)": RegistryFilter(area=districts[0]),
            "area (municipality)": RegistryFilter(area=municipalities[0]),
            "text 'tablets escolas'": RegistryFilter(text="tablets escolas"),
            "stale_only": RegistryFilter(stale_only=True),
            "sort by title": RegistryFilter(sort="title", descending=False),
            "category+area+status": RegistryFilter(
                category="education", area=districts[1], status=Status.ACTIVE
            ),
            "review_state=submitted": RegistryFilter(review_state=ReviewState.SUBMITTED),
            "target group+channel": RegistryFilter(
                target_group="elderly",
                channel=CHANNELS[1],  # type: ignore[arg-type]
            ),
        }
        print(f"first page (50 rows + total) of {count:,}, median of {RUNS} runs:")
        worst = 0.0
        for name, filters in combos.items():
            timings = []
            for _run in range(RUNS):
                with Session(engine) as session:
                    started = time.perf_counter()
                    page, total = search_registry(
                        session=session, actor=actor, filters=filters, limit=50
                    )
                    timings.append((time.perf_counter() - started) * 1000)
            median = statistics.median(timings)
            worst = max(worst, median)
            print(f"  {name:<26} {median:8.1f} ms   ({total:,} match, {len(page)} shown)")
        print(f"slowest median: {worst:.1f} ms (goal <= 300 ms)")
        print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        engine.dispose()


if __name__ == "__main__":
    main()
