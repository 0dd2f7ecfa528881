"""Help → About Origin Desk (versions, the PKCS#11 module in use) and Help → Copy
diagnostics (a report for a support request on the clipboard, never a secret).

Both read what they show on a worker (``app.services.diagnostics``): loading a PKCS#11
module and counting the outbox are not the GUI thread's work.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.views.tasks import run_task

if TYPE_CHECKING:
    from app.config import Config
    from app.services.diagnostics import Pkcs11ModuleInfo


def _config_of(desk: Any) -> Config:
    from app.config import load_config

    return desk.config if desk is not None else load_config()


class AboutDialog(QDialog):
    """Origin Desk's version and those of what it stands on; the PKCS#11 module in use and
    its own description arrive from a worker (``module_loaded``)."""

    module_loaded = Signal()

    def __init__(self, desk: Any = None, parent: QWidget | None = None) -> None:
        from app.services.diagnostics import component_versions

        super().__init__(parent)
        self.desk = desk
        self.setWindowTitle("About Origin Desk")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        versions = component_versions()
        self.versions = dict(versions)
        rows = "".join(f"<tr><td>{html.escape(name)}</td><td><b>{html.escape(value)}</b></td></tr>"
                       for name, value in versions)
        heading = QLabel(
            f"<h3>Origin Desk {html.escape(self.versions['Origin Desk'])}</h3>"
            "<p>Review, preview and sign electronic Certificates of Origin.</p>"
            f"<table cellspacing='4'>{rows}</table>")
        heading.setTextFormat(Qt.TextFormat.RichText)
        heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                        | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        layout.addWidget(heading)
        self.module_label = QLabel("PKCS#11 module: reading…")
        self.module_label.setWordWrap(True)
        self.module_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.module_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton("Copy diagnostics",
                                             QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(lambda: copy_diagnostics(self, self.desk))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.module: Pkcs11ModuleInfo | None = None
        desk_ = desk

        def read() -> Pkcs11ModuleInfo | None:
            from app.services.diagnostics import pkcs11_module_in_use

            return pkcs11_module_in_use(_config_of(desk_))

        run_task(read, self._module_arrived,
                 lambda exc: self._module_arrived(None, f"cannot be read: {exc}"), owner=self)

    def _module_arrived(self, module: Pkcs11ModuleInfo | None, problem: str = "") -> None:
        self.module = module
        if module is None:
            text = problem or "none of the configured modules is present on this computer"
            self.module_label.setText(f"PKCS#11 module: {html.escape(text)}")
        elif module.error:
            self.module_label.setText(f"PKCS#11 module in use: <code>{html.escape(module.path)}"
                                      f"</code> ({html.escape(module.error)})")
        else:
            self.module_label.setText(
                f"PKCS#11 module in use: <code>{html.escape(module.path)}</code><br>"
                f"{html.escape(module.description)} by {html.escape(module.manufacturer)}, "
                f"library {html.escape(module.library_version)}, PKCS#11 "
                f"{html.escape(module.cryptoki_version)}")
        self.module_loaded.emit()


def copy_diagnostics(parent: QWidget, desk: Any = None,
                     on_done: Callable[[str], None] | None = None) -> Any:
    """Write the diagnostics report on a worker and put it on the clipboard; the status
    bar (when the parent has one) says so."""

    def write() -> str:
        from app.services.diagnostics import diagnostics_text

        return diagnostics_text(_config_of(desk), desk)

    def copied(text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        bar = getattr(parent.window(), "statusBar", None)
        if callable(bar):
            bar().showMessage("Diagnostics copied to the clipboard (no PIN, password or key "
                              "is in them).", 8000)
        if on_done is not None:
            on_done(text)

    def failed(exc: BaseException) -> None:
        bar = getattr(parent.window(), "statusBar", None)
        if callable(bar):
            bar().showMessage(f"Diagnostics could not be written: {exc}", 8000)

    return run_task(write, copied, failed, owner=parent)
