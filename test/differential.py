#!/usr/bin/python3
"""Differential check of advlock_named against the lock manager and the
lease table.

Several sessions run random sequences of named lock operations on a few
shared names: every lock form, scope, mode and set size; unlocks; savepoints
and rollbacks to them; cursors; PL/pgSQL exception blocks; a procedure that
commits; cancels, statement timeouts and deadlocks under contention, also
while the rest of a statement runs after its lock call returned.  Where the
server has leases, a third of the steps are lease and semaphore steps on
the same names: exclusive and shared leases with ttls short enough to
expire under the sessions' eyes (some bound to the session, some taken in
an exception block that catches an error after the grant), renewals,
releases, named_lease_check inside transactions, semaphore permits of a
session or with a ttl, and writes guarded by a check or by a lock, also
in guarded transactions run a step at a time (BEGIN, check, work, write,
COMMIT; or a short lease, ttl permits or a transaction lock on the first
two names, where the sessions meet, then work, write, COMMIT).  Each
session acts as a role of its own, so that the leases of its role in
named_leases are exactly its own.  After every step each session asserts,
about itself:

- named_locks() shows exactly the (key, mode) pairs that pg_locks shows
  granted to it, and each row's key is its name's key;
- a call that returned false, or raised an error, added nothing to pg_locks
  (after the rollback that an error requires), whenever in its statement the
  error came: a failed statement leaves no lock behind; a lease or
  semaphore step never adds to pg_locks;
- it never holds more distinct keys than advlock_named.max_locks_per_session;
- the step ended within its statement_timeout and SLACK: cancels and
  timeouts end every wait (and a session still in a step well after the
  end is reported, not waited for);

and about its leases, from what it believes it holds: the tokens it was
given and has not seen go, each with the window its expiry lies in (from
the times the granting or renewing call was sent and answered, in the
server's clock), whether it released it, and whether its open transaction
checked it (the fence), each of these three known or in doubt after an
error or a cancel:

- every row of its role in named_leases is a token it believes it holds,
  with its name, mode, permits, session and an expiry in the window: so a
  call that returned NULL or false, or raised, added nothing;
- every token it holds for sure shows: not released, and fenced or its
  expiry surely after the view was read;
- a token surely gone does not show: released or its expiry surely passed,
  and surely not fenced;
- renew, release and named_lease_check answer true or pass only for a token
  not surely gone, and false or LS001 only for one not surely live; a
  stale token (released, or seen expired) gets false and LS001;
- a token granted on a name is larger than every token granted on it (to
  any session) before the call was sent;

and about the lease table as named_leases shows it in one snapshot:

- an exclusive lease on a name is its only lease, and a semaphore's permits
  in use do not exceed its capacity;
- no lease conflicts with a named lock that this session holds (pg_locks,
  read before the view, while the lock stays held).

Guarded writes record the interval they ran in: under a lease or permits
from a named_lease_check of their transaction (whose fence keeps them until
the transaction ends; a write after an earlier check relies on it, as a
client's would), under a named lock from when pg_locks showed it held or
its lock call of the transaction returned.  After the run, among the
committed writes:

- no two intervals on one name overlap where one is exclusive and their
  holders (a lease's token, a lock's backend) differ;
- at no instant do the intervals of a semaphore's permits add up to more
  than its capacity;
- writes under exclusive leases overwrite a name's counter in token order.

Connects with the usual PG* environment variables, as a role that may set
advlock_named.max_locks_per_session and create roles (a superuser).  Prints
each violation and a summary line; exits 1 when anything disagreed.
"""
import argparse
import collections
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
# every holder of a semaphore must give the same capacity
CAPACITIES = {"alpha": 1, "beta": 2, "gamma": 3, "delta": 1, "epsilon": 2, "zeta": 3}
# ttls in seconds: the short ones expire between a session's steps
TTLS = [0.03, 0.1, 0.3, 1, 3]
# the longest outlasts statement_timeout by more than SLACK, so that a wait
# that ignores it shows
WAITS = ["0", "0", "20 ms", "80 ms", "200 ms", "2 s"]
# how much longer than its statement_timeout a step may take: cancels and
# timeouts end waits
SLACK = 1.0
# the server's clock and the client's are the same clock; this absorbs rounding
MARGIN = 0.001
# of a grant's released and fenced states: known, or in doubt after an error or a cancel
NO, MAYBE, YES = "no", "maybe", "yes"

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

