#!/usr/bin/python3
"""Differential check of advlock_named against the lock manager.

Several sessions run random sequences of named lock operations on a few
shared names: every lock form, scope, mode and set size; unlocks; savepoints
and rollbacks to them; cursors; PL/pgSQL exception blocks; a procedure that
commits; cancels, statement timeouts and deadlocks under contention, also
while the rest of a statement runs after its lock call returned.  After
every step each session asserts, about itself:

- named_locks() shows exactly the (key, mode) pairs that pg_locks shows
  granted to it, and each row's key is its name's key;
- a call that returned false, or raised an error, added nothing to pg_locks
  (after the rollback that an error requires), whenever in its statement the
  error came: a failed statement leaves no lock behind;
- it never holds more distinct keys than advlock_named.max_locks_per_session.

Connects with the usual PG* environment variables, as a role that may set
advlock_named.max_locks_per_session (a superuser).  Prints each violation
and a summary line; exits 1 when anything disagreed.
"""
import argparse
import random
import sys
import threading
import time

try:
    import psycopg
    from psycopg.pq import TransactionStatus
except ImportError:
    print("skipped: the differential check needs psycopg 3 (Debian: python3-psycopg)")
    sys.exit(77)

NAMES = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
CAP = 4

SETUP = """
CREATE EXTENSION IF NOT EXISTS advlock_named;
CREATE OR REPLACE PROCEDURE differential_batch(names text[]) LANGUAGE plpgsql AS $$
BEGIN
	PERFORM named_try_lock_shared(names[1]);
	COMMIT;
	PERFORM named_try_xact_lock_exclusive(names[2]);
	COMMIT;
	PERFORM named_try_xact_lock_shared(names);
	ROLLBACK;
	PERFORM named_unlock_shared(names[1]);
END
$$;
"""

HELD = """
SELECT (classid::bigint << 32 | objid::bigint),
       CASE mode WHEN 'ShareLock' THEN 'shared' ELSE 'exclusive' END
FROM pg_locks
WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND pid = pg_backend_pid()
"""

NAMED = "SELECT key, mode, named_lock_key(name) = key FROM named_locks()"

def sql_array(names):
    return "ARRAY[%s]" % ", ".join("'%s'" % name for name in names)


class CheckInterrupted(Exception):
    """A cancel hit a check's own query; that step goes unchecked."""


