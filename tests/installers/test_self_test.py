"""`origin-desk --self-test` (what the installers and IT departments run), the desktop entry
and the Windows installer script that register certificate PDFs with Origin Desk."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app import self_test

ROOT = Path(__file__).resolve().parents[2]


def test_the_self_test_passes_in_a_child_process_and_says_what_it_checked(tmp_path: Path) -> None:
    home = tmp_path / "newcomer"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    run = subprocess.run([sys.executable, "-m", "app", "--self-test"], cwd=home, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert [line.split(":")[0].strip() for line in lines[:5]] == [
        "Qt", "demo store", "render", "sign and validate", "QR code"]
    assert "platform offscreen" in lines[0]
    assert "intact, valid, trusted" in lines[3]
    assert "signature and fields verified" in lines[4]
    assert lines[-1].startswith("self-test passed in ")
    assert "Traceback" not in run.stderr
    # no demo store, settings or cache left behind: only the command's line in the log
    left = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    assert left == [".local/share/origin-desk/logs/origin-desk.log"]


def test_a_failing_step_is_one_line_naming_it_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(state: dict) -> str:  # type: ignore[type-arg]
        raise OSError("fonts missing")

    monkeypatch.setattr(self_test, "_render", broken)
    lines: list[str] = []
    assert self_test.run_self_test(lines.append) == 1
    assert lines[-1].startswith("self-test failed at 'render': OSError: fonts missing "
                                "(details in ")
    assert not any("Traceback" in line for line in lines)
    assert "Traceback" in self_test.LOG_FILE.read_text(encoding="utf-8")


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(ROOT / "installers" / "debian" / "origin-desk.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


def test_the_desktop_entry_opens_received_pdfs_with_the_desk() -> None:
    entry = _desktop_entry()
    assert entry["Exec"] == "/usr/bin/origin-desk --open %f"
    assert "application/pdf" in entry["MimeType"].split(";")
    assert entry["Icon"] == "origin-desk"
    assert (ROOT / "resources" / "icons" / "origin-desk.png").exists()
    validate = shutil.which("desktop-file-validate")
    assert validate, "desktop-file-utils (installers/system-packages.txt) is not installed"
    checked = subprocess.run([validate, str(ROOT / "installers/debian/origin-desk.desktop")],
                             capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stdout.strip() == "", checked.stdout


def test_the_windows_installer_registers_the_same_open_command_and_the_bundle() -> None:
    script = (ROOT / "installers" / "windows" / "origin-desk.iss").read_text(encoding="utf-8")
    assert '""{app}\\{#AppExe}"" --open ""%1""' in script
    assert "OpenWithProgids" in script and "ChangesAssociations=yes" in script
    assert 'Source: "..\\..\\dist\\origin-desk\\*"' in script
    version = next(line for line in (ROOT / "pyproject.toml").read_text().splitlines()
                   if line.startswith("version = "))
    assert f'#define AppVersion {version.split("=")[1].strip()}' in script


def test_the_command_line_takes_open_and_self_test_as_the_desks_options() -> None:
    from app.cli import build_parser

    args = build_parser().parse_args(["gui", "--open", "/tmp/x.pdf", "--self-test"])
    assert args.open == "/tmp/x.pdf" and args.self_test
