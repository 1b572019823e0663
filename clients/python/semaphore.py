"""At most N at once: an advlock_named counting semaphore as a context
manager (psycopg 3).

The permits belong to the session (no ttl): nothing to renew, and they end
with the connection, so a worker whose process or connection dies frees its
permits at once.  Give each worker an autocommit connection of its own and
keep it open for the block.  Waiters are served in arrival order, so a
worker that wants several permits is not overtaken by smaller requests.
"""
from contextlib import contextmanager
from datetime import timedelta


class NoPermit(Exception):
    """The permits did not come within the timeout."""


# PostgreSQL 15 and 16 take no 'infinity' for a wait, and at most about 24.8 days.
LONGEST_WAIT = timedelta(days=24)


@contextmanager
def semaphore(conn, name, capacity, *, permits=1, timeout=None):
    """Holds permits of the semaphore for the block; waits for them in the queue.

    Every holder of the name must give the same capacity.  timeout (seconds
    or a timedelta) bounds the wait, and NoPermit says it ran out; without
    one it waits as long as it takes (anew every 24 days, at the back).
    """
    if timeout is not None and not isinstance(timeout, timedelta):
        timeout = timedelta(seconds=timeout)
    token = None
    while token is None:
        token = conn.execute(
            "SELECT named_semaphore_acquire(%s, %s, wait => %s, permits => %s)",
            (name, capacity, LONGEST_WAIT if timeout is None else timeout, permits)).fetchone()[0]
        if token is None and timeout is not None:
            raise NoPermit(f"no {permits} of {capacity} permits of {name!r} within {timeout}")
    try:
        yield token
    finally:
        conn.execute("SELECT named_semaphore_release(%s, %s)", (name, token))
