"""A session-level advlock_named lock as a context manager.

Works with psycopg (3) and psycopg2 connections alike.  Use a connection in
autocommit mode: the lock belongs to the session, not to a transaction, and a
session that sits "idle in transaction" while it works holds back vacuum and
falls foul of idle_in_transaction_session_timeout.
"""
from contextlib import contextmanager
from datetime import timedelta


class LockNotAvailable(Exception):
    """The lock did not come within the timeout."""


@contextmanager
def named_lock(conn, name, *, shared=False, timeout=None):
    """Holds the named lock for the block; waits for it in the lock queue.

    timeout (seconds or a timedelta) bounds the wait: the timed SQL form
    returns false when it runs out, and this raises LockNotAvailable.
    """
    mode = "shared" if shared else "exclusive"
    with conn.cursor() as cur:
        if timeout is None:
            cur.execute(f"SELECT named_lock_{mode}(%s)", (name,))
        else:
            if not isinstance(timeout, timedelta):
                timeout = timedelta(seconds=timeout)
            cur.execute(f"SELECT named_lock_{mode}(%s, %s)", (name, timeout))
            if not cur.fetchone()[0]:
                raise LockNotAvailable(f"no {mode} lock on {name!r} within {timeout}")
    try:
        yield
    finally:
        with conn.cursor() as cur:
            cur.execute(f"SELECT named_unlock_{mode}(%s)", (name,))
