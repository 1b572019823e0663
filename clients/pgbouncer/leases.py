"""Leases behind PgBouncer in transaction mode (tools/test-pgbouncer.sh
starts it): a lease belongs to the role, not to a server connection, so it
is taken through one server connection and renewed, checked and released
through others; and the importers and the analysis job on leases.

The libpq environment points at PgBouncer; its database "leases" is a pool
of three server connections.  DIRECT_PGHOST/DIRECT_PGPORT reach the server
itself, to watch the leases and the queue.
"""
import os
import sys
import threading
import time

import psycopg

from checks import value, wait_for

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from lease import Lease  # noqa: E402  (clients/python/lease.py)

POOL_SIZE = 3


def through_pgbouncer():
    # prepare_threshold=None: PgBouncer 1.18 cannot pool prepared statements.
    return psycopg.connect(dbname="leases", autocommit=True, prepare_threshold=None)


direct = psycopg.connect(host=os.environ["DIRECT_PGHOST"], port=os.environ["DIRECT_PGPORT"],
                         dbname=os.environ["DIRECT_PGDATABASE"], autocommit=True)
direct.execute("CREATE TABLE imports (id bigserial, who text, token bigint)")

# One lease, each call on another server connection.  The pins hold a
# transaction open on each server connection but the one the next call is
# to get, so which one serves it is certain.
pins = [through_pgbouncer() for _ in range(POOL_SIZE)]
backends = []
for pin in pins:
    pin.execute("BEGIN")
    backends.append(value(pin, "SELECT pg_backend_pid()"))
assert len(set(backends)) == POOL_SIZE, backends
client = through_pgbouncer()
calls = 0


def on_next_backend(call):
    """Frees one pinned server connection, makes the call there, pins it again."""
    global calls
    pin = pins[calls % POOL_SIZE]
    calls += 1
    pin.execute("COMMIT")
    result = call()
    pin.execute("BEGIN")
    value(pin, "SELECT 1")
    return result


def row(sql, *args):
    return client.execute(sql, args).fetchone()


def fenced_write():
    with client.transaction():
        pid = value(client, "SELECT pg_backend_pid() FROM named_lease_check('nightly-import', %s)",
                    token)
        client.execute("INSERT INTO imports (who, token) VALUES ('nightly-import', %s)", (token,))
    return pid


token, acquired_on = on_next_backend(lambda: row(
    "SELECT named_lease_exclusive('nightly-import', '1 min'), pg_backend_pid()"))
renewed, renewed_on = on_next_backend(lambda: row(
    "SELECT named_lease_renew('nightly-import', %s, '1 min'), pg_backend_pid()", token))
checked_on = on_next_backend(fenced_write)
released, released_on = on_next_backend(lambda: row(
    "SELECT named_lease_release('nightly-import', %s), pg_backend_pid()", token))
# permits with a ttl are a lease too (session permits would stay with the
# server connection, like session locks)
permit, permit_on = on_next_backend(lambda: row(
    "SELECT named_semaphore_acquire('exports', 2, ttl => '1 min'), pg_backend_pid()"))
permit_released, permit_released_on = on_next_backend(lambda: row(
    "SELECT named_lease_release('exports', %s), pg_backend_pid()", permit))
for pin in pins:
    pin.execute("COMMIT")
assert token is not None and renewed is True and released is True
assert permit is not None and permit_released is True and permit_on != permit_released_on
served = {"acquire": acquired_on, "renew": renewed_on, "check": checked_on,
          "release": released_on}
assert len(set(served.values())) >= 2, served
assert value(direct, "SELECT count(*) FROM imports WHERE token = %s", token) == 1
print("one lease through PgBouncer: " + ", ".join(f"{k} on backend {v}" for k, v in served.items())
      + f" ({len(set(served.values()))} backends)")
print(f"a semaphore permit with a ttl through PgBouncer: acquired on backend {permit_on},"
      f" released on backend {permit_released_on}")

# The importers and the analysis job, each on a connection through PgBouncer
# with a lease from clients/python/lease.py that renews through PgBouncer too.
# Every waiting call holds a server connection while it waits (here the
# analysis job and a late importer), so the pool needs one more for the
# renewals and the writes.
TTL = 1


class Job:
    """Writes a row every 0.1 s under a lease on "import" until told to stop."""

    def __init__(self, who, shared):
        self.who, self.shared, self.error = who, shared, None
        self.granted, self.stop, self.done = threading.Event(), threading.Event(), threading.Event()
        self.conn = through_pgbouncer()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        try:
            with Lease(through_pgbouncer, "import", ttl=TTL, shared=self.shared, wait=60) as lease:
                self.token = lease.token
                self.granted.set()
                while not self.stop.is_set():
                    lease.checkpoint()
                    with self.conn.transaction(), self.conn.cursor() as cur:
                        lease.check(cur)
                        cur.execute("INSERT INTO imports (who, token) VALUES (%s, %s)",
                                    (self.who, lease.token))
                    self.stop.wait(0.1)
        except Exception as e:
            self.error = e
        self.done.set()

    def finish(self):
        self.stop.set()
        assert self.done.wait(30) and self.error is None, (self.who, self.error)


def waiting():
    return [row[0] for row in direct.execute("""
        SELECT mode FROM named_lock_activity WHERE name = 'import' AND NOT granted
        ORDER BY wait_start""")]


importers = [Job("importer-1", True), Job("importer-2", True)]
for importer in importers:
    assert importer.granted.wait(30), importer.error
analysis = Job("analysis", False)
wait_for("the analysis job in the queue", lambda: waiting() == ["exclusive"])
late = Job("importer-3", True)
wait_for("importer-3 in the queue", lambda: waiting() == ["exclusive", "shared"])
time.sleep(2 * TTL)
renewals = [value(direct, "SELECT max(renewals) FROM named_leases WHERE token = %s", importer.token)
            for importer in importers]
assert all(r is not None and r >= 3 for r in renewals), (renewals, [i.error for i in importers])
assert not analysis.granted.is_set() and not late.granted.is_set()
print(f"importers through PgBouncer: the two shared leases renewed {renewals} times, while for"
      f" {2 * TTL} s the analysis job and importer-3 waited on two of the {POOL_SIZE} server"
      " connections")
print("importers through PgBouncer: importer-3 was not granted next to the importers:"
      " it queues behind the analysis job")
importers[0].finish()
time.sleep(0.3)
assert not analysis.granted.is_set()
importers[1].finish()
assert analysis.granted.wait(30), analysis.error
time.sleep(0.3)
assert not late.granted.is_set()
analysis.finish()
assert late.granted.wait(30), late.error
late.finish()
print("importers through PgBouncer: the analysis job ran once both importers released,"
      " importer-3 once the analysis job released")
ids = {who: (first, last) for who, first, last in direct.execute("""
    SELECT who, min(id), max(id) FROM imports WHERE who <> 'nightly-import' GROUP BY who""")}
assert max(ids["importer-1"][1], ids["importer-2"][1]) < ids["analysis"][0], ids
assert ids["analysis"][1] < ids["importer-3"][0], ids
print("importers through PgBouncer: the fenced writes, by id: "
      + ", ".join(f"{who} {first}-{last}" for who, (first, last) in sorted(ids.items())))