# Writes under a lease, permits or a named lock, with the interval in which
# they held it; only committed writes count.
LEASE_SETUP = """
DROP TABLE IF EXISTS differential_writes, differential_counters;
CREATE TABLE differential_writes (
	space text NOT NULL,		-- lock (leases and named locks) or semaphore
	name text NOT NULL,
	holder text NOT NULL,		-- a lease's or permits' token, or a lock's backend
	kind text NOT NULL,			-- exclusive, shared or permits
	permits integer,
	capacity integer,
	token bigint,
	previous bigint,			-- the counter's token this write overwrote
	started timestamptz NOT NULL,
	ended timestamptz NOT NULL);
-- the row a write under an exclusive lease overwrites with its token
CREATE TABLE differential_counters (name text PRIMARY KEY, token bigint NOT NULL DEFAULT 0);
INSERT INTO differential_counters (name) SELECT unnest(%(names)s::text[]);
GRANT SELECT, INSERT, UPDATE ON differential_writes, differential_counters TO PUBLIC;

-- The fence, then the write: the interval lies within the time the check
-- keeps the lease, which ends no earlier than the transaction.  fenced:
-- when an earlier check of this transaction fenced the lease, still in
-- force; the write then relies on it, as a client's would, and its
-- interval starts there and spans the steps in between.
CREATE OR REPLACE FUNCTION differential_guarded_write(n text, t bigint, k text, p integer, c integer,
													  fenced timestamptz)
RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
	started timestamptz;
	ended timestamptz;
	previous bigint;
BEGIN
	IF fenced IS NULL THEN
		PERFORM named_lease_check(n, t);
	END IF;
	started := coalesce(fenced, clock_timestamp());
	PERFORM pg_sleep(random() * 0.01);
	ended := clock_timestamp();
	-- after the interval, so that the row lock cannot order the intervals
	IF k = 'exclusive' THEN
		SELECT token INTO previous FROM differential_counters WHERE name = n FOR UPDATE;
		UPDATE differential_counters SET token = t WHERE name = n;
	END IF;
	INSERT INTO differential_writes
	VALUES (CASE k WHEN 'permits' THEN 'semaphore' ELSE 'lock' END, n, 'token ' || t, k, p, c, t,
			previous, started, ended);
	RETURN started;
END
$$;

-- A write under the named locks this backend holds on n, if any: held
-- since before the call, so for all of it; since: when a lock call of this
-- transaction got one, with nothing since that could have let it go.
CREATE OR REPLACE FUNCTION differential_locked_write(n text, since timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	k text;
	started timestamptz;
BEGIN
	SELECT CASE WHEN bool_or(mode = 'ExclusiveLock') THEN 'exclusive' ELSE 'shared' END INTO k
	FROM pg_locks
	WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND pid = pg_backend_pid()
	  AND (classid::bigint << 32 | objid::bigint) = named_lock_key(n)
	HAVING count(*) > 0;
	IF k IS NULL THEN
		RETURN;
	END IF;
	started := coalesce(since, clock_timestamp());
	PERFORM pg_sleep(random() * 0.01);
	INSERT INTO differential_writes
	VALUES ('lock', n, 'backend ' || pg_backend_pid(), k, NULL, NULL, NULL, NULL, started, clock_timestamp());
END
$$;

-- A lease taken in an exception block that may catch an error after the
-- grant: that is not the statement failing, so the lease stays, and its
-- token comes back either way.
CREATE OR REPLACE FUNCTION differential_caught_lease(n text, exclusive boolean, ttl interval, wait interval)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	token bigint;
BEGIN
	BEGIN
		token := CASE WHEN exclusive THEN named_lease_exclusive(n, ttl, wait)
					  ELSE named_lease_shared(n, ttl, wait) END;
		IF random() < 0.5 THEN
			RAISE EXCEPTION 'undo';
		END IF;
	EXCEPTION WHEN raise_exception THEN
		NULL;
	END;
	RETURN token;
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

# one snapshot of the lease table: the view reads it under one lock
LEASES = """
SELECT key, mode, token, roleid = current_user::regrole, name, permits,
       extract(epoch FROM expires)::float8, pid
FROM named_leases
"""


def sql_array(names):
    return "ARRAY[%s]" % ", ".join("'%s'" % name for name in names)


def interval(seconds):
    return "%g ms" % (seconds * 1000)


class CheckInterrupted(Exception):
    """A cancel hit a check's own query; that step goes unchecked."""


class Step:
    """A step's SQL; answers: whether a false result means "took nothing"
    (None: not even an error does); locks: whether it may take named locks;
    effect: what the session learns from its result."""

    def __init__(self, sql, answers=False, locks=True, effect=None):
        self.sql = sql
        self.answers = answers
        self.locks = locks
        self.effect = effect


