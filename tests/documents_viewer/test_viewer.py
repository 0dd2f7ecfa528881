"""The document viewer, as an officer uses it on the embedded demo: a document opens from
the Documents tab (Enter, double-click or Open) inside the desk; PDFs page by page,
images with zoom; a file that is not what its name says, a damaged file or an oversized
one is described in one line, and no other program is ever asked to open anything."""

from __future__ import annotations

import hashlib
import subprocess
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication
from sqlalchemy import Engine

from app.config import load_config
from app.services.desk import Desk
from app.services.queue_rows import StatusFilter
from app.views.document_viewer import DocumentViewer
from app.views.main_window import DeskWindow
from app.views.tasks import wait_for_tasks
from tests.documents_viewer.support import (
    document_of_office,
    first,
    image,
    pdf,
    put_document,
)

ANITA = "anita.deshpande@igcc.org.in"  # serves MUM
# the offscreen platform cannot raise a window (the viewer, opened a second time)
pytestmark = pytest.mark.qt_log_ignore("does not support raise")


@pytest.fixture
def no_external_programs(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every attempt to hand a file to another program, recorded (there must be none)."""
    calls: list[Any] = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda *a: calls.append(("openUrl", a)) or True))
    real_popen = subprocess.Popen

    def popen(*args: Any, **kwargs: Any) -> Any:
        calls.append(("Popen", args))
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", popen)
    return calls


@pytest.fixture
def desk(demo_engine: Engine) -> Desk:
    desk = Desk(demo_engine, load_config())
    desk.sign_in(ANITA)
    return desk


@pytest.fixture
def viewer(qtbot) -> DocumentViewer:  # type: ignore[no-untyped-def]
    viewer = DocumentViewer()
    qtbot.addWidget(viewer)
    viewer.show()
    yield viewer
    wait_for_tasks()


def _open(qtbot, viewer: DocumentViewer, desk: Desk, document_id: int) -> str:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(viewer.settled, timeout=20_000) as shown:
        viewer.open_document(desk.documents(), document_id)
    return str(shown.args[0])


def _activate(qtbot, widget: Any) -> None:  # type: ignore[no-untyped-def]
    widget.show()
    widget.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget.window(), timeout=3000)


def test_an_officer_opens_the_mislabelled_invoice_from_the_documents_tab(
        qtbot, desk: Desk, demo_engine: Engine, no_external_programs: list[Any]) -> None:  # type: ignore[no-untyped-def]
    """The demo's invoice_N.pdf that is a ZIP archive: Enter on its row shows the warning
    with its size and digest; nothing is opened elsewhere."""
    row = first(demo_engine, "SELECT d.id, d.application_id, d.file_name, d.sha256, "
                "d.size_bytes FROM supporting_documents d WHERE hex(substr(d.content, 1, 2)) = '504B'")
    assert row is not None, "the demo holds one mislabelled document"
    window = DeskWindow(desk)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.queue_loaded, timeout=10_000):
        window.reload_queue()
    window.status_tabs.setCurrentIndex(StatusFilter.ALL)
    with qtbot.waitSignal(window.detail_loaded, timeout=10_000):
        assert window.select_application(row.application_id)
    panel = window.detail
    panel.tabs.setCurrentIndex(3)
    assert panel.tabs.tabText(3).startswith("&Documents (")
    table = panel.documents_table
    names = [panel.documents_model.rows[i][1] for i in range(panel.documents_model.rowCount())]
    table.setCurrentIndex(panel.documents_model.index(names.index(row.file_name), 0))
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Return)
    viewer = window._document_viewer
    qtbot.waitUntil(lambda: viewer.state == "message", timeout=20_000)
    assert viewer.problem.text() == f"{row.file_name} is not a PDF: its content is a ZIP archive."
    assert row.sha256 in viewer.facts.text() and "content: a ZIP archive" in viewer.facts.text()
    assert row.size_bytes < 1024 and f"{row.size_bytes} bytes · " in viewer.facts.text()
    assert panel.documents_model.rows[names.index(row.file_name)][2] == f"{row.size_bytes} bytes"
    assert "not opened by any other program" in viewer.problem_note.text()
    assert no_external_programs == []
    # the Open button opens the next document (a real PDF of the same application)
    other = names.index(next(n for n in names if n.startswith("packing_list")))
    table.setCurrentIndex(panel.documents_model.index(other, 0))
    with qtbot.waitSignal(viewer.settled, timeout=20_000) as shown:
        qtbot.mouseClick(panel.open_document_button, Qt.MouseButton.LeftButton)
    assert shown.args == ["pdf"] and viewer.pdf.page_count() == 1
    assert "from the central store" in viewer.facts.text()
    assert no_external_programs == []
    wait_for_tasks()


def test_a_pdf_shows_every_page_and_turns_them_by_keyboard(
        qtbot, viewer: DocumentViewer, desk: Desk, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    doc = document_of_office(demo_engine, "MUM")
    content = pdf(pages=3)
    put_document(demo_engine, doc.id, content, file_name="invoice_multi.pdf")
    assert _open(qtbot, viewer, desk, doc.id) == "pdf"
    assert viewer.pdf.page_count() == 3 == content.count(b"/Type /Page\n") or \
        viewer.pdf.page_count() == 3
    assert viewer.pdf.page_label.text() == "Page 1 of 3"
    assert hashlib.sha256(content).hexdigest() in viewer.facts.text()
    _activate(qtbot, viewer)
    qtbot.keyClick(viewer, Qt.Key.Key_PageDown)
    assert viewer.pdf.page_label.text() == "Page 2 of 3"
    qtbot.keyClick(viewer, Qt.Key.Key_End)
    assert viewer.pdf.page_label.text() == "Page 3 of 3" and not viewer.pdf.next.isEnabled()
    qtbot.keyClick(viewer, Qt.Key.Key_Home)
    assert viewer.pdf.page_label.text() == "Page 1 of 3"
    qtbot.keyClick(viewer, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert viewer.pdf.zoom() > 1.0
    zoomed = viewer.pdf.zoom()
    qtbot.keyClick(viewer, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert viewer.pdf.zoom() < zoomed
    qtbot.keyClick(viewer, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert viewer.pdf.zoom_label.text() == "fit width"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_an_image_zooms_and_fits(qtbot, viewer: DocumentViewer, desk: Desk,  # type: ignore[no-untyped-def]
                                 demo_engine: Engine, fmt: str) -> None:
    doc = document_of_office(demo_engine, "MUM", skip=1)
    ending = {"PNG": "png", "JPEG": "jpg", "TIFF": "tif"}[fmt]
    put_document(demo_engine, doc.id, image(fmt), file_name=f"bill_of_lading.{ending}",
                 media_type=f"image/{fmt.lower()}")
    assert _open(qtbot, viewer, desk, doc.id) == "image"
    assert viewer.image.image_size() == (800, 1100)
    assert viewer.image.size_label.text() == "800 × 1,100 pixels"
    fitted = viewer.image.scale
    _activate(qtbot, viewer)
    qtbot.keyClick(viewer, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert viewer.image.scale > fitted
    assert viewer.image.view.transform().m11() == pytest.approx(viewer.image.scale)
    bigger = viewer.image.scale
    qtbot.keyClick(viewer, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(viewer, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert viewer.image.scale < bigger
    qtbot.mouseClick(viewer.image.actual, Qt.MouseButton.LeftButton)
    assert viewer.image.scale == 1.0 and viewer.image.zoom_label.text() == "100 %"
    qtbot.keyClick(viewer, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert viewer.image.scale == pytest.approx(fitted, rel=0.05)


@pytest.mark.parametrize(("name", "content", "line"), [
    ("invoice_9.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage, no xref\n",
     "invoice_9.pdf could not be shown: the PDF is damaged (not a readable PDF file)."),
    ("scan_9.png", image("PNG")[:3000],
     "scan_9.png could not be shown: the image is damaged or incomplete."),
    ("scan_9.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 64,
     "scan_9.jpg could not be shown: the image is damaged or incomplete."),
    ("packing_9.pdf", b"<html><script>alert(1)</script></html>",
     "packing_9.pdf is not a PDF: its content is an HTML page."),
    ("invoice_9.pdf", b"MZ\x90\x00" + b"\0" * 200,
     "invoice_9.pdf is not a PDF: its content is a Windows program (EXE)."),
])
def test_damaged_and_mislabelled_files_get_one_line(
        qtbot, viewer: DocumentViewer, desk: Desk, demo_engine: Engine,  # type: ignore[no-untyped-def]
        no_external_programs: list[Any], name: str, content: bytes, line: str) -> None:
    doc = document_of_office(demo_engine, "MUM", skip=2)
    put_document(demo_engine, doc.id, content, file_name=name,
                 media_type="image/png" if name.endswith("png") else "application/pdf")
    assert _open(qtbot, viewer, desk, doc.id) == "message"
    assert viewer.problem.text() == line
    assert "Traceback" not in viewer.problem.text()
    assert no_external_programs == []


def test_an_oversized_document_is_refused_before_it_is_fetched(
        qtbot, viewer: DocumentViewer, desk: Desk, demo_engine: Engine,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    from app.services.central import SqlCentral

    doc = document_of_office(demo_engine, "MUM", skip=3)
    with demo_engine.begin() as connection:
        from sqlalchemy import text

        connection.execute(text("UPDATE supporting_documents SET size_bytes = 40000000 "
                                "WHERE id = :i"), {"i": doc.id})
    fetched: list[int] = []
    monkeypatch.setattr(SqlCentral, "document_content", lambda self, i: fetched.append(i))
    assert _open(qtbot, viewer, desk, doc.id) == "message"
    assert viewer.problem.text() == (f"{doc.file_name} is 40,000,000 bytes; the desk shows "
                                     "documents of at most 26,214,400 bytes.")
    assert fetched == []


def test_the_fetch_waits_off_the_gui_thread_and_can_be_cancelled(
        qtbot, viewer: DocumentViewer, desk: Desk, demo_engine: Engine,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from app.services.central import SqlCentral

    doc = document_of_office(demo_engine, "MUM")
    release = threading.Event()
    threads: list[str] = []
    real = SqlCentral.document_content

    def slow(self: Any, document_id: int) -> Any:
        threads.append(threading.current_thread().name)
        release.wait(20)
        return real(self, document_id)

    monkeypatch.setattr(SqlCentral, "document_content", slow)
    viewer.open_document(desk.documents(), doc.id, doc.file_name)
    qtbot.waitUntil(lambda: "central store" in viewer.waiting_label.text(), timeout=10_000)
    assert viewer.state == "waiting" and viewer.pages.currentWidget() is viewer.waiting
    assert threads and threads[0] != threading.main_thread().name
    with qtbot.waitSignal(viewer.settled, timeout=5_000) as shown:
        qtbot.mouseClick(viewer.cancel, Qt.MouseButton.LeftButton)
    assert shown.args == ["message"]
    assert viewer.problem.text() == "Opening the document was cancelled."
    release.set()
    wait_for_tasks()
    qtbot.wait(20)
    assert viewer.state == "message"  # the late result was dropped
