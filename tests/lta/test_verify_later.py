"""``origin-desk verify`` years later: a B-LTA certificate is judged at the time its
document timestamp proves, so it stays valid after the officer's DSC expired; a B-B one
then no longer is, and the report says why beforehand."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.lta.test_long_term_signatures import issue, officer_signature


def verify_at(moment: dt.datetime, pdf: bytes, tmp_path: Path, capsys,  # type: ignore[no-untyped-def]
              monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict]:
    from app.cli import main

    monkeypatch.setattr("app.signing.validation.validation_moment", lambda: moment)
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    capsys.readouterr()
    code = main(["verify", "--json", str(path)])
    return code, json.loads(capsys.readouterr().out)


def after_expiry(pdf: bytes) -> dt.datetime:
    from cryptography import x509

    _reader, sig = officer_signature(pdf)
    officer = x509.load_der_x509_certificate(sig.signer_cert.dump())
    return officer.not_valid_after_utc + dt.timedelta(days=60)


def test_a_b_lta_certificate_verifies_after_the_officers_dsc_expired(
    with_timestamps, make_issuer, approved, pki, tmp_path, capsys, monkeypatch
):
    ((_number, pdf),) = issue(make_issuer(), approved(1))
    later = after_expiry(pdf)
    pki.stop()  # in years, the PKI's services may be gone: nothing is fetched anyway
    try:
        code, report = verify_at(later, pdf, tmp_path, capsys, monkeypatch)
    finally:
        pki.start()
    assert code == 0, json.dumps(report, indent=1)
    assert report["verdict"] == "valid"
    assert report["level"] == "B-LTA" and report["level_note"] is None
    (signature,) = report["signatures"]
    judged_at = dt.datetime.fromisoformat(signature["judged_at"])
    assert judged_at < later - dt.timedelta(days=60)  # the document timestamp's time
    chain = next(c for c in report["checks"] if c["name"] == "signature_trusted")
    assert "proven by the document timestamp" in chain["detail"]


def test_a_b_b_certificate_is_not_valid_once_the_officers_dsc_expired(
    make_issuer, approved, pki, tmp_path, capsys, monkeypatch
):
    ((_number, pdf),) = issue(make_issuer(), approved(1))
    code, report = verify_at(dt.datetime.now(dt.UTC), pdf, tmp_path, capsys, monkeypatch)
    assert code == 0 and report["level"] == "B-B"
    assert "once the officer's DSC expires" in report["level_note"]

    code, report = verify_at(after_expiry(pdf), pdf, tmp_path, capsys, monkeypatch)
    assert code == 1 and report["verdict"] == "not valid"
    chain = next(c for c in report["checks"] if c["name"] == "signature_trusted")
    assert chain["passed"] is False
    assert report["signatures"][0]["judged_at"] is None
