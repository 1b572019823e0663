"""What the checks of the client recipes share (tools/test-client.sh and
tools/test-pgbouncer.sh put this folder on PYTHONPATH)."""
import time


def value(conn, sql, *args):
    """The first column of the first row of a query."""
    return conn.execute(sql, args).fetchone()[0]


def wait_for(what, check):
    """Polls check() for up to 30 s."""
    deadline = time.monotonic() + 30
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never happened")
        time.sleep(0.01)
