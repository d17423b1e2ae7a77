"""What a pooled PostgreSQL connection must not carry from one thread to the next."""

from __future__ import annotations

from typing import Any


def pooled_connection_reset(connection: Any) -> None:
    """Undo session settings a thread made (the producer's `lock_timeout`) as it goes back.

    psycopg_pool calls this when a connection returns to the pool; the next
    thread to take it, a request perhaps, waits for locks as long as Django's
    default again.
    """
    connection.execute("RESET lock_timeout")
    if not connection.autocommit:
        connection.commit()
