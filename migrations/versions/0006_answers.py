"""answers: questions and official answers, measures in force, contacts directory

Revision ID: 0006_answers
Revises: 0001
Create Date: 2026-11-22

A branch of its own (``hub.db.migrate`` upgrades every head). A measure links to the
initiatives that carry it out by id without a foreign key, so this branch does not
depend on the registry branch (0002) being applied first; the service checks the ids.

Full-text search is dialect-specific and lives outside the SQLModel metadata
(answers/search.py lists the names, which the drift check skips):

- SQLite: FTS5 tables ``question_fts`` and ``measure_fts`` over the ``search_text``
  column (external content, no second copy of the text), kept in step by triggers.
  A later batch migration that rebuilds ``question`` or ``measure`` must recreate
  these triggers.
- PostgreSQL: a generated ``tsvector`` column ``search_vector`` ('simple'
  configuration: the text is already folded in Python) with a GIN index.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006_answers'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCHABLE = ('question', 'measure')


def _create_search() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in SEARCHABLE:
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
                f"GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED"
            )
            op.execute(f"CREATE INDEX ix_{table}_search ON {table} USING gin (search_vector)")
        return
    for table in SEARCHABLE:
        fts = f"{table}_fts"
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(search_text, content='{table}', "
            f"content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, search_text) "
            f"VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF search_text ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, search_text) "
            f"VALUES ('delete', old.id, old.search_text); "
            f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END"
        )


def _drop_search() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        return  # the column and index go with their tables
    for table in SEARCHABLE:
        fts = f"{table}_fts"
        for suffix in ('insert', 'delete', 'update'):
            op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {fts}")


def upgrade() -> None:
    op.create_table('contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('web', sa.String(length=500), nullable=False),
    sa.Column('opening_hours', sa.String(length=200), nullable=False),
    sa.Column('languages', sa.String(length=200), nullable=False),
    sa.Column('audience', sa.String(length=300), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=False),
    sa.Column('last_verified', sa.Date(), nullable=True),
    sa.Column('emergency', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_contact_published'), 'contact', ['published'], unique=False)
    op.create_index(op.f('ix_contact_updated_at'), 'contact', ['updated_at'], unique=False)
    op.create_table('measure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area', sa.Enum('health', 'labour_social_security', 'education', 'economy', 'justice', 'internal_administration', 'transport', 'digital', 'culture', 'other', name='topic', native_enum=False, length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('audience', sa.String(length=300), nullable=False),
    sa.Column('in_force_from', sa.Date(), nullable=True),
    sa.Column('in_force_to', sa.Date(), nullable=True),
    sa.Column('legal_reference', sa.String(length=300), nullable=False),
    sa.Column('legal_link', sa.String(length=500), nullable=False),
    sa.Column('documents', sa.Text(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_measure_area'), 'measure', ['area'], unique=False)
    op.create_index(op.f('ix_measure_published'), 'measure', ['published'], unique=False)
    op.create_index(op.f('ix_measure_updated_at'), 'measure', ['updated_at'], unique=False)
    op.create_table('question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('received', 'triaged', 'published', 'merged', 'rejected', name='questionstate', native_enum=False, length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('public_text', sa.Text(), nullable=False),
    sa.Column('topic', sa.Enum('health', 'labour_social_security', 'education', 'economy', 'justice', 'internal_administration', 'transport', 'digital', 'culture', 'other', name='topic', native_enum=False, length=32), nullable=True),
    sa.Column('authority', sa.String(length=120), nullable=False),
    sa.Column('answer_text', sa.Text(), nullable=False),
    sa.Column('answered_by', sa.String(length=200), nullable=False),
    sa.Column('source_url', sa.String(length=500), nullable=False),
    sa.Column('answer_version', sa.Integer(), nullable=False),
    sa.Column('ask_count', sa.Integer(), nullable=False),
    sa.Column('useful_count', sa.Integer(), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['merged_into_id'], ['question.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_question_merged_into_id'), 'question', ['merged_into_id'], unique=False)
    op.create_index(op.f('ix_question_state'), 'question', ['state'], unique=False)
    op.create_index('ix_question_state_asks', 'question', ['state', 'ask_count'], unique=False)
    op.create_index('ix_question_state_reviewed', 'question', ['state', 'reviewed_at'], unique=False)
    op.create_index(op.f('ix_question_topic'), 'question', ['topic'], unique=False)
    op.create_index(op.f('ix_question_updated_at'), 'question', ['updated_at'], unique=False)
    op.create_table('rate_bucket',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('tokens', sa.Float(), nullable=False),
    sa.Column('stamp', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_index(op.f('ix_rate_bucket_stamp'), 'rate_bucket', ['stamp'], unique=False)
    op.create_table('answer_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('answer_text', sa.Text(), nullable=False),
    sa.Column('authority', sa.String(length=120), nullable=False),
    sa.Column('answered_by', sa.String(length=200), nullable=False),
    sa.Column('source_url', sa.String(length=500), nullable=False),
    sa.Column('written_by', sa.String(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('question_id', 'number')
    )
    op.create_index(op.f('ix_answer_version_question_id'), 'answer_version', ['question_id'], unique=False)
    op.create_table('question_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_question_contact_question_id'), 'question_contact', ['question_id'], unique=False)
    op.create_table('measure_initiative',
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('measure_id', 'initiative_id')
    )
    op.create_index(op.f('ix_measure_initiative_initiative_id'), 'measure_initiative', ['initiative_id'], unique=False)
    _create_search()


def downgrade() -> None:
    _drop_search()
    op.drop_index(op.f('ix_measure_initiative_initiative_id'), table_name='measure_initiative')
    op.drop_table('measure_initiative')
    op.drop_index(op.f('ix_question_contact_question_id'), table_name='question_contact')
    op.drop_table('question_contact')
    op.drop_index(op.f('ix_answer_version_question_id'), table_name='answer_version')
    op.drop_table('answer_version')
    op.drop_index(op.f('ix_rate_bucket_stamp'), table_name='rate_bucket')
    op.drop_table('rate_bucket')
    op.drop_index(op.f('ix_question_updated_at'), table_name='question')
    op.drop_index(op.f('ix_question_topic'), table_name='question')
    op.drop_index('ix_question_state_reviewed', table_name='question')
    op.drop_index('ix_question_state_asks', table_name='question')
    op.drop_index(op.f('ix_question_state'), table_name='question')
    op.drop_index(op.f('ix_question_merged_into_id'), table_name='question')
    op.drop_table('question')
    op.drop_index(op.f('ix_measure_updated_at'), table_name='measure')
    op.drop_index(op.f('ix_measure_published'), table_name='measure')
    op.drop_index(op.f('ix_measure_area'), table_name='measure')
    op.drop_table('measure')
    op.drop_index(op.f('ix_contact_updated_at'), table_name='contact')
    op.drop_index(op.f('ix_contact_published'), table_name='contact')
    op.drop_table('contact')
