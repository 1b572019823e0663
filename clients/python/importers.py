"""The importers and the analysis job, with named_lock, checked step by step.

Usage: python3 importers.py psycopg|psycopg2
Connects with the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER).
"""
import sys
import threading
import time

from named_lock import LockNotAvailable, named_lock

if sys.argv[1:] == ["psycopg"]:
    import psycopg

    def connect():
        return psycopg.connect("", autocommit=True)
elif sys.argv[1:] == ["psycopg2"]:
    import psycopg2

    def connect():
        conn = psycopg2.connect("")
        conn.autocommit = True
        return conn
else:
    sys.exit(__doc__)


def query(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def requests(monitor, granted):
    """(mode, pid) of the requests for the lock on "import", as pg_locks shows them."""
    return query(monitor, """
        SELECT mode, pid FROM pg_locks
        WHERE locktype = 'advisory' AND granted = %s
          AND (classid::bigint << 32 | objid::bigint) = named_lock_key('import')
        ORDER BY mode, pid""", granted)


def wait_for(what, check):
    """Polls check() for up to 30 s."""
    deadline = time.monotonic() + 30
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never happened")
        time.sleep(0.01)


monitor = connect()
importer_1, importer_2, analysis, impatient = (connect() for _ in range(4))
# (a connection busy waiting for a lock cannot tell its pid)
pids = {conn: query(conn, "SELECT pg_backend_pid()")[0][0]
        for conn in (importer_1, importer_2, analysis, impatient)}
log = []

# Two importers hold the shared lock at the same time.
with named_lock(importer_1, "import", shared=True), \
        named_lock(importer_2, "import", shared=True, timeout=5):
    assert requests(monitor, True) == sorted(
        [("ShareLock", pids[importer_1]), ("ShareLock", pids[importer_2])])

    # The analysis job asks for the exclusive lock and waits in the queue.
    def analyse():
        with named_lock(analysis, "import"):
            log.append(requests(analysis, True))

    job = threading.Thread(target=analyse)
    job.start()
    wait_for("the queued analysis job",
             lambda: requests(monitor, False) == [("ExclusiveLock", pids[analysis])])

    # An analysis job that will not wait long gives up, and leaves nothing behind.
    try:
        with named_lock(impatient, "import", timeout=0.05):
            raise AssertionError("the exclusive lock was granted next to shared holders")
    except LockNotAvailable as e:
        print(f"impatient analysis job: {e}")
    assert ("ExclusiveLock", pids[impatient]) not in requests(monitor, False)
    assert log == [], "the analysis job ran next to the importers"

# Once both importers are done, the analysis job runs, alone.
job.join(30)
assert not job.is_alive() and log == [[("ExclusiveLock", pids[analysis])]], log
assert requests(monitor, True) == []

# An exception in the block still releases the lock.
try:
    with named_lock(importer_1, "import"):
        raise RuntimeError("import failed")
except RuntimeError:
    pass
assert requests(monitor, True) == []
print(f"{sys.argv[1]}: importers shared the lock, the analysis job waited and ran alone")
