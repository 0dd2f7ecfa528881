"""Verification by certificate number and by QR code (a clean PNG, a photo-like rotated and
scaled JPEG, a page rasterised with pdftoppm, the PDF itself), for valid, superseded,
cancelled, unknown and tampered certificates: through ``origin-desk verify`` (exit codes
and JSON) on the embedded demo, through the central service's public verification, and on
PostgreSQL (a login's od_certificate_details; a desk without a sign-in checks alone)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Engine, text

from app.cli import main
from tests.verification.qr_images import (
    clean_png,
    numbers_by_status,
    page_raster,
    photo_like,
    set_status,
    tampered_text,
)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any] | None,
                                                                  str]:
    capsys.readouterr()
    code = main(["verify", *args])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if captured.out.strip() else None), captured.err


# --- the embedded demo ---------------------------------------------------------------------

def test_by_number_on_the_demo(demo_engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    known = numbers_by_status(demo_engine)
    code, answer, _ = cli(capsys, "--number", known["valid"].lower())
    assert code == 0 and answer is not None
    assert answer["outcome"] == "valid" and answer["valid"] is True
    certificate = answer["certificate"]
    assert certificate["number"] == known["valid"] and certificate["legacy"] is False
    for key in ("exporter_name", "exporter_iec", "consignee_name", "destination_country",
                "goods_summary", "issued_on", "office_name", "agency_code"):
        assert certificate[key], key
    assert answer["answered_by"] == "the embedded demo store"

    code, answer, _ = cli(capsys, "--number", known["superseded"])
    assert code == 1 and answer["outcome"] == "superseded"
    by = answer["certificate"]["superseded_by"]
    assert by and f"replaced by the in-lieu certificate {by}" in answer["message"]
    code, answer, _ = cli(capsys, "--number", known["cancelled"])
    assert code == 1 and answer["outcome"] == "cancelled"
    code, answer, _ = cli(capsys, "--number", "IGCC/2026/9999999")
    assert code == 1 and answer["outcome"] == "unknown" and answer["certificate"] is None
    # another agency's code for a real number: unknown, like a number that does not exist
    code, answer, _ = cli(capsys, "--number", known["valid"], "--agency", "OTHER")
    assert code == 1 and answer["outcome"] == "unknown"


@pytest.mark.parametrize(("args", "says"), [
    (("--number", "IGCC 2026 12!"), "is not a certificate number"),
    (("--number", "X" * 40), "at most 32 characters"),
    (("--number", ""), "Enter the certificate number"),
    (("--number", "IGCC/2026/1", "--qr", "x.png"), "Name one thing to verify"),
    (("--agency", "IGCC", "x.pdf"), "--agency goes with --number"),
])
def test_bad_input_is_one_line(demo_engine: Engine, capsys: pytest.CaptureFixture[str],
                               args: tuple[str, ...], says: str) -> None:
    code, answer, err = cli(capsys, *args)
    assert code == 2 and answer is None
    assert says in err and err.count("\n") == 1 and "Traceback" not in err


def test_by_qr_image_on_the_demo(issued, demo_engine: Engine, tmp_path: Path,  # type: ignore[no-untyped-def]
                                 capsys: pytest.CaptureFixture[str]) -> None:
    numbers, pdf_path, qr_text = issued
    clean = clean_png(qr_text, tmp_path / "qr.png")
    images = {"clean PNG": clean, "photo": photo_like(clean, tmp_path / "photo.jpg"),
              "page raster": page_raster(pdf_path, tmp_path / "page"), "PDF": pdf_path}
    for name, image in images.items():
        code, answer, err = cli(capsys, "--qr", str(image))
        assert code == 0, (name, answer, err)
        assert answer["outcome"] == "valid" and answer["number"] == numbers[0], name
        assert answer["qr"]["valid"] is True and answer["qr"]["number"] == numbers[0]
        assert answer["certificate"]["exporter_name"], name
        assert answer["source"] == str(image)

    # tampered: one byte of the sealed payload changed
    forged = clean_png(tampered_text(qr_text), tmp_path / "forged.png")
    code, answer, _ = cli(capsys, "--qr", str(forged))
    assert code == 1 and answer["outcome"] == "seal_invalid"
    assert answer["qr"]["valid"] is False and answer["qr"]["problem"]
    assert answer["certificate"] is None  # a code that does not verify reveals nothing

    set_status(demo_engine, numbers[0], "superseded", by=numbers[1])
    code, answer, _ = cli(capsys, "--qr", str(images["photo"]))
    assert code == 1 and answer["outcome"] == "superseded"
    assert answer["certificate"]["superseded_by"] == numbers[1]
    set_status(demo_engine, numbers[0], "cancelled")
    code, answer, _ = cli(capsys, "--qr", str(clean))
    assert code == 1 and answer["outcome"] == "cancelled"


def test_qr_inputs_that_are_not_a_certificates_code(demo_engine: Engine, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    not_image = tmp_path / "notes.png"
    not_image.write_text("not an image at all")
    blank = tmp_path / "blank.png"
    Image.new("L", (300, 300), 255).save(blank)
    foreign = clean_png("https://example.org/menu", tmp_path / "menu.png")
    huge = tmp_path / "huge.png"  # refused from its header, before it is decoded
    Image.new("1", (8000, 7000), 1).save(huge)
    cases = {not_image: "is not an image (PNG or JPEG) or a PDF",
             huge: "is 8000 × 7000 pixels",
             blank: "No QR code found in",
             foreign: "is not an Origin Desk certificate's",
             tmp_path / "missing.png": "Cannot read"}
    for path, says in cases.items():
        code, answer, err = cli(capsys, "--qr", str(path))
        assert code == 2 and answer is None, path
        assert says in err and err.count("\n") == 1 and "Traceback" not in err, err


def test_a_pdf_file_is_verified_as_before(issued, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    _, pdf_path, _ = issued
    code, answer, _ = cli(capsys, str(pdf_path))
    assert code == 0 and answer["verdict"] == "valid"


# --- the central service -------------------------------------------------------------------

def test_through_the_central_service(issued, demo_hub, serve, demo_engine: Engine,  # type: ignore[no-untyped-def]
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    numbers, pdf_path, qr_text = issued
    server = serve(demo_hub)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", server.url)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_CA_FILE", str(server.ca))
    known = numbers_by_status(demo_engine)
    code, answer, _ = cli(capsys, "--number", numbers[0])
    assert code == 0 and answer["outcome"] == "valid"
    assert answer["answered_by"] == f"the central service at {server.url}"
    assert answer["certificate"]["office_name"] and answer["certificate"]["issued_on"]
    # without a sign-in the service tells what its public page tells
    assert answer["certificate"]["exporter_name"] == ""
    assert "after you sign in" in answer["notes"][0]
    code, answer, _ = cli(capsys, "--number", known["superseded"])
    assert code == 1 and answer["outcome"] == "superseded"
    assert answer["certificate"]["superseded_by"]
    code, answer, _ = cli(capsys, "--number", known["cancelled"])
    assert code == 1 and answer["outcome"] == "cancelled"
    code, answer, _ = cli(capsys, "--number", "IGCC/2026/9999999")
    assert code == 1 and answer["outcome"] == "unknown"

    photo = photo_like(clean_png(qr_text, tmp_path / "qr.png"), tmp_path / "photo.jpg")
    code, answer, _ = cli(capsys, "--qr", str(photo))
    assert code == 0 and answer["outcome"] == "valid" and answer["number"] == numbers[0]
    assert answer["qr"]["valid"] is True and answer["qr"]["exporter_iec"]
    forged = clean_png(tampered_text(qr_text), tmp_path / "forged.png")
    code, answer, _ = cli(capsys, "--qr", str(forged))
    assert code == 1 and answer["outcome"] == "seal_invalid"
    set_status(demo_engine, numbers[0], "cancelled")
    code, answer, _ = cli(capsys, "--qr", str(photo))
    assert code == 1 and answer["outcome"] == "cancelled"


# --- PostgreSQL ----------------------------------------------------------------------------

def test_on_postgresql_through_a_login_and_without_a_sign_in(
        central, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
        capsys: pytest.CaptureFixture[str]) -> None:
    """A login (an officer's, or a verifier's that may only call the verification
    functions) answers by number with every detail; a desk on a direct PostgreSQL store
    before anyone signs in checks what it can alone and says the status needs a sign-in."""
    from app.config import load_config
    from app.services.verification import public_verifier
    from app.store.roles import grant_verifier_role

    owner = central.owner_engine()
    known = numbers_by_status(owner)
    with owner.begin() as connection:
        grant_verifier_role(connection, "od_customs_portal")
    verifier_url = central.server.url(central.name, user="od_customs_portal")
    for url in (central.login_url("anita.deshpande@igcc.org.in"), verifier_url):
        monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", url)
        for status, number in known.items():
            code, answer, _ = cli(capsys, "--number", number)
            assert answer["outcome"] == status and code == (0 if status == "valid" else 1)
            assert answer["certificate"]["exporter_name"]  # any office's: SECURITY DEFINER
        code, answer, _ = cli(capsys, "--number", "IGCC/2026/9999999")
        assert code == 1 and answer["outcome"] == "unknown"
    # the store's od_certificate_details and the SQLite path say the same of each
    from sqlalchemy.orm import Session

    from app.services.certificate_lookup import read_certificate_details

    with Session(owner) as session:
        for number in known.values():
            in_sql = read_certificate_details(session, number, True)
            assert in_sql == read_certificate_details(session, number, False), number
            assert in_sql is not None and in_sql.goods_summary
    with owner.connect() as connection:  # the verifier's login reads no table itself
        assert connection.scalar(text(
            "SELECT has_table_privilege('od_customs_portal', 'certificates', 'SELECT')")) \
            is False

    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL",
                       central.login_url("anita.deshpande@igcc.org.in"))
    verifier = public_verifier(load_config())
    result = verifier.verify_number(known["valid"])
    assert result.outcome == "not_checked" and not result.valid
    assert "sign in to look certificates up" in result.message


def test_a_cancelled_certificate_says_when_and_why(issued, demo_engine: Engine, config,  # type: ignore[no-untyped-def]
                                                   officer_id: int,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Cancelled through the desk's own path (the audit event certificate.cancelled): the
    answer by number names the India date and the reason."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from app.services.central import SqlCentral

    numbers, _pdf, _qr = issued
    with demo_engine.connect() as connection:
        application_id = connection.scalar(text(
            "SELECT application_id FROM certificates WHERE number = :n"), {"n": numbers[0]})
    SqlCentral(demo_engine, config).cancel_certificate(officer_id, application_id,
                                                       "Consignee's name misspelt")
    code, answer, _ = cli(capsys, "--number", numbers[0])
    today = dt.datetime.now(ZoneInfo("Asia/Kolkata")).date()
    assert code == 1 and answer["outcome"] == "cancelled"
    assert answer["certificate"]["cancelled_on"] == today.isoformat()
    assert answer["certificate"]["cancel_reason"] == "Consignee's name misspelt"
    assert f"on {today.strftime('%d %b %Y')}" in answer["message"]


def test_a_qr_code_through_a_postgresql_login(central, tmp_path: Path,  # type: ignore[no-untyped-def]
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """An officer's or a verifier's own login may not read the agencies' seals: without the
    desk's cached seal trust list the seal is not checked (said, exit 1); with it, the seal
    verifies and the status comes from od_certificate_details; a tampered code does not."""
    from sqlalchemy.orm import Session

    from app.config import Config, load_config
    from app.services.central import SqlCentral
    from app.services.seals import cache_trust_list, seal_trust_list
    from app.store.roles import grant_verifier_role
    from tests.hub.verify_support import SoftSeal

    owner = central.owner_engine()
    number = numbers_by_status(owner)["valid"]
    seal = SoftSeal(owner)
    payload = seal.payload(SqlCentral(owner, Config(data_dir=tmp_path)), number)
    from app.documents.qr_payload import encode_qr_text

    image = clean_png(encode_qr_text(payload), tmp_path / "qr.png")
    forged = clean_png(tampered_text(encode_qr_text(payload)), tmp_path / "forged.png")
    with owner.begin() as connection:
        grant_verifier_role(connection, "od_customs_qr")
    logins = (central.login_url("anita.deshpande@igcc.org.in"),
              central.server.url(central.name, user="od_customs_qr"))
    for url in logins:
        monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", url)
        code, answer, _ = cli(capsys, "--qr", str(image))
        assert code == 1 and answer["outcome"] == "not_checked", answer
        assert "no cached seal trust list" in answer["message"]
    with Session(owner) as session:
        cache_trust_list(load_config(), seal_trust_list(session))
    for url in logins:
        monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", url)
        code, answer, _ = cli(capsys, "--qr", str(image))
        assert code == 0 and answer["outcome"] == "valid", answer
        assert answer["qr"]["signer"] == "agency seal"
        assert answer["certificate"]["exporter_name"]
        code, answer, _ = cli(capsys, "--qr", str(forged))
        assert code == 1 and answer["outcome"] == "seal_invalid"
