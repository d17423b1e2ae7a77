"""A private mosquitto for the tests and the benchmark: a free loopback port, a folder of its own.

Anonymous clients are allowed (it listens on 127.0.0.1 only); it keeps sessions on
disk (persistence) and queues without a cap, as docs/ingest.md asks of a broker
that feeds Pulseboard, so a bridge that is down loses nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.processes import LOOPBACK, ListeningProcess

MOSQUITTO = "/usr/sbin/mosquitto"


def mosquitto_conf(port: int, folder: Path) -> str:
    return "\n".join(
        [
            f"listener {port} {LOOPBACK}",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {folder}/",
            # What a bridge that is away may find waiting: no cap (mosquitto's default is 1,000).
            "max_queued_messages 0",
            "max_queued_bytes 0",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "",
        ]
    )


class Mosquitto(ListeningProcess):
    def __init__(self, folder: Path):
        super().__init__(log_path=folder / "mosquitto.log", cwd=folder)
        self.folder = folder

    @property
    def url(self) -> str:
        return f"mqtt://{LOOPBACK}:{self.port}"

    def command(self) -> list[str]:
        binary = MOSQUITTO if Path(MOSQUITTO).exists() else shutil.which("mosquitto")
        if binary is None:
            raise RuntimeError("mosquitto is not installed; `make setup-dev` installs it")
        conf = self.folder / "mosquitto.conf"
        conf.write_text(mosquitto_conf(self.port, self.folder))
        return [binary, "-c", str(conf)]

    def publish(self, topic: str, payload: str, *, qos: int = 1, retain: bool = False) -> None:
        """Publish one message with mosquitto_pub, as a device or a script would."""
        command = ["mosquitto_pub", "-h", LOOPBACK, "-p", str(self.port), "-q", str(qos)]
        command += ["-t", topic, "-m", payload] + (["-r"] if retain else [])
        subprocess.run(command, check=True, timeout=10, capture_output=True)
