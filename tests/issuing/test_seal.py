"""The agency seal (issue 10, part 5): seal keys on a SoftHSM2 token, the trust list, QR
payloads sealed at reservation, checked offline from a PNG of the issued page, and the
officer's token making exactly one signature per certificate (counted by pkcs11-spy)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from PIL import Image
from sqlalchemy import select

from app.documents.qr_payload import (
    build_qr_payload,
    key_id_for_certificate,
    parse_qr_payload,
    payload_from_qr_text,
)
from app.models import Application, AuditEvent, CertificateNumber
from app.models.enums import ApplicationStatus
from app.services.central import SqlCentral, certificate_data_for
from app.services.issuing import Issuer, seal_trust_list_for, verify_certificate_pdf
from app.services.seals import (
    TrustListError,
    cache_trust_list,
    create_seal,
    load_cached_trust_list,
    read_trust_list,
    seal_trust_list,
    verify_sealed_payload,
)
from app.signing.seal import SealConfigError, Sealer, SealError, self_signed_seal_certificate
from app.store.central import session_factory
from app.store.hub_tables import agency_seals
from tests.issuing.conftest import PIN
from tests.support.seal_spy import count_token_signatures, spy_available

SEAL_PIN = "864209"
SEAL_LABEL = "SEAL-TEST"
PUBLIC_BASE = "https://verify.igcc.example"


@pytest.fixture
def seal_config(hsm, monkeypatch) -> dict[str, str]:  # type: ignore[no-untyped-def]
    hsm.init_token(SEAL_LABEL, pin=SEAL_PIN)
    monkeypatch.setenv("OD_TEST_SEAL_PIN", SEAL_PIN)
    return {"module": hsm.module, "token_label": SEAL_LABEL, "pin_env": "OD_TEST_SEAL_PIN",
            "public_base_url": PUBLIC_BASE + "/"}


@pytest.fixture
def sealer(seal_config):  # type: ignore[no-untyped-def]
    made = Sealer.from_dict(seal_config)
    yield made
    made.close()


@pytest.fixture
def seal(sealer, demo_engine):  # type: ignore[no-untyped-def]
    return create_seal(demo_engine, sealer, "IGCC")


def _trust_document(demo_engine) -> dict:  # type: ignore[no-untyped-def]
    with session_factory(demo_engine)() as session:
        return seal_trust_list(session)


def _qr_from_png(pdf: bytes, tmp_path: Path) -> str:
    """The QR text as a camera would read it: page 1 rendered by pdftoppm, zxing-cpp."""
    source = tmp_path / "issued.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "100", "-f", "1", "-l", "1", "-png", str(source),
                    str(tmp_path / "page")], check=True)
    [image] = list(tmp_path.glob("page*.png"))
    found = zxingcpp.read_barcodes(Image.open(image), formats=zxingcpp.BarcodeFormat.QRCode)
    image.unlink()
    assert len(found) == 1
    return found[0].text


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "key", "words"), [
    ({"module": None}, "module", "is missing"),
    ({"module": "/nonexistent/libx.so"}, "module", "is not a file"),
    ({"pin": SEAL_PIN}, "pin", "never goes into the configuration"),
    ({"user_pin": SEAL_PIN}, "user_pin", "never goes into the configuration"),
    ({"colour": "blue"}, "colour", "unknown setting"),
    ({"pin_file": "/etc/hostname"}, "pin_file", "exactly one of pin_file and pin_env"),
    ({"pin_env": None}, "pin_env", "exactly one of pin_file and pin_env"),
    ({"pin_env": "OD_NOT_SET_ANYWHERE"}, "pin_env", "is not set"),
    ({"token_label": ""}, "token_label", "non-empty text"),
    ({"public_base_url": "verify.igcc.example"}, "public_base_url", "http(s) address"),
    ({"public_base_url": "https://x.example/?q=1"}, "public_base_url", "http(s) address"),
])
def test_a_bad_seal_setting_is_one_line_naming_it(seal_config, change, key, words) -> None:
    raw = {**seal_config, **change}
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(SealConfigError) as caught:
        Sealer.from_dict(raw)
    message = str(caught.value)
    assert message.startswith(f"seal configuration: {key}: ") and words in message
    assert "\n" not in message and SEAL_PIN not in message


def test_the_pin_comes_from_a_file_and_never_shows(seal_config, tmp_path) -> None:
    pin_file = tmp_path / "seal.pin"
    pin_file.write_text(SEAL_PIN + "\n")
    pin_file.chmod(0o600)
    raw = {**seal_config, "pin_file": str(pin_file)}
    del raw["pin_env"]
    sealer = Sealer.from_dict(raw)
    try:
        assert sealer.public_base_url == PUBLIC_BASE
        assert SEAL_PIN not in repr(sealer) and SEAL_PIN not in json.dumps(
            sealer.config.to_dict())
        key = sealer.generate("IGCC", "Indo-Gulf Chamber of Commerce")
        assert len(sealer.sign(key.label, b"message")) == 64
    finally:
        sealer.close()
    pin_file.write_text("000000\n")
    wrong = Sealer.from_dict(raw)
    with pytest.raises(SealError, match="is not the PIN of the seal token"):
        wrong.seal_key("IGCC")
    wrong.close()


# --- creating seals ----------------------------------------------------------------------------


def test_creating_a_seal_records_its_certificate_and_retires_the_previous(
    sealer, demo_engine  # type: ignore[no-untyped-def]
) -> None:
    first = create_seal(demo_engine, sealer, "igcc", now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    second = create_seal(demo_engine, sealer, "IGCC")
    with session_factory(demo_engine)() as session:
        rows = session.execute(select(agency_seals).order_by(agency_seals.c.id)).all()
        audit = session.scalars(select(AuditEvent.action)
                                .where(AuditEvent.action == "seal.created")).all()
    assert len(rows) == 2 and len(audit) == 2
    for row, made in zip(rows, (first, second), strict=True):
        der = bytes(row.certificate)
        assert bytes(row.key_id) == key_id_for_certificate(der) == made.key_id
        assert row.key_label.startswith("od-seal/IGCC/")
        certificate = x509.load_der_x509_certificate(der)
        certificate.verify_directly_issued_by(certificate)  # self-signed by the seal key
        subject = certificate.subject.rfc4514_string()
        assert "O=Indo-Gulf Chamber of Commerce" in subject and "CN=IGCC QR seal" in subject
        assert isinstance(certificate.public_key().curve, ec.SECP256R1)
    assert rows[0].retired_at is not None and rows[1].retired_at is None
    # the newest seal on the token is the one that seals
    assert sealer.seal_key("IGCC").key_id == second.key_id
    assert [k.label for k in sealer.seal_keys()] == [r.key_label for r in rows]
    trust = read_trust_list(_trust_document(demo_engine))
    assert {s.key_id for s in trust.seals} == {first.key_id, second.key_id}
    assert trust.by_key_id(first.key_id).retired_at is not None
    with pytest.raises(SealError, match="has no seal"):
        sealer.seal_key("NONE")


def test_a_seal_for_an_unknown_agency_is_refused_and_leaves_no_key(sealer, demo_engine) -> None:
    from app.errors import UserFacingError

    with pytest.raises(UserFacingError, match="no agency with code 'XYZ'"):
        create_seal(demo_engine, sealer, "XYZ")
    assert sealer.seal_keys() == []


# --- the trust list ----------------------------------------------------------------------------


def test_trust_list_documents_are_checked(seal, demo_engine) -> None:  # type: ignore[no-untyped-def]
    document = _trust_document(demo_engine)
    assert document["format"] == "origin-desk/seal-trust-list/1"
    [entry] = document["seals"]
    assert entry["agency"] == "IGCC" and entry["key_id"] == seal.key_id.hex()
    assert base64.b64decode(entry["certificate"]) == seal.certificate_der
    assert read_trust_list(json.dumps(document)).seals[0].key_id == seal.key_id

    def broken(**changes: object) -> dict:
        return {**document, "seals": [{**entry, **changes}]}

    other = ec.generate_private_key(ec.SECP256R1())
    foreign = self_signed_seal_certificate(
        other.public_key(), "IGCC", "x", dt.datetime.now(dt.UTC),
        lambda tbs: other.sign(tbs, ec.ECDSA(hashes.SHA256())))
    foreign_b64 = base64.b64encode(foreign.public_bytes(Encoding.DER)).decode()
    cases = [
        ("{not json", "not JSON"),
        ([], "expected a JSON object"),
        ({**document, "format": "something/else"}, "format: expected"),
        ({**document, "format": "origin-desk/seal-trust-list/2"}, "update it"),
        ({**document, "seals": "none"}, "seals: expected a list"),
        (broken(key_id="xyz"), "seals[0].key_id: expected 16 hexadecimal digits"),
        (broken(key_id="00" * 8), "seals[0].key_id: does not match the certificate"),
        (broken(certificate="%%%"), "seals[0].certificate: is not base64"),
        (broken(certificate=foreign_b64), "seals[0].key_id: does not match"),
        (broken(created_at="yesterday"), "seals[0].created_at"),
        (broken(created_at="2026-11-30T10:00:00"), "has no time zone"),
        (broken(agency=""), "seals[0].agency"),
        ({**document, "seals": [entry, entry]}, "listed twice"),
    ]
    for bad, words in cases:
        with pytest.raises(TrustListError) as caught:
            read_trust_list(bad)  # type: ignore[arg-type]
        message = str(caught.value)
        assert message.startswith("seal trust list:") and words in message, message
        assert "\n" not in message


def test_the_desk_caches_the_trust_list_for_offline_use(seal, demo_engine, config) -> None:  # type: ignore[no-untyped-def]
    from app.store.link import CentralUnavailable

    assert load_cached_trust_list(config) is None
    online = SqlCentral(demo_engine, config)
    trust = seal_trust_list_for(online, config)
    assert trust is not None and trust.by_key_id(seal.key_id) is not None
    path = Path(config.trust_path) / "seals.json"
    assert read_trust_list(path.read_text()).seals == trust.seals

    class Offline:
        def seal_trust_list(self) -> dict:
            raise CentralUnavailable("the central store cannot be reached")

    assert seal_trust_list_for(Offline(), config).seals == trust.seals
    path.write_text("{damaged")
    with pytest.raises(TrustListError, match="seals.json"):
        load_cached_trust_list(config)
    assert seal_trust_list_for(Offline(), config) is None


# --- sealing at reservation, and checking ------------------------------------------------------


def _issue(demo_engine, config, officer_id, ids, sealer):  # type: ignore[no-untyped-def]
    pdfs: dict[int, bytes] = {}
    central = SqlCentral(demo_engine, config, sealer=sealer)
    issuer = Issuer(central, config, officer_id,
                    on_issued=lambda issued, pdf: pdfs.__setitem__(issued.application_id, pdf))
    outcome = issuer.run_batch(ids, lambda info, warnings: PIN)
    return outcome, pdfs


def test_a_sealed_batch_carries_url_qr_codes_that_verify_offline(
    rsa_token, seal, sealer, demo_engine, config, officer_id, approved, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    ids = approved("preferential", 2) + approved("non_preferential", 2)
    outcome, pdfs = _issue(demo_engine, config, officer_id, ids, sealer)
    assert len(outcome.done) == 4 and not outcome.failed, outcome.message
    # the desk caches the trust list; what follows needs no store
    cache_trust_list(config, _trust_document(demo_engine))
    trust = load_cached_trust_list(config)
    assert trust is not None
    for app_id, issued in outcome.done:
        text = _qr_from_png(pdfs[app_id], tmp_path)
        assert text.startswith(PUBLIC_BASE + "/v/")
        payload = payload_from_qr_text(text)
        content = parse_qr_payload(payload)
        assert content.reference_number == issued.certificate_number
        assert content.key_id == seal.key_id and content.algorithm == "ecdsa-p256-sha256"
        with session_factory(demo_engine)() as session:
            data, status = certificate_data_for(session, issued.certificate_number)
        assert status == "valid"
        result = verify_sealed_payload(payload, trust)
        assert result.valid, result.reason
        assert verify_sealed_payload(payload, trust, data=data).valid
        # the desk's full verification: the PAdES signature as before, the QR by its seal
        report = verify_certificate_pdf(demo_engine, config, pdfs[app_id])
        assert report.valid, report.checks
        assert "sealed by the seal of Indo-Gulf Chamber of Commerce" in report.checks[-1].detail

    # one changed byte anywhere fails
    payload = payload_from_qr_text(_qr_from_png(pdfs[outcome.done[0][0]], tmp_path))
    for index in range(len(payload)):
        for bit in (0, 7):
            changed = bytearray(payload)
            changed[index] ^= 1 << bit
            result = verify_sealed_payload(bytes(changed), trust)
            assert not result.valid, (index, bit)
    assert "does not match" in verify_sealed_payload(
        payload[:-1] + bytes([payload[-1] ^ 1]), trust).reason
    # the certificate's data in the store must match what was sealed
    with session_factory(demo_engine)() as session:
        other_data, _ = certificate_data_for(session, outcome.done[1][1].certificate_number)
    assert not verify_sealed_payload(payload, trust, data=other_data).valid

    # an offline desk (no link, or a link that cannot reach the store) still checks the
    # PAdES signature and the seal, against its cached trust list
    from app.services.issuing import Verifier
    from app.store.link import CentralUnavailable

    class Unreachable:
        def __getattr__(self, name: str) -> object:
            def fail(*args: object, **kwargs: object) -> object:
                raise CentralUnavailable("the central store cannot be reached")
            return fail

    for link in (None, Unreachable()):
        report = Verifier(link, config).verify_pdf(pdfs[outcome.done[0][0]])  # type: ignore[arg-type]
        checks = {c.name: c for c in report.checks}
        assert report.offline and not report.valid
        assert checks["Signature intact"].passed and checks["No change after signing"].passed
        assert checks["Chain to a trusted root"].passed
        assert checks["Signer registered"].passed is None
        assert checks["QR code matches the document"].passed, checks
        assert "offline" in checks["QR code matches the document"].detail
    with pytest.raises(CentralUnavailable):
        Verifier(None, config).status(outcome.done[0][1].certificate_number)


def test_a_payload_sealed_by_an_unknown_key_or_another_agency_fails(
    seal, demo_engine, config, approved  # type: ignore[no-untyped-def]
) -> None:
    from dataclasses import replace

    from app.services.central_issuing import reserve

    trust = read_trust_list(_trust_document(demo_engine))
    [app_id] = approved("non_preferential")
    with session_factory(demo_engine)() as session, session.begin():
        from app.services.dsc import user_id_for_email
        from tests.issuing.conftest import OFFICER_EMAIL

        reservation = reserve(session, user_id_for_email(demo_engine, OFFICER_EMAIL), app_id,
                              "test")
    rogue = ec.generate_private_key(ec.SECP256R1())

    def rogue_sign(message: bytes) -> bytes:
        r, s = decode_dss_signature(rogue.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    certificate = self_signed_seal_certificate(
        rogue.public_key(), "IGCC", "Indo-Gulf Chamber of Commerce", dt.datetime.now(dt.UTC),
        lambda tbs: rogue.sign(tbs, ec.ECDSA(hashes.SHA256())))
    rogue_id = key_id_for_certificate(certificate)
    forged = build_qr_payload(reservation.data, key_id=rogue_id, sign=rogue_sign,
                              algorithm="ecdsa-p256-sha256")
    result = verify_sealed_payload(forged, trust)
    assert not result.valid and "unknown key" in result.reason
    # the same forgery claiming the real seal's key id does not verify either
    claimed = build_qr_payload(reservation.data, key_id=seal.key_id, sign=rogue_sign,
                               algorithm="ecdsa-p256-sha256")
    assert "does not match" in verify_sealed_payload(claimed, trust).reason
    # a genuine seal of another agency does not vouch for this agency's numbers
    from app.services.seals import TrustedSeal, TrustList

    other = TrustedSeal("XYZ", "Another Council", rogue_id,
                        certificate.public_bytes(Encoding.DER), dt.datetime.now(dt.UTC), None)
    result = verify_sealed_payload(forged, TrustList((*trust.seals, other)))
    assert not result.valid and "not numbered by XYZ" in result.reason
    # a seal retired before the issue date does not vouch for it
    retired = replace(other, agency="IGCC",
                      retired_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=30))
    result = verify_sealed_payload(forged, TrustList((retired,)))
    assert not result.valid and "after its retirement" in result.reason


def test_a_seal_that_cannot_seal_stops_the_batch_and_voids_the_number(
    rsa_token, seal, seal_config, demo_engine, config, officer_id, approved, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("OD_TEST_SEAL_PIN", "000000")
    broken = Sealer.from_dict(seal_config)
    ids = approved("non_preferential", 2)
    outcome, _pdfs = _issue(demo_engine, config, officer_id, ids, broken)
    broken.close()
    assert not outcome.done and "seal" in outcome.message.lower(), outcome.message
    assert "000000" not in outcome.message
    with session_factory(demo_engine)() as session:
        voided = session.scalars(select(CertificateNumber).where(
            CertificateNumber.application_id == ids[0])).all()
        statuses = {session.get(Application, i).status for i in ids}
    assert [v.state for v in voided] == ["void"]
    assert "QR seal failed" in (voided[0].void_reason or "")
    assert statuses == {ApplicationStatus.APPROVED}


def test_the_token_makes_one_signature_per_sealed_certificate(tmp_path) -> None:
    """pkcs11-spy in front of SoftHSM2 counts the officer token's C_SignInit calls (OpenSC
    is installed by make test: no skip)."""
    assert spy_available(), "OpenSC's pkcs11-spy.so is missing: install the 'opensc' package"
    counts = count_token_signatures(tmp_path, batch=10)
    assert counts.sealed.certificates == 10 and counts.sealed.sign_inits == 10
    assert counts.unsealed.certificates == 10 and counts.unsealed.sign_inits == 20
    assert all(t.startswith("https://verify.spy.example/v/") for t in counts.qr_texts)


def test_the_embedded_demo_seals_with_its_demo_seal(demo_engine, data_home, approved,
                                                    monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.config import load_config
    from app.services.issuing import qr_texts_in_pdf
    from app.services.opening import open_desk
    from app.signing.demo_seal import DEMO_SEAL_TOKEN_LABEL
    from app.signing.demo_token import DEMO_PIN, prepare_demo_signing
    from app.signing.discovery import discover_from_config
    from tests.issuing.conftest import OFFICER_EMAIL

    monkeypatch.setenv("SOFTHSM2_CONF", "/nonexistent")  # restored after the test
    config = load_config()
    kit = prepare_demo_signing(config, demo_engine)
    assert kit is not None and kit.seal_config is not None
    pin_file = data_home / "demo-token" / "seal.pin"
    assert pin_file.stat().st_mode & 0o077 == 0
    assert pin_file.read_text().strip() not in kit.seal_config.read_text()
    prepare_demo_signing(config, demo_engine)  # again: nothing new
    with session_factory(demo_engine)() as session:
        assert len(session.execute(select(agency_seals)).all()) == 1
    # the seal token is nobody's signing token
    labels = [t.label for t in discover_from_config(config).tokens]
    assert DEMO_SEAL_TOKEN_LABEL not in labels and len(labels) == 1

    desk = open_desk(config, officer=OFFICER_EMAIL)
    assert desk.central().sealer is not None
    [app_id] = approved("preferential")
    issuer = desk.issuer()
    outcome = issuer.run_batch([app_id], lambda info, warnings: DEMO_PIN)
    assert len(outcome.done) == 1, outcome.message
    pdf = issuer.certificate_pdf(outcome.done[0][1].certificate_number)
    [qr] = set(qr_texts_in_pdf(pdf))
    assert qr.startswith("https://127.0.0.1:8443/v/")
    report = desk.verifier().verify_pdf(pdf)
    assert report.valid, report.checks
    assert "sealed by the seal of" in report.checks[-1].detail


def test_the_sealer_serves_many_threads_with_one_session(seal, sealer) -> None:  # type: ignore[no-untyped-def]
    """The central service seals from many request threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    public = seal.certificate.public_key()
    label = sealer.seal_key("IGCC").label

    def seal_one(i: int) -> tuple[bytes, bytes]:
        message = f"payload {i}".encode()
        return message, sealer.sign(label, message)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(seal_one, range(64)))
    for message, signature in results:
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        public.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    # a module re-initialised under it (a token rescan in the same process) costs a reopen
    from app.signing.discovery import load_module

    load_module(sealer.config.module, rescan=True)
    assert len(sealer.sign(label, b"after a rescan")) == 64


