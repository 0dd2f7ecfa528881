"""``origin-desk verify FILE.pdf``: exit 0 valid, 1 not valid, 2 not a PDF."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from app.signing.validation import InvalidPdf, validate_pdf

BOX = (330, 40, 530, 140)


@pytest.fixture
def trusted(ca, desk_home):
    ca.write_trust_dir(desk_home / "trust")


@pytest.fixture
def signed(make_token, open_session, pdf):
    token = make_token()
    with open_session(token) as session:
        return session.sign_pdf(pdf, field_name="S", page=0, box=BOX, stamp_text="ok")


def test_valid_document_exits_0_with_json(signed, trusted, tmp_path, capsys):
    path = tmp_path / "coo.pdf"
    path.write_bytes(signed)
    assert main(["verify", str(path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True
    assert report["signatures"][0]["intact"] and report["signatures"][0]["trusted"]


def test_unsigned_or_untrusted_document_exits_1(signed, pdf, tmp_path, capsys, desk_home):
    unsigned = tmp_path / "plain.pdf"
    unsigned.write_bytes(pdf)
    (desk_home / "trust").mkdir()
    assert main(["verify", str(unsigned)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert "The document carries no signature." in report["problems"]
    path = tmp_path / "coo.pdf"
    path.write_bytes(signed)
    assert main(["verify", str(path)]) == 1  # empty trust folder
    report = json.loads(capsys.readouterr().out)
    assert not report["valid"] and any("trusted root" in p for p in report["problems"])


def test_not_a_pdf_exits_2_with_a_clear_message(tmp_path, capsys, trusted):
    text = tmp_path / "notes.pdf"
    text.write_text("this is not a pdf")
    assert main(["verify", str(text)]) == 2
    assert "not a PDF" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "missing.pdf")]) == 2
    assert "Cannot read" in capsys.readouterr().err
    assert main(["verify", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_document_check_hook_adds_problems(signed, ca):
    seen = []

    def check_document(data: bytes) -> list[str]:
        seen.append(len(data))
        return ["QR digest does not match the certificate fields"]

    report = validate_pdf(signed, trust_roots=[ca.root_cert], check_document=check_document)
    assert seen == [len(signed)]
    assert not report.valid and report.problems == [
        "QR digest does not match the certificate fields"]
    assert json.loads(report.to_json())["valid"] is False


def test_truncated_pdf_is_reported_not_valid(signed, ca):
    with pytest.raises(InvalidPdf):
        validate_pdf(b"GIF89a...", trust_roots=[ca.root_cert])
    report = validate_pdf(signed[: len(signed) // 3], trust_roots=[ca.root_cert])
    assert not report.valid
