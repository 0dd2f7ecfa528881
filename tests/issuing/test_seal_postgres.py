"""The agency seal on a PostgreSQL central store: reservations made by the store's own
function (od_reserve_certificate_number) come back sealed; the printed QR verifies offline
against the cached trust list, and the desk, whose officer login cannot read the seals,
verifies with its cached copy."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.config import Config
from app.documents.qr_payload import parse_qr_payload, payload_from_qr_text
from app.services.central import SqlCentral, certificate_data_for
from app.services.issuing import Issuer, verify_certificate_pdf
from app.services.seals import (
    cache_trust_list,
    create_seal,
    load_cached_trust_list,
    seal_trust_list,
    verify_sealed_payload,
)
from app.signing.certificates import CertificateInfo
from app.signing.seal import Sealer
from tests.issuing.test_seal import SEAL_LABEL, SEAL_PIN, _qr_from_png
from tests.store.conftest import (  # noqa: F401 - fixtures
    CentralDb,
    central,
    officer_emails,
    pg_server,
    pg_template,
)
from tests.support.pki import KeySpec

PIN = "530917"
PUBLIC_BASE = "https://coo.example.gov.in"


def test_a_batch_on_postgresql_is_sealed_and_verifies_offline(
    central: CentralDb, hsm, ca, data_home: Path, tmp_path: Path, monkeypatch  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    office, emails = next(iter(officer_emails(central).items()))
    email = emails[0]
    token = hsm.make_token("DSC-PG", ca, (KeySpec("sign", "rsa"),), pin=PIN)
    hsm.init_token(SEAL_LABEL, pin=SEAL_PIN)
    monkeypatch.setenv("OD_TEST_SEAL_PIN", SEAL_PIN)
    ca.write_trust_dir(data_home / "trust")
    config = Config(data_dir=data_home, central_url=central.login_url(email),
                    pkcs11_modules=[hsm.module], token_label="DSC-PG")
    owner = central.owner_engine()
    with owner.connect() as connection:
        officer_id = connection.execute(text("SELECT id FROM users WHERE email = :e"),
                                        {"e": email}).scalar_one()
        agency = connection.execute(text(
            "SELECT a.code FROM agencies a JOIN users u ON u.agency_id = a.id "
            "WHERE u.id = :u"), {"u": officer_id}).scalar_one()
        ids = list(connection.execute(text(
            "SELECT a.id FROM applications a JOIN offices o ON o.id = a.office_id "
            "WHERE o.code = :o AND a.status = 'approved' AND a.kind <> 'in_lieu' "
            "ORDER BY a.id LIMIT 3"), {"o": office}).scalars())
    assert len(ids) == 3
    sealer = Sealer.from_dict({"module": hsm.module, "token_label": SEAL_LABEL,
                               "pin_env": "OD_TEST_SEAL_PIN", "public_base_url": PUBLIC_BASE})
    try:
        seal = create_seal(owner, sealer, agency)  # the schema owner records seals
        # the officer's own login: reservations through the store's SECURITY DEFINER functions
        link = SqlCentral(central.engine_for(email), config, sealer=sealer)
        cert = token.certs["sign"]
        link.register_dsc(officer_id, CertificateInfo.from_der(cert.der, key_id=cert.key_id),
                          [ca.sub_der])
        pdfs: dict[int, bytes] = {}
        issuer = Issuer(link, config, officer_id,
                        on_issued=lambda issued, pdf: pdfs.__setitem__(issued.application_id,
                                                                       pdf))
        outcome = issuer.run_batch(ids, lambda info, warnings: PIN)
    finally:
        sealer.close()
    assert len(outcome.done) == 3 and not outcome.failed, outcome.message

    with Session(owner) as session:  # what the central service publishes
        cache_trust_list(config, seal_trust_list(session))
    trust = load_cached_trust_list(config)
    assert trust is not None and trust.by_key_id(seal.key_id) is not None
    for app_id, issued in outcome.done:
        qr = _qr_from_png(pdfs[app_id], tmp_path)
        assert qr.startswith(PUBLIC_BASE + "/v/")
        payload = payload_from_qr_text(qr)
        assert parse_qr_payload(payload).key_id == seal.key_id
        with Session(owner) as session:
            data, status = certificate_data_for(session, issued.certificate_number)
        assert status == "valid"
        result = verify_sealed_payload(payload, trust, data=data)
        assert result.valid, result.reason
        changed = bytearray(payload)
        changed[len(changed) // 2] ^= 0x01
        assert not verify_sealed_payload(bytes(changed), trust).valid
        # the desk's own verification: its officer login cannot read the seals, the cached
        # trust list stands in; the PAdES signature is checked as before
        report = verify_certificate_pdf(link, config, pdfs[app_id])
        assert report.valid, report.checks
        assert "sealed by the seal of" in report.checks[-1].detail
