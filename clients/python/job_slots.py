"""At most N concurrent jobs with semaphore.py, checked: never more than N
run at once and all finish; waiters are served in arrival order; a worker
whose connection dies frees its permits at once.

Usage: python3 job_slots.py
Connects with the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER).
(job_slots.py hold NAME holds one permit of NAME until it is killed.)
"""
import signal
import subprocess
import sys
import threading
import time

import psycopg

from checks import value, wait_for
from semaphore import NoPermit, semaphore


def connect():
    return psycopg.connect("", autocommit=True)


def at_most_n(monitor, jobs=6, slots=2):
    """jobs workers, each on its own connection, share slots permits."""
    running, most, finished = [0], [0], []
    guard = threading.Lock()

    def job(conn, i):
        with semaphore(conn, "exports", slots):
            with guard:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.2)
            with guard:
                running[0] -= 1
        finished.append(i)

    conns = [connect() for _ in range(jobs)]
    threads = [threading.Thread(target=job, args=(conn, i), daemon=True)
               for i, conn in enumerate(conns)]
    in_use = []
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        in_use.append(value(monitor, "SELECT coalesce(sum(permits_in_use), 0) FROM named_semaphores"
                                     " WHERE name = 'exports'"))
        time.sleep(0.01)
    assert most[0] == slots and max(in_use) == slots, (most, max(in_use))
    assert sorted(finished) == list(range(jobs)), finished
    assert value(monitor, "SELECT count(*) FROM named_semaphores") == 0
    print(f"at most {slots}: {jobs} jobs all finished, {most[0]} at most ran at once"
          f" (named_semaphores: at most {max(in_use)} permits in use)")

    # A worker that will not wait gets NoPermit while the slots are taken.
    with semaphore(conns[0], "exports", slots), semaphore(conns[1], "exports", slots):
        try:
            with semaphore(conns[2], "exports", slots, timeout=0.05):
                raise AssertionError(f"a permit beyond the {slots}")
        except NoPermit as e:
            print(f"at most {slots}: {e}")


def waiters(monitor):
    return value(monitor, "SELECT coalesce(sum(waiters), 0) FROM named_semaphores"
                          " WHERE name = 'reports'")


def in_arrival_order(monitor):
    """Capacity 2, both permits held; in the queue a job that wants both, then
    two that want one.  One permit coming free lets nobody jump the queue."""
    h1, h2, a, b, c = (connect() for _ in range(5))
    granted, tokens, done = [], {}, threading.Event()

    def job(conn, label, permits):
        with semaphore(conn, "reports", 2, permits=permits) as token:
            granted.append(label)
            tokens[label] = token
            if label == "a":
                done.wait(30)

    taken = [value(h, "SELECT named_semaphore_acquire('reports', 2)") for h in (h1, h2)]
    jobs = []
    for conn, label, permits in ((a, "a", 2), (b, "b", 1), (c, "c", 1)):
        jobs.append(threading.Thread(target=job, args=(conn, label, permits), daemon=True))
        jobs[-1].start()
        wait_for(f"{label} in the queue", lambda n=len(jobs): waiters(monitor) == n)
    assert value(h1, "SELECT named_semaphore_release('reports', %s)", taken[0])
    time.sleep(0.3)
    assert granted == [] and waiters(monitor) == 3, granted
    print("in arrival order: one permit came free, and the 1-permit jobs b, c did not"
          " overtake the 2-permit job a queued before them")
    assert value(h2, "SELECT named_semaphore_release('reports', %s)", taken[1])
    wait_for("a's grant", lambda: granted == ["a"])
    time.sleep(0.1)
    assert granted == ["a"], granted
    done.set()
    for t in jobs:
        t.join(30)
    assert sorted(tokens, key=tokens.get) == ["a", "b", "c"], tokens
    print(f"in arrival order: granted {sorted(tokens, key=tokens.get)} (by token)")


def hold(name):
    with semaphore(connect(), name, 1):
        print("holding", flush=True)
        time.sleep(3600)


def dead_worker_frees(monitor):
    """A worker process killed while it holds the only permit: the next in
    the queue gets it at once."""
    worker = subprocess.Popen([sys.executable, __file__, "hold", "deploys"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline() == "holding\n"
        waiter, got = connect(), []
        queued = threading.Thread(target=lambda: got.append(value(
            waiter, "SELECT named_semaphore_acquire('deploys', 1, wait => '10 s')")), daemon=True)
        queued.start()
        wait_for("the waiter", lambda: value(monitor, "SELECT coalesce(sum(waiters), 0)"
                                             " FROM named_semaphores WHERE name = 'deploys'") == 1)
        killed = time.monotonic()
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        queued.join(15)
    finally:
        worker.kill()   # whatever failed, no holder stays behind
    after = time.monotonic() - killed
    assert got and got[0] is not None and after < 2, (got, after)
    print(f"dead worker: killed with SIGKILL, its permit went to the waiter {after:.3f} s later")


if sys.argv[1:2] == ["hold"]:
    hold(sys.argv[2])
    sys.exit(0)
if sys.argv[1:]:
    sys.exit(__doc__)

monitor = connect()
at_most_n(monitor)
in_arrival_order(monitor)
dead_worker_frees(monitor)
