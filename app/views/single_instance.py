"""One running desk per user and data directory: a second start hands its request (bring
the window forward, or open a received certificate PDF in the verify view) to the desk
that runs, and exits.

The first desk holds a lock file (``QLockFile``: a stale lock of a crashed desk is taken
over) and listens on a local socket (a Unix socket, a named pipe on Windows) named after
the user and the data directory. A request is one line of JSON: ``["raise"]`` or
``["open", "/absolute/path.pdf"]``; anything else is ignored (logged), and a line longer
than ``MAX_MESSAGE`` bytes is dropped.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

MAX_MESSAGE = 8192
CONNECT_MS = 1000  # how long a second start waits for the first desk to answer


def instance_name(data_dir: Path) -> str:
    """The local socket's name: this user, this data directory."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    user = "".join(c for c in getpass.getuser() if c.isalnum())[:32] or "user"
    return f"origin-desk-{user}-{digest}"


def request_for(open_file: str | None) -> list[str]:
    """The request a start makes: open this PDF, or only bring the desk forward."""
    return ["open", str(Path(open_file).resolve())] if open_file else ["raise"]


class SingleInstance(QObject):
    """The lock and the socket of the running desk (see the module's doc)."""

    requested = Signal(list)  # ["raise"] or ["open", path]

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = instance_name(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = QLockFile(str(data_dir / "desk.lock"))
        self._lock.setStaleLockTime(0)  # stale only when its process is gone
        self._server: QLocalServer | None = None

    def acquire(self) -> bool:
        """True when this is the only desk (it then listens); False when one runs."""
        if not self._lock.tryLock(100):
            return False
        QLocalServer.removeServer(self.name)  # a socket left by a crashed desk
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            log.warning("the single-instance socket could not listen: %s", server.errorString())
            return True  # still the only desk: the lock says so
        server.newConnection.connect(self._connection)
        self._server = server
        return True

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._lock.unlock()

    def _connection(self) -> None:
        assert self._server is not None
        socket = self._server.nextPendingConnection()
        if socket is None:
            return
        buffer = bytearray()

        def read() -> None:
            buffer.extend(bytes(socket.readAll().data()))
            if len(buffer) > MAX_MESSAGE:
                log.warning("single-instance request too long: dropped")
                socket.abort()
                return
            if b"\n" in buffer:
                line = bytes(buffer).split(b"\n", 1)[0]
                socket.disconnectFromServer()
                self._handle(line)

        socket.readyRead.connect(read)
        socket.disconnected.connect(socket.deleteLater)

    def _handle(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            log.warning("single-instance request is not JSON: ignored")
            return
        if message == ["raise"] or (isinstance(message, list) and len(message) == 2
                                    and message[0] == "open" and isinstance(message[1], str)):
            self.requested.emit(message)
        else:
            log.warning("single-instance request not understood: ignored")

    @staticmethod
    def forward(name: str, request: list[str]) -> bool:
        """Hand ``request`` to the running desk; False when none answers."""
        socket = QLocalSocket()
        socket.connectToServer(name)
        if not socket.waitForConnected(CONNECT_MS):
            return False
        socket.write(json.dumps(request).encode() + b"\n")
        sent = socket.waitForBytesWritten(CONNECT_MS) or socket.bytesToWrite() == 0
        socket.disconnectFromServer()
        return sent
