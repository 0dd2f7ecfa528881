"""A throwaway PostgreSQL server in a temporary directory (RECIPES.md), pytest-free.

    with PostgresServer() as server:                    # initdb + start on a free port
        url = server.url("postgres")                    # postgresql+psycopg://postgres@...
        server.create_database("t1", template="seeded")
        server.restart()
    # stopped (fast shutdown) on leaving the block, even after a failure; its own
    # temporary directory (under /tmp, not pytest's basetemp) removed

``initdb`` refuses to run as root: as root the server binaries run as the ``postgres``
user through ``runuser``, and the directory is handed to that user; otherwise as yourself.
Authentication is ``trust`` on 127.0.0.1 and the socket directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

BIN = Path(os.environ.get("ORIGIN_DESK_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "postgres"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    def __init__(self, directory: Path | None = None, port: int | None = None) -> None:
        # not under pytest's basetemp: that is 0700 and its old runs are deleted by later
        # pytest sessions (even other people's), which the postgres user cannot live with
        self._own_directory = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="origin-desk-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self.port = port or free_port()
        self.running = False
        self._as_root = os.geteuid() == 0

    # --- running the binaries ---------------------------------------------------------------

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(BIN / tool), *args]
        if self._as_root:
            return ["runuser", "-u", "postgres", "--", *command]
        return command

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(self._command(tool, *args), capture_output=True, text=True,
                                timeout=timeout, check=False)
        if result.returncode != 0:
            log_tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{tool} {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}"
                f"\n{log_tail}"
            )

    def init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._as_root:
            shutil.chown(self.directory, "postgres")
            for parent in self.directory.parents:  # the postgres user must reach the folder
                if parent == Path("/"):
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", SUPERUSER,
                  "-E", "UTF8", "--no-instructions", "--no-sync")

    def _options(self) -> str:
        return (f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=60")

    def start(self) -> None:
        for attempt in range(3):
            try:
                self._run("pg_ctl", "-D", str(self.data), "-o", self._options(), "-l",
                          str(self.log), "-w", "-t", "60", "start")
                break
            except RuntimeError:
                if attempt == 2 or self._port_free():
                    raise
                self.port = free_port()  # someone took the port meanwhile
        self.running = True

    def _port_free(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) != 0

    def stop(self) -> None:
        if not self.data.exists():
            return
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", timeout=60)
        self.running = False

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", timeout=60)
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options(), "-l", str(self.log),
                  "-w", "-t", "60", "start")

    def __enter__(self) -> PostgresServer:
        try:
            self.init()
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    # --- databases --------------------------------------------------------------------------

    def url(self, database: str = "postgres", user: str = SUPERUSER) -> str:
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER,
                             dbname=database, autocommit=True) as connection:
            cursor = connection.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str, template: str | None = None) -> str:
        clause = f" TEMPLATE {template}" if template else ""
        for attempt in range(20):  # a template must have no other sessions for a moment
            try:
                self.execute(f"CREATE DATABASE {name}{clause}")
                break
            except Exception as exc:  # noqa: BLE001 - psycopg ObjectInUse, retried
                if "being accessed by other users" not in str(exc) or attempt == 19:
                    raise
                time.sleep(0.1)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def terminate_backends(self, database: str, user: str | None = None) -> int:
        where = f"datname = '{database}' AND pid <> pg_backend_pid()"
        if user:
            where += f" AND usename = '{user}'"
        rows = self.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {where}")
        return sum(1 for (ok,) in rows if ok)
