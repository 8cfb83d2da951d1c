"""overlaps: staff decisions on candidate pairs, links between initiatives (joint effort,
merge) and partners' notes on the similar initiatives they were shown.

Revision ID: 0005_overlaps
Revises: 0002_registry
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005_overlaps'
down_revision: str | None = '0002_registry'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('initiative_link',
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('other_initiative_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('joint', 'merged', 'related', name='linkkind', native_enum=False, length=32), nullable=False),
    sa.Column('created_by', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['other_initiative_id'], ['initiative.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('initiative_id', 'other_initiative_id')
    )
    with op.batch_alter_table('initiative_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_initiative_link_other_initiative_id'), ['other_initiative_id'], unique=False)

    op.create_table('overlap_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('initiative_a_id', sa.Integer(), nullable=False),
    sa.Column('initiative_b_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.Enum('duplicate', 'joint', 'complementary', 'unrelated', name='decision', native_enum=False, length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('fingerprint_a', sa.String(length=64), nullable=False),
    sa.Column('fingerprint_b', sa.String(length=64), nullable=False),
    sa.Column('decided_by', sa.String(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['initiative_a_id'], ['initiative.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['initiative_b_id'], ['initiative.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('initiative_a_id', 'initiative_b_id')
    )
    with op.batch_alter_table('overlap_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_overlap_decision_initiative_a_id'), ['initiative_a_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_overlap_decision_initiative_b_id'), ['initiative_b_id'], unique=False)

    op.create_table('overlap_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('other_initiative_id', sa.Integer(), nullable=False),
    sa.Column('related', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('author', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['other_initiative_id'], ['initiative.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('overlap_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_overlap_note_initiative_id'), ['initiative_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_overlap_note_other_initiative_id'), ['other_initiative_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('overlap_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_overlap_note_other_initiative_id'))
        batch_op.drop_index(batch_op.f('ix_overlap_note_initiative_id'))

    op.drop_table('overlap_note')
    with op.batch_alter_table('overlap_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_overlap_decision_initiative_b_id'))
        batch_op.drop_index(batch_op.f('ix_overlap_decision_initiative_a_id'))

    op.drop_table('overlap_decision')
    with op.batch_alter_table('initiative_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_initiative_link_other_initiative_id'))

    op.drop_table('initiative_link')
