"""Exporters (identified by IEC), their GST registrations, branches and applicant users."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.models.base import Base
from app.models.validation import check_gstin, check_iec


class Exporter(Base):
    __tablename__ = "exporters"

    id: Mapped[int] = mapped_column(primary_key=True)
    iec: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(60), default="")
    email: Mapped[str] = mapped_column(String(200), default="")

    gst_registrations: Mapped[list[GstRegistration]] = relationship(
        back_populates="exporter", cascade="all, delete-orphan"
    )
    branches: Mapped[list[ExporterBranch]] = relationship(
        back_populates="exporter", cascade="all, delete-orphan"
    )
    applicants: Mapped[list[Applicant]] = relationship(
        back_populates="exporter", cascade="all, delete-orphan"
    )

    @validates("iec")
    def _check_iec(self, _key: str, value: str) -> str:
        return check_iec(value)


class GstRegistration(Base):
    __tablename__ = "gst_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    exporter_id: Mapped[int] = mapped_column(ForeignKey("exporters.id", ondelete="CASCADE"))
    gstin: Mapped[str] = mapped_column(String(15), unique=True)
    state: Mapped[str] = mapped_column(String(60), default="")

    exporter: Mapped[Exporter] = relationship(back_populates="gst_registrations")

    @validates("gstin")
    def _check_gstin(self, _key: str, value: str) -> str:
        return check_gstin(value)


class ExporterBranch(Base):
    __tablename__ = "exporter_branches"

    id: Mapped[int] = mapped_column(primary_key=True)
    exporter_id: Mapped[int] = mapped_column(ForeignKey("exporters.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))

    exporter: Mapped[Exporter] = relationship(back_populates="branches")


class Applicant(Base):
    """One of the several users who file applications under one IEC (multi-user access)."""

    __tablename__ = "applicants"

    id: Mapped[int] = mapped_column(primary_key=True)
    exporter_id: Mapped[int] = mapped_column(ForeignKey("exporters.id", ondelete="CASCADE"))
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(200), unique=True)
    phone: Mapped[str] = mapped_column(String(40), default="")

    exporter: Mapped[Exporter] = relationship(back_populates="applicants")
