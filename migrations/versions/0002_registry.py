"""registry: initiatives, their areas, target groups, channels, participants, versions,
notifications, and the configurable vocabularies (seeded with the defaults).

Revision ID: 0002_registry
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002_registry'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('vocabulary_term',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('category', 'target_group', name='vocabularykind', native_enum=False, length=32), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label_en', sa.String(length=120), nullable=False),
    sa.Column('label_pt', sa.String(length=120), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'code')
    )
    op.create_table('initiative',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('lead_organisation_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('is_national', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('planned', 'active', 'completed', 'cancelled', 'suspended', name='status', native_enum=False, length=32), nullable=False),
    sa.Column('review_state', sa.Enum('draft', 'submitted', 'published', 'changes_requested', 'rejected', 'withdrawn', name='reviewstate', native_enum=False, length=32), nullable=False),
    sa.Column('planned_start', sa.Date(), nullable=True),
    sa.Column('planned_end', sa.Date(), nullable=True),
    sa.Column('actual_start', sa.Date(), nullable=True),
    sa.Column('actual_end', sa.Date(), nullable=True),
    sa.Column('people_targeted', sa.Integer(), nullable=True),
    sa.Column('people_reached', sa.Integer(), nullable=True),
    sa.Column('cost', sa.Enum('free', 'discounted', 'paid', name='cost', native_enum=False, length=32), nullable=True),
    sa.Column('link', sa.String(length=500), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('last_confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pending_changes', sa.JSON(), nullable=True),
    sa.Column('pending_submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['lead_organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_initiative_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_initiative_code'), ['code'], unique=True)
        batch_op.create_index(batch_op.f('ix_initiative_is_national'), ['is_national'], unique=False)
        batch_op.create_index(batch_op.f('ix_initiative_last_confirmed_at'), ['last_confirmed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_initiative_lead_organisation_id'), ['lead_organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_initiative_planned_end'), ['planned_end'], unique=False)
        batch_op.create_index(batch_op.f('ix_initiative_planned_start'), ['planned_start'], unique=False)
        batch_op.create_index('ix_initiative_queue', ['review_state', 'submitted_at'], unique=False)
        batch_op.create_index('ix_initiative_freshness', ['status', 'planned_end', 'last_confirmed_at'], unique=False)
        batch_op.create_index('ix_initiative_title', ['title'], unique=False)
        batch_op.create_index('ix_initiative_review_lead', ['review_state', 'lead_organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_initiative_review_state'), ['review_state'], unique=False)
        batch_op.create_index(batch_op.f('ix_initiative_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_initiative_updated_at'), ['updated_at'], unique=False)

    op.create_table('initiative_area',
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('initiative_id', 'area_code')
    )
    with op.batch_alter_table('initiative_area', schema=None) as batch_op:
        batch_op.create_index('ix_initiative_area_code', ['area_code', 'initiative_id'], unique=False)

    op.create_table('initiative_channel',
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('online', 'phone', 'in_person', 'sms', 'broadcast', name='channel', native_enum=False, length=32), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('initiative_id', 'channel')
    )
    with op.batch_alter_table('initiative_channel', schema=None) as batch_op:
        batch_op.create_index('ix_initiative_channel_channel', ['channel', 'initiative_id'], unique=False)

    op.create_table('initiative_participant',
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('lead', 'implementing', 'funding', name='participantrole', native_enum=False, length=32), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('initiative_id', 'organisation_id')
    )
    with op.batch_alter_table('initiative_participant', schema=None) as batch_op:
        batch_op.create_index('ix_initiative_participant_org', ['organisation_id', 'initiative_id'], unique=False)

    op.create_table('initiative_target_group',
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('initiative_id', 'code')
    )
    with op.batch_alter_table('initiative_target_group', schema=None) as batch_op:
        batch_op.create_index('ix_initiative_target_group_code', ['code', 'initiative_id'], unique=False)

    op.create_table('initiative_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('review_state', sa.Enum('draft', 'submitted', 'published', 'changes_requested', 'rejected', 'withdrawn', name='reviewstate', native_enum=False, length=32), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('actor_label', sa.String(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('initiative_id', 'number')
    )
    with op.batch_alter_table('initiative_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_initiative_version_initiative_id'), ['initiative_id'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_initiative_id'), ['initiative_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_organisation_id'), ['organisation_id'], unique=False)

    _seed_vocabulary()


CATEGORIES = [
    ("connectivity", "Connectivity", "Conectividade"),
    ("health", "Health", "Saúde"),
    ("education", "Education", "Educação"),
    ("telework", "Telework", "Teletrabalho"),
    ("e_services", "E-services", "Serviços digitais"),
    ("communications_packages", "Communications packages", "Pacotes de comunicações"),
    ("information", "Information", "Informação"),
    ("other", "Other", "Outra"),
]
TARGET_GROUPS = [
    ("health_professionals", "Health professionals", "Profissionais de saúde"),
    ("students_teachers", "Students and teachers", "Alunos e professores"),
    ("businesses", "Businesses", "Empresas"),
    ("citizens", "Citizens", "Cidadãos"),
    ("elderly", "Elderly people", "Pessoas idosas"),
    ("vulnerable_households", "Vulnerable households", "Famílias vulneráveis"),
    ("public_servants", "Public servants", "Trabalhadores da administração pública"),
]


def _seed_vocabulary() -> None:
    table = sa.table(
        "vocabulary_term",
        sa.column("kind", sa.String), sa.column("code", sa.String),
        sa.column("label_en", sa.String), sa.column("label_pt", sa.String),
        sa.column("position", sa.Integer), sa.column("active", sa.Boolean),
    )
    rows = [
        {"kind": kind, "code": code, "label_en": en, "label_pt": pt, "position": n, "active": True}
        for kind, terms in (("category", CATEGORIES), ("target_group", TARGET_GROUPS))
        for n, (code, en, pt) in enumerate(terms, start=1)
    ]
    op.bulk_insert(table, rows)


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_notification_initiative_id'))
        batch_op.drop_index(batch_op.f('ix_notification_created_at'))

    op.drop_table('notification')
    with op.batch_alter_table('initiative_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_initiative_version_initiative_id'))

    op.drop_table('initiative_version')
    with op.batch_alter_table('initiative_target_group', schema=None) as batch_op:
        batch_op.drop_index('ix_initiative_target_group_code')

    op.drop_table('initiative_target_group')
    with op.batch_alter_table('initiative_participant', schema=None) as batch_op:
        batch_op.drop_index('ix_initiative_participant_org')

    op.drop_table('initiative_participant')
    with op.batch_alter_table('initiative_channel', schema=None) as batch_op:
        batch_op.drop_index('ix_initiative_channel_channel')

    op.drop_table('initiative_channel')
    with op.batch_alter_table('initiative_area', schema=None) as batch_op:
        batch_op.drop_index('ix_initiative_area_code')

    op.drop_table('initiative_area')
    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_initiative_updated_at'))
        batch_op.drop_index(batch_op.f('ix_initiative_status'))
        batch_op.drop_index(batch_op.f('ix_initiative_review_state'))
        batch_op.drop_index('ix_initiative_review_lead')
        batch_op.drop_index('ix_initiative_title')
        batch_op.drop_index('ix_initiative_freshness')
        batch_op.drop_index('ix_initiative_queue')
        batch_op.drop_index(batch_op.f('ix_initiative_planned_start'))
        batch_op.drop_index(batch_op.f('ix_initiative_planned_end'))
        batch_op.drop_index(batch_op.f('ix_initiative_lead_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_initiative_last_confirmed_at'))
        batch_op.drop_index(batch_op.f('ix_initiative_is_national'))
        batch_op.drop_index(batch_op.f('ix_initiative_code'))
        batch_op.drop_index(batch_op.f('ix_initiative_category'))

    op.drop_table('initiative')
    op.drop_table('vocabulary_term')
