"""Work under a lease (lease.py), checked: the renewals keep the lease past
its ttl, a lost lease stops the work and fences off the stale holder's
writes, and two competing workers never both write as owners.

Usage: python3 leased_work.py
Connects with the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER).
(leased_work.py compete NAME is one of the two competing workers.)
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import psycopg

from checks import value, wait_for
from lease import Lease, LeaseLost, LeaseNotAvailable


def connect(application_name="leased-work"):
    return psycopg.connect("", autocommit=True, application_name=application_name)


def fenced_insert(conn, lease, table):
    """One write that commits only while the lease is held."""
    with conn.transaction(), conn.cursor() as cur:
        lease.check(cur)
        cur.execute(f"INSERT INTO {table} VALUES (%s)", (lease.token,))


def lease_row(monitor, token):
    """(renewals, expires) of the lease, or None when named_leases has no such lease."""
    return monitor.execute("SELECT renewals, expires FROM named_leases WHERE token = %s",
                           (token,)).fetchone()


def normal_use(monitor, worker):
    """The renewer keeps a 2 s lease for 4.5 s of fenced writes; the exit releases it."""
    worker.execute("CREATE TABLE report (token bigint)")
    with Lease(connect, "report", ttl=2) as lease:
        first_expiry = lease_row(monitor, lease.token)[1]
        started = time.monotonic()
        writes = 0
        while time.monotonic() - started < 4.5:
            lease.checkpoint()
            fenced_insert(worker, lease, "report")
            writes += 1
            time.sleep(0.1)
        renewals, expires = lease_row(monitor, lease.token)
        assert renewals >= 3 and expires > first_expiry, (renewals, expires, first_expiry)
        print(f"normal use: {renewals} renewals kept a 2 s lease for 4.5 s; expiry moved on by"
              f" {(expires - first_expiry).total_seconds():.1f} s")
        try:
            with Lease(connect, "report", ttl=1, wait=0.05):
                raise AssertionError("a second exclusive lease on report")
        except LeaseNotAvailable as e:
            print(f"normal use: after twice its ttl the lease is still held: {e}")
        try:
            with worker.cursor() as cur:
                lease.check(cur)
            raise AssertionError("check() outside a transaction")
        except psycopg.ProgrammingError as e:
            print(f"normal use: {e}")
        token = lease.token
    assert value(monitor, "SELECT count(*) FROM report") == writes
    print(f"normal use: all {writes} fenced writes committed")
    assert lease.released is True and lease_row(monitor, token) is None
    assert value(monitor, "SELECT named_lease_renew('report', %s, '1 min')", token) is False
    print("normal use: the exit released the lease (renew now says false)")


def work_until_lost(lease, steps, outcome):
    """A worker: a step at a time, each after a checkpoint."""
    try:
        while True:
            lease.checkpoint()
            steps.append(time.monotonic())
            time.sleep(0.02)
    except LeaseLost as e:
        outcome.append((time.monotonic(), e))


def released_by_another_session(monitor, worker):
    """Another session of the role releases the lease: the renewer notices, the
    work stops, and the stale holder's fenced write is refused."""
    worker.execute("CREATE TABLE ledger (token bigint)")
    with Lease(connect, "ledger", ttl=3) as lease:
        fenced_insert(worker, lease, "ledger")
        steps, outcome = [], []
        job = threading.Thread(target=work_until_lost, args=(lease, steps, outcome))
        job.start()
        wait_for("the first steps", lambda: len(steps) >= 3)
        released_at = time.monotonic()
        assert value(monitor, "SELECT named_lease_release('ledger', %s)", lease.token) is True
        job.join(30)
        stopped_at, lost = outcome[0]
        assert "named_lease_renew returned false" in str(lost), lost
        assert steps[-1] < stopped_at and stopped_at - released_at < 2, (released_at, stopped_at)
        print(f"lost lease: released elsewhere, the worker stopped after"
              f" {stopped_at - released_at:.2f} s (renewing every {lease.renew_every:.1f} s)")
        # a holder that missed the news (it was past its checkpoint) writes anyway
        try:
            fenced_insert(worker, lease, "ledger")
            raise AssertionError("a stale holder's fenced write committed")
        except LeaseLost as e:
            assert e.__cause__.sqlstate == "LS001", e.__cause__
            print(f"lost lease: the stale holder's fenced write failed with"
                  f" {e.__cause__.sqlstate} ({e.__cause__.diag.message_primary})")
    assert value(monitor, "SELECT count(*) FROM ledger") == 1
    assert lease.released is False
    print("lost lease: the table has only the write made while the lease was held")


