"""Batches (one PIN, token pulled, wrong PIN), refusals, numbers voided with reasons, no PIN
anywhere, and the CLI."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import Application, Certificate, CertificateNumber, User
from app.models.enums import ApplicationStatus
from app.signing.batch import BatchStatus
from app.store.central import session_factory
from tests.issuing.conftest import OFFICER_EMAIL, PIN, register
from tests.support.pki import KeySpec


def statuses(engine, ids):  # type: ignore[no-untyped-def]
    with session_factory(engine)() as s:
        return {a.id: a.status for a in s.scalars(select(Application)
                                                  .where(Application.id.in_(ids)))}


def numbers_count(engine) -> int:  # type: ignore[no-untyped-def]
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(CertificateNumber))


def test_token_removed_mid_batch_keeps_issued_and_voids_the_rest(
        rsa_token, hsm, issuer, approved, demo_engine):
    ids = approved("non_preferential", 3) + approved("preferential", 2)

    def progress(p):  # type: ignore[no-untyped-def]
        if p.done == 2:
            hsm.remove_token(rsa_token.label)  # the officer pulls the token

    outcome = issuer.run_batch(ids, lambda info, w: PIN, on_progress=progress)
    assert outcome.status is BatchStatus.STOPPED
    assert "removed" in outcome.message
    assert len(outcome.done) == 2 and len(outcome.left) == 3
    now = statuses(demo_engine, ids)
    with session_factory(demo_engine)() as s:
        for app_id, issued in outcome.done:
            assert now[app_id] == ApplicationStatus.ISSUED
            pdf = s.scalar(select(Certificate.pdf)
                           .where(Certificate.number == issued.certificate_number))
            assert pdf and pdf.startswith(b"%PDF")
        for app_id in outcome.left:
            assert now[app_id] == ApplicationStatus.APPROVED
            assert s.scalar(select(Certificate).where(Certificate.application_id == app_id)) \
                is None
        # the number reserved for the item being signed when the token went is void, with why
        voided = s.scalars(select(CertificateNumber)
                           .where(CertificateNumber.state == "void")).all()
        assert len(voided) == 1
        assert voided[0].application_id == outcome.left[0]
        assert "removed" in voided[0].void_reason
        assert s.scalar(select(func.count()).select_from(CertificateNumber)
                        .where(CertificateNumber.state == "reserved")) == 0


def test_wrong_pin_stops_before_anything(rsa_token, issuer, approved, demo_engine):
    from app.signing.errors import WrongPin

    ids = approved("non_preferential", 2)
    before = numbers_count(demo_engine)
    with pytest.raises(WrongPin) as caught:
        issuer.run_batch(ids, lambda info, w: "000000")
    assert "Wrong PIN" in str(caught.value)
    assert set(statuses(demo_engine, ids).values()) == {ApplicationStatus.APPROVED}
    assert numbers_count(demo_engine) == before


def test_pin_asked_once_for_a_batch(rsa_token, issuer, approved):
    asked = []
    outcome = issuer.run_batch(approved("back_to_back", 2),
                               lambda info, w: asked.append(info.label) or PIN)
    assert asked == [rsa_token.label]
    assert outcome.status is BatchStatus.COMPLETED and len(outcome.done) == 2


def test_unregistered_certificate_is_refused(make_token, issuer, approved, config):
    from app.signing.errors import SigningRefused

    make_token("DSC-UNREG")
    with pytest.raises(SigningRefused) as caught:
        issuer.run_batch(approved("non_preferential"), lambda info, w: PIN)
    assert caught.value.rule == "not_registered"


@pytest.mark.parametrize(("kind", "words"), [("expired", "expired"),
                                             ("encryption", "digitalSignature")])
def test_registration_refuses_expired_and_wrong_usage(kind, words, make_token, demo_engine,
                                                      config, officer_id, ca):
    from app.services.dsc import DscRegistrationError

    token = make_token(f"DSC-{kind.upper()}", (KeySpec("sign", "rsa", kind=kind),))
    with pytest.raises(DscRegistrationError) as caught:
        register(demo_engine, config, officer_id, token, ca=ca)
    assert words in str(caught.value)


def test_registration_refuses_untrusted(make_token, demo_engine, config, officer_id, ca,
                                        trust_dir):
    from app.services.dsc import DscRegistrationError

    token = make_token()
    for file in trust_dir.iterdir():
        file.unlink()
    from tests.support.pki import make_test_ca

    make_test_ca("Someone Else").write_trust_dir(trust_dir)
    with pytest.raises(DscRegistrationError) as caught:
        register(demo_engine, config, officer_id, token, ca=ca)
    assert "trusted root" in str(caught.value)


def test_already_issued_is_refused_and_number_not_taken(rsa_token, issuer, approved,
                                                        open_session, demo_engine):
    from app.services.issuing import IssueRefused

    [app_id] = approved("non_preferential")
    session = open_session()
    issuer.issue_one(app_id, session)
    before = numbers_count(demo_engine)
    with pytest.raises(IssueRefused, match="issued"):
        issuer.issue_one(app_id, session)
    assert numbers_count(demo_engine) == before


def test_concurrent_change_voids_the_number(rsa_token, issuer, approved, open_session,
                                            demo_engine):
    """Another desk returns the application while this one signs: not issued, number void."""
    from app.services.issuing import ConcurrentIssue

    [app_id] = approved("non_preferential")
    session = open_session()
    real_sign = session.sign_pdf

    def sign_while_someone_else_acts(*args, **kwargs):  # type: ignore[no-untyped-def]
        with session_factory(demo_engine)() as s, s.begin():
            s.get(Application, app_id).remarks = "edited elsewhere"
        return real_sign(*args, **kwargs)

    session.sign_pdf = sign_while_someone_else_acts
    with pytest.raises(ConcurrentIssue):
        issuer.issue_one(app_id, session)
    assert statuses(demo_engine, [app_id])[app_id] == ApplicationStatus.APPROVED
    with session_factory(demo_engine)() as s:
        row = s.scalars(select(CertificateNumber)
                        .where(CertificateNumber.application_id == app_id)).one()
    assert row.state == "void" and "another desk" in row.void_reason


def test_no_pin_in_logs_or_stores(rsa_token, issuer, approved, data_home, demo_engine,
                                  tmp_path):
    from app.signing.errors import WrongPin

    log_dir = data_home / "logs"
    log_dir.mkdir(exist_ok=True)
    handler = logging.FileHandler(log_dir / "issue-test.log")
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        with pytest.raises(WrongPin):
            issuer.run_batch(approved("non_preferential"), lambda info, w: PIN[::-1])
        outcome = issuer.run_batch(approved("non_preferential", 2), lambda info, w: PIN)
        assert len(outcome.done) == 2
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)
    demo_engine.dispose()
    files = [p for p in data_home.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in files)
    assert any(p.name.endswith(".sqlite") for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in (PIN, PIN[::-1]):
            assert secret.encode() not in data, f"PIN found in {path}"
            assert secret.encode("utf-16-le") not in data, f"PIN found in {path}"


@pytest.fixture
def cli(monkeypatch):  # type: ignore[no-untyped-def]
    """app.cli.main with this concern's commands registered (until app/cli.py lists them)."""
    import app.cli

    if "app.cli.issuing" not in app.cli.COMMAND_MODULES:
        monkeypatch.setattr(app.cli, "COMMAND_MODULES",
                            (*app.cli.COMMAND_MODULES, "app.cli.issuing"))
    return app.cli.main


