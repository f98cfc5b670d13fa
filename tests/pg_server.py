"""A throw-away PostgreSQL server on 127.0.0.1 for tests, from Debian's server binaries.

initdb refuses to run as root, so as root every server command runs as the `postgres` user that
Debian's package creates, in a temp dir that user owns. Trust auth, fsync off: test data only.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin: "
    "run `apt-get install postgresql` (.ci/run does this on a fresh machine)."
)


class PostgresUnavailable(RuntimeError):
    """The server binaries are missing or the server would not start."""


def find_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<major>/bin with initdb and pg_ctl."""
    found = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for bin_dir in reversed(found):
        if (bin_dir / "pg_ctl").exists():
            return bin_dir
    raise PostgresUnavailable(INSTALL_HINT)


@dataclass
class PostgresServer:
    """One running server: connection facts plus what stopping it needs."""

    host: str
    port: int
    user: str
    database: str
    data_dir: Path
    bin_dir: Path
    base_dir: Path

    @property
    def dsn(self) -> str:
        """libpq connection string (trust auth, no password)."""
        return f"host={self.host} port={self.port} user={self.user} dbname={self.database}"

    def stop(self) -> None:
        """Stop the server (immediate mode, bounded) and remove its files."""
        _run(
            [
                self.bin_dir / "pg_ctl",
                "-D",
                self.data_dir,
                "-m",
                "immediate",
                "-w",
                "-t",
                "30",
                "stop",
            ],
            timeout=60,
            check=False,
        )
        shutil.rmtree(self.base_dir, ignore_errors=True)


def _as_server_user(cmd: list[str | Path]) -> list[str]:
    """Prefix with runuser when we are root (initdb and postgres refuse root)."""
    args = [str(c) for c in cmd]
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


def _run(cmd: list[str | Path], *, timeout: float, check: bool = True) -> str:
    """Run a server command as the server user; return its output or raise with it."""
    proc = subprocess.run(
        _as_server_user(cmd),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    output = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise PostgresUnavailable(f"{' '.join(map(str, cmd))} failed:\n{output[-3000:]}")
    return output


def start(port: int) -> PostgresServer:
    """initdb + pg_ctl start on 127.0.0.1:``port``; raise PostgresUnavailable with the log."""
    bin_dir = find_bin_dir()
    base = Path(tempfile.mkdtemp(prefix="e2e-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, user="postgres", group="postgres")
    data = base / "data"
    log = base / "server.log"
    try:
        _run(
            [
                bin_dir / "initdb",
                "-D",
                data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            timeout=120,
        )
        with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {port}\n"
                "unix_socket_directories = ''\nfsync = off\nsynchronous_commit = off\n"
                "full_page_writes = off\nmax_connections = 50\n"
            )
        _run([bin_dir / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "start"], timeout=90)
    except (PostgresUnavailable, subprocess.TimeoutExpired) as err:
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        _run([bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], timeout=30, check=False)
        shutil.rmtree(base, ignore_errors=True)
        raise PostgresUnavailable(f"{err}\n{detail}") from err
    return PostgresServer("127.0.0.1", port, "postgres", "postgres", data, bin_dir, base)
