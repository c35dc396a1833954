"""A real PostgreSQL server for tests: Debian's ``postgresql`` binaries, a throw-away cluster on loopback.

``start_postgres`` finds ``initdb`` and ``pg_ctl`` under ``/usr/lib/postgresql/<version>/bin`` (the newest
version), initialises a cluster in a new temporary directory with a superuser ``dagster`` and a random
password (checked on every TCP connection, as a production server would), and starts it listening on
127.0.0.1 at a free port, its unix socket inside the temporary directory (never ``/var/run/postgresql``,
so it neither needs nor disturbs a system server). ``PostgresServer.stop`` always stops it and removes the
directory; the session fixture calls it whatever happened to the tests.

PostgreSQL refuses to run as root (``initdb: cannot be run as root``). Tests run as root here and in CI, so
then the server's commands run as the unprivileged ``postgres`` user that Debian's package creates
(``runuser -u postgres``), and the temporary directory is handed to that user; as any other user the
commands run as that user.

Speed is bought where it changes nothing the tests prove. Durability, as on any test cluster (``fsync``,
``synchronous_commit`` and ``full_page_writes`` off): Dagster's schema creation is many small transactions.
And the password is checked with md5 rather than PostgreSQL's default SCRAM: Dagster opens a new connection
for nearly every storage call (no pool outside the webserver), and SCRAM's key derivation costs about 5 ms of
CPU per connection, client and server together (measured: 3.0 ms client side, against 0.6 ms for md5), over
the thousands of connections a test makes. SQL, locking, transactions and the rejection of a wrong password are the
production server's.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BIN_GLOB = "/usr/lib/postgresql/*/bin"
SUPERUSER = "dagster"
SERVER_USER = "postgres"  # created by Debian's postgresql package
START_ATTEMPTS = 3  # a free port can be taken by another process between finding it and binding it
START_TIMEOUT_SECONDS = 60


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries to start, or no user to run them as."""


