"""Bad input from outside: one line on stderr (``origin-desk: ...``), a documented exit
code, nothing changed, never a traceback on the terminal; anything unexpected goes to the
top-level handler (exit 70, the traceback in the log file only)."""

from __future__ import annotations

import io
import os
import socket
import stat
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from app.cli import EXIT_UNEXPECTED, main

PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
       b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n"
       b"%%EOF\n")


# --- helpers ----------------------------------------------------------------------------


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A folder of the test's own, beside the data directory (``tmp_path/home``)."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def snapshot(folder: Path, skip: tuple[str, ...] = ("logs",)) -> dict[str, object]:
    """Every file and folder under ``folder`` with its bytes and mode (``skip``: top-level
    names left out, e.g. the log folder, which a run may write to)."""
    state: dict[str, object] = {}
    if not folder.exists():
        return state
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if relative.parts[0] in skip:
            continue
        info = path.lstat()
        if stat.S_ISDIR(info.st_mode):
            state[str(relative)] = ("dir", stat.S_IMODE(info.st_mode))
        else:
            state[str(relative)] = (path.read_bytes(), stat.S_IMODE(info.st_mode))
    return state


def one_line(err: str) -> str:
    """The one line on stderr, checked: exactly one, ``origin-desk:``, no traceback."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("origin-desk: "), err
    assert "Traceback" not in err
    return lines[0]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stamp_jpeg(**options: object) -> bytes:
    image = Image.new("RGB", (640, 480), "white")
    draw = ImageDraw.Draw(image)
    for k in range(12):
        draw.ellipse((20 + 40 * k, 30 + 25 * k, 200 + 30 * k, 200 + 20 * k),
                     outline=(30, 40, 160), width=7)
    draw.text((260, 220), "IGCC MUMBAI", fill=(30, 40, 160))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


# --- settings and the data directory ------------------------------------------------------


def test_config_that_is_not_utf8_is_refused(data_home: Path, capsys) -> None:
    (data_home / "config.toml").write_bytes(b'token_label = "caf\xe9"\n')
    before = snapshot(data_home, skip=())
    code, out, err = run(capsys, "list")
    assert code == 2 and out == ""
    line = one_line(err)
    assert "config.toml is not UTF-8" in line and "0xe9" in line
    assert snapshot(data_home, skip=()) == before  # not even a log folder


@pytest.mark.parametrize("under", [False, True])
def test_home_that_is_a_file_is_refused(tmp_path: Path, monkeypatch, capsys, under: bool) -> None:
    home = tmp_path / "home-file"
    home.write_text("not a folder")
    monkeypatch.setenv("ORIGIN_DESK_HOME", str(home / "sub" if under else home))
    code, _out, err = run(capsys, "list")
    assert code == 2
    line = one_line(err)
    assert "ORIGIN_DESK_HOME" in line and "is a file, not a folder" in line
    assert home.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "home-file"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("waiting_limit_hours = inf\n", "expected a whole number"),
        ("waiting_limit_hours = 2.5\n", "expected a whole number"),
        ("sync_interval_seconds = [5]\n", "expected a whole number"),
        ("offline = 2\n", "expected true or false"),
        ("central_url = 42\n", "expected a text value"),
        ("timestamp_url = 'tsa.example.com'\n", "http:// or https://"),
        ("trust_dir = \"a\\u0000b\"\n", "expected a folder path"),
        ("log_level = {}\n", "expected a text value"),
        ("[central_url]\nx = 1\n", "expected a text value"),
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", "config.toml"),
    ],
)
def test_settings_of_the_wrong_type(data_home: Path, capsys, text: str, words: str) -> None:
    (data_home / "config.toml").write_text(text)
    code, _out, err = run(capsys, "list")
    assert code == 2 and words in one_line(err)


def test_a_password_in_a_setting_is_never_echoed(monkeypatch, capsys) -> None:
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", "anita:hunter2@db.example/central")
    code, _out, err = run(capsys, "list")
    assert code == 2 and "hunter2" not in err and "anita:***@" in one_line(err)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", "postgresql+psycopg://anita:hunter2@db:x/c")
    code, _out, err = run(capsys, "list")
    assert code == 2 and "hunter2" not in err and "not a SQLAlchemy URL" in one_line(err)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", "postgresql+psycopg://anita:hunter2@db/c")
    code, _out, err = run(capsys, "list")
    assert code == 2 and "hunter2" not in err and "contains a password" in one_line(err)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("postgresql+psycopg://u@h:99999/db", "port 99999"),
        ("postgresql+psycopg://u@h/db?sslmode=require&sslmode=disable", "more than once"),
        ("sqlite://", "names no SQLite file"),
        ("mysql://u@h/db", "PostgreSQL"),
    ],
)
def test_central_urls_that_cannot_work(monkeypatch, capsys, url: str, words: str) -> None:
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", url)
    code, _out, err = run(capsys, "list")
    assert code == 2 and words in one_line(err)


# --- the central store ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["render", "APP-2026-000042", "--out", "{tmp}/out.pdf"],
        ["verify", "{tmp}/in.pdf"],
        ["admin", "--as", "admin@igcc.org.in", "offices"],
        ["db", "current"],
        ["db", "upgrade"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_postgresql_server_down(work: Path, data_home: Path, monkeypatch, capsys,
                                argv: list[str]) -> None:
    port = free_port()
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", f"postgresql+psycopg://x@127.0.0.1:{port}/db")
    (work / "in.pdf").write_bytes(PDF)
    before = snapshot(work)
    started = time.monotonic()
    code, out, err = run(capsys, *(a.replace("{tmp}", str(work)) for a in argv))
    assert time.monotonic() - started < 4
    assert code == 2 and out == ""
    line = one_line(err)
    assert "central store" in line and "cannot be reached" in line and f"{port}" in line
    assert snapshot(work) == before  # no PDF, no local store, nothing


def test_sqlite_central_store_in_a_missing_folder_is_not_created(work: Path, monkeypatch,
                                                                 capsys) -> None:
    store = work / "nowhere" / "deeper" / "central.sqlite"
    for argv in (["list"], ["db", "current"], ["db", "upgrade"]):
        monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", f"sqlite:///{store}")
        code, _out, err = run(capsys, *argv)
        assert code == 2
        line = one_line(err)
        assert str(store.parent) in line and "does not exist" in line
        assert not (work / "nowhere").exists()
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", f"sqlite:///{work / 'missing.sqlite'}")
    code, _out, err = run(capsys, "list")
    assert code == 2 and "missing.sqlite does not exist" in one_line(err)
    assert not (work / "missing.sqlite").exists()


def test_sqlite_central_store_that_is_not_a_database(work: Path, monkeypatch, capsys) -> None:
    other = work / "notes.sqlite"
    other.write_bytes(b"shopping list: rice, dal\n" * 100)
    other.chmod(0o644)
    before = snapshot(work)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", f"sqlite:///{other}")
    for argv in (["list"], ["db", "current"], ["db", "upgrade"],
                 ["admin", "--as", "a@b.in", "offices"]):
        code, _out, err = run(capsys, *argv)
        assert code == 2
        assert f"{other} is not a SQLite database" in one_line(err)
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", f"sqlite:///{work}")
    code, _out, err = run(capsys, "list")
    assert code == 2 and "is a folder" in one_line(err)
    assert snapshot(work) == before  # bytes and mode (no chmod) unchanged


def test_sqlite_database_without_the_schema(work: Path, monkeypatch, capsys) -> None:
    import sqlite3

    empty = work / "empty.sqlite"
    sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.close()
    monkeypatch.setenv("ORIGIN_DESK_CENTRAL_URL", f"sqlite:///{empty}")
    code, _out, err = run(capsys, "list")
    assert code == 2 and "db upgrade" in one_line(err)


def test_damaged_demo_store(demo_store: Path, capsys) -> None:
    demo_store.write_bytes(b"broken")
    code, _out, err = run(capsys, "list")
    assert code == 2 and "demo --reset" in one_line(err)
    assert demo_store.read_bytes() == b"broken"


# --- render --out and clean-image OUT -----------------------------------------------------------


def _unwritable_targets(work: Path) -> list[tuple[Path, str]]:
    (work / "a-folder.pdf").mkdir()
    targets = [
        (work / "missing" / "x.pdf", "does not exist"),
        (work / "a-folder.pdf", "folder"),
    ]
    if Path("/proc/self").is_dir():
        targets.append((Path("/proc/x.pdf"), "cannot write"))
    return targets


def test_render_to_an_unwritable_place_is_refused_before_the_work(
        demo_store: Path, work: Path, monkeypatch, capsys) -> None:
    import app.services.documents_source as source

    def no_work(*_args: object) -> None:
        raise AssertionError("the store was asked before --out was checked")

    monkeypatch.setattr(source, "issued_certificate_pdf", no_work)
    monkeypatch.setattr(source, "certificate_data_for", no_work)
    monkeypatch.setattr(source, "render_application", no_work)
    targets = _unwritable_targets(work)
    before = snapshot(work)
    for out, words in targets:
        code, _out, err = run(capsys, "render", "APP-2026-000042", "--out", str(out))
        assert code == 2, err
        line = one_line(err)
        assert words in line.lower() and str(out) in line
    assert snapshot(work) == before


def test_render_failure_leaves_no_file(demo_store: Path, work: Path, capsys) -> None:
    out = work / "draft.pdf"
    code, _out, err = run(capsys, "render", "APP-1999-999999", "--out", str(out))
    assert code == 2 and "not in the store" in one_line(err)
    assert list(work.iterdir()) == []
    nested = work / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    code, _out, err = run(capsys, "render", "--from-json", str(nested), "--out", str(out))
    assert code == 2 and one_line(err)
    assert sorted(p.name for p in work.iterdir()) == ["nested.json"]


def test_clean_image_to_an_unwritable_place_is_refused_before_the_work(
        work: Path, monkeypatch, capsys) -> None:
    import app.imaging.files as files

    scan = work / "scan.jpg"
    scan.write_bytes(stamp_jpeg(quality=90))

    def no_work(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the scan was decoded before OUT was checked")

    monkeypatch.setattr(files, "load_image", no_work)
    (work / "a-folder.png").mkdir()
    targets = [(work / "missing" / "x.png", "does not exist"),
               (work / "a-folder.png", "folder")]
    if Path("/proc/self").is_dir():
        targets.append((Path("/proc/x.png"), "cannot write"))
    for out, words in targets:
        code, _out, err = run(capsys, "clean-image", str(scan), str(out))
        assert code == 2, err
        assert words in one_line(err).lower()
    assert sorted(p.name for p in work.iterdir()) == ["a-folder.png", "scan.jpg"]
    assert list((work / "a-folder.png").iterdir()) == []


def test_clean_image_will_not_overwrite_its_input(work: Path, capsys) -> None:
    scan = work / "scan.png"
    Image.open(io.BytesIO(stamp_jpeg())).save(scan)
    before = scan.read_bytes()
    code, _out, err = run(capsys, "clean-image", str(scan), str(scan))
    assert code == 2 and "the scan itself" in one_line(err)
    assert scan.read_bytes() == before


# --- verify -------------------------------------------------------------------------------------


def nested_pdf(depth: int = 100_000) -> bytes:
    body = (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /X " + b"[" * depth
            + b"]" * depth + b" >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\n"
            b"endobj\n")
    xref = len(body)
    body += (b"xref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n"
             + b"%010d 00000 n \n" % body.index(b"2 0 obj")
             + b"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    return body


@pytest.mark.parametrize("with_store", [False, True])
def test_verify_a_pdf_nested_100000_deep(work: Path, request, capsys, with_store: bool) -> None:
    if with_store:
        request.getfixturevalue("demo_store")
    path = work / "deep.pdf"
    path.write_bytes(nested_pdf())
    code, out, err = run(capsys, "verify", str(path), *([] if with_store else ["--signature-only"]))
    assert code == 2 and out == ""
    assert "nested too deeply" in one_line(err) and str(path) in err


def test_verify_refuses_a_file_over_20_mb_without_reading_it(work: Path, monkeypatch,
                                                             capsys) -> None:
    big = work / "big.pdf"
    with big.open("wb") as handle:
        handle.write(b"%PDF-1.7\n")
        handle.truncate(200 * 1024 * 1024)  # sparse: 200 MB on paper
    real_open = Path.open

    def guarded_open(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        assert self != big, "the 200 MB file was opened"
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded_open)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read_bytes"))
    code, out, err = run(capsys, "verify", str(big), "--signature-only")
    assert code == 2 and out == ""
    line = one_line(err)
    assert "20 MB" in line and "210 MB" in line


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.write_text("Dear exporter, ...\n"), "not a PDF"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: None, "No such file"),
        (lambda p: p.mkdir(), "is a folder"),
    ],
    ids=["text", "empty", "missing", "folder"],
)
def test_verify_of_what_is_not_a_pdf(work: Path, capsys, make, words: str) -> None:
    path = work / "certificate.pdf"
    make(path)
    code, out, err = run(capsys, "verify", str(path), "--signature-only")
    assert code == 2 and out == "" and words in one_line(err)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_verify_of_a_device_is_refused(capsys) -> None:
    code, _out, err = run(capsys, "verify", "/dev/zero", "--signature-only")
    assert code == 2 and "not a regular file" in one_line(err)


def test_verify_with_a_missing_trust_folder(work: Path, capsys) -> None:
    path = work / "c.pdf"
    path.write_bytes(PDF)
    code, _out, err = run(capsys, "verify", str(path), "--trust", str(work / "nope"))
    assert code == 2 and "no such folder" in one_line(err)


# --- images -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [dict(quality=90), dict(quality=85, optimize=True), dict(quality=90, progressive=True),
     dict(quality=90, restart_marker_blocks=1), dict(quality=90, restart_marker_blocks=4)],
    ids=["baseline", "optimized", "progressive", "restart-1", "restart-4"],
)
def test_a_jpeg_shorter_than_its_header_says_is_refused(work: Path, capsys,
                                                        options: dict[str, object]) -> None:
    data = stamp_jpeg(**options)
    out = work / "stamp.png"
    for fraction in (0.2, 0.5, 0.8, 0.97):
        cut = data[: int(len(data) * fraction)]
        for tail in (b"", b"\xff\xd9"):  # without and with an end-of-image marker
            scan = work / "scan.jpg"
            scan.write_bytes(cut + tail)
            code, out_text, err = run(capsys, "clean-image", str(scan), str(out))
            assert code == 2, (fraction, tail, out_text)
            assert "damaged or truncated" in one_line(err)
            assert sorted(p.name for p in work.iterdir()) == ["scan.jpg"]
    # the whole file (also with bytes after its end) is fine
    for whole in (data, data + b"camera trailer" * 20):
        (work / "scan.jpg").write_bytes(whole)
        code, _out, err = run(capsys, "clean-image", str(work / "scan.jpg"), str(out))
        assert code == 0, err
        out.unlink()


def test_load_truncated_images_stays_off(monkeypatch) -> None:
    from PIL import ImageFile

    from app.imaging import ImageRejected, load_image

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # set by some other library
    data = stamp_jpeg(quality=90)
    with pytest.raises(ImageRejected, match="truncated"):
        load_image(data[: len(data) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # put back as it was


def test_a_decompression_bomb_is_refused_from_its_header(work: Path, capsys) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    bomb = work / "bomb.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", 40000, 40000, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 40001 * 16))
                     + chunk(b"IEND", b""))
    started = time.monotonic()
    code, _out, err = run(capsys, "clean-image", str(bomb), str(work / "out.png"))
    assert time.monotonic() - started < 5
    assert code == 2 and "megapixels" in one_line(err)
    assert sorted(p.name for p in work.iterdir()) == ["bomb.png"]


# --- arguments ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["list", "--bogus"], "unrecognized arguments: --bogus (see 'origin-desk list --help')"),
        (["nosuch"], "invalid choice"),
        (["render", "APP-1"], "--out"),
        (["clean-image", "a.jpg", "b.png", "--strength", "nan"], "between 0 and 1"),
        (["admin", "--as", "a@b.in", "audit", "--limit", "-5"], "from 1 to"),
        (["admin", "--as", "a@b.in", "upload-stamp", "MUM", "x.jpg", "--strength", "7"],
         "between 0 and 1"),
        (["db"], "DB_COMMAND"),
    ],
)
def test_usage_errors_are_one_line(capsys, argv: list[str], words: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert words in one_line(err)


def test_list_filters_that_do_not_exist(demo_store: Path, capsys) -> None:
    for argv, words in ((["list", "--status", "nonsense"], "--status 'nonsense' is not known"),
                        (["list", "--office", " "], "--office needs an office code")):
        code, _out, err = run(capsys, *argv)
        assert code == 2 and words in one_line(err)


def test_admin_with_an_unknown_email(demo_store: Path, capsys) -> None:
    before = demo_store.read_bytes()
    code, _out, err = run(capsys, "admin", "--as", "nobody@example.org", "offices")
    assert code == 2 and "nobody@example.org" in one_line(err)
    code, _out, err = run(capsys, "admin", "--as", "admin@igcc.org.in", "deactivate",
                          "nobody@example.org")
    assert code == 2 and "No user 'nobody@example.org'" in one_line(err)
    assert demo_store.read_bytes() == before


# --- the top-level handler and the log ----------------------------------------------------------


def test_anything_unexpected_is_one_line_naming_the_log(demo_store: Path, data_home: Path,
                                                        monkeypatch, capsys) -> None:
    import app.cli.desk as desk

    def broken(_args: object) -> int:
        raise RuntimeError("the queue fell over (password=hunter2, "
                           "postgresql+psycopg://anita:s3cret@db/central)")

    monkeypatch.setattr(desk, "run_list", broken)
    code, out, err = run(capsys, "list")
    assert code == EXIT_UNEXPECTED == 70 and out == ""
    log_file = data_home / "logs" / "origin-desk.log"
    assert one_line(err) == (f"origin-desk: unexpected error (RuntimeError); "
                             f"details in {log_file}")
    text = log_file.read_text()
    assert "Traceback (most recent call last)" in text and "RuntimeError: the queue fell" in text
    assert "hunter2" not in text and "s3cret" not in text


def test_a_log_folder_that_cannot_be_made_does_not_stop_the_program(
        demo_store: Path, data_home: Path, monkeypatch, capsys) -> None:
    (data_home / "logs").write_text("a file where the log folder should be")
    code, out, err = run(capsys, "list", "--status", "returned")
    assert code == 0 and err == "" and out.endswith("application(s)\n")
    import app.cli.desk as desk

    monkeypatch.setattr(desk, "run_list", lambda _args: 1 / 0)
    code, _out, err = run(capsys, "list")
    assert code == 70
    line = one_line(err)
    assert "ZeroDivisionError" in line and str(data_home / "logs") not in line
    assert (data_home / "logs").read_text() == "a file where the log folder should be"


def _program(tmp_path: Path, code: str, home: Path) -> subprocess.CompletedProcess[str]:
    """``code`` run as the program would be (a fresh interpreter, real stdout/stderr)."""
    env = {**os.environ, "ORIGIN_DESK_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          errors="surrogateescape",
                          env=env, timeout=120, check=False, cwd=Path(__file__).parents[1])


def test_no_traceback_reaches_a_real_terminal(tmp_path: Path) -> None:
    home = tmp_path / "home-file"
    home.write_text("x")
    result = _program(tmp_path, "from app.cli import main; raise SystemExit(main(['list']))",
                      home)
    assert result.returncode == 2 and result.stdout == ""
    one_line(result.stderr)
    home = tmp_path / "data"
    result = _program(tmp_path, (
        "import app.cli.desk as desk\n"
        "def broken(args):\n"
        "    raise KeyError('pin=123456')\n"
        "desk.run_list = broken\n"
        "from app.cli import main\n"
        "raise SystemExit(main(['list']))\n"), home)
    assert result.returncode == 70 and result.stdout == ""
    assert one_line(result.stderr) == (
        f"origin-desk: unexpected error (KeyError); details in {home / 'logs' / 'origin-desk.log'}")
    text = (home / "logs" / "origin-desk.log").read_text()
    assert "Traceback" in text and "KeyError" in text and "123456" not in text


def test_library_warnings_go_to_the_log_not_the_terminal(tmp_path: Path) -> None:
    home = tmp_path / "data"
    result = _program(tmp_path, (
        "import warnings\n"
        "import app.cli.desk as desk\n"
        "def noisy(args):\n"
        "    warnings.warn('Corrupt EXIF data', UserWarning)\n"
        "    return 0\n"
        "desk.run_list = noisy\n"
        "from app.cli import main\n"
        "raise SystemExit(main(['list']))\n"), home)
    assert result.returncode == 0 and result.stderr == ""
    assert "Corrupt EXIF data" in (home / "logs" / "origin-desk.log").read_text()


def test_a_damaged_tiff_is_told_in_one_line(work: Path, capfd) -> None:
    image = Image.open(io.BytesIO(stamp_jpeg()))
    buffer = io.BytesIO()
    image.save(buffer, "TIFF", compression="tiff_lzw")
    data = bytearray(buffer.getvalue())
    tiff = Image.open(io.BytesIO(bytes(data)))
    start, count = tiff.tag_v2[273][0], tiff.tag_v2[279][0]
    for i in range(start + 4, start + count):  # garble the first strip's LZW codes
        data[i] = (i * 37) % 256
    scan = work / "scan.tif"
    scan.write_bytes(bytes(data))
    code = main(["clean-image", str(scan), str(work / "out.png")])
    captured = capfd.readouterr()  # what reached file descriptor 2, libtiff's own included
    assert code == 2 and "damaged" in one_line(captured.err)
    assert sorted(p.name for p in work.iterdir()) == ["scan.tif"]


@pytest.mark.skipif(sys.platform != "linux", reason="file names that are not UTF-8")
def test_a_file_name_that_is_not_utf8(tmp_path: Path, monkeypatch) -> None:
    work, home = tmp_path / "work", tmp_path / "data"
    work.mkdir()
    scan = work / "scan.jpg"
    scan.write_bytes(stamp_jpeg())
    monkeypatch.setenv("PYTHONIOENCODING", "utf-8:strict")  # as under a UTF-8 locale
    out = os.fsencode(work) + b"/stamp-\xff.png"
    result = _program(tmp_path, (
        "import os, sys\n"
        "from app.cli import main\n"
        f"raise SystemExit(main(['clean-image', {str(scan)!r}, os.fsdecode({out!r})]))\n"),
        home)
    assert result.returncode == 0 and result.stderr == "" and "wrote" in result.stdout
    assert os.path.exists(out)
    missing = os.fsencode(work) + b"/\xfe.pdf"
    result = _program(tmp_path, (
        "import os\n"
        "from app.cli import main\n"
        f"raise SystemExit(main(['verify', os.fsdecode({missing!r})]))\n"), home)
    assert result.returncode == 2 and "No such file" in one_line(result.stderr)
    assert "\\udcfe.pdf" in (home / "logs" / "origin-desk.log").read_text()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_a_data_directory_that_cannot_be_created(monkeypatch, capsys) -> None:
    monkeypatch.setenv("ORIGIN_DESK_HOME", "/proc/origin-desk-home")
    code, _out, err = run(capsys, "list")
    assert code == 2
    assert "data directory /proc/origin-desk-home cannot be created" in one_line(err)


def test_verify_help_names_the_size_limit_and_exit_codes(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["verify", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "larger than 20 MB" in text and "Exit 0: valid; 1: not valid" in text


def test_interrupted_is_one_line(demo_store: Path, monkeypatch, capsys) -> None:
    import app.cli.desk as desk

    def interrupted(_args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(desk, "run_list", interrupted)
    code, _out, err = run(capsys, "list")
    assert code == 130 and one_line(err) == "origin-desk: interrupted"


def test_db_commands_on_a_demo_store_not_made_yet(data_home: Path, capsys) -> None:
    for argv in (["db", "current"], ["db", "upgrade"]):
        code, _out, err = run(capsys, *argv)
        assert code == 2 and "origin-desk demo" in one_line(err)
    assert sorted(p.name for p in data_home.iterdir()) == ["logs"]
