"""Runs stale_holders.sql against a holder that sits idle while another
session waits, then ends the holder as an operator would.

Connects with the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER).
"""
import os
import subprocess
import threading

import psycopg

from checks import wait_for

query = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stale_holders.sql")


def connect(name):
    return psycopg.connect("", autocommit=True, application_name=name)


def stale_holders(min_wait):
    """(pid, state, key) of each row stale_holders.sql prints."""
    out = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1",
         "-v", f"min_wait={min_wait}", "-f", query],
        check=True, capture_output=True, text=True).stdout
    return [(int(f[0]), f[4], int(f[6])) for f in (line.split("|") for line in out.splitlines())]


operator, holder, waiter = connect("operator"), connect("importer"), connect("analysis")
holder_pid = holder.info.backend_pid
key = operator.execute("SELECT named_lock_key('import')").fetchone()[0]

holder.execute("SELECT named_lock_exclusive('import')")   # and then sits idle
waiting = threading.Thread(target=waiter.execute, args=("SELECT named_lock_exclusive('import')",))
waiting.start()
wait_for("the waiter", lambda: operator.execute(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()[0] == 1)

assert stale_holders("0") == [(holder_pid, "idle", key)], stale_holders("0")
assert stale_holders("1 hour") == []

# The operator's statement: the holder's session ends, its locks go with it.
assert operator.execute("SELECT pg_terminate_backend(%s)", (holder_pid,)).fetchone()[0] is True
waiting.join(30)
assert not waiting.is_alive()
assert stale_holders("0") == []
print(f"stale_holders.sql named the idle holder {holder_pid}; pg_terminate_backend freed the lock")