class Result:
    def __init__(self, sql, rows, error, sent, received):
        self.sql = sql
        self.rows = rows
        self.error = error
        self.sent = sent
        self.received = received

    def value(self):
        return self.rows[0][0] if self.rows else None


class Grant:
    """A lease or permits the session was given: what it believes of it."""

    def __init__(self, space, name, kind, token, permits, expiry, bound):
        self.space = space          # "lock" or "semaphore"
        self.name = name
        self.kind = kind            # as named_leases says: exclusive, shared or permits
        self.token = token
        self.permits = permits      # None for a lease
        self.expiry = expiry        # (earliest, latest) in epoch seconds; None: a session's permits
        self.bound = bound          # ends with this session: named_leases shows its pid
        self.released = NO
        self.fenced = NO            # checked by the open transaction
        self.fenced_at = None       # since when, in the server's clock, while surely fenced

    def expires_after(self, moment):
        return self.expiry is None or self.expiry[0] - MARGIN > moment

    def expired_by(self, moment):
        return self.expiry is not None and self.expiry[1] + MARGIN <= moment

    def live_surely(self, moment):
        """Renewable and checkable at any instant from moment on (until the next step)."""
        return self.released == NO and (self.fenced == YES or self.expires_after(moment))

    def gone_surely(self, moment):
        """Neither renewable nor checkable at any instant from moment on."""
        return self.released == YES or (self.fenced == NO and self.expired_by(moment))

    def shown_surely(self, moment):
        return self.fenced == YES or (self.released == NO and self.expires_after(moment))

    def hidden_surely(self, moment):
        return self.fenced == NO and (self.released == YES or self.expired_by(moment))

    def renewed_between(self, sent, received, ttl):
        self.expiry = (sent + ttl, received + ttl)

    def maybe_renewed_between(self, sent, received, ttl):
        """A renewal that raised may or may not have taken; renewing can shorten the expiry too."""
        earliest, latest = self.expiry
        self.expiry = (min(earliest, sent + ttl), max(latest, received + ttl))

    def describe(self):
        return "token %d (%s %s%s)" % (self.token, self.kind, self.name,
                                       "" if self.permits is None else ", %d permits" % self.permits)


class TokenLedger:
    """Every grant by name, to check that a grant's token exceeds those granted before its call."""

    def __init__(self):
        self.lock = threading.Lock()
        self.grants = collections.defaultdict(list)

    def record(self, space, name, token, sent, received):
        """The largest token granted on the name before sent, or None."""
        with self.lock:
            grants = self.grants[space, name]
            earlier = max((other for answered, other in grants if answered < sent), default=None)
            grants.append((received, token))
        return earlier