class Session(threading.Thread):
    def __init__(self, number, deadline, seed, report):
        super().__init__(name="session-%d" % number)
        self.random = random.Random(seed)
        self.deadline = deadline
        self.report = report
        self.conn = None
        self.steps = 0
        self.unchecked = 0
        self.history = []
        self.savepoints = 0
        self.cursors = 0
        self.cursor_calls = {}
        # the canceller may cancel only while a step runs
        self.cancel_guard = threading.Lock()
        self.in_step = False

    def lock_call(self, names_arg=None):
        """A lock call; with names_arg (an SQL expression) always of one name."""
        r = self.random
        scope = r.choice(["", "xact_"])
        mode = r.choice(["shared", "exclusive"])
        form = r.choice(["try", "timed", "timed", "wait"])
        if names_arg is None:
            names = r.sample(NAMES, r.choice([1, 1, 2, 3]))
            single = len(names) == 1 and r.random() < 0.7
            names_arg = "'%s'" % names[0] if single else sql_array(names)
        if form == "try":
            return "named_try_%slock_%s(%s)" % (scope, mode, names_arg), True
        if form == "timed":
            timeout = r.choice(["0", "1 ms", "20 ms", "80 ms", "200 ms"])
            return "named_%slock_%s(%s, '%s')" % (scope, mode, names_arg, timeout), True
        return "named_%slock_%s(%s)" % (scope, mode, names_arg), False

    def next_step(self):
        """One random step: its SQL, and whether a false result means "took nothing"
        (None: not even an error does)."""
        r = self.random
        in_xact = self.conn.info.transaction_status != TransactionStatus.IDLE
        choice = r.random()
        if choice < 0.40:
            call, answers = self.lock_call()
            # the rest of the statement runs after the call has returned:
            # where cancels and statement timeouts land, or an error
            rest = r.choice(["", "", ", pg_sleep(0.03)", ", pg_sleep(0.2)", ", 1 / (random() > 2)::int"])
            return "SELECT " + call + rest, answers
        if choice < 0.52:
            names = r.sample(NAMES, r.choice([1, 2]))
            arg = "'%s'" % names[0] if len(names) == 1 else sql_array(names)
            return "SELECT named_unlock_%s(%s)" % (r.choice(["shared", "exclusive"]), arg), False
        if choice < 0.55:
            return "SELECT named_unlock_all()", False
        if not in_xact:
            if choice < 0.75:
                return "BEGIN", False
            if choice < 0.85:
                call, _ = self.lock_call()
                return ("DO $$ BEGIN PERFORM %s; IF random() < 0.5 THEN RAISE EXCEPTION 'undo'; END IF; "
                        "EXCEPTION WHEN raise_exception THEN NULL; END $$" % call), False
            if choice < 0.95:
                # commits inside, so an error may follow holds that rightly stay
                return "CALL differential_batch(%s)" % sql_array(r.sample(NAMES, 2)), None
            return "SELECT pg_advisory_unlock_all()", False
        if choice < 0.63:
            self.savepoints += 1
            return "SAVEPOINT s%d" % self.savepoints, False
        if choice < 0.70 and self.savepoints:
            return "ROLLBACK TO SAVEPOINT s%d" % r.randint(1, self.savepoints), False
        if choice < 0.73 and self.savepoints:
            return "RELEASE SAVEPOINT s%d" % r.randint(1, self.savepoints), False
        if choice < 0.79:
            self.cursors += 1
            call, _ = self.lock_call("n")
            self.cursor_calls[self.cursors] = call
            return ("DECLARE c%d CURSOR FOR SELECT %s FROM unnest(%s) AS n"
                    % (self.cursors, call, sql_array(r.sample(NAMES, 3)))), False
        if choice < 0.86 and self.cursors:
            cursor = r.randint(1, self.cursors)
            # the call, for the scope it takes (see one_step)
            return "FETCH 1 FROM c%d /* %s */" % (cursor, self.cursor_calls[cursor]), True
        if choice < 0.94:
            return "COMMIT", False
        return "ROLLBACK", False

    def query(self, sql):
        try:
            cursor = self.conn.execute(sql)
            return cursor.fetchall() if cursor.description else []
        except psycopg.errors.QueryCanceled as error:
            raise CheckInterrupted() from error

    def held(self):
        return set(self.query(HELD))

    def check(self, step, before, failed):
        after = self.held()
        rows = self.query(NAMED)
        named = {(key, mode) for key, mode, _ in rows}
        if named != after:
            self.violation(step, "named_locks() %s but pg_locks %s" % (sorted(named), sorted(after)))
        if not all(key_matches for _, _, key_matches in rows):
            self.violation(step, "a named_locks() row's key is not its name's key")
        if failed and not after <= before:
            self.violation(step, "a call that %s added %s to pg_locks" % (failed, sorted(after - before)))
        keys = {key for key, _ in after}
        if len(keys) > CAP:
            self.violation(step, "holds %d distinct keys, over the cap of %d" % (len(keys), CAP))

    def violation(self, step, what):
        self.report("%s after %r: %s\n    recent steps: %s" % (self.name, step, what, self.history[-10:]))

    def leave_aborted_transaction(self):
        """Rolls back an aborted transaction, or to its first savepoint, as a client would."""
        if self.conn.info.transaction_status != TransactionStatus.INERROR:
            return
        try:
            if self.savepoints and self.random.random() < 0.5:
                self.conn.execute("ROLLBACK TO SAVEPOINT s1")
                self.history.append("ROLLBACK TO SAVEPOINT s1")
                return
        except psycopg.Error:
            pass
        self.conn.execute("ROLLBACK")
        self.history.append("ROLLBACK")

    def run_step(self, step):
        """Runs step; returns None, "returned false" or "raised ..."."""
        with self.cancel_guard:
            self.in_step = True
        try:
            cursor = self.conn.execute(step)
            rows = cursor.fetchall() if cursor.description else []
            return "returned false" if any(row and row[0] is False for row in rows) else None
        except psycopg.Error as error:
            return "raised " + type(error).__name__
        finally:
            with self.cancel_guard:
                self.in_step = False

    def one_step(self):
        step, false_means_nothing = self.next_step()
        self.query("SET statement_timeout = '%s'" % self.random.choice(["150ms", "400ms"]))
        before = self.held()
        self.history.append(step)
        outcome = self.run_step(step)
        if outcome == "returned false" and not false_means_nothing or false_means_nothing is None:
            outcome = None
        self.leave_aborted_transaction()
        if self.conn.info.transaction_status == TransactionStatus.IDLE:
            self.savepoints = self.cursors = 0
        self.check(step, before, outcome)

    def run(self):
        try:
            self.conn = psycopg.connect(autocommit=True)
            self.conn.execute("SET advlock_named.max_locks_per_session = %d" % CAP)
            self.conn.execute("SET deadlock_timeout = '50ms'")
            while time.monotonic() < self.deadline:
                try:
                    self.one_step()
                    self.steps += 1
                except CheckInterrupted:
                    self.unchecked += 1
                    self.leave_aborted_transaction()
            self.conn.close()
        except Exception as error:  # the run is void, not the thread's business alone
            self.violation(self.history[-1] if self.history else None, "the session failed: %r" % error)

    def cancel(self):
        with self.cancel_guard:
            if not self.in_step:
                return False
            self.conn.cancel()
            return True


def cancel_now_and_then(sessions, deadline, seed):
    r = random.Random(seed)
    cancels = 0
    while time.monotonic() < deadline:
        time.sleep(r.uniform(0.02, 0.15))
        session = r.choice(sessions)
        if session.conn is not None and not session.conn.closed and session.cancel():
            cancels += 1
    return cancels


def main():
    parser = argparse.ArgumentParser(description="Differential check of advlock_named against pg_locks.")
    parser.add_argument("--seconds", type=float, default=20, help="how long to run (default 20)")
    parser.add_argument("--sessions", type=int, default=3, help="concurrent sessions (default 3)")
    parser.add_argument("--seed", type=int, help="random seed (default: a new one, printed)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)

    with psycopg.connect(autocommit=True) as conn:
        conn.execute(SETUP)

    violations = []
    violations_lock = threading.Lock()

    def report(line):
        with violations_lock:
            violations.append(line)
            if len(violations) <= 20:
                print("VIOLATION " + line, flush=True)

    deadline = time.monotonic() + args.seconds
    sessions = [Session(i, deadline, seed + i, report) for i in range(args.sessions)]
    for session in sessions:
        session.start()
    cancels = cancel_now_and_then(sessions, deadline, seed - 1)
    for session in sessions:
        session.join()

    steps = sum(session.steps for session in sessions)
    unchecked = sum(session.unchecked for session in sessions)
    print("differential check: seed %d, %d sessions, %d steps checked, %d unchecked, %d cancels, %d violations"
          % (seed, len(sessions), steps, unchecked, cancels, len(violations)))
    if steps < 100 * len(sessions):
        print("too few steps checked to mean anything")
        return 1
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
