"""Issuing an in-lieu certificate supersedes the original in the same transaction: the
original certificate superseded with superseded_by_number, its application superseded,
the audit events; on the embedded demo, on a desk synced with PostgreSQL through the
officer's own login, and through the central service. A desk that dies in the middle of
the transaction leaves neither half."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from app.config import Config, load_config
from app.models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    Certificate,
    CertificateNumber,
    CertificateStatus,
)
from app.services.desk import Desk
from tests.in_lieu.support import InLieu, make_in_lieu
from tests.issuing.conftest import OFFICER_EMAIL, PIN
from tests.support.killed_desk import kill_desk_at_marker


def assert_superseded(engine: Engine, made: InLieu, number: str) -> None:
    with Session(engine) as s:
        original = s.scalars(select(Certificate).where(
            Certificate.number == made.original_number)).one()
        assert original.status == CertificateStatus.SUPERSEDED
        assert original.superseded_by_number == number
        assert s.get(Application, made.original_application_id).status == \
            ApplicationStatus.SUPERSEDED
        assert s.get(Application, made.application_id).status == ApplicationStatus.ISSUED
        new = s.scalars(select(Certificate).where(Certificate.number == number)).one()
        assert new.application_id == made.application_id and new.status == "valid"
        [event] = s.scalars(select(AuditEvent).where(
            AuditEvent.entity_type == "application",
            AuditEvent.entity_id == made.original_application_id,
            AuditEvent.action == "application.supersede")).all()
        assert event.note == f"superseded by in-lieu certificate {number}"
        assert (event.before or {}).get("status") == "issued"
        assert (event.after or {}).get("status") == "superseded"
        issued = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "certificate.issued", AuditEvent.entity_id == new.id)).one()
        assert (issued.after or {}).get("supersedes") == made.original_number


def assert_neither_half(engine: Engine, made: InLieu) -> None:
    with Session(engine) as s:
        original = s.scalars(select(Certificate).where(
            Certificate.number == made.original_number)).one()
        assert original.status == CertificateStatus.VALID
        assert original.superseded_by_number is None
        assert s.get(Application, made.original_application_id).status == ApplicationStatus.ISSUED
        assert s.get(Application, made.application_id).status == ApplicationStatus.APPROVED
        assert s.scalars(select(Certificate).where(
            Certificate.application_id == made.application_id)).first() is None
        assert not s.scalars(select(AuditEvent).where(
            AuditEvent.entity_id == made.original_application_id,
            AuditEvent.action == "application.supersede")).all()


def test_on_the_embedded_demo(rsa_token, demo_engine) -> None:  # type: ignore[no-untyped-def]
    made = make_in_lieu(demo_engine, officer_email=OFFICER_EMAIL)
    desk = Desk(demo_engine, load_config())
    desk.sign_in(OFFICER_EMAIL)
    outcome = desk.issuer().run_batch([made.application_id], lambda info, warnings: PIN)
    [(_id, issued)] = outcome.done
    assert issued.superseded_number == made.original_number
    assert_superseded(demo_engine, made, issued.certificate_number)
    detail = desk.detail(made.original_application_id)
    decision = dict(dict(detail.sections)["Decision"])
    assert decision["Superseded by"] == issued.certificate_number


def _pg_desk(central: Any, email: str, hsm: Any, ca: Any, data_home: Path,
             tmp_path: Path) -> tuple[Any, int]:
    from app.services.central import SqlCentral
    from app.services.offline_desk import LocalDesk
    from app.services.sync import SyncService
    from app.signing.certificates import CertificateInfo
    from app.store.local import LocalStore
    from tests.support.pki import KeySpec

    token = hsm.make_token("DSC-PG", ca, (KeySpec("sign", "rsa"),), pin=PIN)
    ca.write_trust_dir(data_home / "trust")
    config = Config(data_dir=data_home, central_url=central.login_url(email),
                    pkcs11_modules=[hsm.module], token_label="DSC-PG")
    link = SqlCentral(central.engine_for(email), config)
    officer_id = int(central.scalar("SELECT id FROM users WHERE email = :e", e=email))
    cert = token.certs["sign"]
    link.register_dsc(officer_id, CertificateInfo.from_der(cert.der, key_id=cert.key_id),
                      [ca.sub_der])
    local = LocalStore(tmp_path / "local.sqlite")
    desk = LocalDesk(local, config, SyncService(local, link, email=email))
    desk.sign_in(email)
    return desk, officer_id


def test_on_a_desk_synced_with_postgresql(central, hsm, ca, data_home, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.store.conftest import officer_emails

    email = officer_emails(central)["MUM"][0]
    owner = central.owner_engine()
    made = make_in_lieu(owner, officer_email=email)
    desk, _officer = _pg_desk(central, email, hsm, ca, data_home, tmp_path)
    assert desk.sync.sync_now().online
    assert desk.detail(made.application_id).in_lieu.changed_fields  # the difference first
    outcome = desk.issuer().run_batch([made.application_id], lambda info, warnings: PIN)
    assert not outcome.failed, outcome.message
    [(_id, issued)] = outcome.done
    assert issued.superseded_number == made.original_number
    assert_superseded(owner, made, issued.certificate_number)
    # the desk's copy shows both at once (the issue pulled them)
    assert desk.detail(made.application_id).status == "issued"
    assert desk.detail(made.original_application_id).status == "superseded"


def test_a_connection_lost_inside_the_issue_on_postgresql_leaves_neither_half(
    central, hsm, ca, data_home, tmp_path, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    from app.services.central import SqlCentral
    from tests.store.conftest import officer_emails

    email = officer_emails(central)["MUM"][0]
    owner = central.owner_engine()
    made = make_in_lieu(owner, officer_email=email)
    desk, _officer = _pg_desk(central, email, hsm, ca, data_home, tmp_path)
    real = SqlCentral._record_pg
    reached: list[str] = []

    def dies_before_commit(session, reservation, pdf, digest, fingerprint):  # type: ignore[no-untyped-def]
        recorded = real(session, reservation, pdf, digest, fingerprint)
        # both halves written, not committed: inside the transaction they are there ...
        reached.append(session.execute(text(
            "SELECT superseded_by_number FROM certificates WHERE number = :n"),
            {"n": made.original_number}).scalar())
        # ... and the desk's connection dies before the commit
        session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return recorded

    monkeypatch.setattr(SqlCentral, "_record_pg", staticmethod(dies_before_commit))
    outcome = desk.issuer().run_batch([made.application_id], lambda info, warnings: PIN)
    assert not outcome.done and reached and reached[0] is not None
    assert_neither_half(owner, made)


def test_through_the_central_service(tmp_path, demo_hub, serve, demo_engine, rsa_token) -> None:  # type: ignore[no-untyped-def]
    from app.services.central_http import HttpCentral
    from app.services.offline_desk import LocalDesk
    from app.services.sync import SyncService
    from app.store.local import LocalStore
    from tests.hub.conftest import PASSWORD, set_password

    made = make_in_lieu(demo_engine, officer_email=OFFICER_EMAIL)
    set_password(demo_engine, OFFICER_EMAIL)
    server = serve(demo_hub)
    local = LocalStore(tmp_path / "local.sqlite")
    link = HttpCentral(server.url, ca_file=str(server.ca), ask_password=lambda p: PASSWORD)
    desk = LocalDesk(local, load_config(), SyncService(local, link))
    desk.sign_in(OFFICER_EMAIL)
    assert desk.sync.sync_now().online
    assert [c.label for c in desk.detail(made.application_id).in_lieu.changed_fields] == \
        ["Consignee"]
    outcome = desk.issuer().run_batch([made.application_id], lambda info, warnings: PIN)
    assert not outcome.failed, outcome.message
    [(_id, issued)] = outcome.done
    assert_superseded(demo_engine, made, issued.certificate_number)
    assert desk.detail(made.original_application_id).status == "superseded"


# the issue command, made to stop dead inside the recording transaction, after the original
# was superseded and before the commit: it touches MARKER and sleeps
CHILD = """
import sys, time
from pathlib import Path
import app.services.central_issuing as central_issuing

