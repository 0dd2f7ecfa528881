"""The e-wallet in the PostgreSQL store, through each user's own login: concurrent issues
from several desks never overdraw, one fee per certificate, an officer's raw SQL moves no
money, an administrator's top-up is checked by the store, the refusal before the PIN on a
synced desk and through the central service, and cancellation on both."""

from __future__ import annotations

import hashlib
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from app.config import load_config
from app.errors import UserFacingError
from app.services.admin import AgencyAdmin
from app.services.central import SqlCentral
from app.services.central_issuing import IssueRefused
from app.services.issuing import Issuer
from app.services.wallet import WalletBook, WalletRefused
from tests.hub.conftest import PASSWORD, set_password
from tests.store.conftest import CentralDb

ADMIN = "admin@igcc.org.in"
ANITA, RAHUL, FARHAN, PRIYA = ("anita.deshpande@igcc.org.in", "rahul.menon@igcc.org.in",
                               "farhan.qureshi@igcc.org.in", "priya.raghavan@igcc.org.in")
SANDEEP = "sandeep.kulkarni@igcc.org.in"  # CHE
MUM, CHE = 1, 3
FEE = Decimal("200.00")


def _owner(db: CentralDb, sql: str, **params: Any) -> Any:
    with db.owner_engine().begin() as c:
        return c.execute(text(sql), params)


def _balance(db: CentralDb, office_id: int) -> Decimal:
    return Decimal(str(db.scalar("SELECT balance FROM office_wallets WHERE office_id = :o",
                                 o=office_id)))


def _user_id(db: CentralDb, email: str) -> int:
    return int(db.scalar("SELECT id FROM users WHERE email = :e", e=email))  # type: ignore[arg-type]


def _register_fake_dsc(db: CentralDb, email: str) -> str:
    """A DSC registration for the officer (owner SQL): od_record_issue checks that the
    signer's fingerprint is registered, not the PDF's signature (the desk checks that)."""
    fingerprint = hashlib.sha256(email.encode()).hexdigest()
    _owner(db, "INSERT INTO dsc_registrations (user_id, fingerprint_sha256, key_id, subject, "
               "issuer, serial_hex, not_before, not_after, certificate_der, registered_at) "
               "SELECT id, :f, :k, 'CN=test', 'CN=test CA', '01', now() - interval "
               "'1 day', now() + interval '1 year', '\\x00'::bytea, now() FROM users "
               "WHERE email = :e", f=fingerprint, k=fingerprint[:16], e=email)
    return fingerprint


def _approve(db: CentralDb, office_id: int, kind: str, n: int) -> list[int]:
    ids = list(_owner(db, "SELECT id FROM applications WHERE office_id = :o AND kind = :k "
                          "AND status IN ('submitted', 'resubmitted') ORDER BY id LIMIT :n",
                      o=office_id, k=kind, n=n).scalars())
    assert len(ids) == n
    _owner(db, "UPDATE applications SET status = 'approved', claimed_by_id = NULL, "
               "claimed_at = NULL WHERE id = ANY(:ids)", ids=ids)
    return ids


def _set_balance(db: CentralDb, office_id: int, amount: Decimal) -> None:
    """Bring the office's balance to ``amount`` with an owner's line (as a test fixture)."""
    difference = amount - _balance(db, office_id)
    _owner(db, "INSERT INTO wallet_entries (office_id, kind, amount, certificate_number, "
               "reference, at) VALUES (:o, 'top_up', :a, NULL, 'TEST-ADJUST', now())",
           o=office_id, a=difference)
    assert _balance(db, office_id) == amount


def _issue_sql(engine: Engine, app_id: int, fingerprint: str,
               barrier: threading.Barrier | None = None) -> str:
    """Reserve and record through the store's functions, as a desk on a direct store does
    (the PDF's bytes are the desk's business; the store checks their digest)."""
    with engine.begin() as c:
        row = c.execute(text("SELECT number, version FROM od_reserve_certificate_number(:a, "
                             ":s)"), {"a": app_id, "s": f"desk-{app_id}"}).one()
    if barrier is not None:
        barrier.wait()
    pdf = f"%PDF-1.7 certificate {row.number}".encode()
    with engine.begin() as c:
        c.execute(text("SELECT * FROM od_record_issue(:n, :a, :v, :pdf, :sha, :fp)"),
                  {"n": row.number, "a": app_id, "v": row.version, "pdf": pdf,
                   "sha": hashlib.sha256(pdf).hexdigest(), "fp": fingerprint})
    return str(row.number)


