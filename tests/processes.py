"""Processes the tests and the benchmarks start: a private redis-server, `manage.py serve`.

Everything listens on a free loopback port, gets an environment of its own and is
stopped again by whoever started it. Benchmarks import this module too (run from
the repository root, `bench/common.py` puts the root on `sys.path`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """Return a TCP port on the loopback address that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def wait_for_port(
    port: int, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Return once something listens on `port`; raise if `process` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"{process.args!r} exited with {process.returncode} before listening"
            )
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {LOOPBACK}:{port} after {timeout:.0f} s")


def spawn(
    command: list[str], *, env: dict[str, str] | None, log_path: Path | None, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    """Start `command` with its output appended to `log_path` (discarded when None)."""
    if log_path is None:
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    # The child holds its own copy of the descriptor; ours is closed on leaving.
    with open(log_path, "ab") as log:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """Stop a process: SIGTERM, then SIGKILL if it is still there after `timeout`."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGCONT)  # a paused process cannot act on SIGTERM
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_process(process)


def kill_process(process: subprocess.Popen[bytes] | None) -> None:
    """Kill a process at once (SIGKILL), the way a crash ends it."""
    if process is not None and process.poll() is None:
        process.kill()
    if process is not None:
        process.wait()


def server_env(
    database_url: str, *, redis_url: str | None = None, **settings: str
) -> dict[str, str]:
    """Return the environment of a Pulseboard process on `database_url`, loopback only.

    Without `redis_url` the process uses the in-process channel layer, whatever
    REDIS_URL this process has; `settings` are further PULSEBOARD_* and such.
    """
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        HOST=LOOPBACK,
        SECRET_KEY="local-secret-key-" + uuid.uuid4().hex,
        PYTHONUNBUFFERED="1",
    )
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(settings)
    return env


def run_manage(env: dict[str, str], *args: str, timeout: float = 600, cwd: Path = ROOT) -> str:
    """Run `manage.py` of the checkout in `cwd` with `env`; return its output, or raise with its errors."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def database_prepare(env: dict[str, str], *, running: list[str] | None = None) -> None:
    """Migrate and seed (no history) the database of `env`; `running`: the only streams left on."""
    run_manage(env, "migrate", "--noinput", "-v", "0")
    run_manage(env, "seed", "--no-history")
    if running is not None:
        run_manage(
            env,
            "shell",
            "-c",
            "from streams.models import Stream; "
            f"Stream.objects.exclude(slug__in={running!r}).update(running=False)",
        )


class ListeningProcess(ABC):
    """A child process that listens on a loopback port: started, waited for, stopped.

    The port is chosen at the first start and kept by every restart, so clients
    may reconnect to the same address.
    """

    def __init__(
        self, *, env: dict[str, str] | None = None, log_path: Path | None = None, cwd: Path = ROOT
    ):
        self.env = env
        self.log_path = log_path
        self.cwd = cwd
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @abstractmethod
    def command(self) -> list[str]:
        """Return the command line that serves on `self.port`."""

    @property
    def pid(self) -> int:
        assert self.process is not None, "the process is not running"
        return self.process.pid

    def start(self, timeout: float = 60.0) -> None:
        self.port = self.port or free_port()
        self.process = spawn(self.command(), env=self.env, log_path=self.log_path, cwd=self.cwd)
        try:
            wait_for_port(self.port, timeout, process=self.process)
        except Exception as error:
            self.kill()
            raise RuntimeError(f"{error}\n{self.log_tail()}") from error

    def stop(self) -> None:
        """Stop the process the polite way (SIGTERM), as an operator would."""
        stop_process(self.process)
        self.process = None

    def kill(self) -> None:
        """Kill the process (SIGKILL), as a crash would."""
        kill_process(self.process)
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port."""
        self.stop()
        self.start()

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): its connections stay open but nothing answers."""
        assert self.process is not None, "the process is not running"
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def log(self) -> str:
        if self.log_path is None:
            return ""
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RedisServer(ListeningProcess):
    """A private redis-server on a free loopback port that keeps nothing on disk."""

    def __init__(self, directory: Path):
        super().__init__(cwd=directory)

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def command(self) -> list[str]:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; `make setup-dev` installs it")
        return [
            binary,
            *("--port", str(self.port), "--bind", LOOPBACK),
            *("--save", "", "--appendonly", "no"),
        ]


class WebServer(ListeningProcess):
    """`manage.py serve` on a free loopback port, with the producer unless told otherwise."""

    def __init__(self, env: dict[str, str], *, log_path: Path | None, producer: bool = True):
        super().__init__(env=env, log_path=log_path)
        self.env: dict[str, str] = env
        self.producer = producer

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{LOOPBACK}:{self.port}"

    def command(self) -> list[str]:
        command = [PYTHON, "manage.py", "serve", "--host", LOOPBACK, "--port", str(self.port)]
        return command if self.producer else [*command, "--no-producer"]

    def manage(self, *args: str, timeout: float = 600) -> str:
        """Run a management command against this server's database; return its output."""
        return run_manage(self.env, *args, timeout=timeout)


class PostgresServer(ListeningProcess):
    """A private PostgreSQL cluster on a free loopback port, run as the `postgres` user.

    PostgreSQL refuses to run as root, so the cluster's folder belongs to that user.
    """

    def __init__(self, directory: Path):
        super().__init__(log_path=directory / "postgres.log")
        binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not binaries:
            raise RuntimeError("PostgreSQL's binaries are not installed")
        self.bin = binaries[-1]
        # Its own folder under /tmp: pytest's folders are closed to other users.
        self.home = Path(tempfile.mkdtemp(prefix="pulseboard-postgres-"))
        self.home.chmod(0o755)
        self.data = self.home / "pgdata"
        self.data.mkdir(mode=0o700)
        shutil.chown(self.data, "postgres")
        subprocess.run(
            self.as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust"),
            check=True,
            capture_output=True,
        )

    @staticmethod
    def as_postgres(*command: str) -> list[str]:
        # setpriv execs the command itself, so a kill reaches PostgreSQL, not a wrapper.
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *command]

    @property
    def url(self) -> str:
        return f"postgres://postgres@{LOOPBACK}:{self.port}/postgres"

    def command(self) -> list[str]:
        return self.as_postgres(
            str(self.bin / "postgres"),
            *("-D", str(self.data), "-p", str(self.port), "-k", str(self.data)),
            *("-c", f"listen_addresses={LOOPBACK}", "-c", "fsync=off"),
        )

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        shutil.rmtree(self.home, ignore_errors=True)


class DaphneWebServer(WebServer):
    """`daphne config.asgi:application`, the documented web process, with serve's limits.

    It runs no producer of its own where there is Redis (workers do); on the
    in-process layer it starts one inside (streams/producer/embedded.py).
    """

    def command(self) -> list[str]:
        return [
            str(ROOT / ".venv" / "bin" / "daphne"),
            *("--bind", LOOPBACK, "--port", str(self.port)),
            *("--ping-interval", "2", "--ping-timeout", "2"),
            *("--websocket_timeout", "-1", "--websocket_connect_timeout", "20"),
            *("--websocket-max-message-size", "1048576", "--websocket-max-frame-size", "1048576"),
            "config.asgi:application",
        ]


class ScriptServer(ListeningProcess):
    """A Python script that serves on the port given as `--port`."""

    def __init__(self, script: Path, *args: str, log_path: Path | None):
        super().__init__(log_path=log_path)
        self.script = script
        self.args = list(args)

    @property
    def ws_url(self) -> str:
        return f"ws://{LOOPBACK}:{self.port}"

    def command(self) -> list[str]:
        return [PYTHON, str(self.script), "--port", str(self.port), *self.args]
