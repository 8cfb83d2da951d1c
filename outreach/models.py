"""Tables of the offline channels: SMS conversations and counts, subscriptions.

Personal data is kept apart and short: an SMS conversation (the pages still to send
after "MAIS") is keyed by a keyed hash of the sender and deleted after a day; the counts
staff see hold a keyword, an area and a number, never a text or a sender. Addresses are
stored only for a subscription the person asked for (and, for e-mail, confirmed), in
this table alone: nothing public reads it and no export includes it.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.records import UTCDateTime, enum_type, utcnow


class SubscriptionChannel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"


class SubscriptionState(enum.StrEnum):
    PENDING = "pending"  # e-mail not confirmed yet (deleted after 7 days)
    ACTIVE = "active"


class SubscriptionTopic(enum.StrEnum):
    ALL = "all"
    OFFERS = "offers"  # support offers (initiatives) reaching the area
    MEASURES = "measures"  # measures in force


class Subscription(SQLModel, table=True):
    __tablename__ = "outreach_subscription"
    __table_args__ = (UniqueConstraint("channel", "address_hash", "area_code", "topic"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: SubscriptionChannel = Field(sa_type=enum_type(SubscriptionChannel))
    address: str = Field(max_length=254)  # e-mail or phone number: never public, never exported
    address_hash: str = Field(max_length=64, index=True)  # keyed hash, for lookups
    area_code: str = Field(max_length=32, index=True)
    topic: SubscriptionTopic = Field(
        default=SubscriptionTopic.ALL, sa_type=enum_type(SubscriptionTopic)
    )
    language: str = Field(default="pt", max_length=2)
    state: SubscriptionState = Field(
        default=SubscriptionState.PENDING, sa_type=enum_type(SubscriptionState), index=True
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What the last digest covered up to: the next one lists what changed after it.
    covered_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Sent or confirmed last: a subscription silent for a year is deleted.
    last_activity_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class DigestSent(SQLModel, table=True):
    """One row per subscription and digest: a digest is enqueued at most once per
    address, whatever runs twice (its primary key refuses the second)."""

    __tablename__ = "outreach_digest_sent"

    subscription_id: int = Field(
        foreign_key="outreach_subscription.id", primary_key=True, ondelete="CASCADE"
    )
    digest: str = Field(max_length=40, primary_key=True)  # "2026-12-02" or "urgent:<key>"
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SmsConversation(SQLModel, table=True):
    """The pages of a long reply still to send (MAIS), for a day at most."""

    __tablename__ = "outreach_sms_conversation"

    sender_hash: str = Field(max_length=64, primary_key=True)
    language: str = Field(default="pt", max_length=2)
    pages: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class SmsCount(SQLModel, table=True):
    """How many messages asked for what, where, per day: what staff see."""

    __tablename__ = "outreach_sms_count"

    day: date = Field(primary_key=True)
    keyword: str = Field(max_length=20, primary_key=True)
    area_code: str = Field(default="", max_length=32, primary_key=True)
    count: int = 0
