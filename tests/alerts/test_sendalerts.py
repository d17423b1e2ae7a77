"""`manage.py sendalerts`: the worker sends what any process queued and stops cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.alert_helpers import Receiver
from tests.processes import PYTHON, ROOT, run_manage, server_env

pytestmark = pytest.mark.e2e

# A user with a webhook contact point and a test notice queued for it, as "Send test" queues it.
QUEUE_TEST = """
from django.contrib.auth import get_user_model
from alerts.delivery import contact_send_test
from alerts.services import contact_save
user = get_user_model().objects.create_user("alice", "alice@example.com", "alice-password")
contact_send_test(contact=contact_save(owner=user, name="Hook", kind="webhook", url="{url}"))
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_worker_sends_queued_notices_and_stops_on_a_signal(
    tmp_path: Path, receiver: Receiver, signum: signal.Signals
) -> None:
    env = server_env(
        f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
        # The worker sends whatever this says (it is for a producer's process).
        PULSEBOARD_ALERT_SENDER="0",
    )
    run_manage(env, "migrate", "--noinput", "-v", "0")
    run_manage(env, "shell", "-c", QUEUE_TEST.format(url=receiver.url))
    worker = subprocess.Popen(
        [PYTHON, "manage.py", "sendalerts"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert receiver.wait_for(1, seconds=30), "the worker sent nothing"
        assert receiver.received[0].json["state"] == "test"
        worker.send_signal(signum)
        output, _ = worker.communicate(timeout=15)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, output
    assert "Sending alert notices" in output and output.rstrip().endswith("Stopped."), output
    sent = run_manage(
        env,
        "shell",
        "-c",
        "from alerts.models import Delivery; print(list(Delivery.objects.values_list('status', flat=True)))",
    )
    assert sent.strip().splitlines()[-1] == "['sent']"
