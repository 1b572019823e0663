"""Runs batch.sql and report.sql and checks them with several sessions.

Connects with the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER).
"""
import os
import threading

import psycopg

from checks import value, wait_for

here = os.path.dirname(os.path.abspath(__file__))


def connect():
    return psycopg.connect("", autocommit=True)


monitor, runner, blocker = connect(), connect(), connect()
for script in ("batch.sql", "report.sql"):
    with open(os.path.join(here, script)) as f:
        monitor.execute(f.read())
monitor.execute("INSERT INTO import_queue (id) SELECT generate_series(1, 25)")
runner_pid = value(runner, "SELECT pg_backend_pid()")
blocker_pid = value(blocker, "SELECT pg_backend_pid()")
queue_lock_holders = """
    SELECT array_agg(pid) FROM pg_locks
    WHERE locktype = 'advisory' AND granted
      AND (classid::bigint << 32 | objid::bigint) = named_lock_key('import-queue')"""

# Stop the procedure in its second batch: another transaction holds row 15.
blocker.execute("BEGIN")
blocker.execute("SELECT * FROM import_queue WHERE id = 15 FOR UPDATE")
run = threading.Thread(target=runner.execute, args=("CALL process_import_queue(10)",))
run.start()
wait_for("the procedure waiting for row 15",
         lambda: value(monitor, "SELECT pg_blocking_pids(%s)", runner_pid) == [blocker_pid])

# The first batch is committed, and the lock is still the procedure's.
assert value(monitor, "SELECT count(done_at) FROM import_queue") == 10
assert value(monitor, queue_lock_holders) == [runner_pid]
notices = []
monitor.add_notice_handler(lambda diag: notices.append(diag.message_primary))
monitor.execute("CALL process_import_queue(10)")
assert notices == ["the import queue is being processed by another session"], notices

blocker.execute("ROLLBACK")
run.join(30)
assert not run.is_alive()
# Three batches, three transactions; the lock is gone with the procedure.
assert value(monitor, "SELECT count(done_at) FROM import_queue") == 25
assert value(monitor, "SELECT count(DISTINCT xmin::text) FROM import_queue") == 3
assert value(monitor, queue_lock_holders) is None

# The report: one transaction at a time, until it ends.
runner.execute("BEGIN")
assert value(runner, "SELECT refresh_daily_report()") is True
assert value(monitor, "SELECT refresh_daily_report()") is False
runner.execute("COMMIT")
assert value(monitor, "SELECT refresh_daily_report()") is True
assert value(monitor, "SELECT sum(imported) FROM daily_report") == 25
print("plpgsql: batches committed under one session lock; the report locks per transaction")
