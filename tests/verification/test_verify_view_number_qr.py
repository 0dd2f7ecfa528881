"""The desk's verify window by number and by QR image (pytest-qt), also opened from the
sign-in dialog without signing in: on the embedded demo, through the central service's
public verification, and on a direct PostgreSQL store before a sign-in (the desk alone)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from sqlalchemy import Engine

from tests.verification.qr_images import (
    clean_png,
    numbers_by_status,
    photo_like,
    set_status,
    tampered_text,
)


def _number(qtbot, view, number: str) -> None:  # type: ignore[no-untyped-def]
    view.number_edit.clear()
    qtbot.keyClicks(view.number_edit, number)
    with qtbot.waitSignal(view.verified, timeout=30000):
        qtbot.keyClick(view.number_edit, Qt.Key.Key_Return)


def _qr(qtbot, view, path: Path) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(view.verified, timeout=30000):
        view.verify_qr_file(path)


def test_the_sign_in_dialog_verifies_without_a_sign_in(qtbot, demo_engine: Engine,  # type: ignore[no-untyped-def]
                                                       config, tmp_path: Path) -> None:
    from app.services.desk import Desk
    from app.views.sign_in import SignInFlow

    parent = QWidget()
    qtbot.addWidget(parent)
    desk = Desk(demo_engine, config)
    flow = SignInFlow(desk, parent)
    with qtbot.waitSignal(flow.dialog_shown, timeout=30000) as shown:
        flow.start()
    dialog = shown.args[0]
    assert dialog.verify_button.text() == "&Verify a certificate…"
    dialog.verify_button.click()
    view = dialog.verify_view
    assert view is not None and view.isVisible()
    known = numbers_by_status(demo_engine)

    _number(qtbot, view, known["valid"])
    assert view.verdict.text().startswith("✔ Certificate " + known["valid"])
    details = view.details.text()
    for label in ("Exporter", "Consignee", "Destination", "Goods", "Issued on",
                  "Issuing office", "the embedded demo store"):
        assert label in details, label
    _number(qtbot, view, known["superseded"])
    assert "replaced by the in-lieu certificate" in view.verdict.text()
    assert "superseded by IGCC/" in view.details.text()
    _number(qtbot, view, known["cancelled"])
    assert "was cancelled" in view.verdict.text()
    _number(qtbot, view, "IGCC/2026/9999999")
    assert view.verdict.text().startswith("⚠ No certificate IGCC/2026/9999999")
    assert "#8a1c1c" in view.verdict.styleSheet()  # the alert's colours
    # a migrated certificate, its number beginning with an office code: the store knows
    from app.cli import main
    from tests.migration.export import SUPERSEDED_LEGACY, write_export

    assert main(["import-legacy", str(write_export(tmp_path / "legacy.csv")), "--as",
                 "admin@igcc.org.in"]) == 1
    _number(qtbot, view, SUPERSEDED_LEGACY)
    assert view.verdict.text().startswith(f"✖ Certificate {SUPERSEDED_LEGACY} (migrated from "
                                          "the legacy eCoO 1.0 system) was replaced")
    assert "legacy eCoO 1.0 status" in view.details.text()
    _number(qtbot, view, "not a number!")
    assert "is not a certificate number" in view.verdict.text()
    assert view.number_button.isEnabled()
    # nobody signed in, and the dialog still waits for one
    assert desk.user is None and dialog.isVisible()
    dialog.reject()


def test_the_verify_window_reads_qr_images(qtbot, issued, demo_engine: Engine, config,  # type: ignore[no-untyped-def]
                                           tmp_path: Path) -> None:
    from app.services.verification import public_verifier
    from app.views.verify_view import VerifyView

    numbers, pdf_path, qr_text = issued
    view = VerifyView(public_verifier(config, demo_engine))
    qtbot.addWidget(view)
    photo = photo_like(clean_png(qr_text, tmp_path / "qr.png"), tmp_path / "photo.jpg")
    _qr(qtbot, view, photo)
    assert view.verdict.text().startswith("✔ Certificate " + numbers[0])
    assert "seal verifies" in view.details.text()
    assert str(photo) in view.path_label.text()
    _qr(qtbot, view, pdf_path)  # a certificate PDF's QR code
    assert view.verdict.text().startswith("✔ Certificate " + numbers[0])
    _qr(qtbot, view, clean_png(tampered_text(qr_text), tmp_path / "forged.png"))
    assert view.verdict.text().startswith("✖ This QR code does not verify")
    assert "does NOT verify" in view.details.text()
    set_status(demo_engine, numbers[0], "superseded", by=numbers[1])
    _qr(qtbot, view, photo)
    assert f"replaced by the in-lieu certificate {numbers[1]}" in view.verdict.text()
    not_image = tmp_path / "notes.jpg"
    not_image.write_text("hello")
    _qr(qtbot, view, not_image)
    assert "is not an image (PNG or JPEG) or a PDF" in view.verdict.text()
    # the PDF checks are where they were
    set_status(demo_engine, numbers[0], "valid")
    with qtbot.waitSignal(view.verified, timeout=60000):
        view.verify_file(pdf_path)
    assert view.table.isVisibleTo(view) and not view.details.isVisibleTo(view)
    assert "genuine" in view.verdict.text()


def test_the_verify_window_through_the_central_service(qtbot, issued, demo_hub, serve,  # type: ignore[no-untyped-def]
                                                       demo_engine: Engine, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import load_config
    from app.services.verification import public_verifier
    from app.views.verify_view import VerifyView

    numbers, _pdf, qr_text = issued
    server = serve(demo_hub)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", server.url)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_CA_FILE", str(server.ca))
    view = VerifyView(public_verifier(load_config()))
    qtbot.addWidget(view)
    _number(qtbot, view, numbers[0])
    assert view.verdict.text().startswith("✔ Certificate " + numbers[0])
    assert f"the central service at {server.url}" in view.details.text()
    assert "after you sign in" in view.details.text()
    _number(qtbot, view, "IGCC/2026/9999999")
    assert view.verdict.text().startswith("⚠ No certificate")
    _qr(qtbot, view, clean_png(qr_text, tmp_path / "qr.png"))
    assert view.verdict.text().startswith("✔ Certificate " + numbers[0])
    set_status(demo_engine, numbers[0], "cancelled")
    _number(qtbot, view, numbers[0])
    assert "was cancelled" in view.verdict.text()


def test_the_verify_window_on_postgresql_before_a_sign_in(qtbot, central,  # type: ignore[no-untyped-def]
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import load_config
    from app.services.verification import public_verifier
    from app.views.verify_view import VerifyView

    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL",
                       central.login_url("anita.deshpande@igcc.org.in"))
    view = VerifyView(public_verifier(load_config()))
    qtbot.addWidget(view)
    _number(qtbot, view, "IGCC/2026/0000001")
    assert view.verdict.text().startswith("– The status of certificate IGCC/2026/0000001 was "
                                          "not checked")
    assert "sign in to look certificates up" in view.verdict.text()


def test_the_desk_menu_opens_the_window_on_the_number(qtbot, demo_engine: Engine, config,  # type: ignore[no-untyped-def]
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Certificates → Verify a certificate… (Ctrl+Shift+V) opens the window ready for a
    number: no file chooser first (the PDF is one of three ways now)."""
    from PySide6.QtWidgets import QFileDialog

    from app.services.desk import Desk
    from app.views.issue_actions import open_verify_view

    def no_chooser(*args: object, **kwargs: object) -> tuple[str, str]:
        raise AssertionError("a file chooser was opened")

    monkeypatch.setattr(QFileDialog, "getOpenFileName", no_chooser)
    window = QWidget()
    qtbot.addWidget(window)
    window.desk = Desk(demo_engine, config)  # type: ignore[attr-defined]
    view = open_verify_view(window)  # type: ignore[arg-type]
    assert view is not None and view.isVisible()
    _number(qtbot, view, numbers_by_status(demo_engine)["valid"])
    assert view.verdict.text().startswith("✔ Certificate ")
    view.close()