real = central_issuing._supersede

def stop_dead(*args, **kwargs):
    superseded = real(*args, **kwargs)
    Path(sys.argv[1]).write_text(superseded)
    time.sleep(120)

central_issuing._supersede = stop_dead
from app.cli import main
sys.exit(main(["issue", sys.argv[2], "--officer", sys.argv[3]]))
"""


def test_a_desk_killed_inside_the_issue_leaves_neither_half(
    rsa_token, demo_engine, tmp_path, monkeypatch, capsys  # type: ignore[no-untyped-def]
) -> None:
    from app.cli import main

    made = make_in_lieu(demo_engine, officer_email=OFFICER_EMAIL)
    assert kill_desk_at_marker(CHILD, tmp_path / "superseded", made.number, OFFICER_EMAIL,
                               PIN) == made.original_number
    assert_neither_half(demo_engine, made)

    # the same desk starts again: the dead run's number is voided, the issue goes through
    monkeypatch.setattr(sys, "stdin", io.StringIO(PIN + "\n"))
    assert main(["issue", made.number, "--officer", OFFICER_EMAIL]) == 0
    assert "\tissued\t" in capsys.readouterr().out
    with Session(demo_engine) as s:
        number = s.scalars(select(Certificate.number).where(
            Certificate.application_id == made.application_id)).one()
        voided = s.scalars(select(CertificateNumber).where(
            CertificateNumber.application_id == made.application_id,
            CertificateNumber.state == "void")).all()
    assert len(voided) == 1 and "abandoned" in (voided[0].void_reason or "")
    assert_superseded(demo_engine, made, number)



def test_through_the_central_service_on_postgresql(pg_hub, serve, hsm, ca, data_home,  # type: ignore[no-untyped-def]
                                                    tmp_path) -> None:
    from app.services.central import SqlCentral
    from app.services.central_http import HttpCentral
    from app.services.offline_desk import LocalDesk
    from app.services.sync import SyncService
    from app.signing.certificates import CertificateInfo
    from app.store.local import LocalStore
    from tests.hub.conftest import PASSWORD, set_password
    from tests.store.conftest import officer_emails
    from tests.support.pki import KeySpec

    central = pg_hub.extras["central"]
    owner = central.owner_engine()
    email = officer_emails(central)["MUM"][0]
    made = make_in_lieu(owner, officer_email=email)
    officer_id = set_password(owner, email)
    token = hsm.make_token("DSC-HUB", ca, (KeySpec("sign", "rsa"),), pin=PIN)
    ca.write_trust_dir(data_home / "trust")
    server = serve(pg_hub)
    config = Config(data_dir=data_home, central_url=server.url, central_ca_file=str(server.ca),
                    pkcs11_modules=[hsm.module], token_label="DSC-HUB")
    link = HttpCentral(server.url, ca_file=str(server.ca), ask_password=lambda p: PASSWORD)
    local = LocalStore(tmp_path / "local.sqlite")
    desk = LocalDesk(local, config, SyncService(local, link))
    desk.sign_in(email)
    cert = token.certs["sign"]  # registered through the officer's own login
    SqlCentral(central.engine_for(email), config).register_dsc(
        officer_id, CertificateInfo.from_der(cert.der, key_id=cert.key_id), [ca.sub_der])
    assert desk.sync.sync_now().online
    assert [c.label for c in desk.detail(made.application_id).in_lieu.changed_fields] == \
        ["Consignee"]
    outcome = desk.issuer().run_batch([made.application_id], lambda info, warnings: PIN)
    assert not outcome.failed, outcome.message
    [(_id, issued)] = outcome.done
    assert issued.superseded_number == made.original_number
    assert_superseded(owner, made, issued.certificate_number)
    assert desk.detail(made.original_application_id).status == "superseded"


def test_an_original_of_another_office_is_superseded_too(rsa_token, demo_engine) -> None:  # type: ignore[no-untyped-def]
    """Anita serves MUM; the original was issued by DEL: the issue supersedes it all the same
    (as od_record_issue does on PostgreSQL), the audit event naming her."""
    made = make_in_lieu(demo_engine, officer_email=OFFICER_EMAIL, original_office="DEL")
    desk = Desk(demo_engine, load_config())
    desk.sign_in(OFFICER_EMAIL)
    outcome = desk.issuer().run_batch([made.application_id], lambda info, warnings: PIN)
    assert not outcome.failed, outcome.message
    [(_id, issued)] = outcome.done
    assert_superseded(demo_engine, made, issued.certificate_number)
    with Session(demo_engine) as s:
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.entity_id == made.original_application_id,
            AuditEvent.action == "application.supersede")).one()
        assert event.actor_label.startswith("Anita Deshpande <")


def test_an_original_of_another_office_on_postgresql(central, hsm, ca, data_home, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.store.conftest import officer_emails

    email = officer_emails(central)["MUM"][0]
    owner = central.owner_engine()
    made = make_in_lieu(owner, officer_email=email, original_office="DEL")
    desk, _officer = _pg_desk(central, email, hsm, ca, data_home, tmp_path)
    assert desk.sync.sync_now().online
    diff = desk.detail(made.application_id).in_lieu  # the original is not visible to MUM
    assert diff is not None and "not in this desk's store" in diff.note
    outcome = desk.issuer().run_batch([made.application_id], lambda info, warnings: PIN)
    assert not outcome.failed, outcome.message
    [(_id, issued)] = outcome.done
    assert_superseded(owner, made, issued.certificate_number)
