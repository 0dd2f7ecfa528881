"""``origin-desk render APP --out F.pdf`` writes the issued, signed certificate when there
is one, else a draft, and its line names which: on the embedded demo, on a desk configured
with a central PostgreSQL store (the officer's own login), and on a desk whose central
store is the central service (its synced copy, the signed PDF fetched over HTTPS)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.cli import main
from app.config import Config, load_config
from app.models import Application, Certificate
from tests.hub.conftest import PASSWORD, demo_hub, serve, set_password  # noqa: F401 - fixtures
from tests.issuing.conftest import (  # noqa: F401 - fixtures
    OFFICER_EMAIL,
    PIN,
    approved,
    ca,
    config,
    hsm,
    issuer,
    make_token,
    officer_id,
    rsa_token,
    trust_dir,
)
from tests.store.conftest import CentralDb, central, officer_emails, pg_server, pg_template  # noqa: F401
from tests.support.pki import KeySpec


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """An in-memory keyring: tests never touch the machine's real one."""
    store: dict[tuple[str, str], str] = {}
    monkeypatch.setattr("keyring.get_password", lambda s, u: store.get((s, u)))
    monkeypatch.setattr("keyring.set_password", lambda s, u, p: store.__setitem__((s, u), p))
    monkeypatch.setattr("keyring.delete_password", lambda s, u: store.pop((s, u), None))


def _render(capsys: pytest.CaptureFixture[str], number: str, out: Path,
            *extra: str) -> tuple[int, str, str]:
    code = main(["render", number, "--out", str(out), *extra])
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err.strip()


def _is_draft(pdf: Path) -> bool:
    words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout
    return "DRAFT" in words.upper()


def _number_of(engine: Any, app_id: int) -> str:
    with Session(engine) as session:
        return str(session.scalar(select(Application.number).where(Application.id == app_id)))


