"""Full-text search over 10k published answers and 5k measures (goal: <= 100 ms).

Fills a fresh database (SQLite always; PostgreSQL too when HUB_TEST_POSTGRES_URL names a
server whose user may create databases), then times the public searches exactly as the
public page calls them (answers: 30 best, most asked first; measures: in force), and a
staff "similar questions" lookup. Prints the median of 15 runs per query in ms.

    .venv/bin/python benchmarks/answers_search.py [ANSWERS] [MEASURES]
"""

from __future__ import annotations

import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from answers.directory import list_public_measures
from answers.models import Measure, Question, QuestionState, Topic
from answers.search import fold, search_ids
from answers.service import list_public_answers
from hub.db import make_engine, migrate
from hub.records import utcnow

# A Zipf-like vocabulary, as in real text: frequent function words, the content words
# people search for in the middle ranks, and a long tail of rarer words.
FUNCTION_WORDS = re.findall(
    r"\w+",
    """de a o que e do da em um para com não uma os no se na por mais as dos como mas ao
    ele das seu sua ou quando muito nos já eu também só pelo pela até isso entre depois
    sem mesmo aos seus quem nas me esse eles""",
)
CONTENT_WORDS = re.findall(
    r"[\w-]+",
    """máscara transportes escola apoio família teste saúde vacina farmácia receita lay-off
    empresa trabalho teletrabalho isolamento baixa subsídio creche lar idosos viagem
    fronteira aeroporto comboio autocarro restaurante comércio horário recolher linha
    telefone internet computador aulas exame universidade renda casa crédito moratória
    banco impostos prazo segurança social desemprego formação hospital urgência médico
    enfermeiro consulta sintomas febre tosse quarentena certificado digital aplicação""",
)
VOCABULARY = FUNCTION_WORDS + CONTENT_WORDS + [f"termo{n}" for n in range(4000)]
WEIGHTS = [1 / rank for rank in range(1, len(VOCABULARY) + 1)]
QUERIES = ["máscara transportes", "apoio família", "saúde", "moratória crédito", "vacin"]
RUNS = 15


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(VOCABULARY, WEIGHTS, k=n))


def fill(engine: Engine, answers: int, measures: int) -> None:
    rng = random.Random(8)
    now = utcnow()
    topics = list(Topic)
    question_rows = []
    for n in range(answers):
        public_text = sentence(rng, 12) + "?"
        answer = sentence(rng, 60)
        question_rows.append(
            {
                "state": QuestionState.PUBLISHED,
                "text": public_text,
                "public_text": public_text,
                "topic": rng.choice(topics),
                "authority": rng.choice(["DGS", "SPMS", "INEM", "INSA", "INFARMED"]),
                "answer_text": answer,
                "answered_by": "",
                "source_url": "",
                "answer_version": 1,
                "ask_count": rng.randint(1, 500),
                "useful_count": 0,
                "asked_at": now,
                "published_at": now,
                "reviewed_at": now,
                "search_text": fold(public_text, answer),
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "updated_by": f"benchmark {n}",
            }
        )
    measure_rows = []
    for _ in range(measures):
        title, summary = sentence(rng, 6), sentence(rng, 50)
        measure_rows.append(
            {
                "area": rng.choice(topics),
                "title": title,
                "summary": summary,
                "audience": sentence(rng, 4),
                "in_force_from": date(2020, 3, 1),
                "in_force_to": None,
                "legal_reference": "",
                "legal_link": "",
                "documents": "",
                "published": True,
                "search_text": fold(title, summary),
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "updated_by": "benchmark",
            }
        )
    with Session(engine) as session:
        for start in range(0, len(question_rows), 2000):
            session.execute(insert(Question), question_rows[start : start + 2000])
        for start in range(0, len(measure_rows), 2000):
            session.execute(insert(Measure), measure_rows[start : start + 2000])
        session.commit()
        if engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE question"))
            session.execute(text("ANALYZE measure"))
            session.commit()


def median_ms(engine: Engine, call: Callable[[Session], object]) -> float:
    timings = []
    for _ in range(RUNS):
        with Session(engine) as session:
            started = time.perf_counter()
            call(session)
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def run(label: str, engine: Engine, answers: int, measures: int) -> None:
    migrate(engine)
    started = time.perf_counter()
    fill(engine, answers, measures)
    print(
        f"{label}: filled {answers} answers + {measures} measures in "
        f"{time.perf_counter() - started:.1f} s"
    )
    worst = 0.0
    for query in QUERIES:
        a = median_ms(engine, lambda s, q=query: list_public_answers(session=s, text=q, limit=30))
        m = median_ms(engine, lambda s, q=query: list_public_measures(session=s, text=q, limit=30))
        both = median_ms(
            engine,
            lambda s, q=query: (
                list_public_answers(session=s, text=q, limit=30),
                list_public_measures(session=s, text=q, limit=30),
            ),
        )
        worst = max(worst, both)
        print(f"  {query!r:24} answers {a:6.1f} ms  measures {m:6.1f} ms  both {both:6.1f} ms")
    similar = median_ms(
        engine,
        lambda s: search_ids(
            session=s,
            table="question",
            query=sentence(random.Random(1), 12),
            any_word=True,
            limit=5,
        ),
    )
    print(f"  similar questions (staff, any word)    {similar:6.1f} ms")
    print(f"  {label} worst median (answers + measures): {worst:.1f} ms (goal <= 100 ms)")


def main() -> None:
    answers = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    measures = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        run("SQLite", engine, answers, measures)
        engine.dispose()
    admin_url = os.environ.get("HUB_TEST_POSTGRES_URL", "").strip()
    if not admin_url:
        print("PostgreSQL: skipped (set HUB_TEST_POSTGRES_URL to include it)")
        return
    name = f"hub_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        run("PostgreSQL", engine, answers, measures)
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