def renewer_cut_off(monitor, worker):
    """The renewer loses its connection and cannot get another: the work stops
    before the server ends the lease; then another takes it over and the
    stale write is refused."""
    reachable = threading.Event()
    reachable.set()

    def connect_unless_cut_off():
        if not reachable.is_set():
            raise psycopg.OperationalError("the server is unreachable (simulated)")
        return connect("renewer")

    worker.execute("CREATE TABLE ledger_2 (token bigint)")
    with Lease(connect_unless_cut_off, "ledger-2", ttl=4) as lease:
        steps, outcome = [], []
        job = threading.Thread(target=work_until_lost, args=(lease, steps, outcome))
        job.start()
        wait_for("the first steps", lambda: len(steps) >= 3)
        reachable.clear()
        assert value(monitor, """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                                 WHERE application_name = 'renewer'
                                   AND datname = current_database()""") is True
        job.join(30)
        stopped_at, lost = outcome[0]
        # the server still has the lease when the worker stops
        still_there = lease_row(monitor, lease.token)
        assert "no renewal confirmed in time" in str(lost), lost
        assert still_there is not None, "the lease ran out before the worker stopped"
        print(f"renewer cut off: the worker stopped ({lost}) while the server still had the lease")
        wait_for("the lease's expiry", lambda: lease_row(monitor, lease.token) is None)
        successor = value(monitor, "SELECT named_lease_exclusive('ledger-2', '1 min')")
        assert successor > lease.token
        try:
            fenced_insert(worker, lease, "ledger-2")
            raise AssertionError("a stale holder's fenced write committed")
        except LeaseLost as e:
            assert e.__cause__.sqlstate == "LS001", e.__cause__
        print("renewer cut off: once the lease expired and another took it (a larger token),"
              " the stale holder's fenced write failed with LS001")
        reachable.set()
    assert value(monitor, "SELECT count(*) FROM ledger_2") == 0
    assert value(monitor, "SELECT named_lease_release('ledger-2', %s)", successor) is True


# Two workers compete for one exclusive lease; each stops its whole process
# (renewer included) once, past a checkpoint and before a fenced write, for
# longer than the ttl, as a long pause or a stopped VM would.
COMPETE_SECONDS = 6
COMPETE_TTL = 1


def compete(name):
    conn = connect(name)
    commits = refused = turns = 0
    paused = False
    end = time.monotonic() + COMPETE_SECONDS
    while time.monotonic() < end:
        try:
            with Lease(connect, "counter", ttl=COMPETE_TTL, wait=30) as lease:
                turns += 1
                for step in range(5):
                    lease.checkpoint()
                    if turns == 2 and step == 2 and not paused:
                        paused = True
                        os.kill(os.getpid(), signal.SIGSTOP)
                    with conn.transaction(), conn.cursor() as cur:
                        lease.check(cur)
                        cur.execute("SELECT n FROM counter")
                        n = cur.fetchone()[0] + 1
                        time.sleep(0.01)    # read, then write: lost updates if both own it
                        cur.execute("UPDATE counter SET n = %s", (n,))
                        cur.execute("INSERT INTO counter_log VALUES (%s, %s, %s)",
                                    (n, lease.token, name))
                    commits += 1
        except LeaseLost as e:
            refused += e.__cause__ is not None and e.__cause__.sqlstate == "LS001"
    print(json.dumps({"name": name, "commits": commits, "refused": refused, "turns": turns,
                      "paused": paused}))


def stopped(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "T"


def two_workers_compete(monitor):
    monitor.execute("CREATE TABLE counter (n integer)")
    monitor.execute("INSERT INTO counter VALUES (0)")
    monitor.execute("CREATE TABLE counter_log (n integer, token bigint, worker text)")
    workers = [subprocess.Popen([sys.executable, __file__, "compete", name],
                                stdout=subprocess.PIPE, text=True)
               for name in ("worker-1", "worker-2")]
    stopped_at, resumed = {}, set()
    while any(w.poll() is None for w in workers):
        for w in workers:
            if w.poll() is not None or w.pid in resumed:
                continue
            if w.pid not in stopped_at and stopped(w.pid):
                stopped_at[w.pid] = time.monotonic()
            # its lease expires, and the other worker takes over
            if w.pid in stopped_at and time.monotonic() - stopped_at[w.pid] > 3 * COMPETE_TTL:
                os.kill(w.pid, signal.SIGCONT)
                resumed.add(w.pid)
        time.sleep(0.01)
    results = [json.loads(w.stdout.read()) for w in workers]
    assert all(w.returncode == 0 for w in workers), [w.returncode for w in workers]
    for r in results:
        print(f"competing: {r['name']} held the lease {r['turns']} times, committed"
              f" {r['commits']} writes, had {r['refused']} refused after its pause")
        assert r["paused"] and r["refused"] >= 1 and r["commits"] > 0, r
    commits = sum(r["commits"] for r in results)
    n, rows, distinct = monitor.execute(
        "SELECT (SELECT n FROM counter), count(*), count(DISTINCT n) FROM counter_log").fetchone()
    assert n == rows == distinct == commits, (n, rows, distinct, commits)
    print(f"competing: counter = {n} = rows logged = writes committed (no lost update)")
    log = monitor.execute("SELECT token, worker FROM counter_log ORDER BY n").fetchall()
    backwards = [(a, b) for a, b in zip(log, log[1:]) if b[0] < a[0]]
    assert not backwards, f"a stale owner wrote after a newer one: {backwards}"
    handovers = sum(a[1] != b[1] for a, b in zip(log, log[1:]))
    assert handovers >= 4, handovers
    print(f"competing: {len(set(t for t, _ in log))} ownerships, the lease changed hands"
          f" {handovers} times, never an older token's write after a newer one's")


if sys.argv[1:2] == ["compete"]:
    compete(sys.argv[2])
    sys.exit(0)
if sys.argv[1:]:
    sys.exit(__doc__)

monitor, worker = connect("monitor"), connect()
normal_use(monitor, worker)
released_by_another_session(monitor, worker)
renewer_cut_off(monitor, worker)
two_workers_compete(monitor)