class Session(threading.Thread):
    def __init__(self, number, deadline, seed, report, leases, ledger):
        # a daemon: a session stuck in a step it cannot leave must not keep the run from ending
        super().__init__(name="session-%d" % number, daemon=True)
        self.role = "differential_%d" % number
        self.random = random.Random(seed)
        self.deadline = deadline
        self.report = report
        self.conn = None
        self.pid = None
        self.steps = 0
        self.unchecked = 0
        self.history = []
        self.savepoints = 0
        self.cursors = 0
        self.cursor_calls = {}
        # leases: None where the server has none, else the key of each name
        self.leases = leases
        self.ledger = ledger
        self.grants = {}            # token -> Grant: held, or in doubt
        self.stale = collections.deque(maxlen=20)   # surely gone for good: probes for renew, release, check
        self.strangers = set()      # tokens named_leases showed or lost against belief, reported once
        self.held_names = []
        self.plan = collections.deque()     # the rest of a guarded transaction: functions that make its steps
        self.fresh = None                   # the last grant, if the last acquiring step got one
        self.locked_at = None               # when the last transaction lock of a guarded transaction came
        self.granted = 0
        self.expired = 0
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

    def rest_of_statement(self):
        """What runs after the call in its statement: where cancels and
        statement timeouts land, or an error."""
        return self.random.choice(["", "", ", pg_sleep(0.03)", ", pg_sleep(0.2)", ", 1 / (random() > 2)::int"])

    def next_step(self):
        if self.plan:
            return self.plan.popleft()()
        r = self.random
        in_xact = self.conn.info.transaction_status != TransactionStatus.IDLE
        if self.leases is not None and r.random() < 0.35:
            return self.lease_step(in_xact)
        choice = r.random()
        if choice < 0.40:
            call, answers = self.lock_call()
            return Step("SELECT " + call + self.rest_of_statement(), answers)
        if choice < 0.52:
            names = r.sample(NAMES, r.choice([1, 2]))
            arg = "'%s'" % names[0] if len(names) == 1 else sql_array(names)
            return Step("SELECT named_unlock_%s(%s)" % (r.choice(["shared", "exclusive"]), arg))
        if choice < 0.55:
            return Step("SELECT named_unlock_all()")
        if not in_xact:
            if choice < 0.75:
                return Step("BEGIN")
            if choice < 0.85:
                call, _ = self.lock_call()
                return Step("DO $$ BEGIN PERFORM %s; IF random() < 0.5 THEN RAISE EXCEPTION 'undo'; END IF; "
                            "EXCEPTION WHEN raise_exception THEN NULL; END $$" % call)
            if choice < 0.95:
                # commits inside, so an error may follow holds that rightly stay
                return Step("CALL differential_batch(%s)" % sql_array(r.sample(NAMES, 2)), None)
            return Step("SELECT pg_advisory_unlock_all()")
        if choice < 0.63:
            return self.savepoint()
        if choice < 0.70 and self.savepoints:
            return Step("ROLLBACK TO SAVEPOINT s%d" % r.randint(1, self.savepoints))
        if choice < 0.73 and self.savepoints:
            return Step("RELEASE SAVEPOINT s%d" % r.randint(1, self.savepoints))
        if choice < 0.79:
            self.cursors += 1
            call, _ = self.lock_call("n")
            self.cursor_calls[self.cursors] = call
            return Step("DECLARE c%d CURSOR FOR SELECT %s FROM unnest(%s) AS n"
                        % (self.cursors, call, sql_array(r.sample(NAMES, 3))))
        if choice < 0.86 and self.cursors:
            cursor = r.randint(1, self.cursors)
            # the call, for the scope it takes (see one_step)
            return Step("FETCH 1 FROM c%d /* %s */" % (cursor, self.cursor_calls[cursor]), True)
        if choice < 0.94:
            return Step("COMMIT")
        return Step("ROLLBACK")

    def savepoint(self):
        self.savepoints += 1
        return Step("SAVEPOINT s%d" % self.savepoints)

    def lease_step(self, in_xact):
        r = self.random
        choice = r.random()
        if choice < 0.18:
            return self.lease_call()
        if choice < 0.23:
            return self.caught_lease_call()
        if choice < 0.33:
            return self.semaphore_call()
        if choice < 0.38:
            # a name this session holds a lock on, mostly
            name = r.choice(self.held_names) if self.held_names and r.random() < 0.8 else r.choice(NAMES)
            return Step("SELECT differential_locked_write('%s', NULL)" % name, locks=False)
        if not in_xact and choice < 0.48:
            return self.acquire_and_write()
        if not in_xact and choice < 0.55:
            return self.lock_and_write()
        now = time.time()
        held = [grant for grant in self.grants.values() if not grant.gone_surely(now)]
        if self.stale and (not held or r.random() < 0.2):
            # the latest gone, which the table may not have reclaimed yet
            grant = r.choice(list(self.stale)[-3:])
        elif held:
            grant = r.choice(held)
        else:
            return self.lease_call()
        if choice < 0.67 and grant.expiry is not None:
            ttl = r.choice(TTLS)
            return Step("SELECT named_lease_renew('%s', %d, '%s')" % (grant.name, grant.token, interval(ttl)),
                        locks=False, effect=self.renew_effect(grant, ttl))
        if choice < 0.79:
            probe = grant.space == "lock" and r.random() < 0.25
            function = ("named_semaphore_release" if probe or grant.space == "semaphore" and r.random() < 0.5
                        else "named_lease_release")
            return Step("SELECT %s('%s', %d)" % (function, grant.name, grant.token),
                        locks=False, effect=self.release_effect(grant, probe))
        if in_xact and choice < 0.87:
            return self.check_step(grant)
        if not in_xact and r.random() < 0.5:
            # of the leases the one whose ttl runs out first, so that the fence must hold it
            soon = [other for other in held if other.expiry is not None and other.expiry[0] > now + 0.02]
            return self.guarded_transaction(min(soon, key=lambda other: other.expiry[1]) if soon else grant)
        fenced = [grant for grant in self.grants.values() if grant.fenced == YES]
        return self.guarded_write(r.choice(fenced) if fenced and r.random() < 0.8 else grant)

    # Guarded transactions, one step at a time, the way a client writes
    # under a lease or a lock: a write's interval spans the work since the
    # check or the lock, which gives writers that do not wait for each other
    # time to overlap.  Their names are the first two, where they meet.

    def guarded_transaction(self, grant):
        """BEGIN; check (in a savepoint released at once, half the time); work; write; COMMIT."""
        check = [lambda: self.check_step(grant)]
        if self.random.random() < 0.5:
            check = [self.savepoint] + check + [lambda: Step("RELEASE SAVEPOINT s%d" % self.savepoints)]
        self.plan.extend(check + [self.work, lambda: self.guarded_write(grant), lambda: Step("COMMIT")])
        return Step("BEGIN")

    def acquire_and_write(self):
        """BEGIN; a short lease or ttl permits, waiting; check; work; write; COMMIT."""
        r = self.random
        name = r.choice(NAMES[:2])
        wait = r.choice(["200 ms", "2 s"])
        if r.random() < 0.7:
            self.plan.append(lambda: self.lease_call(name, r.choice(TTLS[:2]), wait, "exclusive", ""))
        else:
            self.plan.append(lambda: self.semaphore_call(name, r.choice(TTLS[:2]), wait, ""))

        def check():
            if self.fresh is None:
                self.plan.clear()
                return Step("COMMIT")
            return self.check_step(self.fresh)
        self.plan.extend([check, self.work, lambda: self.guarded_write(self.fresh), lambda: Step("COMMIT")])
        return Step("BEGIN")

    def lock_and_write(self):
        """BEGIN; a transaction lock, waiting; work; write under it; COMMIT."""
        r = self.random
        name = r.choice(NAMES[:2])
        lock = Step("SELECT named_xact_lock_%s('%s', '200 ms'), clock_timestamp()"
                    % (r.choice(["shared", "exclusive"]), name), True, effect=self.lock_effect)
        self.plan.extend([lambda: lock, self.work,
                          lambda: Step("SELECT differential_locked_write('%s', %s)"
                                       % (name, "'%s'" % self.locked_at.isoformat() if self.locked_at else "NULL"),
                                       locks=False),
                          lambda: Step("COMMIT")])
        return Step("BEGIN")

    def lock_effect(self, result):
        self.locked_at = result.rows[0][1] if result.value() else None

    def work(self):
        return Step("SELECT pg_sleep(%g)" % self.random.choice([0.01, 0.05, 0.1]))

    def check_step(self, grant):
        return Step("SELECT named_lease_check('%s', %d), clock_timestamp()" % (grant.name, grant.token),
                    locks=False, effect=self.check_effect(grant))

    def guarded_write(self, grant):
        """Under the fence of an earlier check, or after a check of its own."""
        fenced = grant.fenced == YES and grant.released == NO
        return Step("SELECT differential_guarded_write('%s', %d, '%s', %s, %s, %s)"
                    % (grant.name, grant.token, grant.kind, grant.permits or "NULL",
                       CAPACITIES[grant.name] if grant.space == "semaphore" else "NULL",
                       "'%s'" % grant.fenced_at.isoformat() if fenced else "NULL"),
                    locks=False, effect=None if fenced else self.check_effect(grant))

    def lease_call(self, name=None, ttl=None, wait=None, kind=None, rest=None):
        r = self.random
        name = name or r.choice(NAMES)
        kind = kind or r.choice(["exclusive", "exclusive", "shared"])
        ttl = ttl or r.choice(TTLS)
        bound = r.random() < 0.2
        call = "named_lease_%s('%s', '%s', '%s'%s)" % (kind, name, interval(ttl), wait or r.choice(WAITS),
                                                      ", session_bound => true" if bound else "")
        return Step("SELECT " + call + (self.rest_of_statement() if rest is None else rest), locks=False,
                    effect=self.grant_effect("lock", name, kind, None, ttl, bound))

    def caught_lease_call(self):
        r = self.random
        name = r.choice(NAMES)
        exclusive = r.random() < 0.6
        ttl = r.choice(TTLS)
        return Step("SELECT differential_caught_lease('%s', %s, '%s', '%s')"
                    % (name, exclusive, interval(ttl), r.choice(WAITS)), locks=False,
                    effect=self.grant_effect("lock", name, "exclusive" if exclusive else "shared", None, ttl, False))

    def semaphore_call(self, name=None, ttl=0, wait=None, rest=None):
        """ttl None: the session's permits; 0: a random choice of those and ttls."""
        r = self.random
        name = name or r.choice(NAMES)
        permits = r.randint(1, CAPACITIES[name])
        if ttl == 0:
            ttl = r.choice([None, None, 0.1, 0.3, 1])
        call = "named_semaphore_acquire('%s', %d, %s, '%s', %d)" % (
            name, CAPACITIES[name], "NULL" if ttl is None else "'%s'" % interval(ttl), wait or r.choice(WAITS),
            permits)
        return Step("SELECT " + call + (self.rest_of_statement() if rest is None else rest), locks=False,
                    effect=self.grant_effect("semaphore", name, "permits", permits, ttl, ttl is None))

    def grant_effect(self, space, name, kind, permits, ttl, bound):
        """Also leaves the grant, or None, in self.fresh for a guarded transaction."""
        def effect(result):
            token = result.value()
            self.fresh = None
            if token is None:
                return
            self.granted += 1
            expiry = None if ttl is None else (result.sent + ttl, result.received + ttl)
            self.grants[token] = self.fresh = Grant(space, name, kind, token, permits, expiry, bound)
            earlier = self.ledger.record(space, name, token, result.sent, result.received)
            if earlier is not None and earlier >= token:
                self.violation(result.sql, "token %d on %s is not above token %d, granted before the call"
                               % (token, name, earlier))
        return effect

    def judge(self, result, grant, answer, yes):
        """A yes (true, or a check that passed) is wrong for a token surely
        gone when the call was sent, a no for one surely live until it was
        answered."""
        if yes and grant.gone_surely(result.sent):
            self.violation(result.sql, "%s for %s, which was gone" % (answer, grant.describe()))
        if not yes and grant.live_surely(result.received):
            self.violation(result.sql, "%s for %s, which was live" % (answer, grant.describe()))

    def renew_effect(self, grant, ttl):
        def effect(result):
            if result.error is not None:
                grant.maybe_renewed_between(result.sent, result.received, ttl)
                return
            renewed = result.value()
            self.judge(result, grant, "renew returned %s" % ("true" if renewed else "false"), renewed)
            if renewed:
                grant.renewed_between(result.sent, result.received, ttl)
                grant.released = NO
            else:
                grant.released = YES
        return effect

    def release_effect(self, grant, probe):
        """probe: named_semaphore_release of a lease, which must leave it alone."""
        def effect(result):
            if result.error is not None:
                if not probe and grant.released == NO:
                    grant.released = MAYBE
            elif probe:
                if result.value():
                    self.violation(result.sql, "named_semaphore_release released lease %s" % grant.describe())
                    grant.released = YES
            else:
                released = result.value()
                self.judge(result, grant, "release returned %s" % ("true" if released else "false"), released)
                grant.released = YES
        return effect

    def check_effect(self, grant):
        """The check, alone or in a guarded write, answers the time it fenced the lease."""
        def effect(result):
            if result.error is None:
                self.judge(result, grant, "named_lease_check passed", True)
                grant.released = NO
                if grant.fenced != YES:
                    grant.fenced_at = result.rows[0][-1]
                grant.fenced = YES      # until the transaction ends: settle_fences
            elif result.error.sqlstate == "LS001":
                self.judge(result, grant, "named_lease_check refused", False)
                grant.released = YES
        return effect

    def settle_fences(self, disturbed):
        """Fences end with their transaction; a rollback to a savepoint or an
        error may have ended some of them."""
        idle = self.conn.info.transaction_status == TransactionStatus.IDLE
        for grant in self.grants.values():
            if idle:
                grant.fenced = NO
            elif disturbed and grant.fenced == YES:
                grant.fenced = MAYBE

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
            self.violation(step, "a step that %s added %s to pg_locks" % (failed, sorted(after - before)))
        keys = {key for key, _ in after}
        if len(keys) > CAP:
            self.violation(step, "holds %d distinct keys, over the cap of %d" % (len(keys), CAP))
        if self.leases is not None:
            self.held_names = [name for name, key in self.leases.items() if key in keys]
            self.check_leases(step, after)

    def check_leases(self, step, locks):
        asked = time.time()
        rows = self.query(LEASES)
        answered = time.time()
        names = {key: name for name, key in self.leases.items()}
        holders = collections.defaultdict(list)
        mine = {}
        for key, mode, token, own, name, permits, expires, pid in rows:
            holders[key, mode == "permits"].append((mode, token, permits))
            if own:
                mine[token] = (name, mode, permits, expires, pid)

        for (key, semaphore), found in holders.items():
            if semaphore:
                used = sum(permits for _, _, permits in found)
                if key in names and used > CAPACITIES[names[key]]:
                    self.violation(step, "semaphore %s has %d permits in use, over its capacity of %d: %s"
                                   % (names[key], used, CAPACITIES[names[key]], found))
            elif len(found) > 1 and any(mode == "exclusive" for mode, _, _ in found):
                self.violation(step, "an exclusive lease on %s is not alone: %s" % (names.get(key, key), found))
        for key, mode in locks:
            for lease_mode, token, _ in holders.get((key, False), []):
                if mode == "exclusive" or lease_mode == "exclusive":
                    self.violation(step, "holds a %s lock on %s while lease %d holds it %s"
                                   % (mode, names.get(key, key), token, lease_mode))

        for token, (name, mode, permits, expires, pid) in mine.items():
            grant = self.grants.get(token)
            if token in self.strangers:
                continue
            if grant is None or grant.hidden_surely(asked):
                # once: then it is left alone
                self.strangers.add(token)
                self.violation(step, "named_leases shows token %d (%s %s, expires %s) that the session %s"
                               % (token, mode, name, expires, "was not given or saw go" if grant is None else
                                  "knows to be gone (released: %s)" % grant.released))
                continue
            shown = (name, mode, permits, pid)
            believed = (grant.name, grant.kind, grant.permits, self.pid if grant.bound else None)
            if shown != believed:
                self.violation(step, "named_leases shows token %d as %s, not %s" % (token, shown, believed))
            if (expires is None) != (grant.expiry is None) or expires is not None and not (
                    grant.expiry[0] - MARGIN <= expires <= grant.expiry[1] + MARGIN):
                self.violation(step, "named_leases shows %s expiring at %s, outside %s"
                               % (grant.describe(), expires, grant.expiry))
            elif expires is not None:
                grant.expiry = (expires, expires)
        for token, grant in list(self.grants.items()):
            if token not in mine and grant.shown_surely(answered) and token not in self.strangers:
                # once: the session goes on believing, and writing, as a client would
                self.strangers.add(token)
                self.violation(step, "named_leases lost %s (expiry %s, released: %s, fenced: %s)"
                               % (grant.describe(), grant.expiry, grant.released, grant.fenced))
            if grant.hidden_surely(asked):
                del self.grants[token]
                self.stale.append(grant)
                if grant.released == NO:
                    self.expired += 1

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
        with self.cancel_guard:
            self.in_step = True
        sent = time.time()
        try:
            cursor = self.conn.execute(step)
            rows = cursor.fetchall() if cursor.description else []
            return Result(step, rows, None, sent, time.time())
        except psycopg.Error as error:
            return Result(step, None, error, sent, time.time())
        finally:
            with self.cancel_guard:
                self.in_step = False

    def one_step(self):
        step = self.next_step()
        timeout = self.random.choice([0.15, 0.4])
        self.query("SET statement_timeout = '%dms'" % (timeout * 1000))
        before = self.held()
        self.history.append(step.sql)
        result = self.run_step(step.sql)
        if result.received - result.sent > timeout + SLACK:
            self.violation(step.sql, "ran %.1f s, past its statement_timeout of %g s"
                           % (result.received - result.sent, timeout))
        if not step.locks:
            outcome = "takes no lock"
        elif result.error is not None:
            outcome = None if step.answers is None else "raised " + type(result.error).__name__
        elif step.answers and any(row and row[0] is False for row in result.rows):
            outcome = "returned false"
        else:
            outcome = None
        if step.effect is not None:
            step.effect(result)
        disturbed = result.error is not None or step.sql.startswith("ROLLBACK TO")
        if result.error is not None:
            self.plan.clear()
        self.leave_aborted_transaction()
        if self.conn.info.transaction_status == TransactionStatus.IDLE:
            self.savepoints = self.cursors = 0
        self.settle_fences(disturbed)
        self.check(step.sql, before, outcome)

    def run(self):
        try:
            self.conn = psycopg.connect(autocommit=True)
            self.pid = self.conn.info.backend_pid
            self.conn.execute("SET advlock_named.max_locks_per_session = %d" % CAP)
            self.conn.execute("SET deadlock_timeout = '50ms'")
            if self.leases is not None:
                self.conn.execute("SET ROLE %s" % self.role)
            while time.monotonic() < self.deadline:
                try:
                    self.one_step()
                    self.steps += 1
                except CheckInterrupted:
                    self.unchecked += 1
                    self.plan.clear()
                    self.leave_aborted_transaction()
                    self.settle_fences(True)
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


