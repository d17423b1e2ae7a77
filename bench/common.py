"""What every benchmark needs: servers it starts and stops, process gauges, tables.

Benchmarks print figures; they are not tests. Each one starts what it measures
(a Pulseboard server on a free loopback port with its own database, a baseline
server, a private redis-server) and stops it again, also when interrupted.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

# Run as `python bench/x.py`: the repository root, where the shared helpers live.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import processes

# PYTHON and RedisServer are the benchmarks' too: they import them from here.
from tests.processes import PYTHON, ROOT, RedisServer, WebServer  # noqa: F401

BENCH = ROOT / "bench"
# The machine's PostgreSQL; benchmarks create their own database there and drop it after.
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_BENCH_DB = "pulseboard_bench"


# -- the machine --------------------------------------------------------------


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def uptime() -> str:
    """The `uptime` line: how busy the machine was (others run tests on it too)."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"load average: {load_average()}"


def machine() -> str:
    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} × {model}, {memory:.0f} GiB, Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def revision() -> str:
    """The commit measured, and whether the working tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":!bench",
                ":!docs/performance.md",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "?"
    return f"{head}{' + uncommitted changes' if dirty else ''}" if head else "?"


def banner(title: str) -> None:
    """Print what is measured, when, on what, and how loaded the machine is."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"== {title}")
    print(f"   {now} · {machine()} · code {revision()}")
    print(f"   {uptime()}")
    print(flush=True)


def raise_open_files(wanted: int) -> int:
    """Raise this process's open-file limit towards `wanted` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# -- process gauges -----------------------------------------------------------


@dataclass
class Gauge:
    """CPU seconds and memory of one process, read with psutil."""

    pid: int
    process: psutil.Process = field(init=False)

    def __post_init__(self) -> None:
        self.process = psutil.Process(self.pid)

    def cpu(self) -> float:
        times = self.process.cpu_times()
        return times.user + times.system

    def rss(self) -> int:
        return int(self.process.memory_info().rss)


class PeakRss:
    """Sample a process's RSS in a thread; `peak` is the highest value seen."""

    def __init__(self, pid: int, every: float = 0.05):
        self.gauge = Gauge(pid)
        self.every = every
        self.peak = self.start = self.gauge.rss()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop_event.wait(self.every):
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.gauge.rss())

    def __enter__(self) -> PeakRss:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join()
        with contextlib.suppress(psutil.Error):
            self.peak = max(self.peak, self.gauge.rss())


def start_profiler(pid: int, seconds: float, stem: Path) -> subprocess.Popen[bytes]:
    """py-spy on a process for `seconds`: collapsed stacks in `stem`.txt (see bench/stacks.py).

    With PYSPY_NATIVE=1 in the environment the stacks include C frames (system calls,
    uvloop, orjson), which py-spy otherwise charges to the Python function calling them;
    it pauses the process at each sample, so the round's other figures suffer.
    """
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    stem.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, int(seconds))),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            f"{stem}.txt",
            *(["--native"] if os.environ.get("PYSPY_NATIVE") == "1" else ["--nonblocking"]),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# -- databases ----------------------------------------------------------------


def pg_url(name: str) -> str:
    parts = urllib.parse.urlsplit(PG_ADMIN_URL)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def pg_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def pg_create(name: str = PG_BENCH_DB) -> str:
    """(Re)create the benchmark database; return its URL."""
    import psycopg

    if pg_exists(name):
        with contextlib.suppress(Exception), psycopg.connect(pg_url(name)) as connection:
            connection.execute("SELECT 1 FROM bench_history_seed")
            print(f"note: dropping {name}, which held the history seed kept by history.py --reuse")
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def pg_drop(name: str = PG_BENCH_DB) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Database:
    """A database of the benchmark's own: a SQLite file in a temp dir, or `pulseboard_bench`."""

    kind: str  # "sqlite" or "postgres"
    directory: Path
    url: str = ""
    keep: bool = False

    def __post_init__(self) -> None:
        if self.kind == "sqlite":
            self.url = self.url or f"sqlite:///{self.directory / 'bench.sqlite3'}"
        elif self.kind == "postgres":
            self.url = self.url or pg_create()
        else:
            raise ValueError(f"unknown database kind {self.kind!r}")

    @property
    def path(self) -> Path:
        return Path(urllib.parse.urlsplit(self.url).path)

    def drop(self) -> None:
        if self.keep:
            return
        if self.kind == "postgres":
            pg_drop(urllib.parse.urlsplit(self.url).path.lstrip("/"))
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)


@contextlib.contextmanager
def scratch_directory(keep: bool = False) -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="pulseboard-bench-"))
    try:
        yield directory
    finally:
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)


