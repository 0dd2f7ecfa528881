"""One desk per user and data directory: a second start hands its request to the first.
The second start runs in a child process (its own Qt), as a real second start does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.views.single_instance import SingleInstance, instance_name, request_for

CHILD = """
import sys
from PySide6.QtCore import QCoreApplication
from app.views.single_instance import SingleInstance, request_for
from pathlib import Path
app = QCoreApplication([])
first = SingleInstance(Path(sys.argv[1]))
if first.acquire():
    print("alone")
    sys.exit(0)
print("forwarded" if SingleInstance.forward(first.name, request_for(sys.argv[2] or None))
      else "no answer")
"""


def _second_start(data_dir: Path, open_file: str = "") -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(data_dir), open_file],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(child: subprocess.Popen[str], qtbot) -> str:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: child.poll() is not None, timeout=20000)
    out, err = child.communicate()
    assert child.returncode == 0, err
    return out.strip()


def test_a_second_start_brings_the_running_desk_forward_or_opens_its_pdf(
    qtbot, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    first = SingleInstance(tmp_path / "data")
    assert first.acquire()
    received: list[list[str]] = []
    first.requested.connect(received.append)
    try:
        child = _second_start(tmp_path / "data")
        qtbot.waitUntil(lambda: bool(received), timeout=20000)
        assert _finish(child, qtbot) == "forwarded"
        assert received == [["raise"]]

        pdf = tmp_path / "received certificate.pdf"
        pdf.write_bytes(b"%PDF-1.7\n")
        child = _second_start(tmp_path / "data", str(pdf))
        qtbot.waitUntil(lambda: len(received) == 2, timeout=20000)
        assert _finish(child, qtbot) == "forwarded"
        assert received[1] == ["open", str(pdf.resolve())]
    finally:
        first.release()


def test_another_data_directory_is_another_desk_and_a_released_lock_is_free(
    qtbot, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    assert instance_name(tmp_path / "a") != instance_name(tmp_path / "b")
    first = SingleInstance(tmp_path / "a")
    assert first.acquire()
    try:
        assert _finish(_second_start(tmp_path / "b"), qtbot) == "alone"
    finally:
        first.release()
    assert _finish(_second_start(tmp_path / "a"), qtbot) == "alone"


def test_a_crashed_desks_lock_does_not_keep_the_next_one_out(
    qtbot, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    crashed = subprocess.run(
        [sys.executable, "-c",
         "import os, sys\nfrom pathlib import Path\nfrom PySide6.QtCore import QCoreApplication\n"
         "from app.views.single_instance import SingleInstance\napp = QCoreApplication([])\n"
         "desk = SingleInstance(Path(sys.argv[1]))\nassert desk.acquire()\nos._exit(9)",
         str(tmp_path / "data")], capture_output=True, text=True, timeout=60)
    assert crashed.returncode == 9, crashed.stderr
    assert (tmp_path / "data" / "desk.lock").exists()  # left behind by the crash
    again = SingleInstance(tmp_path / "data")
    assert again.acquire()
    again.release()


@pytest.mark.parametrize("line", [b"not json\n", b'["delete", "/"]\n', b'{"open": 1}\n',
                                  b"[" + b" " * 9000 + b"]\n"])
def test_a_request_that_is_not_one_is_ignored(qtbot, tmp_path: Path, line: bytes) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtNetwork import QLocalSocket

    first = SingleInstance(tmp_path / "data")
    assert first.acquire()
    received: list[list[str]] = []
    first.requested.connect(received.append)
    try:
        socket = QLocalSocket()
        socket.connectToServer(first.name)
        assert socket.waitForConnected(2000)
        socket.write(line)
        socket.flush()
        qtbot.waitUntil(lambda: socket.state() == QLocalSocket.LocalSocketState.UnconnectedState
                        or socket.waitForDisconnected(50), timeout=10000)
        # a good request afterwards still gets through: the desk kept listening
        assert SingleInstance.forward(first.name, request_for(None))
        qtbot.waitUntil(lambda: bool(received), timeout=10000)
        assert received == [["raise"]]
    finally:
        first.release()