def lease_keys(conn, sessions):
    """The key of each name, or None where the server has no leases (15 and
    16 without preloading); then the lease table, the functions and a role
    per session."""
    try:
        conn.execute("SELECT count(*) FROM named_leases")
    except psycopg.errors.ObjectNotInPrerequisiteState:
        return None
    conn.execute(LEASE_SETUP % {"names": "'{%s}'" % ",".join(NAMES)})
    for number in range(sessions):
        # a new role each run: leases of the last run's may still be there
        conn.execute("DROP ROLE IF EXISTS differential_%d" % number)
        conn.execute("CREATE ROLE differential_%d" % number)
    return dict(conn.execute("SELECT n, named_lock_key(n) FROM unnest(%s::text[]) AS n", [NAMES]).fetchall())


def check_writes(conn, report):
    """The committed guarded writes: overlaps, permits over capacity, the
    counter's order.  Returns how many there were."""
    rows = conn.execute("SELECT space, name, holder, kind, permits, capacity, token, previous, started, ended "
                        "FROM differential_writes ORDER BY space, name, started").fetchall()
    open_writes = collections.defaultdict(list)
    for row in rows:
        space, name, holder, kind, permits, capacity, token, previous, started, ended = row
        # the writes of this space and name still running when this one started
        running = [other for other in open_writes[space, name] if other[9] > started]
        for other in running:
            if space == "lock" and other[2] != holder and "exclusive" in (kind, other[3]):
                report("guarded writes overlap on %s: %s %s %s-%s and %s %s %s-%s"
                       % (name, other[2], other[3], other[8], other[9], holder, kind, started, ended))
        if space == "semaphore":
            # one token's writes of one transaction may start together, at its check
            held = dict({other[2]: other[4] for other in running}, **{holder: permits})
            if sum(held.values()) > capacity:
                report("guarded writes on semaphore %s hold %s permits at %s, over its capacity of %d"
                       % (name, held, started, capacity))
        if previous is not None and previous > token:
            report("a write under exclusive lease %d on %s committed after one under the newer %d"
                   % (token, name, previous))
        open_writes[space, name] = running + [row]
    return len(rows)


