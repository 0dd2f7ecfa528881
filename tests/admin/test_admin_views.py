"""The administrator's window and dialogs, driven as an administrator would, with the
store read afterwards."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine

from app.services.admin import AgencyAdmin
from app.views.admin_image_upload import ImageUploadDialog
from app.views.admin_offices import OfficeDialog, OfficesTab
from app.views.admin_users import UsersTab
from app.views.admin_window import AdminWindow
from app.views.tasks import wait_for_tasks
from tests.admin.conftest import (
    ANITA,
    PENDING,
    audit_events,
    bad_files,
    load_office,
    load_user,
    office_id,
    user_id,
)

WAIT = 20_000


@pytest.fixture(autouse=True)
def _drain(qtbot) -> Iterator[None]:  # type: ignore[no-untyped-def]
    yield
    wait_for_tasks()
    qtbot.wait(20)  # deliver the last results while the widgets still exist


@pytest.fixture
def offices_tab(qtbot, admin: AgencyAdmin) -> OfficesTab:  # type: ignore[no-untyped-def]
    tab = OfficesTab(admin)
    qtbot.addWidget(tab)
    with qtbot.waitSignal(tab.loaded, timeout=WAIT):
        tab.reload()
    return tab


def _row_of(tab: OfficesTab, code: str) -> int:
    return next(i for i, o in enumerate(tab.model.rows) if o.code == code)


# --- offices -------------------------------------------------------------------------------------

def test_edit_merchant_id_in_the_dialog(qtbot, offices_tab: OfficesTab,  # type: ignore[no-untyped-def]
                                        demo_engine: Engine) -> None:
    assert [o.code for o in offices_tab.model.rows] == ["CHE", "DEL", "MUM"]
    before = load_office(demo_engine, "MUM")
    dialog = offices_tab.edit_office(_row_of(offices_tab, "MUM"))
    assert isinstance(dialog, OfficeDialog)
    assert dialog.code.isReadOnly() and dialog.merchant_id.text() == before.merchant_id
    assert dialog.checksum_key.text() == ""  # the key is never put back into a widget

    # a pasted value with a space: shown under the field while typing, and on Save
    dialog.merchant_id.clear()
    qtbot.keyClicks(dialog.merchant_id, "IGCCMUM 555001")
    assert "position 8: a space" in dialog.field_error("merchant_id")
    with qtbot.waitSignal(dialog.save_failed, timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, _left())
    assert "position 8: a space" in dialog.field_error("merchant_id")
    assert dialog.field_error("merchant_id").endswith("\n  IGCCMUM_555001\n" + " " * 9 + "^")
    assert load_office(demo_engine, "MUM").merchant_id == before.merchant_id

    dialog.merchant_id.clear()
    qtbot.keyClicks(dialog.merchant_id, "IGCCMUM555001")
    assert dialog.field_error("merchant_id") == ""
    with qtbot.waitSignals([dialog.saved, offices_tab.changed], timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, _left())
    after = load_office(demo_engine, "MUM")
    assert after.merchant_id == "IGCCMUM555001"
    assert after.checksum_key == before.checksum_key  # left empty: unchanged
    event = audit_events(demo_engine, "office.edit")[-1]
    assert event.before == {"merchant_id": before.merchant_id}
    assert event.after == {"merchant_id": "IGCCMUM555001"}


def test_new_checksum_key_and_ewallet_in_the_dialog(qtbot, offices_tab: OfficesTab,  # type: ignore[no-untyped-def]
                                                    demo_engine: Engine) -> None:
    dialog = offices_tab.edit_office(_row_of(offices_tab, "DEL"))
    assert dialog is not None
    qtbot.keyClicks(dialog.checksum_key, "Kq7x#pL2vN9!aB3c ")
    message = dialog.field_error("checksum_key")
    assert "position 17 (the end): a space" in message and "Kq7x" not in message
    qtbot.keyClick(dialog.checksum_key, _backspace())
    assert dialog.field_error("checksum_key") == ""
    dialog.ewallet.setChecked(False)
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, _left())
    stored = load_office(demo_engine, "DEL")
    assert stored.checksum_key == "Kq7x#pL2vN9!aB3c" and stored.ewallet_enabled is False
    event = audit_events(demo_engine, "office.edit")[-1]
    assert event.after == {"ewallet_enabled": False, "checksum_key": "Kq" + "•" * 12 + "3c"}


def test_add_office_in_the_dialog(qtbot, offices_tab: OfficesTab,  # type: ignore[no-untyped-def]
                                  demo_engine: Engine) -> None:
    dialog = offices_tab.add_office()
    qtbot.keyClicks(dialog.code, "KOL")
    qtbot.keyClicks(dialog.name, "Eastern Regional Office")
    qtbot.keyClicks(dialog.place, "Kolkata")
    qtbot.keyClicks(dialog.contact_email, "kol@igcc.org.in")
    qtbot.keyClicks(dialog.merchant_id, "IGCCKOL000001")
    with qtbot.waitSignal(dialog.save_failed, timeout=WAIT):  # no checksum key yet
        qtbot.mouseClick(dialog.save_button, _left())
    assert "Checksum key is empty" in dialog.field_error("checksum_key")
    qtbot.keyClicks(dialog.checksum_key, "Kol#Key2025!abcd")
    offices_tab.changed.connect(offices_tab.reload)  # as the window does
    with qtbot.waitSignals([dialog.saved, offices_tab.loaded], timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, _left())
    assert [o.code for o in offices_tab.model.rows] == ["CHE", "DEL", "KOL", "MUM"]
    assert load_office(demo_engine, "KOL").checksum_key == "Kol#Key2025!abcd"


# --- users -----------------------------------------------------------------------------------------

@pytest.fixture
def users_tab(qtbot, admin: AgencyAdmin) -> UsersTab:  # type: ignore[no-untyped-def]
    tab = UsersTab(admin)
    qtbot.addWidget(tab)
    tab.show()
    with qtbot.waitSignal(tab.loaded, timeout=WAIT):
        tab.reload()
    return tab


def test_approve_pending_registration(qtbot, users_tab: UsersTab,  # type: ignore[no-untyped-def]
                                      demo_engine: Engine) -> None:
    assert [u.email for u in users_tab.pending_model.rows] == [PENDING]
    assert users_tab.pending_box.title() == "Pending registrations (1)"
    users_tab.pending_table.selectRow(0)
    assert users_tab.approve_button.isEnabled() and users_tab.refuse_button.isEnabled()
    assert not users_tab.deactivate_button.isEnabled()
    # approving without an office is explained, not done
    qtbot.mouseClick(users_tab.approve_button, _left())
    assert "Tick the offices" in users_tab.message.text()
    assert load_user(demo_engine, PENDING).status == "pending"
    users_tab.set_checked_offices(["MUM", "CHE"])
    with qtbot.waitSignal(users_tab.loaded, timeout=WAIT):
        qtbot.mouseClick(users_tab.approve_button, _left())
    user = load_user(demo_engine, PENDING)
    assert user.status == "active" and sorted(o.code for o in user.offices) == ["CHE", "MUM"]
    assert users_tab.pending_model.rows == [] and users_tab.pending_empty.isVisible()
    assert "approved" in users_tab.message.text()


def test_refuse_deactivate_activate(qtbot, users_tab: UsersTab,  # type: ignore[no-untyped-def]
                                    demo_engine: Engine) -> None:
    asked: list[str] = []

    def reason(title: str, prompt: str, action: str) -> str:
        asked.append(action)
        return f"{action}: test"

    users_tab.ask_reason = reason
    users_tab.pending_table.selectRow(0)
    with qtbot.waitSignal(users_tab.loaded, timeout=WAIT):
        qtbot.mouseClick(users_tab.refuse_button, _left())
    assert load_user(demo_engine, PENDING).status == "refused"

    assert users_tab.select_user(user_id(demo_engine, ANITA))
    assert users_tab.deactivate_button.isEnabled() and not users_tab.activate_button.isEnabled()
    with qtbot.waitSignal(users_tab.loaded, timeout=WAIT):
        qtbot.mouseClick(users_tab.deactivate_button, _left())
    assert load_user(demo_engine, ANITA).status == "deactivated"
    assert users_tab.selected_user().status == "deactivated"  # type: ignore[union-attr]
    assert users_tab.activate_button.isEnabled()
    with qtbot.waitSignal(users_tab.loaded, timeout=WAIT):
        qtbot.mouseClick(users_tab.activate_button, _left())
    assert load_user(demo_engine, ANITA).status == "active"
    assert asked == ["Refuse", "Deactivate"]
    assert audit_events(demo_engine, "user.deactivate")[-1].note == "Deactivate: test"


def test_cannot_deactivate_self(users_tab: UsersTab, demo_engine: Engine) -> None:
    assert users_tab.select_user(user_id(demo_engine, "admin@igcc.org.in"))
    assert not users_tab.deactivate_button.isEnabled()
    assert not any(check.isEnabled() for check in users_tab.office_checks.values())


def test_map_offices_with_checkboxes(qtbot, users_tab: UsersTab,  # type: ignore[no-untyped-def]
                                     demo_engine: Engine) -> None:
    users_tab.select_user(user_id(demo_engine, ANITA))
    checked = [c.text()[:3] for c in users_tab.office_checks.values() if c.isChecked()]
    assert checked == ["MUM"]
    users_tab.office_checks[office_id(demo_engine, "DEL")].setChecked(True)
    with qtbot.waitSignal(users_tab.loaded, timeout=WAIT):
        qtbot.mouseClick(users_tab.save_mapping_button, _left())
    assert sorted(o.code for o in load_user(demo_engine, ANITA).offices) == ["DEL", "MUM"]


def test_domains_edited_with_inline_error(qtbot, users_tab: UsersTab,  # type: ignore[no-untyped-def]
                                          admin: AgencyAdmin) -> None:
    users_tab.domains_edit.setText("igcc.org.in, gmail.com")
    with qtbot.waitSignal(users_tab.action_finished, timeout=WAIT):
        qtbot.mouseClick(users_tab.save_domains_button, _left())
    assert "public mailbox provider" in users_tab.domains_error.message
    assert admin.agency().email_domains == ("igcc.org.in", "mail.igcc.org.in")
    users_tab.domains_edit.setText("igcc.org.in, igcc.in")
    with qtbot.waitSignal(users_tab.loaded, timeout=WAIT):
        qtbot.mouseClick(users_tab.save_domains_button, _left())
    assert admin.agency().email_domains == ("igcc.org.in", "igcc.in")
    assert not users_tab.domains_error.isVisible()


# --- stamp and signature upload -----------------------------------------------------------------

def _upload_dialog(qtbot, admin: AgencyAdmin, kind: str, target: int) -> ImageUploadDialog:  # type: ignore[no-untyped-def]
    dialog = ImageUploadDialog(admin, admin.upload_target(kind, target))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_upload_stamp_slider_and_save(qtbot, admin: AgencyAdmin, demo_engine: Engine,  # type: ignore[no-untyped-def]
                                      stamp_scan: Path) -> None:
    mum = office_id(demo_engine, "MUM")
    dialog = _upload_dialog(qtbot, admin, "stamp", mum)
    assert not dialog.save_button.isEnabled()
    with qtbot.waitSignal(dialog.rendered, timeout=WAIT):
        dialog.load_file(stamp_scan)
    assert dialog.error_text == ""
    assert not dialog.before_view.image.isNull() and not dialog.after_view.image.isNull()
    assert not dialog.certificate_view.image.isNull()
    # the certification box preview is wide (the box) and shows ink, not only paper
    box = dialog.certificate_view.image
    assert box.width() > 2 * box.height()
    assert dialog.save_button.isEnabled()
    first = dialog.cleaned
    assert first is not None and first.strength == 0.5

    with qtbot.waitSignal(dialog.rendered, timeout=WAIT):
        dialog.slider.setValue(80)
    assert dialog.cleaned is not None and dialog.cleaned.strength == 0.8
    assert dialog.strength_label.text() == "80"
    # a stronger clean-up keeps fewer ink pixels
    assert _opaque(dialog.cleaned.rgba) < _opaque(first.rgba)

    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, _left())
    png = load_office(demo_engine, "MUM").stamp_png
    assert png is not None
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "RGBA"
    alpha = image.getchannel("A")
    width, height = image.size
    corners = [alpha.getpixel(p) for p in ((0, 0), (width - 1, 0), (0, height - 1),
                                           (width - 1, height - 1))]
    assert corners == [0, 0, 0, 0]  # transparent background
    histogram = alpha.histogram()
    assert histogram[255] > 0.03 * width * height  # and real ink
    assert histogram[0] > 0.3 * width * height
    raw = image.tobytes()
    ink = [raw[i:i + 4] for i in range(0, len(raw), 4) if raw[i + 3] == 255]
    red, green, blue = (sum(p[c] for p in ink) / len(ink) for c in range(3))
    assert blue > green and red > green  # violet ink kept its colour
    event = audit_events(demo_engine, "office.stamp")[-1]
    assert event.after["stamp"]["pixels"] == [width, height]
    assert "stamp-photo.jpg" in event.note


def test_upload_signature(qtbot, admin: AgencyAdmin, demo_engine: Engine,  # type: ignore[no-untyped-def]
                          signature_scan: Path) -> None:
    dialog = _upload_dialog(qtbot, admin, "signature", user_id(demo_engine, ANITA))
    with qtbot.waitSignal(dialog.rendered, timeout=WAIT):
        dialog.load_file(signature_scan)
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, _left())
    png = load_user(demo_engine, ANITA).signature_png
    assert png is not None and Image.open(io.BytesIO(png)).mode == "RGBA"


@pytest.mark.parametrize("problem", ["text", "empty", "truncated", "svg", "bomb"])
def test_bad_file_shows_its_message_and_stores_nothing(
        qtbot, admin: AgencyAdmin, demo_engine: Engine, tmp_path: Path,  # type: ignore[no-untyped-def]
        stamp_scan_bytes: bytes, stamp_scan: Path, problem: str) -> None:
    from app.imaging import ImageRejected, load_image

    mum = office_id(demo_engine, "MUM")
    path = bad_files(tmp_path, stamp_scan_bytes)[problem]
    with pytest.raises(ImageRejected) as expected:
        load_image(path)
    dialog = _upload_dialog(qtbot, admin, "stamp", mum)
    # a good file first, then the bad one: the good one must not be saved by mistake
    with qtbot.waitSignal(dialog.rendered, timeout=WAIT):
        dialog.load_file(stamp_scan)
    with qtbot.waitSignal(dialog.prepared, timeout=WAIT):
        dialog.load_file(path)
    assert str(expected.value) in dialog.error_text
    assert "Nothing was stored" in dialog.error_text
    assert not dialog.save_button.isEnabled() and not dialog.slider.isEnabled()
    assert dialog.after_view.image.isNull()
    dialog.save()  # even if called, nothing happens
    wait_for_tasks()
    assert load_office(demo_engine, "MUM").stamp_png is None
    assert audit_events(demo_engine, "office.stamp") == []


def test_blank_page_warns_and_cannot_be_saved(qtbot, admin: AgencyAdmin, demo_engine: Engine,  # type: ignore[no-untyped-def]
                                               tmp_path: Path) -> None:
    from bench.imaging_synthetic import make_blank_page

    path = tmp_path / "blank.jpg"
    make_blank_page().save(path, "JPEG", quality=70)
    dialog = _upload_dialog(qtbot, admin, "stamp", office_id(demo_engine, "MUM"))
    with qtbot.waitSignal(dialog.rendered, timeout=WAIT):
        dialog.load_file(path)
    assert dialog.warning_text  # no ink found: said so
    assert not dialog.save_button.isEnabled()
    assert load_office(demo_engine, "MUM").stamp_png is None


def test_faint_stamp_warns(qtbot, admin: AgencyAdmin, demo_engine: Engine,  # type: ignore[no-untyped-def]
                           tmp_path: Path) -> None:
    from PIL import ImageDraw

    page = Image.new("RGB", (900, 700), (250, 250, 247))
    draw = ImageDraw.Draw(page)
    for r in (250, 200):
        draw.ellipse((450 - r, 350 - r, 450 + r, 350 + r), outline=(215, 215, 240), width=12)
    path = tmp_path / "faint.png"
    page.save(path)
    dialog = _upload_dialog(qtbot, admin, "stamp", office_id(demo_engine, "MUM"))
    with qtbot.waitSignal(dialog.rendered, timeout=WAIT):
        dialog.load_file(path)
    assert "faint" in dialog.warning_text.lower()


# --- the window ----------------------------------------------------------------------------------

def test_admin_window_tabs(qtbot, admin: AgencyAdmin, demo_engine: Engine,  # type: ignore[no-untyped-def]
                           stamp_scan: Path) -> None:
    window = AdminWindow(admin, "embedded demo")
    qtbot.addWidget(window)
    with qtbot.waitSignals([window.offices_tab.loaded, window.users_tab.loaded,
                            window.images_tab.loaded, window.audit_tab.loaded], timeout=WAIT):
        window.show()
    assert [window.tabs.tabText(i) for i in range(5)] == [
        "Dashboard", "&Offices", "&Users", "&Stamps && signatures", "&Audit log"]
    assert window.images_tab.stamps.rowCount() == 3
    assert window.images_tab.signatures.rowCount() == 6
    window.tabs.setCurrentIndex(AdminWindow.IMAGES)
    window.images_tab.stamps.selectRow(2)
    with qtbot.waitSignal(window.images_tab.dialog_opened, timeout=WAIT) as opened:
        qtbot.mouseClick(window.images_tab.stamp_button, _left())
    dialog: ImageUploadDialog = opened.args[0]
    assert dialog.target.office_code == "MUM"
    with qtbot.waitSignal(dialog.rendered, timeout=WAIT):
        dialog.load_file(stamp_scan)
    with qtbot.waitSignals([dialog.saved, window.audit_tab.loaded], timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, _left())
    assert window.audit_tab.events[0].action == "office.stamp"
    assert load_office(demo_engine, "MUM").stamp_png is not None
    qtbot.waitUntil(lambda: window.images_tab.stamps.item(2, 2).text() == "uploaded",
                    timeout=WAIT)


def _opaque(rgba: bytes) -> int:
    return sum(1 for a in rgba[3::4] if a > 128)


def _left():  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def _backspace():  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    return Qt.Key.Key_Backspace


def test_open_admin_window_from_a_signed_in_desk(qtbot, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from app.config import load_config
    from app.services.desk import Desk
    from app.views.admin_window import open_admin_window

    desk = Desk(demo_engine, load_config())
    desk.sign_in("admin@igcc.org.in")
    opened: list[AdminWindow] = []
    open_admin_window(desk, on_open=opened.append)  # the administrator is read on a worker
    qtbot.waitUntil(lambda: bool(opened), timeout=WAIT)
    window = opened[0]
    qtbot.addWidget(window)
    assert window.isVisible()
    qtbot.waitUntil(lambda: window.agency is not None and window.offices_tab.model.rowCount() > 0,
                    timeout=WAIT)
    assert "Indo-Gulf Chamber of Commerce" in window.windowTitle()
    assert window.user_label.text().endswith("administrator of IGCC")
    assert window.admin.admin_id == desk.user.id  # type: ignore[union-attr]