def each_database(kinds: str, directory: Path) -> Iterator[Database]:
    """Yield a scratch database of each kind in `kinds` ("sqlite,postgres"), dropped after it.

    PostgreSQL is skipped, with a line saying so, when it cannot be reached.
    """
    for kind in [name.strip() for name in kinds.split(",")]:
        if kind == "postgres" and not pg_available():
            print("PostgreSQL is not reachable; skipped.")
            continue
        database = Database(kind, directory)
        try:
            yield database
        finally:
            database.drop()


def child_result(command: Sequence[str], *, timeout: float, show_stderr: bool = False) -> Any:
    """Run a benchmark's child process and return the JSON it printed after `RESULT `."""
    result = subprocess.run(
        list(command),
        stdout=subprocess.PIPE,
        stderr=None if show_stderr else subprocess.PIPE,
        text=True,
        timeout=timeout,
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(
            f"the child run failed (exit {result.returncode}):\n{(result.stderr or '')[-3000:]}"
        )
    return json.loads(line[len("RESULT ") :])


# -- the servers --------------------------------------------------------------


def django_env(database_url: str, **extra: str) -> dict[str, str]:
    """Return the environment of a Pulseboard process of a benchmark: quiet, no debug."""
    return processes.server_env(database_url, DEBUG="0", LOG_LEVEL="WARNING", **extra)


class PulseboardServer(WebServer):
    """`manage.py serve` on a free loopback port, with a database of its own.

    `prepare()` migrates and seeds (`seed --no-history`) and issues a token for
    demo; `start()` / `stop()` may then run several times on the same database.
    `running` names the streams whose sources run (None: leave the seed's flags).
    """

    def __init__(
        self,
        database: Database,
        *,
        log_dir: Path,
        redis_url: str | None = None,
        producer: bool = True,
        running: Sequence[str] | None = None,
        env: dict[str, str] | None = None,
        tree: Path | None = None,
    ):
        # The benchmark reads /metrics as Prometheus would: with the scrape secret.
        self.metrics_token = "bench-metrics-" + uuid.uuid4().hex
        server_env = django_env(
            database.url,
            PULSEBOARD_MAX_CONNECTIONS_PER_USER="1000000",
            PULSEBOARD_METRICS_TOKEN=self.metrics_token,
            **(env or {}),
        )
        if redis_url:
            server_env["REDIS_URL"] = redis_url
        super().__init__(server_env, log_path=log_dir / "pulseboard-serve.log", producer=producer)
        self.database = database
        self.running = running
        self.token = ""
        # Another checkout (an earlier commit, say) to serve from, with this .venv.
        self.cwd = tree or ROOT

    def manage(self, *args: str, timeout: float = 600) -> str:
        return processes.run_manage(self.env, *args, timeout=timeout, cwd=self.cwd)

    def prepare(self, *, seed: bool = True) -> None:
        self.manage("migrate", "--noinput", "-v", "0")
        if seed:
            self.manage("seed", "--no-history")
        self.token = self.manage("createtoken", "demo").split()[-1]
        if self.running is not None:
            self.manage(
                "shell",
                "-c",
                "from streams.models import Stream; "
                "Stream.objects.update(running=False); "
                f"Stream.objects.filter(slug__in={list(self.running)!r}).update(running=True)",
            )


class ScriptServer(processes.ScriptServer):
    """A baseline server: a script in bench/baselines/ that takes `--port`."""

    def __init__(self, script: str, *args: str, log_dir: Path, name: str | None = None):
        log_path = log_dir / f"{name or Path(script).stem}.log"
        super().__init__(BENCH / "baselines" / script, *args, log_path=log_path)


# -- figures ------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) of already sorted values, by nearest rank."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return float(sorted_values[index])


def median(values: Sequence[float]) -> float:
    return percentile(sorted(values), 50)


def mib(value: float) -> str:
    return f"{value / 2**20:.1f}"


def fmt(value: Any, digits: int = 1) -> str:
    if isinstance(value, float):
        if value != value:
            return "–"
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table, right-aligned numbers; also valid Markdown."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        lines.append("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def setup_django(database_url: str) -> None:
    """Configure Django in this process against `database_url` (for in-process benchmarks)."""
    os.environ.update(django_env(database_url))
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def migrated_with_stream(database_url: str, slug: str) -> Any:
    """Set Django up on `database_url`, migrate it and return a new push stream `slug` of one field."""
    setup_django(database_url)
    from django.core.management import call_command

    from streams.models import Stream

    call_command("migrate", "--noinput", verbosity=0)
    return Stream.objects.create(
        slug=slug, title=slug, source_kind="push", fields=[{"name": "value", "unit": ""}]
    )
