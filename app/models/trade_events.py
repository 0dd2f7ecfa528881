"""Trade events: fairs, buyer-seller meets and missions an agency announces to its officers
(the dashboard's panel). Kept in the central store (revision 0012_officers_day),
written by the agency's administrators, read by its officers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow

MAX_TITLE = 200
MAX_PLACE = 200
MAX_NOTE = 2000


class TradeEvent(Base):
    """One event: a title, its first and last day (India dates), a place and a note."""

    __tablename__ = "trade_events"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        Index("ix_trade_events_agency_starts", "agency_id", "starts_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    place: Mapped[str] = mapped_column(String(MAX_PLACE), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
