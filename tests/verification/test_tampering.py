"""``origin-desk verify`` and ``pdfsig`` agree on a tampering corpus made from certificates
issued in the test (SoftHSM2 token, the demo store), and the store's word counts: a
superseded or cancelled certificate is *authentic but* superseded / cancelled, exit 1."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import update

from app.cli import main
from app.models import Certificate, CertificateStatus
from app.signing.integrity import check_integrity
from app.store.central import session_factory
from tests.verification.corpus import corpus, document_timestamp_added, dss_added


def pdfsig_verdict(path: Path) -> tuple[bool, str]:
    """pdfsig's verdict, read from its text (not its exit code): valid when every CMS
    signature says "Signature is Valid." and the last signature or document timestamp
    (the one over the latest revision) says "Total document signed". pdfsig 22.12 cannot
    validate a document timestamp ("not yet been verified"): its coverage still counts."""
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True,
                            check=False, timeout=60)
    text = result.stdout + result.stderr
    blocks = re.split(r"^Signature #\d+:$", result.stdout, flags=re.M)[1:]
    if not blocks:
        return False, text
    signatures = [b for b in blocks if "Signature Type: unknown" not in b
                  and "ETSI.RFC3161" not in b]
    valid = bool(signatures) and all(
        "Signature Validation: Signature is Valid." in b for b in signatures
    ) and "- Total document signed" in blocks[-1]
    return valid, text


def verify_json(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["verify", str(path), "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


@pytest.fixture
def issued_pdfs(rsa_token, issuer, approved, open_session):  # type: ignore[no-untyped-def]
    ids = approved("non_preferential", 2)
    session = open_session()
    numbers = [issuer.issue_one(i, session).certificate_number for i in ids]
    return numbers, [issuer.certificate_pdf(n) for n in numbers]


def test_verify_and_pdfsig_agree_on_the_tampering_corpus(issued_pdfs, ca, tmp_path, capsys):
    from tests.support.pki import LocalTsa

    _, (pdf, other) = issued_pdfs
    files = {"untouched": pdf, **corpus(pdf, other, LocalTsa(ca).stamper)}
    seen = {}
    for name, data in files.items():
        path = tmp_path / (re.sub(r"[^a-z]+", "-", name) + ".pdf")
        path.write_bytes(data)
        code, report = verify_json(path, capsys)
        ours = code == 0
        theirs, text = pdfsig_verdict(path)
        assert ours == theirs, f"{name}: verify {report['verdict']}, pdfsig:\n{text}"
        assert (report["verdict"] == "valid") == ours
        assert {c["name"] for c in report["checks"]} >= {
            "size", "signature_intact", "signature_trusted", "signer_registered", "coverage",
            "contents_padding", "issued_digest", "store_status", "qr_code"}
        seen[name] = {c["name"]: c for c in report["checks"]}
    assert all(c["passed"] for c in seen["untouched"].values())
    assert set(files) - {"untouched"} == {n for n in files if n != "untouched"
                                          and not all(c["passed"] for c in seen[n].values())}
    # what each tampering trips
    assert seen["flip in the /Contents padding"]["contents_padding"]["passed"] is False
    assert seen["flip in the /Contents padding"]["signature_intact"]["passed"] is True
    for name in ("update: /Info changed", "update: annotation added",
                 "update: form field added", "update: page content added"):
        assert seen[name]["coverage"]["passed"] is False, name
        assert seen[name]["signature_intact"]["passed"] is True, name
        # the signed revision is the file recorded at issue: said, and explained
        assert seen[name]["issued_digest"]["passed"] is True, name
        assert "later revisions" in seen[name]["issued_digest"]["detail"]
    # validation data may follow a document timestamp, a change to the page may not,
    # and integrity.py says so by itself (pyHanko's diff analysis aside)
    name = "update after a document timestamp: DSS and page content added"
    assert seen[name]["coverage"]["passed"] is False
    assert seen[name]["signature_intact"]["passed"] is True
    later = check_integrity(files[name]).later_changes()
    assert later == "revision 4 changes page object 3 (Contents)"
    assert later in seen[name]["coverage"]["detail"]
    detail = seen["update: /Info changed"]["coverage"]["detail"]
    assert "changes the document information" in detail and "Title" in detail
    for name in ("flip in the first signed range", "flip in the second signed range",
                 "flip in the signature", "signature copied from another certificate"):
        assert seen[name]["signature_intact"]["passed"] is False, name
        assert seen[name]["issued_digest"]["passed"] is False, name


def test_a_document_timestamp_added_later_is_valid(issued_pdfs, ca, tmp_path, capsys):
    from tests.support.pki import LocalTsa

    numbers, (pdf, _) = issued_pdfs
    path = tmp_path / "extended.pdf"
    path.write_bytes(document_timestamp_added(pdf, LocalTsa(ca).stamper))
    code, report = verify_json(path, capsys)
    checks = {c["name"]: c for c in report["checks"]}
    assert code == 0, report
    assert pdfsig_verdict(path)[0]
    assert checks["document_timestamps"]["passed"]
    # the file is longer than the one recorded; its signed revision is the recorded one
    assert checks["issued_digest"]["passed"] and numbers[0] in checks["issued_digest"]["detail"]
    assert "later revisions" in checks["issued_digest"]["detail"]


def test_validation_data_added_later_is_valid(issued_pdfs, ca, tmp_path, capsys):
    """A revision that adds only a DSS (the officer's certificates), before a document
    timestamp as pyHanko's archival update writes it: valid by verify and by pdfsig, and
    integrity.py alone finds nothing; after the newest document timestamp too (pdfsig
    cannot say: the timestamp no longer covers the whole file)."""
    from tests.support.pki import LocalTsa

    _, (pdf, _) = issued_pdfs
    stamper = LocalTsa(ca).stamper
    path = tmp_path / "dss-then-timestamp.pdf"
    path.write_bytes(document_timestamp_added(dss_added(pdf), stamper))
    code, report = verify_json(path, capsys)
    assert code == 0 and report["verdict"] == "valid", report
    assert pdfsig_verdict(path)[0]
    assert all(not s.later_changes for s in check_integrity(path.read_bytes()).signatures)
    after = check_integrity(dss_added(document_timestamp_added(pdf, stamper)))
    assert [(s.kind, s.later_changes) for s in after.signatures] == [
        ("signature", ""), ("document timestamp", "")]


@pytest.mark.parametrize("status", ["superseded", "cancelled"])
def test_superseded_or_cancelled_is_authentic_but_not_valid(status, issued_pdfs, demo_engine,
                                                            tmp_path, capsys):
    numbers, (pdf, _) = issued_pdfs
    path = tmp_path / "coo.pdf"
    path.write_bytes(pdf)
    values = ({"status": CertificateStatus.SUPERSEDED, "superseded_by_number": numbers[1]}
              if status == "superseded" else
              {"status": CertificateStatus.CANCELLED, "cancel_reason": "issued in error"})
    with session_factory(demo_engine).begin() as session:
        session.execute(update(Certificate).where(Certificate.number == numbers[0])
                        .values(**values))
    code, report = verify_json(path, capsys)
    assert code == 1
    expected = (f"authentic but superseded by {numbers[1]}" if status == "superseded"
                else "authentic but cancelled (issued in error)")
    assert report["verdict"] == expected and report["authentic"] is True
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["store_status"]["passed"] is False
    assert all(c["passed"] for n, c in checks.items() if n != "store_status")


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path, capsys, monkeypatch):
    big = tmp_path / "big.pdf"
    with big.open("wb") as handle:
        handle.write(b"%PDF-1.7\n")
        handle.truncate(20 * 1024 * 1024 + 1)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read"))
    assert main(["verify", str(big), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert "20 MB" in err and len(err.splitlines()) == 1


def test_the_verifier_refuses_a_file_over_the_limit(tmp_path, config):
    from app.errors import UserFacingError
    from app.services.verification import Verifier

    big = tmp_path / "big.pdf"
    with big.open("wb") as handle:
        handle.truncate(21 * 1024 * 1024)
    with pytest.raises(UserFacingError, match="up to 20 MB"):
        Verifier(None, config).verify_file(big)
