"""The desk's Aadhaar eSign issue, end to end: a desk synced through the central service
(HttpCentral over TLS) reserves, renders, prepares the signature and sends the digest to the
gateway; the officer's browser (httpx, driven by the test from the consent URL the desk
hands over) goes through the consent page, the test ESP's OTP page and back to the
gateway; the desk polls, embeds the returned CMS and records the issue with the eSign
transaction. The certificate PDF validates in pyHanko and pdfsig.

Every refusal (a replayed request, a tampered request, a response over another digest, an
expired timestamp, an ESP signature from an unknown key), a cancel and a timeout leave
nothing issued: no certificate, the number voided, the application approved, no signed PDF
handed out, and the desk's error is the gateway's own sentence."""

from __future__ import annotations

import hashlib
import io
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from app.models import Application, Certificate, CertificateNumber
from app.models.enums import ApplicationStatus
from app.services.esign_issuing import EsignCancelled, EsignFailed, EsignIssuer
from app.services.queue_rows import Col
from app.signing.esign_pdf import signing_method
from app.store.central import session_factory
from tests.esign.desk_gateway import (  # noqa: F401 - fixtures
    Browser,
    EsignHub,
    esign_pki,
    esp,
    gateway,
    no_keyring,
    pg_gateway,
    seal,
    seal_config,
    sealer,
    serve_sealed,
    synced_desk,
    trust_esign_ca,
)
from tests.issuing.conftest import (  # noqa: F401 - fixtures
    OFFICER_EMAIL,
    approved,
    ca,
    hsm,
    officer_id,
    trust_dir,
)
from tests.store.conftest import CentralDb, central, pg_server, pg_template  # noqa: F401
from tests.support.test_esp import ESP_NAME, HOLDER_NAME, EsignPki, EspServer


def _certificate_of(engine: Any, app_id: int) -> Any:
    with session_factory(engine)() as s:
        return s.execute(select(
            Certificate.number, Certificate.pdf, Certificate.pdf_sha256,
            Certificate.signer_fingerprint, Certificate.signed_with,
        ).where(Certificate.application_id == app_id)).first()


def _status(engine: Any, app_id: int) -> str:
    with session_factory(engine)() as s:
        return str(s.get(Application, app_id).status)


def _number_states(engine: Any, app_id: int) -> list[str]:
    with session_factory(engine)() as s:
        return [str(n) for n in s.scalars(select(CertificateNumber.state).where(
            CertificateNumber.application_id == app_id))]


def _validate(pdf: bytes, pki: EsignPki) -> Any:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    root = asn1_x509.Certificate.load(pki.ca.public_bytes(serialization.Encoding.DER))
    [signature] = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    return signature, validate_pdf_signature(
        signature, ValidationContext(trust_roots=[root], allow_fetching=False))


