"""``origin-desk extend``: fresh validation data and a new document timestamp for stored
B-LTA certificates, kept by the store only when nothing but that was added."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.lta.test_long_term_signatures import issue


def document_timestamps(pdf: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf))
    return sum(1 for s in reader.embedded_signatures if s.sig_object_type == "/DocTimeStamp")


def run(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    from app.cli import main

    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_extend_adds_a_document_timestamp_and_the_certificate_still_verifies(
    with_timestamps, make_issuer, approved, pki, demo_engine, tmp_path: Path, capsys
):
    from app.services.central import SqlCentral
    from app.services.verification import verify_certificate_pdf

    issuer = make_issuer()
    ((number, pdf),) = issue(issuer, approved(1))
    code, out, err = run(capsys, "extend", number)
    assert (code, out, err) == (0, f"{number}: extended\n", "")
    central = SqlCentral(demo_engine, issuer.config)
    extended = central.certificate_pdf(number)
    assert extended.startswith(pdf) and len(extended) > len(pdf)
    assert document_timestamps(extended) == document_timestamps(pdf) + 1 == 2
    status = central.certificate_status(number=number)
    assert status is not None and status.status == "valid"

    path = tmp_path / "extended.pdf"
    path.write_bytes(extended)
    code, out, _err = run(capsys, "verify", "--json", str(path))
    report = json.loads(out)
    assert code == 0 and report["verdict"] == "valid", json.dumps(report["checks"], indent=1)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["issued_digest"]["passed"] and "recorded at issue" in \
        checks["issued_digest"]["detail"]
    assert checks["coverage"]["passed"] and checks["document_timestamps"]["passed"]
    assert "2 document timestamp(s)" in checks["document_timestamps"]["detail"]
    assert verify_certificate_pdf(demo_engine, issuer.config, extended).valid

    # the newest timestamp is seconds old: not due for a renewal after 30 days
    code, out, _err = run(capsys, "extend", "--older-than", "30", number)
    assert (code, out) == (0, f"{number}: not due (its newest document timestamp is less "
                              "than 30 days old)\n")
    assert central.certificate_pdf(number) == extended


def test_the_store_refuses_an_extension_that_changes_the_page(
    with_timestamps, make_issuer, approved, pki, demo_engine
):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
    from pyhanko.sign.timestamps import HTTPTimeStamper

    from app.services.central import ExtensionRefused, SqlCentral

    issuer = make_issuer()
    ((number, pdf),) = issue(issuer, approved(1))
    # a revision that rewrites the first page's content, then a genuine document timestamp
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 720 Td (ANOTHER ORIGIN) Tj ET")
    page["/Contents"] = writer.add_object(stream)
    writer.update_container(page)
    changed = io.BytesIO()
    writer.write(changed)
    out = io.BytesIO()
    PdfTimeStamper(HTTPTimeStamper(pki.timestamp_url)).timestamp_pdf(
        IncrementalPdfFileWriter(changed), "sha256", output=out)
    forged = out.getvalue()
    assert forged.startswith(pdf)
    assert document_timestamps(forged) == 2

    central = SqlCentral(demo_engine, issuer.config)
    # integrity.py refuses the page revision by itself (the DSS already in the catalog
    # does not make it validation data); pyHanko's diff analysis would too
    with pytest.raises(ExtensionRefused, match=f"Certificate {number} was not extended: it "
                       r"changes the certificate: revision 5 changes page object \d+ "
                       r"\(Contents\)"):
        central.extend_certificate(number, forged)
    with pytest.raises(ExtensionRefused, match="not an incremental update"):
        central.extend_certificate(number, forged[:200] + bytes([forged[200] ^ 1])
                                   + forged[201:])
    assert central.certificate_pdf(number) == pdf


def test_extend_says_why_not_in_one_line(make_issuer, approved, pki, capsys, monkeypatch):
    issuer = make_issuer()
    ((number, _pdf),) = issue(issuer, approved(1))  # no timestamp server: B-B
    code, out, err = run(capsys, "extend", number)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "No timestamp server is configured" in err

    monkeypatch.setenv("ORIGIN_DESK_TIMESTAMP_URL", pki.timestamp_url)
    code, out, err = run(capsys, "extend", number, "XX/2026/0000001")
    assert code == 1 and err == ""
    assert out.splitlines() == [
        f"{number}: not extended: it is PAdES B-B, signed without a timestamp server: there "
        "is no timestamp to renew",
        "XX/2026/0000001: not extended: not in this store",
    ]