def server_binaries() -> Path:
    """The ``bin`` directory of the newest PostgreSQL installed from Debian's package."""
    candidates = [Path(p) for p in Path("/").glob(BIN_GLOB.lstrip("/"))
                  if (Path(p) / "initdb").is_file() and (Path(p) / "pg_ctl").is_file()]
    if not candidates:
        raise PostgresUnavailable(
            f"PostgreSQL server binaries (initdb, pg_ctl) not found under {BIN_GLOB}: install them with "
            "`apt-get install postgresql` (the tests start their own server on loopback; CI's .ci/run installs it)"
        )
    return max(candidates, key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)] or [0])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    """A running throw-away PostgreSQL cluster. Its superuser's password is only ever passed through
    environment variables and connection arguments, never on a command line or in a log."""

    bin_dir: Path
    root: Path
    port: int
    password: str = field(repr=False)
    host: str = "127.0.0.1"
    user: str = SUPERUSER

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def dagster_env(self, database: str) -> dict[str, str]:
        """The environment variables deploy/dagster.yaml reads, pointing at ``database`` on this server."""
        return {"DAGSTER_PG_HOST": self.host, "DAGSTER_PG_PORT": str(self.port), "DAGSTER_PG_USER": self.user,
                "DAGSTER_PG_PASSWORD": self.password, "DAGSTER_PG_DB": database}

    def connect(self, database: str = "postgres"):
        import psycopg2

        connection = psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                      dbname=database, connect_timeout=10)
        connection.autocommit = True
        return connection

    def query(self, database: str, sql: str, *args) -> list[tuple]:
        connection = self.connect(database)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, args or None)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database: empty, or a copy of ``template`` (a database nobody is connected to). About 0.1-0.4 s."""
        for identifier in (name, template or "template1"):
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", identifier):
                raise ValueError(f"database name {identifier!r}: use lower-case letters, digits and _")
        self.query("postgres", f'CREATE DATABASE "{name}" TEMPLATE "{template or "template1"}"')
        return name

    def drop_database(self, name: str) -> None:
        # FORCE ends the connections a test's child processes may have left open.
        self.query("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server (fast shutdown, then immediate) and remove its directory."""
        try:
            if (self.data_dir / "postmaster.pid").exists():
                stopped = _as_server_user([str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast",
                                           "-w", "-t", "30"], check=False)
                if stopped.returncode and (self.data_dir / "postmaster.pid").exists():
                    _as_server_user([str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "immediate",
                                     "-w", "-t", "30"], check=False)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _server_user() -> pwd.struct_passwd | None:
    """The user the server runs as when we are root; None when we may run it ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, and PostgreSQL refuses root: no {SERVER_USER!r} user to run the test server as; "
            "`apt-get install postgresql` creates it (or run the tests as an unprivileged user)"
        ) from None


def _as_server_user(command: list[str], *, check: bool = True, env: dict[str, str] | None = None,
                    timeout: float = START_TIMEOUT_SECONDS) -> subprocess.CompletedProcess:
    user = _server_user()
    full = ["runuser", "-u", user.pw_name, "--", *command] if user else command
    # LC_ALL=C: initdb needs a locale that exists; C always does.
    result = subprocess.run(full, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "LC_ALL": "C", "LANG": "C", **(env or {})})
    if check and result.returncode:
        raise RuntimeError(f"{Path(command[0]).name} failed with exit code {result.returncode}: "
                           f"{(result.stdout + result.stderr).strip()[-2000:]}")
    return result


def start_postgres() -> PostgresServer:
    """Initialise and start a cluster; the caller must ``stop()`` it (see the session fixture)."""
    bin_dir = server_binaries()
    user = _server_user()
    # Not under pytest's basetemp: that directory is private to root (0700), and the server user must enter it.
    root = Path(tempfile.mkdtemp(prefix="retail-postgres-"))
    server = None
    try:
        (root / "socket").mkdir()
        password = secrets.token_urlsafe(24)
        password_file = root / "password"
        password_file.write_text(password + "\n")
        if user:
            for path in (root, root / "socket", password_file):
                os.chown(path, user.pw_uid, user.pw_gid)
        _as_server_user([str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", SUPERUSER, f"--pwfile={password_file}",
                         "--auth-host=md5", "--auth-local=peer", "--encoding=UTF8", "--no-sync"])
        password_file.unlink()
        for attempt in range(START_ATTEMPTS):
            server = PostgresServer(bin_dir=bin_dir, root=root, port=_free_port(), password=password)
            options = " ".join([
                "-c listen_addresses=127.0.0.1", f"-c port={server.port}", f"-c unix_socket_directories={root / 'socket'}",
                "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=200",
                "-c shared_buffers=32MB",
            ])
            started = _as_server_user([str(bin_dir / "pg_ctl"), "start", "-D", str(server.data_dir), "-l",
                                       str(server.log_file), "-w", "-t", str(START_TIMEOUT_SECONDS), "-o", options],
                                      check=False, timeout=START_TIMEOUT_SECONDS + 10)
            if started.returncode == 0:
                break
            log = server.log_file.read_text() if server.log_file.exists() else ""
            if "could not bind" not in log or attempt == START_ATTEMPTS - 1:
                raise RuntimeError(f"pg_ctl start failed with exit code {started.returncode}: "
                                   f"{(started.stdout + started.stderr).strip()[-1000:]}\n{log[-2000:]}")
        _wait_until_accepting(server)
        _store_password_as_md5(server)
        return server
    except BaseException:
        if server is not None:
            server.stop()
        else:
            shutil.rmtree(root, ignore_errors=True)
        raise


def _wait_until_accepting(server: PostgresServer, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            server.connect().close()
            return
        except Exception:  # noqa: BLE001 - retried until the deadline, then raised
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _store_password_as_md5(server: PostgresServer) -> None:
    """initdb stores the password as SCRAM, which the md5 method then still uses: store it as md5."""
    connection = server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET password_encryption = 'md5'")
            cursor.execute(f"ALTER ROLE {SUPERUSER} PASSWORD %s", (server.password,))
    finally:
        connection.close()
