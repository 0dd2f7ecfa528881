"""Back-to-back on the embedded demo (SQLite central store): the foreign certificate's
balance computed by hand, the over-draw refused at approval and at issue (reserve and
record), non-preferential whatever the row says, and the demo's migrated applications."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from sqlalchemy import select, text, update

from app.config import load_config
from app.errors import UserFacingError
from app.models import Application, DscRegistration, ForeignCertificate, GoodsLine
from app.models.enums import Action, ApplicationKind
from app.services import central_issuing
from app.services.back_to_back import balance, quantity_text
from app.services.certificate_data import certificate_data, load_application_for_certificate
from app.services.desk import Desk
from app.store.central import session_factory
from tests.back_to_back.conftest import CASHEW_CERTIFICATE, COPPER_CERTIFICATE, drawing
from tests.issuing.conftest import OFFICER_EMAIL, PIN

D = Decimal


def _desk(demo_engine) -> Desk:  # type: ignore[no-untyped-def]
    desk = Desk(demo_engine, load_config())
    desk.sign_in(OFFICER_EMAIL)
    return desk


def test_the_balance_is_the_certified_quantity_less_what_was_drawn(demo_engine) -> None:  # type: ignore[no-untyped-def]
    issued, approved, fits, over = drawing(demo_engine, COPPER_CERTIFICATE)
    assert [s for _i, _n, s in (issued, approved, fits, over)] == [
        "issued", "approved", "under_scrutiny", "under_scrutiny"]
    with session_factory(demo_engine)() as session:
        found = balance(session, session.get(Application, fits[0]))
        assert found is not None and found.number == COPPER_CERTIFICATE
        copper, cells = found.items
        # copper: 100 certified, 40 issued (the certificate), 35 approved elsewhere, 20 here
        assert (copper.quantity, copper.issued, copper.approved, copper.this_draw,
                copper.balance) == (D(100), D(40), D(35), D(20), D(25))
        assert not copper.over
        # cells: 5000 certified, 2000 issued, none approved elsewhere, 1000 here
        assert (cells.quantity, cells.issued, cells.approved, cells.this_draw,
                cells.balance) == (D(5000), D(2000), D(0), D(1000), D(3000))
        over_item = balance(session, session.get(Application, over[0])).items[0]
        assert over_item.this_draw == 30 and over_item.balance == 25 and over_item.over
        # the issued application's own draw is not counted against itself
        mine = balance(session, session.get(Application, issued[0])).items[0]
        assert (mine.issued, mine.approved, mine.this_draw, mine.balance) == (0, 35, 40, 65)
    assert quantity_text(D("40.000")) == "40" and quantity_text(D("12.50")) == "12.5"


def test_the_detail_shows_the_goods_drawn_and_the_balance(demo_engine) -> None:  # type: ignore[no-untyped-def]
    _issued, _approved, fits, over = drawing(demo_engine, COPPER_CERTIFICATE)
    desk = _desk(demo_engine)
    view = desk.detail(fits[0]).foreign_balance
    assert view is not None and COPPER_CERTIFICATE in view.heading
    assert view.rows == (
        ("1", "Copper cathodes, grade A, 99.99% Cu", "740311", "100 MTS", "40 MTS", "35 MTS",
         "20 MTS", "25 MTS"),
        ("2", "Lithium-ion battery cells, LiFePO4, 3.2 V 280 Ah", "850760", "5000 NOS",
         "2000 NOS", "0 NOS", "1000 NOS", "3000 NOS"))
    assert view.over_rows == frozenset() and view.note == ""
    over_view = desk.detail(over[0]).foreign_balance
    assert over_view.over_rows == frozenset({0}) and "more than the balance" in over_view.note
    assert "approve" not in desk.detail(over[0]).allowed
    assert "approve" in desk.detail(fits[0]).allowed


def test_approval_refuses_an_over_draw_naming_the_balance(demo_engine) -> None:  # type: ignore[no-untyped-def]
    _issued, _approved, fits, over = drawing(demo_engine, COPPER_CERTIFICATE)
    desk = _desk(demo_engine)
    with pytest.raises(UserFacingError) as refused:
        desk.act(over[0], Action.APPROVE)
    assert str(refused.value) == (
        f"Back-to-back application {over[1]} draws 30 MTS of item 1 (Copper cathodes, grade "
        f"A, 99.99% Cu) of foreign certificate {COPPER_CERTIFICATE}, whose balance is 25 MTS "
        "(100 certified, 40 drawn by issued certificates, 35 by other approved applications).")
    with session_factory(demo_engine)() as session:
        assert str(session.get(Application, over[0]).status) == "under_scrutiny"
    desk.act(fits[0], Action.APPROVE)  # 20 of the 25 left: approved
    with pytest.raises(UserFacingError, match=r"whose balance is 5 MTS \(100 certified, 40 "
                       r"drawn by issued certificates, 55 by other approved applications\)"):
        desk.act(over[0], Action.APPROVE)


def test_a_line_that_draws_from_nothing_or_in_another_unit_cannot_be_approved(demo_engine) -> None:  # type: ignore[no-untyped-def]
    _issued, _approved, fits, _over = drawing(demo_engine, COPPER_CERTIFICATE)
    desk = _desk(demo_engine)
    with demo_engine.begin() as connection:
        connection.execute(update(GoodsLine.__table__).where(
            GoodsLine.__table__.c.application_id == fits[0],
            GoodsLine.__table__.c.item_no == 1).values(unit="KGS"))
    with pytest.raises(UserFacingError, match="is in KGS but the foreign goods item it draws "
                       "from is in MTS"):
        desk.act(fits[0], Action.APPROVE)
    with demo_engine.begin() as connection:
        connection.execute(update(GoodsLine.__table__).where(
            GoodsLine.__table__.c.application_id == fits[0]).values(unit="MTS",
                                                                   foreign_goods_id=None))
    with pytest.raises(UserFacingError, match=r"Goods line\(s\) 1, 2 of back-to-back "
                       rf"application {fits[1]} draw from no goods item"):
        desk.act(fits[0], Action.APPROVE)
    with demo_engine.begin() as connection:
        connection.execute(text("UPDATE applications SET foreign_certificate_number = 'XX-1' "
                                "WHERE id = :i"), {"i": fits[0]})
    with pytest.raises(UserFacingError, match="names foreign certificate XX-1, which is not "
                       "recorded for its exporter"):
        desk.act(fits[0], Action.APPROVE)


def test_a_back_to_back_application_is_never_preferential(demo_engine) -> None:  # type: ignore[no-untyped-def]
    _issued, _approved, fits, _over = drawing(demo_engine, COPPER_CERTIFICATE)
    with demo_engine.begin() as connection:  # a row as the old desks let it be
        connection.execute(text("UPDATE applications SET agreement_code = 'IUCEPA', "
                                "form_code = 'IUCEPA' WHERE id = :i"), {"i": fits[0]})
    desk = _desk(demo_engine)
    with pytest.raises(UserFacingError, match=rf"Back-to-back application {fits[1]} is "
                       r"non-preferential: it cannot go out under a trade agreement \(IUCEPA, "
                       r"form IUCEPA\); its form is NONPREF\."):
        desk.act(fits[0], Action.APPROVE)
    with session_factory(demo_engine)() as session:  # what is printed: the NONPREF form
        app = load_application_for_certificate(session, application_id=fits[0])
        assert app.form_code == "IUCEPA" and certificate_data(app).form_code == "NONPREF"


def test_the_demo_back_to_back_applications_were_migrated(demo_engine) -> None:  # type: ignore[no-untyped-def]
    with session_factory(demo_engine)() as session:
        apps = session.scalars(select(Application).where(
            Application.kind == ApplicationKind.BACK_TO_BACK)).all()
        assert len(apps) > 20
        for app in apps:
            assert app.agreement_code is None and app.form_code == "NONPREF"
            assert app.goods and all(g.foreign_goods_id is not None for g in app.goods)
            found = balance(session, app)
            assert found is not None and not found.undrawn_lines
            if app.foreign_certificate_number not in (COPPER_CERTIFICATE, CASHEW_CERTIFICATE):
                # one migrated foreign certificate per application: it certifies its draw
                assert all(i.balance >= 0 and not i.over for i in found.items)
        assert session.scalar(select(ForeignCertificate.id).where(
            ForeignCertificate.number == CASHEW_CERTIFICATE)) is not None


def test_issuing_refuses_an_over_draw_at_reserve_before_signing(rsa_token, issuer, demo_engine) -> None:  # type: ignore[no-untyped-def]
    (first, _n1, _s1), (second, number, _s2) = drawing(demo_engine, CASHEW_CERTIFICATE)
    asked: list[object] = []

    def pin(info: object, warnings: list[str]) -> str:
        asked.append(info)
        return PIN

    outcome = issuer.run_batch([first, second], pin)
    assert len(outcome.done) == 1 and len(asked) == 1
    [(failed_id, reason)] = outcome.failed
    assert failed_id == second
    assert reason == (
        f"Back-to-back application {number} draws 12000 KGS of item 1 (Cashew kernels, "
        f"shelled, W320 grade, vacuum packed in tins) of foreign certificate "
        f"{CASHEW_CERTIFICATE}, whose balance is 8000 KGS (20000 certified, 12000 drawn by "
        "issued certificates).")
    with session_factory(demo_engine)() as session:
        assert str(session.get(Application, second).status) == "approved"
        assert session.scalar(text("SELECT count(*) FROM certificate_numbers WHERE "
                                   "application_id = :a AND state = 'reserved'"),
                              {"a": second}) == 0


def test_record_is_authoritative_when_both_were_reserved(demo_engine, officer_id) -> None:  # type: ignore[no-untyped-def]
    """Two reservations made while nothing was issued: the second record is refused."""
    (first, _n1, _s1), (second, number, _s2) = drawing(demo_engine, CASHEW_CERTIFICATE)
    fingerprint = "ab" * 32
    now = dt.datetime.now(dt.UTC)
    with session_factory(demo_engine)() as session, session.begin():
        session.add(DscRegistration(
            user_id=officer_id, fingerprint_sha256=fingerprint, key_id="0011223344556677",
            subject="CN=test", issuer="CN=test", serial_hex="01", not_before=now,
            not_after=now + dt.timedelta(days=30), certificate_der=b"der"))
    reservations = []
    for app_id in (first, second):
        with session_factory(demo_engine)() as session, session.begin():
            reservations.append(central_issuing.reserve(session, officer_id, app_id, "desk-1"))
    pdf = b"%PDF-1.7 signed"
    digest = hashlib.sha256(pdf).hexdigest()
    with session_factory(demo_engine)() as session, session.begin():
        central_issuing.record(session, officer_id, reservations[0], pdf, digest, fingerprint)
    with pytest.raises(central_issuing.IssueRefused) as refused, \
            session_factory(demo_engine)() as session, session.begin():
        central_issuing.record(session, officer_id, reservations[1], pdf, digest, fingerprint)
    assert str(refused.value).startswith(f"Back-to-back application {number} draws 12000 KGS")
    assert "whose balance is 8000 KGS (20000 certified, 12000 drawn by issued certificates)" \
        in str(refused.value)
    with session_factory(demo_engine)() as session:
        assert str(session.get(Application, second).status) == "approved"
        assert session.scalar(text("SELECT count(*) FROM certificates WHERE application_id "
                                   "= :a"), {"a": second}) == 0


def test_a_cancelled_certificate_gives_its_quantity_back(demo_engine) -> None:  # type: ignore[no-untyped-def]
    (issued, _n, _s), _approved, fits, _over = drawing(demo_engine, COPPER_CERTIFICATE)
    with demo_engine.begin() as connection:
        connection.execute(text("UPDATE certificates SET status = 'cancelled' "
                                "WHERE application_id = :a"), {"a": issued})
    with session_factory(demo_engine)() as session:
        copper = balance(session, session.get(Application, fits[0])).items[0]
        assert (copper.issued, copper.balance) == (0, 65)
