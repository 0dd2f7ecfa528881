"""Agencies, their offices, and their users (administrators and issuing officers)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

import app.models.trade_events  # noqa: F401 - registers its table with the others
from app.models.base import Base, utcnow
from app.models.enums import Role, UserStatus

DEFAULT_OVERDUE_LIMIT_HOURS = 48
MAX_OVERDUE_LIMIT_HOURS = 24 * 30

officer_offices = Table(
    "officer_offices",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("office_id", ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True),
)


class Agency(Base):
    """An issuing agency: a chamber of commerce, export promotion council or government body."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email_domains: Mapped[list[str]] = mapped_column(JSON, default=list)

    offices: Mapped[list[Office]] = relationship(back_populates="agency")
    users: Mapped[list[User]] = relationship(back_populates="agency")


class Office(Base):
    """A regional office of an agency; certificates are issued in its name and with its stamp."""

    __tablename__ = "offices"
    __table_args__ = (
        UniqueConstraint("agency_id", "code"),
        CheckConstraint(f"overdue_limit_hours BETWEEN 1 AND {MAX_OVERDUE_LIMIT_HOURS}",
                        name="overdue_limit_hours_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(500), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    ewallet_enabled: Mapped[bool] = mapped_column(default=True)
    # payment gateway secrets: deferred, so that loading an office does not select them (an
    # officer's login may not read them on PostgreSQL; an administrator's access loads them)
    merchant_id: Mapped[str] = mapped_column(String(64), default="", deferred=True)
    checksum_key: Mapped[str] = mapped_column(String(128), default="", deferred=True)
    stamp_png: Mapped[bytes | None] = mapped_column(default=None)
    # an application waiting on the office longer than this is flagged overdue (0012);
    # a server default only, so that the demo's seed (revision 0001's tables) omits it
    overdue_limit_hours: Mapped[int] = mapped_column(
        server_default=text(str(DEFAULT_OVERDUE_LIMIT_HOURS)))

    agency: Mapped[Agency] = relationship(back_populates="offices")
    officers: Mapped[list[User]] = relationship(
        secondary=officer_offices, back_populates="offices"
    )


class User(Base):
    """A person who signs in: an agency administrator or an issuing officer."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    email: Mapped[str] = mapped_column(String(200), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    designation: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[Role] = mapped_column(String(20))
    status: Mapped[UserStatus] = mapped_column(String(20), default=UserStatus.PENDING)
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    signature_png: Mapped[bytes | None] = mapped_column(default=None)

    agency: Mapped[Agency] = relationship(back_populates="users")
    offices: Mapped[list[Office]] = relationship(
        secondary=officer_offices, back_populates="officers"
    )

    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.ACTIVE

    def is_mapped_to(self, office_id: int) -> bool:
        return any(office.id == office_id for office in self.offices)