def test_on_the_demo_an_issued_application_is_written_signed_and_a_draft_says_so(
    issuer, rsa_token, approved, demo_engine, tmp_path: Path, capsys  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    issued_id, waiting_id = approved("non_preferential", 2)
    outcome = issuer.run_batch([issued_id], lambda info, warnings: PIN)
    assert len(outcome.done) == 1, outcome.message
    with Session(demo_engine) as session:
        number, signed = session.execute(select(Certificate.number, Certificate.pdf).where(
            Certificate.application_id == issued_id)).one()
    app_number = _number_of(demo_engine, issued_id)

    out = tmp_path / "issued.pdf"
    code, line, err = _render(capsys, app_number.lower(), out)
    assert code == 0, err
    assert out.read_bytes() == signed  # the signed certificate, byte for byte
    assert line == (f"wrote {out}: the issued, signed certificate {number} of {app_number} "
                    "(from the embedded demo store)")

    draft = tmp_path / "draft.pdf"
    code, line, err = _render(capsys, _number_of(demo_engine, waiting_id), draft)
    assert code == 0, err
    assert "a DRAFT of" in line and "not a signed certificate" in line
    assert "is not issued (it is approved)" in line
    assert _is_draft(draft)


def test_an_issued_demo_certificate_without_its_signed_pdf_is_written_as_a_named_draft(
    demo_engine, tmp_path: Path, capsys  # type: ignore[no-untyped-def]
) -> None:
    with Session(demo_engine) as session:  # the seeded demo's certificates carry no PDF
        app_id, number = session.execute(
            select(Certificate.application_id, Certificate.number)
            .where(Certificate.pdf.is_(None)).order_by(Certificate.id)).first()
    app_number = _number_of(demo_engine, app_id)
    out = tmp_path / "seeded.pdf"
    code, line, err = _render(capsys, app_number, out)
    assert code == 0, err
    assert line.startswith(f"wrote {out}: a DRAFT of {app_number}")
    assert (f"{app_number} was issued as {number}, but the embedded demo store holds no "
            "signed PDF of it") in line
    assert _is_draft(out)


def test_on_a_desk_configured_with_postgresql_the_signed_pdf_comes_through_the_officers_login(
    central: CentralDb, hsm, ca, data_home: Path, tmp_path: Path, monkeypatch, capsys  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    from app.services.central import SqlCentral
    from app.services.issuing import Issuer
    from app.signing.certificates import CertificateInfo

    office, emails = next(iter(officer_emails(central).items()))
    email = emails[0]
    token = hsm.make_token("DSC-PG", ca, (KeySpec("sign", "rsa"),), pin=PIN)
    ca.write_trust_dir(data_home / "trust")
    settings = Config(data_dir=data_home, central_url=central.login_url(email),
                    pkcs11_modules=[hsm.module], token_label="DSC-PG")
    with central.owner_engine().connect() as connection:
        officer_id = connection.execute(text("SELECT id FROM users WHERE email = :e"),
                                        {"e": email}).scalar_one()
        issued_id, waiting_id = connection.execute(text(
            "SELECT a.id FROM applications a JOIN offices o ON o.id = a.office_id "
            "WHERE o.code = :o AND a.status = 'approved' AND a.kind = 'non_preferential' "
            "ORDER BY a.id LIMIT 2"), {"o": office}).scalars()
    link = SqlCentral(central.engine_for(email), settings)
    cert = token.certs["sign"]
    link.register_dsc(officer_id, CertificateInfo.from_der(cert.der, key_id=cert.key_id),
                      [ca.sub_der])
    signed: dict[int, bytes] = {}
    outcome = Issuer(link, settings, officer_id,
                     on_issued=lambda issued, pdf: signed.__setitem__(issued.application_id, pdf)
                     ).run_batch([issued_id], lambda info, warnings: PIN)
    assert len(outcome.done) == 1, outcome.message
    owner = central.owner_engine()
    number = str(central.scalar("SELECT number FROM certificates WHERE application_id = :a",
                                a=issued_id))

    # the desk's settings name the store through the officer's own login
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", central.login_url(email))
    out = tmp_path / "issued.pdf"
    code, line, err = _render(capsys, _number_of(owner, issued_id), out)
    assert code == 0, err
    assert out.read_bytes() == signed[issued_id]
    assert f"the issued, signed certificate {number}" in line and "the central store" in line

    draft = tmp_path / "draft.pdf"
    code, line, err = _render(capsys, _number_of(owner, waiting_id), draft)
    assert code == 0, err
    assert "a DRAFT of" in line and "is not issued (it is approved)" in line
    assert _is_draft(draft)

    # an application of an office the officer does not serve: row-level security hides it
    other = central.scalar(
        "SELECT a.number FROM applications a WHERE a.office_id NOT IN (SELECT m.office_id "
        "FROM officer_offices m JOIN users u ON u.id = m.user_id WHERE u.email = :e) "
        "ORDER BY a.id LIMIT 1", e=email)
    hidden = tmp_path / "hidden.pdf"
    code, _line, err = _render(capsys, str(other), hidden)
    assert code == 2 and "is not in the store" in err and not hidden.exists()


def test_through_the_central_service_the_signed_pdf_is_fetched_over_https(
    tmp_path: Path, demo_hub, serve, demo_engine, rsa_token, approved, monkeypatch, capsys  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    from app.services.central_http import HttpCentral
    from app.services.offline_desk import LocalDesk
    from app.services.sync import SyncService
    from app.store.local import LocalStore

    set_password(demo_engine, OFFICER_EMAIL)
    server = serve(demo_hub)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", server.url)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_CA_FILE", str(server.ca))
    settings = load_config()
    assert settings.uses_central_service
    local = LocalStore(settings.local_store_path)  # the desk's own synced copy
    link = HttpCentral(server.url, ca_file=str(server.ca), ask_password=lambda _p: PASSWORD)
    desk = LocalDesk(local, settings, SyncService(local, link))
    desk.sign_in(OFFICER_EMAIL)  # the password is kept in the (test) keyring
    issued_id, waiting_id = approved("non_preferential", 2)
    assert desk.sync.sync_now().online
    signed: dict[int, bytes] = {}
    outcome = desk.issuer(on_issued=lambda issued, pdf: signed.__setitem__(
        issued.application_id, pdf)).run_batch([issued_id], lambda info, warnings: PIN)
    assert len(outcome.done) == 1, outcome
    link.close()
    local.close()
    number = outcome.done[0][1].certificate_number

    out = tmp_path / "issued.pdf"
    code, line, err = _render(capsys, _number_of(demo_engine, issued_id), out)
    assert code == 0, err
    assert out.read_bytes() == signed[issued_id]
    assert line.endswith(f"the issued, signed certificate {number} of "
                         f"{_number_of(demo_engine, issued_id)} (from the central service at "
                         f"{server.url})")

    draft = tmp_path / "draft.pdf"
    code, line, err = _render(capsys, _number_of(demo_engine, waiting_id), draft)
    assert code == 0, err
    assert "a DRAFT of" in line and "is not issued (it is approved)" in line
    assert _is_draft(draft)

    # an application this desk's copy does not hold (another office's): said plainly
    with Session(demo_engine) as session:
        elsewhere = session.scalar(select(Application.number).join(Application.office)
                                   .where(text("offices.code <> 'MUM'")).limit(1))
    missing = tmp_path / "missing.pdf"
    code, _line, err = _render(capsys, str(elsewhere), missing)
    assert code == 2 and "is not in this desk's synced copy" in err and not missing.exists()
