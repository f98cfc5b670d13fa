"""Install a pinned Meltano in its own venv and run it on this project, with bounded waits.

Shared by ``scripts/demo.py`` and ``tests/test_e2e_meltano.py`` so both use the same Meltano and
the same plugin installs under ``.meltano/``. Meltano lives in ``.venv-meltano`` rather than in
the project's ``[test]`` extras: it brings its own SQLAlchemy/alembic/structlog stack, and a
separate venv keeps the taps' dependency set exactly what a user of the taps gets.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import venv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# meltano 4.4.1 depends on uv, which meltano.yml's `venv: {backend: uv}` uses for plugin venvs.
MELTANO_SPEC = "meltano==4.4.1"
VENV_DIR = ROOT / ".venv-meltano"
PIN_FILE = VENV_DIR / "meltano-pin.txt"


class MeltanoError(RuntimeError):
    """A Meltano step failed or timed out; the message carries the tail of its output."""


@dataclass
class Result:
    """Exit code and captured output of one bounded command."""

    returncode: int
    stdout: str
    stderr: str

    def tail(self, lines: int = 60) -> str:
        """Last lines of stderr then stdout, for error messages."""
        text = (self.stderr.rstrip() + "\n" + self.stdout.rstrip()).strip()
        return "\n".join(text.splitlines()[-lines:])


def run_bounded(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    log_path: Path | None = None,
) -> Result:
    """Run ``cmd`` in its own process group; on timeout kill the whole group (taps, targets).

    ``subprocess.run(timeout=...)`` kills only the direct child, which would leave Meltano's
    tap and target processes running.
    """
    with subprocess.Popen(
        [str(c) for c in cmd],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate(timeout=30)
            result = Result(-9, out or "", err or "")
            _write_log(log_path, cmd, result)
            msg = f"timed out after {timeout:.0f}s: {' '.join(map(str, cmd))}\n{result.tail()}"
            raise MeltanoError(msg) from None
    result = Result(proc.returncode, out, err)
    _write_log(log_path, cmd, result)
    return result


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGTERM the process group, then SIGKILL after a grace period."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _write_log(path: Path | None, cmd: Sequence[object], result: Result) -> None:
    """Append a command's output to ``path`` (the demo keeps Meltano's chatter out of sight)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"$ {' '.join(map(str, cmd))}\n{result.stderr}{result.stdout}\n")


def meltano_executable() -> Path:
    """Where the pinned meltano console script lives."""
    return VENV_DIR / "bin" / "meltano"


def ensure_meltano(*, timeout: float = 900.0) -> Path:
    """Create ``.venv-meltano`` with the pinned Meltano unless it is already there."""
    exe = meltano_executable()
    if exe.exists() and PIN_FILE.exists() and PIN_FILE.read_text().strip() == MELTANO_SPEC:
        return exe
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV_DIR)
    python = VENV_DIR / "bin" / "python"
    result = run_bounded(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", MELTANO_SPEC],
        timeout=timeout,
        env=clean_env(),
    )
    if result.returncode != 0 or not exe.exists():
        raise MeltanoError(f"pip install {MELTANO_SPEC} failed:\n{result.tail()}")
    PIN_FILE.write_text(MELTANO_SPEC + "\n")
    return exe


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment minus an activated venv, plus Meltano's no-telemetry switch."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONHOME"}}
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    env.setdefault("NO_COLOR", "1")
    env.update(extra or {})
    return env


def meltano(
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 600.0,
    log_path: Path | None = None,
    check: bool = True,
) -> Result:
    """Run ``meltano ARGS`` in the project root; raise MeltanoError on failure if ``check``."""
    result = run_bounded(
        [meltano_executable(), *args], timeout=timeout, env=clean_env(env), log_path=log_path
    )
    if check and result.returncode != 0:
        raise MeltanoError(f"meltano {' '.join(args)} exited {result.returncode}:\n{result.tail()}")
    return result


def install_plugins(
    *, env: Mapping[str, str] | None = None, timeout: float = 900.0, log_path: Path | None = None
) -> None:
    """``meltano install``: a no-op within seconds when ``.meltano/`` already has the plugins."""
    meltano("install", env=env, timeout=timeout, log_path=log_path)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether 127.0.0.1:``port`` can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


if __name__ == "__main__":
    # `python scripts/meltano_tools.py` installs Meltano and the plugins (a Makefile target).
    print(ensure_meltano())
    install_plugins()
    sys.exit(0)