def test_the_desk_signs_with_aadhaar_esign_through_the_gateway(
    tmp_path: Path, gateway: EsignHub, esign_pki: EsignPki, approved: Callable[..., list[int]],  # noqa: F811
) -> None:
    desk = synced_desk(gateway, tmp_path)
    [app_id] = approved("non_preferential")
    desk.sync.sync_now()
    issued_pdfs: list[bytes] = []
    issuer = EsignIssuer(desk.issuer(on_issued=lambda issued, pdf: issued_pdfs.append(pdf)),
                         poll_seconds=0.2)
    offer = issuer.offer()
    assert offer.available and offer.esp == ESP_NAME and offer.timeout_seconds == 600
    browser = Browser(gateway)
    states: list[str] = []
    issued = issuer.issue(app_id, open_consent=browser,
                          on_state=lambda waiting: states.append(waiting.state))
    assert len(browser.urls) == 1 and "/esign/v1/consent/" in browser.urls[0]
    assert "Signed" in browser.last_page and states[-1] == "signed"
    # only the digest left the desk: the ESP signed exactly what the desk prepared
    [pdf] = issued_pdfs
    embedded, status = _validate(pdf, esign_pki)
    assert status.bottom_line and status.summary() == "INTACT:TRUSTED,UNTOUCHED"
    signer_der = embedded.signer_cert.dump()
    assert embedded.signer_cert.subject.native["common_name"] == HOLDER_NAME
    assert gateway.esp.esp.signed_digests == [
        hashlib.sha256(pdf[:embedded.byte_range[1]]
                       + pdf[embedded.byte_range[2]:]).hexdigest()]
    path = tmp_path / "issued.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Signature is Valid." in out and f"Common Name: {HOLDER_NAME}" in out
    # recorded as a token issue records: the PDF, its digest, the one-time certificate
    certificate = _certificate_of(gateway.engine, app_id)
    assert certificate is not None and certificate.number == issued.certificate_number
    assert certificate.pdf == pdf
    assert certificate.pdf_sha256 == hashlib.sha256(pdf).hexdigest() == issued.pdf_sha256
    assert certificate.signer_fingerprint == hashlib.sha256(signer_der).hexdigest()
    assert certificate.signer_fingerprint == issued.signer_fingerprint
    assert certificate.signed_with == "esign"
    assert _status(gateway.engine, app_id) == ApplicationStatus.ISSUED
    assert _number_states(gateway.engine, app_id) == ["issued"]
    assert str(desk.queue_row(app_id)[Col.STATUS]).lower() == "issued"  # the copy knows
    # the transaction is used: it cannot record another issue
    with gateway.engine.connect() as connection:
        from app.store.esign_tables import esign_transactions as T

        assert connection.execute(select(T.c.state)).scalars().all() == ["used"]
    # which way it was signed, as the verify view says it
    method = signing_method(pdf)
    assert method.kind == "esign"
    assert method.sentence == "Signed with Aadhaar eSign (one-time certificate from " \
        f"{esign_pki.ca.subject.rfc4514_string().split('CN=')[1].split(',')[0]})"
    trust_esign_ca(esign_pki)
    verdict = desk.verifier().verify_pdf(pdf)
    assert verdict.signed_with == method.sentence
    checks = {c.key: c for c in verdict.checks}
    assert verdict.valid and verdict.verdict == "valid", [c for c in verdict.checks
                                                          if not c.passed]
    assert checks["signer_registered"].passed  # the one-time certificate the store recorded
    assert OFFICER_EMAIL in checks["signer_registered"].detail
    assert checks["qr_code"].passed and verdict.store_status == "valid"
    assert verdict.level == "B-B" and verdict.level_note.startswith(
        "once the one-time eSign certificate expires")


