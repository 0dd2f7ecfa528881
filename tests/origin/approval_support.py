"""Shared by the approval tests: a preferential application shaped into a hand-computed
origin case, on the demo store (SQLite) or a PostgreSQL central store (as its owner)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from app.models import Application, CostSheet, CostSheetMaterial, Office

ANITA = "anita.deshpande@igcc.org.in"  # an officer of MUM
REASON = "CA certificate on file shows the in-house tooling the cost sheet leaves out."


def submitted_preferential(engine: Engine, office_code: str = "MUM") -> int:
    """The first submitted preferential application of the office with a cost sheet."""
    with Session(engine) as session:
        app_id = session.scalar(
            select(Application.id).join(Office, Office.id == Application.office_id)
            .join(CostSheet, CostSheet.application_id == Application.id)
            .where(Office.code == office_code, Application.kind == "preferential",
                   Application.status == "submitted")
            .order_by(Application.id).limit(1))
    assert app_id is not None
    return int(app_id)


def shape(engine: Engine, app_id: int, *, vnm: str, criterion: str | None = "RVC",
          agreement: str = "AIFTA", destination: str = "VN", vom: str = "0") -> None:
    """The hand-computed case: AIFTA (CTSH and at least 35 %, build-down or build-up), every
    line T-shirts (HS 610910) claiming ``criterion``, FOB 100,000.00 INR, cotton yarn from
    China (HS 520512, a change of sub-heading) worth ``vnm``, Indian inputs worth ``vom``,
    no labour, overheads, profit or other costs."""
    with Session(engine) as session, session.begin():
        app = session.scalars(select(Application).options(
            selectinload(Application.goods),
            selectinload(Application.cost_sheet).selectinload(CostSheet.materials))
            .where(Application.id == app_id)).one()
        app.agreement_code, app.form_code = agreement, agreement
        app.destination_country = app.consignee_country = destination
        app.currency = "INR"
        for line in app.goods:
            line.origin_criterion, line.hs_code = criterion, "610910"
        sheet = app.cost_sheet
        assert sheet is not None
        sheet.product_hs_code = "610910"
        sheet.fob = Decimal("100000.00")
        sheet.labour = sheet.overheads = sheet.profit = sheet.other_costs = Decimal(0)
        sheet.materials = [
            CostSheetMaterial(description="Cotton yarn", hs_code="520512", origin_country="CN",
                              originating=False, value=Decimal(vnm), evidence="BE 1"),
            CostSheetMaterial(description="Indian inputs", hs_code="520100",
                              origin_country="IN", originating=True, value=Decimal(vom),
                              evidence="declaration"),
        ]
