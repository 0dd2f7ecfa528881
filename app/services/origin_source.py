"""An application's cost sheet from the store, as an origin-check case."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import load_config
from app.errors import UserFacingError
from app.models import Application
from app.models.origin import Material, OriginCase


def origin_case_for(application_number: str) -> OriginCase:
    """The cost sheet of ``application_number``; the criterion claimed on its first goods
    line (its leading code, e.g. "RVC 45%" -> RVC), or the general rule when none."""
    from app.services.desk import open_central

    engine = open_central(load_config())
    try:
        with Session(engine) as session:
            app = session.scalars(
                select(Application).where(Application.number == application_number)
            ).first()
            if app is None:
                raise UserFacingError(f"no application numbered {application_number}")
            if not app.agreement_code:
                raise UserFacingError(
                    f"{application_number} is not a preferential application (no agreement)")
            sheet = app.cost_sheet
            if sheet is None:
                raise UserFacingError(f"{application_number} has no cost sheet")
            claimed = next((g.origin_criterion for g in app.goods if g.origin_criterion), None)
            match = re.match(r"\s*([A-Z]+)", claimed or "")
            return OriginCase(
                agreement=app.agreement_code, product_hs_code=sheet.product_hs_code,
                product_description=app.goods[0].description if app.goods else "",
                criterion=match.group(1) if match else "general",
                currency=app.currency, fob=sheet.fob,
                materials=tuple(
                    Material(m.description, m.hs_code, m.origin_country, m.originating, m.value)
                    for m in sheet.materials),
                labour=sheet.labour, overheads=sheet.overheads, profit=sheet.profit,
                other_costs=sheet.other_costs,
            )
    finally:
        engine.dispose()
