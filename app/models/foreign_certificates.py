"""Foreign certificates of origin that back-to-back certificates rest on.

An exporter records a foreign certificate once (number, issuing country, issuer, date and
its goods with quantities and units); every back-to-back application of that exporter
naming it (``applications.foreign_certificate_number`` / ``_country``) draws quantities
from its goods: each goods line names the foreign goods item it draws from
(``goods_lines.foreign_goods_id``), in the item's unit. What is left (the balance) is the
item's quantity less what issued certificates drew (``app/services/back_to_back.py``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.models.base import Base, utcnow
from app.models.validation import check_country, check_hs_code, check_quantity, check_unit


class ForeignCertificate(Base):
    __tablename__ = "foreign_certificates"
    __table_args__ = (UniqueConstraint("exporter_id", "country", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exporter_id: Mapped[int] = mapped_column(ForeignKey("exporters.id"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2))  # the issuing country
    issuer: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[dt.date]
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    goods: Mapped[list[ForeignGoods]] = relationship(
        back_populates="certificate", cascade="all, delete-orphan",
        order_by="ForeignGoods.item_no")

    @validates("country")
    def _check_country(self, _key: str, value: str) -> str:
        return check_country(value, "foreign certificate country")


class ForeignGoods(Base):
    """One goods item of a foreign certificate, with the quantity it certifies."""

    __tablename__ = "foreign_certificate_goods"
    __table_args__ = (UniqueConstraint("foreign_certificate_id", "item_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    foreign_certificate_id: Mapped[int] = mapped_column(
        ForeignKey("foreign_certificates.id", ondelete="CASCADE"), index=True)
    item_no: Mapped[int]
    description: Mapped[str] = mapped_column(Text)
    hs_code: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[Decimal]
    unit: Mapped[str] = mapped_column(String(3))

    certificate: Mapped[ForeignCertificate] = relationship(back_populates="goods")

    @validates("hs_code")
    def _check_hs(self, _key: str, value: str) -> str:
        return check_hs_code(value)

    @validates("quantity")
    def _check_quantity(self, _key: str, value: object) -> Decimal:
        return check_quantity(value, "quantity")

    @validates("unit")
    def _check_unit(self, _key: str, value: str) -> str:
        return check_unit(value)
