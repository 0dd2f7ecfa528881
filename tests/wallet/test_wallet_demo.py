"""The e-wallet on the embedded demo (SQLite central store): fees per kind debited on
issue, top-ups with a gateway reference credited once, the refusal before the PIN, the
store's own refusals at reserve and record, cancellation with a same-day refund."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from app.models import (
    Application,
    AuditEvent,
    Certificate,
    CertificateNumber,
    OfficeWallet,
    WalletEntry,
)
from app.models.enums import ApplicationStatus, CertificateStatus
from app.services.admin import AgencyAdmin
from app.services.central import SqlCentral
from app.services.central_issuing import IssueRefused
from app.services.wallet import WalletBook, WalletRefused
from app.store.central import session_factory
from tests.issuing.conftest import PIN

ADMIN = "admin@igcc.org.in"
MUM, CHE = 1, 3  # demo office ids; CHE's e-wallet holds ₹400.00 (app.store.demo.SHORT_BALANCE)


def balance(engine: Engine, office_id: int) -> Decimal:
    with session_factory(engine)() as s:
        value = s.scalar(select(OfficeWallet.balance).where(OfficeWallet.office_id == office_id))
    return Decimal(str(value)).quantize(Decimal("0.01"))


def ledger_sum(engine: Engine, office_id: int) -> Decimal:
    with session_factory(engine)() as s:
        amounts = s.scalars(select(WalletEntry.amount).where(WalletEntry.office_id == office_id))
        return sum(amounts, Decimal("0")).quantize(Decimal("0.01"))


def lines_for(engine: Engine, number: str) -> list[tuple[str, Decimal]]:
    with session_factory(engine)() as s:
        rows = s.execute(select(WalletEntry.kind, WalletEntry.amount)
                         .where(WalletEntry.certificate_number == number)
                         .order_by(WalletEntry.id)).all()
    return [(str(k), Decimal(a)) for k, a in rows]


def serve_che(engine: Engine, officer_id: int, kind: str, n: int = 1) -> list[int]:
    """Map the officer to CHE too; ``n`` approved CHE applications of ``kind``."""
    with engine.begin() as c:
        c.execute(text("INSERT INTO officer_offices (user_id, office_id) VALUES (:u, :o)"),
                  {"u": officer_id, "o": CHE})
        ids = list(c.execute(text(
            "SELECT id FROM applications WHERE office_id = :o AND kind = :k "
            "AND status = 'approved' ORDER BY id LIMIT :n"), {"o": CHE, "k": kind, "n": n})
            .scalars())
    assert len(ids) == n
    return ids


def test_the_demo_opens_with_balances_and_one_short_office(demo_engine: Engine) -> None:
    for office in (1, 2, 3):
        assert balance(demo_engine, office) == ledger_sum(demo_engine, office)
    assert balance(demo_engine, CHE) == Decimal("400.00")
    assert balance(demo_engine, MUM) > Decimal("100000.00")


def test_issuing_debits_the_fee_of_each_kind_once(demo_engine, rsa_token, issuer,  # type: ignore[no-untyped-def]
                                                  approved) -> None:
    before = balance(demo_engine, MUM)
    [preferential] = approved("preferential")
    [other] = approved("non_preferential")
    outcome = issuer.run_batch([preferential, other], lambda info, warnings: PIN)
    assert len(outcome.done) == 2 and not outcome.failed, outcome
    numbers = {app_id: issued.certificate_number for app_id, issued in outcome.done}
    assert lines_for(demo_engine, numbers[preferential]) == [("fee", Decimal("-600.00"))]
    assert lines_for(demo_engine, numbers[other]) == [("fee", Decimal("-200.00"))]
    assert balance(demo_engine, MUM) == before - Decimal("800.00") == ledger_sum(demo_engine, MUM)


def test_an_office_without_e_wallet_is_not_charged(demo_engine, rsa_token, issuer,  # type: ignore[no-untyped-def]
                                                   approved, officer_id) -> None:
    [app_id] = serve_che(demo_engine, officer_id, "preferential")
    with demo_engine.begin() as c:
        c.execute(text("UPDATE offices SET ewallet_enabled = 0 WHERE id = :o"), {"o": CHE})
    outcome = issuer.run_batch([app_id], lambda info, warnings: PIN)
    assert len(outcome.done) == 1, outcome
    assert lines_for(demo_engine, outcome.done[0][1].certificate_number) == []
    assert balance(demo_engine, CHE) == Decimal("400.00")


def test_a_short_balance_is_refused_before_the_pin(demo_engine, rsa_token, issuer,  # type: ignore[no-untyped-def]
                                                   officer_id) -> None:
    [app_id] = serve_che(demo_engine, officer_id, "preferential")
    asked: list[Any] = []
    with pytest.raises(IssueRefused) as refused:
        issuer.run_batch([app_id], lambda info, warnings: asked.append(info) or PIN)
    assert asked == []
    message = str(refused.value)
    assert "Office CHE's e-wallet holds ₹400.00" in message and "₹600.00" in message
    assert "\n" not in message
    with session_factory(demo_engine)() as s:
        assert s.scalar(select(func.count()).select_from(CertificateNumber)
                        .where(CertificateNumber.application_id == app_id)) == 0


def test_the_batch_total_counts(demo_engine, rsa_token, issuer, officer_id) -> None:  # type: ignore[no-untyped-def]
    """Two non-preferential certificates fit in ₹400.00; three do not."""
    ids = serve_che(demo_engine, officer_id, "non_preferential", 3)
    asked: list[Any] = []
    with pytest.raises(IssueRefused, match=r"holds ₹400\.00; the fees for these 3 "
                       r"certificates come to ₹600\.00"):
        issuer.run_batch(ids, lambda info, warnings: asked.append(info) or PIN)
    assert asked == []
    outcome = issuer.run_batch(ids[:2], lambda info, warnings: PIN)
    assert len(outcome.done) == 2, outcome
    assert balance(demo_engine, CHE) == Decimal("0.00")


def test_the_store_refuses_at_reserve(demo_engine, config, officer_id) -> None:  # type: ignore[no-untyped-def]
    [app_id] = serve_che(demo_engine, officer_id, "preferential")
    central = SqlCentral(demo_engine, config)
    with pytest.raises(IssueRefused, match=r"Office CHE's e-wallet holds ₹400\.00; the "
                       r"certificate fee for application .* is ₹600\.00"):
        central.reserve(officer_id, app_id, "desk-1")
    with session_factory(demo_engine)() as s:
        assert s.scalar(select(func.count()).select_from(CertificateNumber)
                        .where(CertificateNumber.application_id == app_id)) == 0


def test_the_store_refuses_at_record_when_another_desk_spent_the_balance(  # type: ignore[no-untyped-def]
        demo_engine, rsa_token, issuer, officer_id, monkeypatch) -> None:
    """The balance paid at reserve is gone by record (another desk's issue): refused whole,
    the number voided, the application still approved, the balance untouched."""
    [app_id] = serve_che(demo_engine, officer_id, "non_preferential")
    record = SqlCentral.record

    def spend_then_record(self, user_id, reservation, pdf, fingerprint):  # type: ignore[no-untyped-def]
        with demo_engine.begin() as c:  # another desk's fee, as the store would write it
            c.execute(text("INSERT INTO wallet_entries (office_id, kind, amount, "
                           "certificate_number, reference, at) VALUES (:o, 'fee', '-300.00', "
                           "'OTHER/DESK/1', 'APP-OTHER', '2026-11-30 00:00:00')"), {"o": CHE})
        return record(self, user_id, reservation, pdf, fingerprint)

    monkeypatch.setattr(SqlCentral, "record", spend_then_record)
    outcome = issuer.run_batch([app_id], lambda info, warnings: PIN)
    assert not outcome.done and len(outcome.failed) == 1
    assert "holds ₹100.00; the certificate fee for application" in str(outcome.failed[0][1])
    assert "it was not issued" in str(outcome.failed[0][1])
    assert balance(demo_engine, CHE) == Decimal("100.00")
    with session_factory(demo_engine)() as s:
        assert s.get(Application, app_id).status == ApplicationStatus.APPROVED
        states = s.scalars(select(CertificateNumber.state)
                           .where(CertificateNumber.application_id == app_id)).all()
        assert states == ["void"]


def test_the_balance_cannot_go_negative_in_the_store(demo_engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="CHECK constraint failed"), \
            demo_engine.begin() as c:
        c.execute(text("INSERT INTO wallet_entries (office_id, kind, amount, certificate_number, "
                       "reference, at) VALUES (3, 'fee', '-400.01', 'X/1', 'APP-X', "
                       "'2026-11-30 00:00:00')"))
    assert balance(demo_engine, CHE) == Decimal("400.00")


def test_one_fee_per_certificate(demo_engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    with session_factory(demo_engine)() as s:
        number = s.scalar(select(WalletEntry.certificate_number).where(
            WalletEntry.kind == "fee", WalletEntry.office_id == MUM).limit(1))
    with pytest.raises(IntegrityError, match="UNIQUE"), demo_engine.begin() as c:
        c.execute(text("INSERT INTO wallet_entries (office_id, kind, amount, certificate_number, "
                       "reference, at) VALUES (1, 'fee', '-200.00', :n, 'again', "
                       "'2026-11-30 00:00:00')"), {"n": number})


# --- top-ups ---------------------------------------------------------------------------------


def test_top_up_credits_once_and_is_audited(demo_engine: Engine) -> None:
    book = WalletBook(AgencyAdmin.for_email(demo_engine, ADMIN))
    row = book.top_up("che", "1,000.50", " PAYU/2026/88127 ")
    assert row.code == "CHE" and row.balance == Decimal("1400.50")
    with pytest.raises(WalletRefused, match=r"PAYU/2026/88127 was already credited to office "
                       r"CHE on \d{4}-\d\d-\d\d \(₹1,000\.50\); a payment is credited once"):
        book.top_up("CHE", "1000.50", "PAYU/2026/88127")
    assert balance(demo_engine, CHE) == Decimal("1400.50") == ledger_sum(demo_engine, CHE)
    assert book.top_up("MUM", "10", "PAYU/2026/88127").code == "MUM"  # per office
    with session_factory(demo_engine)() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "office.wallet_top_up")
                          .order_by(AuditEvent.id)).first()
    assert event.entity_id == CHE and event.after["reference"] == "PAYU/2026/88127"
    assert event.before == {"balance": "400.00"} and event.after["balance"] == "1400.50"


@pytest.mark.parametrize(("amount", "reference", "says"), [
    ("0", "PAYU/1", "more than ₹0.00"),
    ("-5", "PAYU/1", "more than ₹0.00"),
    ("12.345", "PAYU/1", "more than two decimals"),
    ("ten", "PAYU/1", "not a number of rupees"),
    ("10000000.01", "PAYU/1", "at most ₹10,000,000.00"),
    ("NaN", "PAYU/1", "more than ₹0.00"),
    ("100", "", "reference '' is not one"),
    ("100", "ab", "reference 'ab' is not one"),
    ("100", "PAYU#1", "is not one"),
    ("100", "PAYU\n1", "is not one"),
    ("100", "-PAYU1", "is not one"),
])
def test_a_bad_top_up_changes_nothing(demo_engine: Engine, amount: str, reference: str,
                                      says: str) -> None:
    book = WalletBook(AgencyAdmin.for_email(demo_engine, ADMIN))
    with session_factory(demo_engine)() as s:
        lines = s.scalar(select(func.count()).select_from(WalletEntry))
    with pytest.raises(WalletRefused, match=says.replace("(", r"\(").replace(".", r"\.")) as e:
        book.top_up("CHE", amount, reference)
    assert "\n" not in str(e.value)
    with session_factory(demo_engine)() as s:
        assert s.scalar(select(func.count()).select_from(WalletEntry)) == lines
    assert balance(demo_engine, CHE) == Decimal("400.00")


def test_an_officer_cannot_top_up(demo_engine: Engine) -> None:
    from app.services.admin import AdminError

    with pytest.raises(AdminError, match="not an agency administrator"):
        WalletBook(AgencyAdmin.for_email(demo_engine, "anita.deshpande@igcc.org.in"))


def test_the_statement_runs_the_balance(demo_engine: Engine) -> None:
    book = WalletBook(AgencyAdmin.for_email(demo_engine, ADMIN))
    full = book.statement("CHE")
    assert full.opening == Decimal("0.00") and full.closing == Decimal("400.00")
    running = Decimal("0.00")
    for line in full.lines:
        running += line.amount
        assert line.balance == running
    assert full.lines[0].kind == "top_up" and full.lines[0].reference.startswith("NEFT/")
    day = full.lines[len(full.lines) // 2].date
    part = book.statement("CHE", day, day)
    assert part.lines and all(line.date == day for line in part.lines)
    assert part.opening + sum((line.amount for line in part.lines), Decimal(0)) == part.closing
    assert part.opening == sum((line.amount for line in full.lines if line.date < day),
                               Decimal(0))
    with pytest.raises(WalletRefused, match="the start is after the end"):
        book.statement("CHE", day, day - dt.timedelta(days=1))
    with pytest.raises(WalletRefused, match="No office with the code 'XYZ'"):
        book.statement("XYZ")


# --- cancellation ----------------------------------------------------------------------------


def test_a_same_day_cancellation_refunds_the_fee(demo_engine, rsa_token, issuer,  # type: ignore[no-untyped-def]
                                                 approved) -> None:
    [app_id] = approved("preferential")
    outcome = issuer.run_batch([app_id], lambda info, warnings: PIN)
    number = outcome.done[0][1].certificate_number
    before = balance(demo_engine, MUM)
    with pytest.raises(IssueRefused, match="write a reason for the cancellation"):
        issuer.cancel_certificate(app_id, "   ")
    cancelled = issuer.cancel_certificate(app_id, "Issued against a wrong invoice.")
    assert (cancelled.number, cancelled.refund) == (number, Decimal("600.00"))
    assert lines_for(demo_engine, number) == [("fee", Decimal("-600.00")),
                                              ("refund", Decimal("600.00"))]
    assert balance(demo_engine, MUM) == before + Decimal("600.00") == ledger_sum(demo_engine, MUM)
    with session_factory(demo_engine)() as s:
        certificate = s.scalars(select(Certificate).where(Certificate.number == number)).one()
        assert certificate.status == CertificateStatus.CANCELLED
        assert certificate.cancel_reason == "Issued against a wrong invoice."
        assert s.get(Application, app_id).status == ApplicationStatus.CANCELLED
        actions = set(s.scalars(select(AuditEvent.action).where(
            AuditEvent.action.in_(["application.cancel", "certificate.cancelled"]),
            AuditEvent.at >= certificate.issued_at)))
        assert actions == {"application.cancel", "certificate.cancelled"}
    with pytest.raises(IssueRefused, match=f"{number} of application .* is already cancelled"):
        issuer.cancel_certificate(app_id, "again")
    assert balance(demo_engine, MUM) == before + Decimal("600.00")
    # verification reports it cancelled
    status = SqlCentral(demo_engine, issuer.config).certificate_status(number=number)
    assert status.status == "cancelled"


def test_a_next_day_cancellation_refunds_nothing(demo_engine, rsa_token, issuer,  # type: ignore[no-untyped-def]
                                                 approved) -> None:
    [app_id] = approved("non_preferential")
    number = issuer.run_batch([app_id], lambda info, warnings: PIN).done[0][1].certificate_number
    with session_factory(demo_engine)() as s, s.begin():
        certificate = s.scalars(select(Certificate).where(Certificate.number == number)).one()
        certificate.issued_at = certificate.issued_at - dt.timedelta(days=1)
    before = balance(demo_engine, MUM)
    cancelled = issuer.cancel_certificate(app_id, "Shipment cancelled by the exporter.")
    assert cancelled.refund is None
    assert lines_for(demo_engine, number) == [("fee", Decimal("-200.00"))]
    assert balance(demo_engine, MUM) == before


def test_cancel_is_refused_to_an_officer_of_another_office(demo_engine, config) -> None:  # type: ignore[no-untyped-def]
    from app.services.dsc import user_id_for_email

    with session_factory(demo_engine)() as s:
        app_id = s.scalar(select(Application.id).where(
            Application.office_id == CHE, Application.status == ApplicationStatus.ISSUED)
            .order_by(Application.id).limit(1))
    anita = user_id_for_email(demo_engine, "anita.deshpande@igcc.org.in")
    central = SqlCentral(demo_engine, config)
    with pytest.raises(IssueRefused, match="not mapped to office CHE"):
        central.cancel_certificate(anita, app_id, "wrong invoice")
    admin = user_id_for_email(demo_engine, ADMIN)
    cancelled = central.cancel_certificate(admin, app_id, "wrong invoice")
    assert cancelled.refund is None  # issued days before
    with session_factory(demo_engine)() as s:
        assert s.get(Application, app_id).status == ApplicationStatus.CANCELLED


def test_a_superseded_certificate_is_not_cancelled(demo_engine, config) -> None:  # type: ignore[no-untyped-def]
    from app.services.dsc import user_id_for_email

    with session_factory(demo_engine)() as s:
        app_id = s.scalar(select(Certificate.application_id).where(
            Certificate.status == CertificateStatus.SUPERSEDED).limit(1))
    admin = user_id_for_email(demo_engine, ADMIN)
    with pytest.raises(IssueRefused, match="only a valid certificate of an issued application"):
        SqlCentral(demo_engine, config).cancel_certificate(admin, app_id, "wrong")


# --- the embedded store through the central service -----------------------------------------


def test_through_the_service_on_the_demo(tmp_path, demo_hub, serve, demo_engine, rsa_token,  # type: ignore[no-untyped-def]
                                         approved, officer_id, monkeypatch) -> None:
    """Issued through the service: the fee debited; cancelled through it the same day:
    refunded; a short office refused before the PIN."""
    from app.config import load_config
    from app.services.central_http import HttpCentral
    from app.services.issuing import Issuer
    from tests.hub.conftest import PASSWORD, set_password

    store: dict[tuple[str, str], str] = {}  # never the machine's keyring
    monkeypatch.setattr("keyring.get_password", lambda s, u: store.get((s, u)))
    monkeypatch.setattr("keyring.set_password", lambda s, u, p: store.__setitem__((s, u), p))
    monkeypatch.setattr("keyring.delete_password", lambda s, u: store.pop((s, u), None))
    set_password(demo_engine, "anita.deshpande@igcc.org.in")
    server = serve(demo_hub)
    link = HttpCentral(server.url, ca_file=str(server.ca), ask_password=lambda _p: PASSWORD)
    link.hello("anita.deshpande@igcc.org.in")
    issuer = Issuer(link, load_config(), officer_id)
    [app_id] = approved("preferential")
    before = balance(demo_engine, MUM)
    outcome = issuer.run_batch([app_id], lambda info, warnings: PIN)
    number = outcome.done[0][1].certificate_number
    assert balance(demo_engine, MUM) == before - Decimal("600.00")
    cancelled = issuer.cancel_certificate(app_id, "Issued against a wrong invoice.")
    assert (cancelled.number, cancelled.refund) == (number, Decimal("600.00"))
    assert lines_for(demo_engine, number) == [("fee", Decimal("-600.00")),
                                              ("refund", Decimal("600.00"))]
    assert balance(demo_engine, MUM) == before

    [short] = serve_che(demo_engine, officer_id, "preferential")
    asked: list[Any] = []
    with pytest.raises(IssueRefused, match=r"Office CHE's e-wallet holds ₹400\.00; the "
                       r"certificate fee for application .* is ₹600\.00"):
        issuer.run_batch([short], lambda info, warnings: asked.append(info) or PIN)
    assert asked == []
