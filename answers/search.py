"""Full-text search over questions and measures, in the database.

SQLite: FTS5 tables ``question_fts`` / ``measure_fts`` with external content (the
``search_text`` column), kept in step by triggers. PostgreSQL: a generated ``tsvector``
column ``search_vector`` with a GIN index. Both are created by the 0006 migration and
are not in the SQLModel metadata, so the migration drift check skips them
(``database_only``).

Text is folded in Python before it is stored and before it is searched (lower case,
accents removed), so "saúde" finds "Saude" on both databases, and the words of a
query are reduced to letters and digits before they reach MATCH / to_tsquery: a query
cannot inject search operators.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlmodel import Session

from hub.text import fold, stem_words

# Objects the migration creates that the models do not describe (FTS tables and their
# shadow tables, generated columns, indexes and triggers).
DATABASE_ONLY_PREFIXES = ("question_fts", "measure_fts")
DATABASE_ONLY_NAMES = frozenset(
    # ix_initiative_search_pt: the PostgreSQL `portuguese` expression index of the public
    # initiative search (migration 0008_public_search).
    {"search_vector", "ix_question_search", "ix_measure_search", "ix_initiative_search_pt"}
)

_WORD = re.compile(r"[a-z0-9]+")
MAX_WORDS = 12
# Words too common to help find a similar question.
_COMMON = frozenset(
    re.findall(
        r"\w+",
        """a ao as com como da das de do dos e em eu na nas no nos o os ou para pela pelo por
        posso pode que se sem sou um uma the and for can i is of to what how do my""",
    )
)


def database_only(name: str | None) -> bool:
    return bool(name) and (
        str(name).startswith(DATABASE_ONLY_PREFIXES) or name in DATABASE_ONLY_NAMES
    )


def words(query: str) -> list[str]:
    found: list[str] = []
    for word in _WORD.findall(fold(query)):
        if word not in found:
            found.append(word)
    return found[:MAX_WORDS]


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _match(session: Session, terms: list[str], *, any_word: bool, stemmed: bool = False) -> str:
    """Whole words, except the last, which may be unfinished ("vacin" finds "vacina"):
    a prefix on every word costs far more for little gain. ``stemmed``: every term is a
    Portuguese stem and a prefix ("idos" finds "idosas" and "idosos"), stems shorter
    than three letters whole words."""
    postgres = _is_postgres(session)
    parts = []
    for n, word in enumerate(terms):
        last = (n == len(terms) - 1 and not any_word) or (stemmed and len(word) >= 3)
        parts.append((f"{word}:*" if last else word) if postgres else f'"{word}"' + "*" * last)
    if postgres:
        return (" | " if any_word else " & ").join(parts)
    return (" OR " if any_word else " ").join(parts)


def search_ids(
    *,
    session: Session,
    table: str,
    query: str,
    where: str = "",
    limit: int = 50,
    any_word: bool = False,
    exclude_id: int | None = None,
    order: str = "rank",
    stemmed: bool = False,
) -> list[int]:
    """Ids of rows of ``table`` ("question" or "measure") matching ``query``.

    ``where`` is a fixed SQL condition on the table (aliased ``t``), written by us,
    never from input. ``order`` is "rank" (best match first) or a fixed column list.
    """
    assert table in {"question", "measure"}
    terms = words(query) if not any_word else [w for w in words(query) if w not in _COMMON]
    if stemmed:  # Portuguese as people type it: "idosos" finds "pessoas idosas"
        terms = list(dict.fromkeys(stem_words(" ".join(terms))))
    if not terms:
        return []
    params: dict[str, object] = {
        "q": _match(session, terms, any_word=any_word, stemmed=stemmed),
        "n": limit,
    }
    conditions = [where] if where else []
    if exclude_id is not None:
        conditions.append("t.id <> :exclude")
        params["exclude"] = exclude_id
    extra = "".join(f" AND {c}" for c in conditions)
    if _is_postgres(session):
        rank = "ts_rank(t.search_vector, to_tsquery('simple', :q)) DESC"
        sql = (
            f"SELECT t.id FROM {table} t WHERE t.search_vector @@ to_tsquery('simple', :q)"  # noqa: S608 - fixed names
            f"{extra} ORDER BY {rank if order == 'rank' else order} LIMIT :n"
        )
    elif order == "rank":
        sql = (
            f"SELECT t.id FROM {table}_fts JOIN {table} t ON t.id = {table}_fts.rowid "  # noqa: S608 - fixed names
            f"WHERE {table}_fts MATCH :q{extra} ORDER BY {table}_fts.rank LIMIT :n"
        )
    else:
        # The matching ids as a subquery: SQLite then sorts the matches by ``order``
        # instead of probing the FTS index once per row of the table (measured 20x).
        sql = (
            f"SELECT t.id FROM {table} t WHERE t.id IN "  # noqa: S608 - fixed names
            f"(SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH :q){extra} "
            f"ORDER BY {order} LIMIT :n"
        )
    return [int(row[0]) for row in session.execute(text(sql), params)]


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic ``include_name`` hook (migrations/env.py and the drift test): skip the
    full-text search objects the 0006 migration creates with raw DDL, so autogenerate
    neither offers to drop them nor reports them as drift."""
    return not database_only(name)
