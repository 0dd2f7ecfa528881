"""The embedded demo store: what it holds, and that it is deterministic."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from sqlalchemy import Engine, func, select, text

from app.models import (
    Agency,
    Applicant,
    Application,
    ApplicationKind,
    ApplicationStatus,
    CostSheet,
    Exporter,
    GoodsLine,
    Office,
    User,
)
from app.models.agreements import trade_agreements
from app.models.validation import check_country, check_gstin, check_hs_code, check_iec
from app.store.demo import create_demo_store


def count(engine: Engine, entity: type, *where: object) -> int:
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(entity).where(*where)).scalar_one()


def test_demo_holds_the_promised_population(demo_engine: Engine) -> None:
    assert count(demo_engine, Agency) == 1
    assert count(demo_engine, Office) == 3
    assert count(demo_engine, User, User.role == "administrator") == 1
    assert count(demo_engine, User, User.role == "officer", User.status == "active") == 6
    assert count(demo_engine, Exporter) == 60
    from app.store import demo_foreign

    # 2,000 seeded, and the back-to-back applications drawing on its foreign certificates
    assert count(demo_engine, Application) == 2000 + demo_foreign.APPLICATIONS == 2006
    with demo_engine.connect() as c:
        per_exporter = c.execute(
            select(func.count()).select_from(Applicant).group_by(Applicant.exporter_id)
        ).scalars().all()
        assert min(per_exporter) >= 2
        pairs = set(c.execute(select(Application.kind, Application.status)).all())
    assert {k for k, _ in pairs} == {k.value for k in ApplicationKind}
    assert {s for _, s in pairs} == {s.value for s in ApplicationStatus}


def test_demo_rows_are_valid_and_fit_their_agreements(demo_engine: Engine) -> None:
    agreements = trade_agreements()
    with demo_engine.connect() as c:
        for iec, in c.execute(select(Exporter.iec)):
            check_iec(iec)
        for gstin, in c.execute(text("select gstin from gst_registrations")):
            check_gstin(gstin)
        for hs, in c.execute(select(GoodsLine.hs_code).distinct()):
            check_hs_code(hs)
        rows = c.execute(
            select(Application.id, Application.kind, Application.agreement_code,
                   Application.destination_country, Application.consignee_country)
        ).all()
        with_sheet = set(c.execute(select(CostSheet.application_id)).scalars())
        criteria = dict(c.execute(
            select(GoodsLine.application_id, func.min(GoodsLine.origin_criterion))
            .group_by(GoodsLine.application_id)
        ).all())
    for app_id, kind, agreement, destination, consignee in rows:
        check_country(destination)
        check_country(consignee)
        if kind == "preferential":
            assert agreements[agreement].covers(destination)
            assert app_id in with_sheet
            assert criteria[app_id]


def _digest(path: Path) -> str:
    from app.store.central import sqlite_engine

    engine = sqlite_engine(path)
    h = hashlib.sha256()
    with engine.connect() as c:
        for table in ("applications", "goods_lines", "exporters", "cost_sheets", "certificates"):
            for row in c.execute(text(f"select * from {table} order by id")):
                h.update(repr(tuple(row)).encode())
    engine.dispose()
    return h.hexdigest()


def test_demo_seed_is_deterministic(tmp_path: Path, seeded_demo_file: Path) -> None:
    again = tmp_path / "again.sqlite"
    create_demo_store(again, today=dt.date(2026, 11, 22)).dispose()
    assert _digest(again) == _digest(seeded_demo_file)
    assert again.stat().st_mode & 0o777 == 0o600
