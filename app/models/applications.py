"""Applications for certificates of origin, their goods, cost sheets and documents."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

import app.models.foreign_certificates  # noqa: F401 - goods lines refer to its table
from app.models.base import Base, utcnow
from app.models.enums import ApplicationKind, ApplicationStatus, DocumentKind
from app.models.exporters import Applicant, Exporter
from app.models.organisation import Office, User
from app.models.validation import (
    check_country,
    check_hs_code,
    check_money,
    check_quantity,
    check_unit,
)


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (
        Index("ix_applications_office_status", "office_id", "status"),
        Index("ix_applications_change_seq", "change_seq"),
        # the dashboard's overdue counts and oldest waiting (revision 0012)
        Index("ix_applications_office_waiting", "office_id", "status", "waiting_since"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[ApplicationKind] = mapped_column(String(20))
    status: Mapped[ApplicationStatus] = mapped_column(String(20))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    exporter_id: Mapped[int] = mapped_column(ForeignKey("exporters.id"))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicants.id"))
    agreement_code: Mapped[str | None] = mapped_column(String(16), default=None)
    form_code: Mapped[str] = mapped_column(String(16))

    consignee_name: Mapped[str] = mapped_column(String(200))
    consignee_address: Mapped[str] = mapped_column(String(500))
    consignee_country: Mapped[str] = mapped_column(String(2))
    destination_country: Mapped[str] = mapped_column(String(2))
    origin_country: Mapped[str] = mapped_column(String(2), default="IN")
    transport_mode: Mapped[str] = mapped_column(String(10))
    vessel_or_flight: Mapped[str] = mapped_column(String(100), default="")
    port_of_loading: Mapped[str] = mapped_column(String(100))
    port_of_discharge: Mapped[str] = mapped_column(String(100))
    departure_date: Mapped[dt.date | None] = mapped_column(default=None)
    invoice_number: Mapped[str] = mapped_column(String(40))
    invoice_date: Mapped[dt.date]
    remarks: Mapped[str] = mapped_column(Text, default="")
    declaration_place: Mapped[str] = mapped_column(String(100), default="")
    declaration_date: Mapped[dt.date | None] = mapped_column(default=None)

    # in-lieu: the certificate being replaced and why
    original_certificate_number: Mapped[str | None] = mapped_column(String(32), default=None)
    original_certificate_date: Mapped[dt.date | None] = mapped_column(default=None)
    in_lieu_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # back-to-back: the foreign certificate the re-export rests on
    foreign_origin_country: Mapped[str | None] = mapped_column(String(2), default=None)
    foreign_certificate_number: Mapped[str | None] = mapped_column(String(64), default=None)
    foreign_certificate_country: Mapped[str | None] = mapped_column(String(2), default=None)
    foreign_certificate_issuer: Mapped[str | None] = mapped_column(String(200), default=None)
    foreign_certificate_date: Mapped[dt.date | None] = mapped_column(default=None)

    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    waiting_since: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    query_text: Mapped[str | None] = mapped_column(Text, default=None)
    rejection_reason: Mapped[str | None] = mapped_column(Text, default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    # search helpers kept in step with the goods lines (space-separated HS codes)
    hs_codes: Mapped[str] = mapped_column(String(400), default="")
    total_fob: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="USD")

    # optimistic concurrency and incremental sync
    version: Mapped[int] = mapped_column(default=1)
    change_seq: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    office: Mapped[Office] = relationship()
    exporter: Mapped[Exporter] = relationship()
    applicant: Mapped[Applicant] = relationship()
    claimed_by: Mapped[User | None] = relationship()
    goods: Mapped[list[GoodsLine]] = relationship(
        back_populates="application",
        cascade="all, delete-orphan",
        order_by="GoodsLine.item_no",
    )
    cost_sheet: Mapped[CostSheet | None] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )
    documents: Mapped[list[SupportingDocument]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    @validates("consignee_country", "destination_country", "origin_country",
               "foreign_origin_country", "foreign_certificate_country")
    def _check_country(self, key: str, value: str | None) -> str | None:
        return None if value is None else check_country(value, key.replace("_", " "))

    def refresh_search_fields(self) -> None:
        self.hs_codes = " ".join(dict.fromkeys(line.hs_code for line in self.goods))[:400]
        self.total_fob = sum((line.fob_value for line in self.goods), Decimal("0"))


class GoodsLine(Base):
    __tablename__ = "goods_lines"
    __table_args__ = (UniqueConstraint("application_id", "item_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    item_no: Mapped[int]
    description: Mapped[str] = mapped_column(Text)
    hs_code: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[Decimal]
    unit: Mapped[str] = mapped_column(String(3))
    gross_weight_kg: Mapped[Decimal]
    package_count: Mapped[int]
    package_kind: Mapped[str] = mapped_column(String(40))
    marks: Mapped[str] = mapped_column(String(200), default="")
    fob_value: Mapped[Decimal]
    origin_criterion: Mapped[str | None] = mapped_column(String(40), default=None)
    # back-to-back: the foreign certificate's goods item this line draws its quantity from
    foreign_goods_id: Mapped[int | None] = mapped_column(
        ForeignKey("foreign_certificate_goods.id"), default=None, index=True)

    application: Mapped[Application] = relationship(back_populates="goods")

    @validates("hs_code")
    def _check_hs(self, _key: str, value: str) -> str:
        return check_hs_code(value)

    @validates("quantity", "gross_weight_kg")
    def _check_quantity(self, key: str, value: object) -> Decimal:
        return check_quantity(value, key.replace("_", " "))

    @validates("unit")
    def _check_unit(self, _key: str, value: str) -> str:
        return check_unit(value)

    @validates("fob_value")
    def _check_fob(self, _key: str, value: object) -> Decimal:
        return check_money(value, "FOB value")


class CostSheet(Base):
    """The exporter's costing of a preferential product, for the value-content rule."""

    __tablename__ = "cost_sheets"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), unique=True
    )
    product_hs_code: Mapped[str] = mapped_column(String(8))
    method: Mapped[str] = mapped_column(String(12))  # build_down | build_up
    labour: Mapped[Decimal]
    overheads: Mapped[Decimal]
    profit: Mapped[Decimal]
    other_costs: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    ex_works: Mapped[Decimal]
    fob: Mapped[Decimal]

    application: Mapped[Application] = relationship(back_populates="cost_sheet")
    materials: Mapped[list[CostSheetMaterial]] = relationship(
        back_populates="cost_sheet", cascade="all, delete-orphan"
    )

    @property
    def non_originating_value(self) -> Decimal:
        return sum((m.value for m in self.materials if not m.originating), Decimal("0"))

    @property
    def originating_value(self) -> Decimal:
        return sum((m.value for m in self.materials if m.originating), Decimal("0"))

    def regional_value_content(self) -> Decimal:
        """RVC in percent of FOB, by this sheet's method (DOMAIN.md)."""
        if self.fob <= 0:
            return Decimal("0")
        if self.method == "build_up":
            local = (
                self.originating_value + self.labour + self.overheads + self.profit
                + self.other_costs
            )
        else:
            local = self.fob - self.non_originating_value
        return (local / self.fob * 100).quantize(Decimal("0.01"))


class CostSheetMaterial(Base):
    __tablename__ = "cost_sheet_materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    cost_sheet_id: Mapped[int] = mapped_column(ForeignKey("cost_sheets.id", ondelete="CASCADE"))
    description: Mapped[str] = mapped_column(String(200))
    hs_code: Mapped[str] = mapped_column(String(8))
    origin_country: Mapped[str | None] = mapped_column(String(2))  # None: undetermined
    originating: Mapped[bool]
    value: Mapped[Decimal]  # CIF value or earliest ascertainable price
    evidence: Mapped[str] = mapped_column(String(200), default="")

    cost_sheet: Mapped[CostSheet] = relationship(back_populates="materials")


class SupportingDocument(Base):
    __tablename__ = "supporting_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[DocumentKind] = mapped_column(String(30))
    file_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(80))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    content: Mapped[bytes | None] = mapped_column(default=None, deferred=True)

    application: Mapped[Application] = relationship(back_populates="documents")