def test_cli_issue_reads_pin_from_stdin(cli, rsa_token, approved, demo_engine, capsys,
                                        monkeypatch, tmp_path):
    ids = approved("preferential", 2)
    with session_factory(demo_engine)() as s:
        numbers = [s.get(Application, i).number for i in ids]
    monkeypatch.setattr(sys, "stdin", io.StringIO(PIN + "\n"))
    out_dir = tmp_path / "out"
    code = cli(["issue", *numbers, "--office", "MUM", "--out", str(out_dir)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert PIN not in captured.out + captured.err
    for number in numbers:
        assert f"{number}\tissued\tIGCC/" in captured.out
    assert len(list(out_dir.glob("*.pdf"))) == 2
    assert set(statuses(demo_engine, ids).values()) == {ApplicationStatus.ISSUED}


def test_cli_issue_wrong_pin_exits_2(cli, rsa_token, approved, demo_engine, capsys,
                                     monkeypatch):
    [app_id] = approved("non_preferential")
    with session_factory(demo_engine)() as s:
        number = s.get(Application, app_id).number
    monkeypatch.setattr(sys, "stdin", io.StringIO("111111\n"))
    assert cli(["issue", number, "--officer", OFFICER_EMAIL]) == 2
    assert "Wrong PIN" in capsys.readouterr().err


def test_cli_dsc_register(cli, make_token, demo_engine, config, capsys, ca):
    from sqlalchemy import select as sel

    from app.models import DscRegistration

    token = make_token("DSC-NEW", (KeySpec("sign", "ec"), KeySpec("enc", "rsa",
                                                                   kind="encryption")))
    assert cli(["dsc", "register", "--officer", OFFICER_EMAIL]) == 0
    out = capsys.readouterr().out
    assert "registered for " + OFFICER_EMAIL in out
    with session_factory(demo_engine)() as s:
        row = s.scalars(sel(DscRegistration).where(
            DscRegistration.fingerprint_sha256 == token.certs["sign"].fingerprint)).one()
    assert len(row.key_id) == 16
    assert cli(["dsc", "register", "--officer", OFFICER_EMAIL]) == 0
    assert "already registered" in capsys.readouterr().out
    # the same certificate for another officer is refused
    assert cli(["dsc", "register", "--officer", "rahul.menon@igcc.org.in"]) == 2
    assert "registered to Anita" in capsys.readouterr().err


def test_demo_signing_kit(demo_engine, data_home, monkeypatch):
    """The demo's token, CA and registrations; a second call does nothing; demo officers sign."""
    from app.config import load_config
    from app.services.dsc import user_id_for_email
    from app.services.issuing import Issuer
    from app.signing.demo_token import DEMO_PIN, activate_demo_token, prepare_demo_signing

    monkeypatch.setenv("SOFTHSM2_CONF", "/nonexistent")  # restored after the test
    config = load_config()
    assert not activate_demo_token(config)
    kit = prepare_demo_signing(config, demo_engine)
    assert kit is not None and kit.created and len(kit.officers) == 6
    assert (Path(config.trust_path) / "origin-desk-demo-root.pem").exists()
    again = prepare_demo_signing(config, demo_engine)
    assert again is not None and not again.created
    assert activate_demo_token(config)
    issuer = Issuer(demo_engine, config, user_id_for_email(demo_engine, OFFICER_EMAIL))
    with session_factory(demo_engine)() as s:
        officer = s.get(User, issuer.officer_id)
        app_id = s.scalar(select(Application.id).where(
            Application.status == ApplicationStatus.APPROVED,
            Application.office_id.in_([o.id for o in officer.offices])))
    outcome = issuer.run_batch([app_id], lambda info, w: DEMO_PIN)
    assert outcome.status is BatchStatus.COMPLETED and outcome.done
    assert DEMO_PIN not in (data_home / "demo-token" / "softhsm2.conf").read_text()


def test_cli_issue_refuses_another_offices_application_before_the_pin(
    cli, rsa_token, demo_engine, capsys, monkeypatch  # type: ignore[no-untyped-def]
):
    from sqlalchemy import select

    from app.models import Office

    with session_factory(demo_engine)() as s:  # the officer serves MUM only
        number = s.scalars(
            select(Application.number).join(Office, Office.id == Application.office_id)
            .where(Office.code == "CHE", Application.status == ApplicationStatus.APPROVED)
        ).first()

    def no_pin_please() -> str:
        raise AssertionError("the PIN was asked for an application that cannot be issued")

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setattr("getpass.getpass", lambda *a, **k: no_pin_please())
    assert cli(["issue", number, "--officer", OFFICER_EMAIL]) == 2
    assert f"{number} belongs to office CHE, which you do not serve" in capsys.readouterr().err
