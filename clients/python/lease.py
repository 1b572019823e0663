"""An advlock_named lease held for a block, renewed from a thread (psycopg 3).

A lease belongs to the role, not to a session, so it is taken, renewed and
released on a connection of the lease's own (a psycopg connection is not to
be shared between threads), and the work runs on the caller's connections.
The work learns that the lease is gone in two ways:

- checkpoint() between steps raises LeaseLost once a renewal said false
  (expired, released by someone else, the server restarted) or once the
  lease may be about to end (the renewer cannot reach the server): a tenth
  of the ttl before the last confirmed renewal runs out, so that work in
  steps shorter than that stops before anybody else can take the lease;
- check(cur), in the transaction that writes, is the fence: it calls
  named_lease_check, so the write commits while the lease is held or not at
  all.  A checkpoint cannot promise that: the process may stall between the
  checkpoint and the commit for longer than the ttl.
"""
import threading
import time
from datetime import timedelta

import psycopg
from psycopg.pq import TransactionStatus


class LeaseNotAvailable(Exception):
    """The lease was not granted within the wait."""


class LeaseLost(Exception):
    """The lease ended before the work did: stop, and write nothing more."""


def _interval(t):
    return t if isinstance(t, timedelta) else timedelta(seconds=t)


class Lease:
    """with Lease(connect, name, ttl) as lease: ... holds the lease for the block.

    connect() makes the lease's own autocommit connection.  ttl, wait and
    renew_every are seconds or timedeltas; wait 0 tries once (PostgreSQL 15
    takes no 'infinity': give a long wait instead).  The renewer renews every
    renew_every (a third of the ttl unless given), so two renewals may fail
    before the lease runs out.
    """

    def __init__(self, connect, name, ttl, *, shared=False, wait=0, renew_every=None):
        self.name = name
        self.ttl = _interval(ttl)
        self.mode = "shared" if shared else "exclusive"
        self.wait = _interval(wait)
        self.renew_every = (_interval(renew_every) if renew_every is not None
                            else self.ttl / 3).total_seconds()
        self.token = None
        self.lost = threading.Event()   # set once the lease is known, or feared, gone
        self.reason = None
        self.released = None            # after the block: whether the release found it
        self._connect = connect
        self._conn = None
        self._deadline = 0.0            # monotonic time before which the lease surely runs
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew_until_stopped, daemon=True)

    def __enter__(self):
        self._conn = self._connect()
        try:
            sent = time.monotonic()
            self.token = self._conn.execute(f"SELECT named_lease_{self.mode}(%s, %s, %s)",
                                            (self.name, self.ttl, self.wait)).fetchone()[0]
            if self.token is None:
                raise LeaseNotAvailable(f"no {self.mode} lease on {self.name!r} within {self.wait}")
            self._confirmed(sent)
            # The grant came somewhere in the wait: count the ttl from a renewal.
            if time.monotonic() - sent > self.renew_every:
                self._renew()
        except BaseException:
            self._conn.close()          # a lease taken all the same ends with its ttl
            raise
        self._renewer.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._renewer.join(self.ttl.total_seconds())
        if self._renewer.is_alive():
            return False                # a renewal hangs on its connection: the ttl ends it
        try:
            if self._conn.closed:
                self._conn = self._connect()
            self.released = self._conn.execute("SELECT named_lease_release(%s, %s)",
                                               (self.name, self.token)).fetchone()[0]
        except psycopg.OperationalError:
            pass                        # the ttl ends it
        finally:
            self._conn.close()
        return False

    def checkpoint(self):
        """Raises LeaseLost if the lease is gone or may be: call it between steps."""
        if time.monotonic() >= self._deadline:
            self._lose(f"no renewal confirmed in time (ttl {self.ttl})")
        if self.lost.is_set():
            raise LeaseLost(self.reason)

    def check(self, cur):
        """The fence, inside the caller's transaction that writes.

        named_lease_check raises LS001 unless the lease is live, and then keeps
        it from expiring until the transaction ends; this turns LS001 into
        LeaseLost (the error is its __cause__), and the transaction rolls back.
        """
        if cur.connection.info.transaction_status != TransactionStatus.INTRANS:
            raise psycopg.ProgrammingError("check() fences nothing outside a transaction")
        try:
            cur.execute("SELECT named_lease_check(%s, %s)", (self.name, self.token))
        except psycopg.Error as e:
            if e.sqlstate != "LS001":
                raise
            self._lose(f"named_lease_check: {e.diag.message_primary}")
            raise LeaseLost(self.reason) from e

    def _renew(self):
        sent = time.monotonic()
        if self._conn.closed:
            self._conn = self._connect()
        if self._conn.execute("SELECT named_lease_renew(%s, %s, %s)",
                              (self.name, self.token, self.ttl)).fetchone()[0]:
            self._confirmed(sent)
        else:
            self._lose("named_lease_renew returned false: the lease expired or was released")

    def _confirmed(self, sent):
        """The server set the expiry to its now + ttl, and its now was after sent."""
        self._deadline = sent + 0.9 * self.ttl.total_seconds()

    def _renew_until_stopped(self):
        while not self._stop.wait(self.renew_every) and not self.lost.is_set():
            try:
                self._renew()
            except psycopg.OperationalError as e:
                # The connection or the server is gone: a new connection next
                # time, and the lease is given up when its time is about up.
                self._conn.close()
                if time.monotonic() >= self._deadline:
                    self._lose(f"no renewal confirmed in time (ttl {self.ttl}): {e}")
            except psycopg.Error as e:
                self._lose(f"named_lease_renew failed: {e}")

    def _lose(self, reason):
        if not self.lost.is_set():
            self.reason = reason
            self.lost.set()