def main():
    parser = argparse.ArgumentParser(description="Differential check of advlock_named against pg_locks "
                                     "and the lease table.")
    parser.add_argument("--seconds", type=float, default=20, help="how long to run (default 20)")
    parser.add_argument("--sessions", type=int, default=3, help="concurrent sessions (default 3)")
    parser.add_argument("--seed", type=int, help="random seed (default: a new one, printed)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)

    with psycopg.connect(autocommit=True) as conn:
        conn.execute(SETUP)
        leases = lease_keys(conn, args.sessions)
    if leases is None:
        print("no leases on this server (15 or 16 without shared_preload_libraries): lock steps only")

    violations = collections.Counter()
    violations_lock = threading.Lock()
    start = time.monotonic()

    def reporter(kind):
        """Prints the first 20 violations of a kind: the steps', then the writes' after the run."""
        def report(line):
            with violations_lock:
                violations[kind] += 1
                if violations[kind] <= 20:
                    print("VIOLATION at %.1f s: %s" % (time.monotonic() - start, line), flush=True)
        return report
    report = reporter("steps")

    deadline = start + args.seconds
    ledger = TokenLedger()
    sessions = [Session(i, deadline, seed + i, report, leases, ledger) for i in range(args.sessions)]
    for session in sessions:
        session.start()
    cancels = cancel_now_and_then(sessions, deadline, seed - 1)
    for session in sessions:
        # every step ends within its statement_timeout and SLACK
        session.join(max(0, deadline + 10 - time.monotonic()))
        if session.is_alive():
            report("%s is stuck in %r, past its statement_timeout and every cancel"
                   % (session.name, session.history[-1]))

    writes = 0
    if leases is not None:
        with psycopg.connect(autocommit=True) as conn:
            writes = check_writes(conn, reporter("writes"))
            for number in range(args.sessions):
                conn.execute("DROP ROLE differential_%d" % number)

    steps = sum(session.steps for session in sessions)
    unchecked = sum(session.unchecked for session in sessions)
    granted = sum(session.granted for session in sessions)
    expired = sum(session.expired for session in sessions)
    print("differential check: seed %d, %d sessions, %d steps checked, %d unchecked, %d cancels, "
          "%d leases and permits granted, %d seen to expire, %d guarded writes, %d violations"
          % (seed, len(sessions), steps, unchecked, cancels, granted, expired, writes, sum(violations.values())))
    if steps < 100 * len(sessions):
        print("too few steps checked to mean anything")
        return 1
    if leases is not None and min(granted, expired, writes) < 10 * len(sessions):
        print("too few leases granted, seen to expire or written under to mean anything")
        return 1
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
