"""feeds: sources, fetch state, items

Revision ID: 0003_feeds
Revises: 0001
Create Date: 2026-11-22

A branch of its own (``hub.db.migrate`` upgrades every head). Source names are unique
whatever their case; an item is unique per (source, identity key), which makes a
repeated poll harmless and keeps removed items as tombstones.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003_feeds'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('feed_source',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('publisher', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('topics', sa.String(length=500), nullable=False),
    sa.Column('trust', sa.Enum('trusted', 'allowed', 'unverified', 'blocked', name='trusttier', native_enum=False, length=32), nullable=False),
    sa.Column('interval_minutes', sa.Integer(), nullable=False),
    sa.Column('attribution', sa.String(length=500), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('uq_feed_source_name_lower', 'feed_source', [sa.text('lower(name)')], unique=True)

    op.create_table('feed_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('guid', sa.String(length=1000), nullable=False),
    sa.Column('title', sa.String(length=1000), nullable=False),
    sa.Column('link', sa.String(length=2000), nullable=False),
    sa.Column('summary_html', sa.String(), nullable=False),
    sa.Column('author', sa.String(length=300), nullable=False),
    sa.Column('image_url', sa.String(length=2000), nullable=False),
    sa.Column('enclosures', sa.JSON(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('revisions', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'published', 'hidden', 'removed', name='itemstatus', native_enum=False, length=32), nullable=False),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('link_key', sa.String(length=64), nullable=False),
    sa.Column('title_key', sa.String(length=64), nullable=False),
    sa.Column('story_key', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['feed_source.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_id', 'key', name='uq_feed_item_source_key')
    )
    with op.batch_alter_table('feed_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feed_item_first_seen_at'), ['first_seen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feed_item_link_key'), ['link_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_feed_item_source_id'), ['source_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feed_item_story_key'), ['story_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_feed_item_title_key'), ['title_key'], unique=False)

    op.create_table('feed_state',
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('etag', sa.String(length=500), nullable=False),
    sa.Column('last_modified', sa.String(length=100), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Enum('never', 'ok', 'not_modified', 'warning', 'error', name='outcome', native_enum=False, length=32), nullable=False),
    sa.Column('problem', sa.String(length=40), nullable=False),
    sa.Column('problem_detail', sa.String(length=500), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('next_poll_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('moved_to', sa.String(length=1000), nullable=False),
    sa.Column('lease_owner', sa.String(length=120), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['source_id'], ['feed_source.id'], ),
    sa.PrimaryKeyConstraint('source_id')
    )
    with op.batch_alter_table('feed_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feed_state_next_poll_at'), ['next_poll_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('feed_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_state_next_poll_at'))

    op.drop_table('feed_state')
    with op.batch_alter_table('feed_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_item_title_key'))
        batch_op.drop_index(batch_op.f('ix_feed_item_story_key'))
        batch_op.drop_index(batch_op.f('ix_feed_item_source_id'))
        batch_op.drop_index(batch_op.f('ix_feed_item_link_key'))
        batch_op.drop_index(batch_op.f('ix_feed_item_first_seen_at'))

    op.drop_table('feed_item')
    op.drop_index('uq_feed_source_name_lower', table_name='feed_source')
    op.drop_table('feed_source')