REFUSALS = {
    # how the browser / the ESP misbehaves -> words of the gateway's sentence
    "replayed": "ESP-910",
    "tampered": "ESP-911",
    "other_digest": "digest",
    "old_timestamp": "time",
    "unknown_key": "registered key",
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_every_refusal_leaves_the_application_approved_and_nothing_signed(
    case: str, tmp_path: Path, gateway: EsignHub, approved: Callable[..., list[int]],  # noqa: F811
) -> None:
    desk = synced_desk(gateway, tmp_path)
    [app_id] = approved("non_preferential")
    desk.sync.sync_now()
    if case in ("other_digest", "old_timestamp", "unknown_key"):
        setattr(gateway.esp.esp.switches, case, True)
        browser = Browser(gateway)
    else:
        browser = Browser(gateway, case)
    handed_out: list[bytes] = []
    issuer = EsignIssuer(desk.issuer(on_issued=lambda issued, pdf: handed_out.append(pdf)),
                         poll_seconds=0.2)
    with pytest.raises(EsignFailed) as failed:
        issuer.issue(app_id, open_consent=browser)
    sentence = str(failed.value)
    assert REFUSALS[case].lower() in sentence.lower(), sentence
    assert sentence.endswith("nothing was issued and the application stays approved.")
    with gateway.engine.connect() as connection:
        from app.store.esign_tables import esign_transactions as T

        row = connection.execute(select(T.c.state, T.c.message)).one()
    assert row.state == "failed" and row.message.rstrip(".") in sentence
    assert handed_out == [] and _certificate_of(gateway.engine, app_id) is None
    assert _status(gateway.engine, app_id) == ApplicationStatus.APPROVED
    assert _number_states(gateway.engine, app_id) == ["void"]
    assert str(desk.queue_row(app_id)[Col.STATUS]).lower() == "approved"


def test_cancel_while_waiting_withdraws_the_transaction_and_releases_the_number(
    tmp_path: Path, gateway: EsignHub, approved: Callable[..., list[int]],  # noqa: F811
) -> None:
    desk = synced_desk(gateway, tmp_path)
    [app_id] = approved("non_preferential")
    desk.sync.sync_now()
    cancel = threading.Event()
    seen: list[str] = []

    def on_state(waiting: Any) -> None:
        seen.append(waiting.state)
        if len(seen) == 2:  # the officer gives up while the gateway waits
            cancel.set()

    browser = Browser(gateway, "away")
    with pytest.raises(EsignCancelled, match="Cancelled while waiting"):
        EsignIssuer(desk.issuer(), poll_seconds=0.1).issue(
            app_id, open_consent=browser, cancel=cancel, on_state=on_state)
    assert seen == ["pending", "pending"]
    with gateway.engine.connect() as connection:
        from app.store.esign_tables import esign_transactions as T

        assert connection.execute(select(T.c.state)).scalar_one() == "cancelled"
    # the consent link is dead: the ESP is never reached with it
    with gateway.client() as late:
        assert late.get(browser.urls[0]).status_code == 410
    assert _certificate_of(gateway.engine, app_id) is None
    assert _status(gateway.engine, app_id) == ApplicationStatus.APPROVED
    assert _number_states(gateway.engine, app_id) == ["void"]


def test_no_consent_within_the_timeout_issues_nothing(
    tmp_path: Path, gateway: EsignHub, approved: Callable[..., list[int]],  # noqa: F811
) -> None:
    desk = synced_desk(gateway, tmp_path)
    [app_id] = approved("non_preferential")
    desk.sync.sync_now()
    with pytest.raises(EsignFailed, match="No eSign consent within 1 seconds"):
        EsignIssuer(desk.issuer(), poll_seconds=0.1, timeout_seconds=1).issue(
            app_id, open_consent=Browser(gateway, "away"))
    with gateway.engine.connect() as connection:
        from app.store.esign_tables import esign_transactions as T

        assert connection.execute(select(T.c.state)).scalar_one() == "cancelled"
    assert _certificate_of(gateway.engine, app_id) is None
    assert _status(gateway.engine, app_id) == ApplicationStatus.APPROVED
    assert _number_states(gateway.engine, app_id) == ["void"]


def test_without_the_seal_the_desk_refuses_before_any_request(
    tmp_path: Path, demo_engine: Any, esign_pki: EsignPki, esp: EspServer,  # noqa: F811
    approved: Callable[..., list[int]],  # noqa: F811
) -> None:
    """A service with eSign but no agency seal: the QR code would need the signer's key,
    which does not exist yet; refused before the request, the number released."""
    served = serve_sealed(tmp_path, demo_engine, esign_pki, esp, None)
    try:
        desk = synced_desk(served, tmp_path)
        [app_id] = approved("non_preferential")
        desk.sync.sync_now()
        opened: list[Any] = []
        with pytest.raises(Exception, match="needs the agency's seal"):
            EsignIssuer(desk.issuer()).issue(app_id, open_consent=opened.append)
        assert opened == [] and esp.esp.requests == []
        assert _status(demo_engine, app_id) == ApplicationStatus.APPROVED
        assert _number_states(demo_engine, app_id) == ["void"]
    finally:
        served.server.stop()


def test_through_a_service_on_postgresql_the_store_records_the_esign_issue(
    tmp_path: Path, pg_gateway: EsignHub, esign_pki: EsignPki,  # noqa: F811
) -> None:
    """The same round trip where the service's store is PostgreSQL (its own login role):
    od_record_issue checks the transaction and marks it used with the issue; then a
    refusal leaves the next application approved with its number voided."""
    desk = synced_desk(pg_gateway, tmp_path)
    first = pg_gateway.approved_application()
    second = pg_gateway.approved_application(skip=1)
    desk.sync.sync_now()
    handed_out: list[bytes] = []
    issuer = EsignIssuer(desk.issuer(on_issued=lambda issued, pdf: handed_out.append(pdf)),
                         poll_seconds=0.2)
    issued = issuer.issue(first, open_consent=Browser(pg_gateway))
    [pdf] = handed_out
    _embedded, status = _validate(pdf, esign_pki)
    assert status.bottom_line, status.summary()
    certificate = _certificate_of(pg_gateway.engine, first)
    assert certificate.number == issued.certificate_number and certificate.pdf == pdf
    assert certificate.signed_with == "esign"
    assert certificate.signer_fingerprint == issued.signer_fingerprint
    assert _status(pg_gateway.engine, first) == ApplicationStatus.ISSUED
    assert str(desk.queue_row(first)[Col.STATUS]).lower() == "issued"
    trust_esign_ca(esign_pki)
    assert desk.verifier().verify_pdf(pdf).valid
    pg_gateway.esp.esp.switches.other_digest = True
    with pytest.raises(EsignFailed, match="nothing was issued"):
        issuer.issue(second, open_consent=Browser(pg_gateway))
    assert len(handed_out) == 1 and _certificate_of(pg_gateway.engine, second) is None
    assert _status(pg_gateway.engine, second) == ApplicationStatus.APPROVED
    assert _number_states(pg_gateway.engine, second) == ["void"]
    with pg_gateway.engine.connect() as connection:
        from app.store.esign_tables import esign_transactions as T

        states = connection.execute(select(T.c.state).order_by(T.c.id)).scalars().all()
    assert states == ["used", "failed"]