def test_concurrent_desks_never_overdraw(central: CentralDb) -> None:
    """Four officers, each on their own login, issue two certificates each at the same
    moment from an office whose balance pays for three: exactly three are issued."""
    officers = [ANITA, RAHUL, FARHAN, PRIYA]
    for email in (FARHAN, PRIYA):  # DEL officers, mapped to MUM too
        _owner(central, "INSERT INTO officer_offices (user_id, office_id) "
                        "SELECT id, :o FROM users WHERE email = :e", o=MUM, e=email)
    fingerprints = {email: _register_fake_dsc(central, email) for email in officers}
    ids = _approve(central, MUM, "non_preferential", 8)
    k = 3
    _set_balance(central, MUM, k * FEE)
    engines = {email: central.engine_for(email) for email in officers}
    barrier = threading.Barrier(len(officers))
    issued: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()

    def desk(email: str, mine: list[int]) -> None:
        for position, app_id in enumerate(mine):
            try:
                number = _issue_sql(engines[email], app_id, fingerprints[email],
                                    barrier if position == 0 else None)
            except DBAPIError as exc:
                with lock:
                    refused.append(str(getattr(exc.orig, "sqlstate", "")) + " " + str(exc.orig))
            else:
                with lock:
                    issued.append(number)

    threads = [threading.Thread(target=desk, args=(email, ids[i::len(officers)]))
               for i, email in enumerate(officers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(issued) == k, (issued, refused)
    assert len(refused) == len(ids) - k
    for refusal in refused:
        assert refusal.startswith("ODREF ") and "e-wallet holds" in refusal, refusal
    assert _balance(central, MUM) == Decimal("0.00")
    assert central.scalar("SELECT sum(amount) FROM wallet_entries WHERE office_id = :o",
                          o=MUM) == Decimal("0.00")
    fees = central.scalar("SELECT count(*) FROM wallet_entries WHERE kind = 'fee' "
                          "AND certificate_number = ANY(:n)", n=issued)
    certificates = central.scalar("SELECT count(*) FROM certificates WHERE application_id = "
                                  "ANY(:ids)", ids=ids)
    assert fees == certificates == k
    # the numbers refused at record were not left reserved for ever: the desk voids them
    # (Issuer._release_after_failure); here they are still 'reserved', never 'issued'
    assert central.scalar("SELECT count(*) FROM certificate_numbers WHERE state = 'issued' "
                          "AND application_id = ANY(:ids)", ids=ids) == k


def test_an_officer_moves_no_money_through_raw_sql(central: CentralDb) -> None:
    before = {o: _balance(central, o) for o in (1, 2, 3)}
    officer = central.engine_for(ANITA)
    for sql in (
        "INSERT INTO wallet_entries (office_id, kind, amount, certificate_number, reference, at) "
        "VALUES (1, 'top_up', 100000, NULL, 'PAYU/FAKE/1', now())",
        "INSERT INTO wallet_entries (office_id, kind, amount, certificate_number, reference, at) "
        "VALUES (1, 'refund', 600, 'IGCC/2026/0000001', 'x', now())",
        "UPDATE office_wallets SET balance = balance + 100000 WHERE office_id = 1",
        "INSERT INTO office_wallets (office_id, balance, updated_at) VALUES (1, 9, now())",
        "UPDATE wallet_entries SET amount = 0 WHERE office_id = 1",
        "DELETE FROM wallet_entries WHERE office_id = 1",
        "UPDATE certificates SET status = 'cancelled' WHERE office_id = 1",
    ):
        with pytest.raises(ProgrammingError, match="permission denied"), officer.begin() as c:
            c.execute(text(sql))
    with officer.connect() as c:  # officers read their own offices' balances only
        seen = dict(c.execute(text("SELECT office_id, balance FROM office_wallets")).all())
    assert set(seen) == {MUM} and Decimal(str(seen[MUM])) == before[MUM]
    assert {o: _balance(central, o) for o in (1, 2, 3)} == before


def test_an_administrator_tops_up_only_as_the_store_allows(central: CentralDb) -> None:
    admin_engine = central.engine_for(ADMIN)
    before = _balance(central, CHE)
    refusals = {
        "INSERT INTO wallet_entries (office_id, kind, amount, certificate_number, reference, at) "
        "VALUES (3, 'fee', -100, 'X/1', 'x', now())": "written by the central store",
        "INSERT INTO wallet_entries (office_id, kind, amount, certificate_number, reference, at) "
        "VALUES (3, 'top_up', 100, NULL, 'x', now())": "is not one",
        "INSERT INTO wallet_entries (office_id, kind, amount, certificate_number, reference, at) "
        "VALUES (3, 'top_up', 100.001, NULL, 'PAYU/77', now())": "rupees and paise",
        "INSERT INTO wallet_entries (office_id, kind, amount, certificate_number, reference, at) "
        "VALUES (3, 'top_up', 99999999, NULL, 'PAYU/78', now())": "at most",
        "UPDATE office_wallets SET balance = 1 WHERE office_id = 3": "permission denied",
    }
    for sql, says in refusals.items():
        with pytest.raises(DBAPIError, match=says), admin_engine.begin() as c:
            c.execute(text(sql))
    book = WalletBook(AgencyAdmin.for_email(admin_engine, ADMIN))
    row = book.top_up("CHE", "2500.00", "PAYU/2026/000991")
    assert row.balance == before + Decimal("2500.00") == _balance(central, CHE)
    with pytest.raises(WalletRefused, match="already credited to office CHE"):
        book.top_up("CHE", "2500.00", "PAYU/2026/000991")
    with pytest.raises(DBAPIError, match="already credited to office CHE"), \
            admin_engine.begin() as c:  # the store's own check, past the service
        c.execute(text("INSERT INTO wallet_entries (office_id, kind, amount, certificate_number, "
                       "reference, at) VALUES (3, 'top_up', 1, NULL, 'PAYU/2026/000991', "
                       "now())"))
    statement = book.statement("CHE")
    assert statement.closing == _balance(central, CHE)
    assert statement.lines[-1].reference == "PAYU/2026/000991"
    assert [b.code for b in book.balances()] == ["CHE", "DEL", "MUM"]


def test_the_store_refuses_a_short_reservation(central: CentralDb) -> None:
    [app_id] = _approve(central, CHE, "preferential", 1)
    _set_balance(central, CHE, Decimal("400.00"))  # as the embedded demo's short office
    with pytest.raises(DBAPIError, match=r"Office CHE's e-wallet holds ₹400\.00; the certificate "
                       r"fee for application .* is ₹600\.00") as refused, \
            central.engine_for(SANDEEP).begin() as c:
        c.execute(text("SELECT * FROM od_reserve_certificate_number(:a, 'desk')"), {"a": app_id})
    assert refused.value.orig.sqlstate == "ODREF"  # type: ignore[union-attr]
    assert central.scalar("SELECT count(*) FROM certificate_numbers WHERE application_id = :a",
                          a=app_id) == 0
    _owner(central, "UPDATE offices SET ewallet_enabled = false WHERE id = :o", o=CHE)
    number = _issue_sql(central.engine_for(SANDEEP), app_id, _register_fake_dsc(central, SANDEEP))
    assert central.scalar("SELECT count(*) FROM wallet_entries WHERE certificate_number = :n",
                          n=number) == 0  # an office without e-wallet is not charged
    assert _balance(central, CHE) == Decimal("400.00")


def test_a_synced_desk_is_refused_before_the_pin(central: CentralDb) -> None:
    [app_id] = _approve(central, CHE, "preferential", 1)
    _set_balance(central, CHE, Decimal("400.00"))
    config = load_config()
    issuer = Issuer(SqlCentral(central.engine_for(SANDEEP), config), config,
                    _user_id(central, SANDEEP))
    asked: list[Any] = []
    with pytest.raises(IssueRefused, match=r"Office CHE's e-wallet holds ₹400\.00; the "
                       r"certificate fee for application .* is ₹600\.00.*nothing was signed"):
        issuer.run_batch([app_id], lambda info, warnings: asked.append(info))
    assert asked == []


def test_cancel_on_postgresql_refunds_the_same_day_only(central: CentralDb) -> None:
    fingerprint = _register_fake_dsc(central, ANITA)
    today, earlier = _approve(central, MUM, "preferential", 2)
    officer = central.engine_for(ANITA)
    numbers = {app_id: _issue_sql(officer, app_id, fingerprint) for app_id in (today, earlier)}
    _owner(central, "UPDATE certificates SET issued_at = issued_at - interval '1 day' "
                    "WHERE number = :n", n=numbers[earlier])
    config = load_config()
    desk = SqlCentral(officer, config)
    anita = _user_id(central, ANITA)
    before = _balance(central, MUM)
    with pytest.raises(IssueRefused, match="write a reason"):
        desk.cancel_certificate(anita, today, "  ")
    with pytest.raises(IssueRefused, match="is not an officer of office MUM"):
        SqlCentral(central.engine_for(SANDEEP), config).cancel_certificate(
            _user_id(central, SANDEEP), today, "wrong")
    cancelled = desk.cancel_certificate(anita, today, "Issued against a wrong invoice.")
    assert (cancelled.number, cancelled.refund) == (numbers[today], Decimal("600.00"))
    assert _balance(central, MUM) == before + Decimal("600.00")
    late = desk.cancel_certificate(anita, earlier, "Shipment cancelled.")
    assert late.refund is None and _balance(central, MUM) == before + Decimal("600.00")
    with pytest.raises(IssueRefused, match="already cancelled"):
        desk.cancel_certificate(anita, today, "again")
    rows = _owner(central, "SELECT c.status, c.cancel_reason, a.status FROM certificates c "
                           "JOIN applications a ON a.id = c.application_id "
                           "WHERE c.number = :n", n=numbers[today]).one()
    assert tuple(rows) == ("cancelled", "Issued against a wrong invoice.", "cancelled")
    actions = set(_owner(central, "SELECT action FROM audit_events WHERE actor_id = :u AND "
                                  "action IN ('application.cancel', 'certificate.cancelled')",
                         u=anita).scalars())
    assert actions == {"application.cancel", "certificate.cancelled"}
    assert desk.certificate_status(number=numbers[today]).status == "cancelled"
    # an administrator of the agency may cancel too
    [third] = _approve(central, MUM, "non_preferential", 1)
    number = _issue_sql(officer, third, fingerprint)
    admin_cancel = SqlCentral(central.engine_for(ADMIN), config).cancel_certificate(
        _user_id(central, ADMIN), third, "Duplicate of another certificate.")
    assert (admin_cancel.number, admin_cancel.refund) == (number, FEE)


# --- through the central service ---------------------------------------------------------------


def _http(server: Any, email: str) -> Any:
    from app.services.central_http import HttpCentral

    return HttpCentral(server.url, ca_file=str(server.ca), ask_password=lambda _p: PASSWORD)


@pytest.fixture
def _memory_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    store: dict[tuple[str, str], str] = {}
    monkeypatch.setattr("keyring.get_password", lambda s, u: store.get((s, u)))
    monkeypatch.setattr("keyring.set_password", lambda s, u, p: store.__setitem__((s, u), p))
    monkeypatch.setattr("keyring.delete_password", lambda s, u: store.pop((s, u), None))


def test_through_the_service_refused_before_the_pin_and_cancelled(  # type: ignore[no-untyped-def]
        pg_hub, serve, tmp_path: Path, _memory_keyring) -> None:
    central: CentralDb = pg_hub.extras["central"]
    for email in (SANDEEP, ANITA):
        set_password(central.owner_engine(), email)
    server = serve(pg_hub)
    [short] = _approve(central, CHE, "preferential", 1)
    _set_balance(central, CHE, Decimal("400.00"))
    link = _http(server, SANDEEP)
    info = link.hello(SANDEEP)
    config = load_config()
    asked: list[Any] = []
    with pytest.raises(IssueRefused, match=r"Office CHE's e-wallet holds ₹400\.00; the "
                       r"certificate fee for application .* is ₹600\.00"):
        Issuer(link, config, info.user_id).run_batch([short], lambda i, w: asked.append(i))
    assert asked == []
    with pytest.raises(IssueRefused, match=r"holds ₹400\.00"):  # and by the store at reserve
        link.reserve(info.user_id, short, "desk-http")
    # an application of another office: the service shows no balance of it
    [mum_app] = _approve(central, MUM, "preferential", 1)
    assert link.wallet_charges(info.user_id, [mum_app]) == []

    fingerprint = _register_fake_dsc(central, ANITA)
    number = _issue_sql(central.engine_for(ANITA), mum_app, fingerprint)
    before = _balance(central, MUM)
    anita_link = _http(server, ANITA)
    anita = anita_link.hello(ANITA).user_id
    with pytest.raises(UserFacingError, match=r"Application #\d+ is not in your offices"):
        link.cancel_certificate(info.user_id, mum_app, "wrong")
    cancelled = anita_link.cancel_certificate(anita, mum_app, "Issued against a wrong invoice.")
    assert (cancelled.number, cancelled.refund) == (number, Decimal("600.00"))
    assert _balance(central, MUM) == before + Decimal("600.00")
    with pytest.raises(IssueRefused, match="already cancelled"):
        anita_link.cancel_certificate(anita, mum_app, "again")