def test_seal_commands(seal_config, demo_store, data_home, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from app.cli import main

    settings = tmp_path / "hub.toml"  # the central service's settings file
    settings.write_text(
        '[server]\npublic_base_url = "https://coo.example.gov.in"\n\n[seal]\n'
        f'module = "{seal_config["module"]}"\ntoken_label = "{SEAL_LABEL}"\n'
        'pin_env = "OD_TEST_SEAL_PIN"\n')
    assert main(["seal", "list"]) == 0
    assert "no seal in the store" in capsys.readouterr().out
    assert main(["seal", "create", "--agency", "IGCC", "--config", str(settings)]) == 0
    out = capsys.readouterr().out
    assert "Seal of IGCC created: key id" in out and "CN=IGCC QR seal" in out
    assert main(["seal", "list"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("IGCC\t") and line.endswith("current")
    assert main(["seal", "list", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert read_trust_list(document).seals[0].agency == "IGCC"
    # refusals: one line, exit 2
    bad = tmp_path / "bad.toml"
    bad.write_text(f'module = "{seal_config["module"]}"\npin = "{SEAL_PIN}"\n')
    for args, words in (
        (["--agency", "NOPE", "--config", str(settings)], "no agency with code 'NOPE'"),
        (["--agency", "IGCC", "--config", str(bad)], "seal configuration: pin:"),
        (["--agency", "IGCC", "--config", str(tmp_path / "missing.toml")], "cannot be read"),
        (["--agency", "IGCC"], "demo has no seal token"),
    ):
        assert main(["seal", "create", *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0] and SEAL_PIN not in err[0], err
