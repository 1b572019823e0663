"""Named locks behind PgBouncer in transaction mode (tools/test-pgbouncer.sh
starts it): transaction-scoped locks work, session locks do not.

The libpq environment points at PgBouncer, which serves two databases:
"pooled" (two server connections) and "single" (one, so which client gets
which server connection is certain).  DIRECT_PGHOST/DIRECT_PGPORT reach the
server itself, to watch pg_locks.
"""
import os
import threading

import psycopg

from checks import value, wait_for


def through_pgbouncer(dbname):
    # prepare_threshold=None: PgBouncer 1.18 cannot pool prepared statements.
    return psycopg.connect(dbname=dbname, autocommit=True, prepare_threshold=None)


direct = psycopg.connect(host=os.environ["DIRECT_PGHOST"], port=os.environ["DIRECT_PGPORT"],
                         dbname=os.environ["DIRECT_PGDATABASE"], autocommit=True)
waiting_for_import = """
    SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
      AND (classid::bigint << 32 | objid::bigint) = named_lock_key('import')"""

# Transaction-scoped locks: each client's transaction has a server
# connection to itself until it ends, and so has its locks.
a, b = through_pgbouncer("pooled"), through_pgbouncer("pooled")
a.execute("BEGIN")
a.execute("SELECT named_xact_lock_exclusive('import')")
b.execute("BEGIN")
assert value(b, "SELECT named_try_xact_lock_exclusive('import')") is False
b.execute("COMMIT")
waiter = threading.Thread(target=b.execute, args=("SELECT named_xact_lock_exclusive('import')",))
b.execute("BEGIN")
waiter.start()
wait_for("b waiting for the lock", lambda: value(direct, waiting_for_import) == 1)
a.execute("COMMIT")
waiter.join(30)
assert not waiter.is_alive()
assert value(a, "SELECT named_try_xact_lock_exclusive('import')") is False
b.execute("COMMIT")
assert value(a, "SELECT named_try_xact_lock_exclusive('import')") is True
print("pool_mode = transaction: transaction-scoped named locks exclude each other")

# Session locks: the lock stays with the server connection when the client's
# transaction ends, and the next client to get that connection has it too.
a, b = through_pgbouncer("single"), through_pgbouncer("single")
a.execute("SELECT named_lock_exclusive('import')")
assert value(a, "SELECT pg_backend_pid()") == value(b, "SELECT pg_backend_pid()")
assert value(b, "SELECT named_try_lock_exclusive('import')") is True    # "a" holds it!
assert value(b, "SELECT holds FROM named_locks()") == 2
assert value(b, "SELECT named_unlock_exclusive('import')") is True
assert value(b, "SELECT named_unlock_exclusive('import')") is True      # a's hold, gone
assert value(a, "SELECT named_unlock_exclusive('import')") is False
print("pool_mode = transaction: a session lock taken by one client was held and released by another")
